"""POST /drills: an exercise incident with real notices marked 【演练】."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.scopes import check_jurisdiction
from api.deps import ContextDep, ServicesDep, SessionDep, Supervisor
from api.errors import error_responses
from api.routes.reports import result_out, to_measurements
from api.schemas.reports import DrillIn, ReportOut
from notifier.drills.service import start_drill
from notifier.enums import ReportDirection
from notifier.incidents.schemas import NotFoundError

router = APIRouter(tags=["drills"])


@router.post(
    "/drills",
    response_model=ReportOut,
    status_code=201,
    summary="发起演练 / start a drill (scope: supervisor, on a reach in its subtree; admin)",
    responses=error_responses(401, 403, 404, 422),
)
def post_drill(
    *,
    body: DrillIn,
    session: SessionDep,
    services: ServicesDep,
    ctx: ContextDep,
    user: Supervisor,
) -> ReportOut:
    reach = ctx.topology.reach(body.reach_id)
    if reach is None:
        raise NotFoundError(f"未知河段 {body.reach_id} / unknown reach {body.reach_id}")
    check_jurisdiction(session, user, reach.jurisdiction_id)
    result = start_drill(
        session,
        reach_id=body.reach_id,
        actor=user.name,
        ctx=ctx,
        now=services.now(),
        direction=ReportDirection(body.direction),
        measurements=to_measurements(body.measurements),
    )
    session.commit()
    return result_out(result)

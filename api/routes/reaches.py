"""GET /reaches/{id}/trace: who a pollution here would reach, without notifying anyone."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import ContextDep, CurrentUser
from api.errors import error_responses
from api.schemas.misc import TraceEntryOut, TraceOut
from basins.model import Direction
from notifier.incidents.schemas import NotFoundError
from notifier.routing.route import within_horizon

router = APIRouter(tags=["reaches"])


@router.get(
    "/reaches/{reach_id}/trace",
    response_model=TraceOut,
    summary="追踪预览 / trace preview, no notices (scope: any signed-in user)",
    responses=error_responses(401, 403, 404, 422),
)
def get_trace(
    *,
    reach_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")],
    ctx: ContextDep,
    user: CurrentUser,
    direction: Annotated[Literal["down", "up"], Query()] = "down",
) -> TraceOut:
    """Every jurisdiction the trace enters, in order of arrival; ``within_horizon`` marks
    those the routing policy would notify."""
    reach = ctx.topology.reach(reach_id)
    if reach is None:
        raise NotFoundError(f"未知河段 {reach_id} / unknown reach {reach_id}")
    entries = ctx.topology.trace(reach_id, direction=Direction(direction))
    return TraceOut(
        reach_id=reach_id,
        river=reach.river,
        direction=direction,
        entries=[
            TraceEntryOut(
                **{k: v for k, v in e.as_json().items()},
                within_horizon=within_horizon(e, policy=ctx.policy),
            )
            for e in entries
        ],
    )

"""Incidents: list, timeline, follow-ups, severity, cancel, close, CAP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.auth.scopes import check_incident_visible, visible_jurisdictions
from api.deps import ContextDep, CurrentUser, Principal, ServicesDep, SessionDep, Supervisor
from api.errors import error_responses
from api.routes.timeline import incident_detail, summary_of
from api.schemas.common import MAX_ID, PathDigits
from api.schemas.incidents import (
    CancelIn,
    CloseIn,
    FollowUpIn,
    IncidentDetail,
    IncidentList,
    IncidentSummary,
    SeverityIn,
)
from notifier.enums import Grade, IncidentStatus
from notifier.incidents import lifecycle
from notifier.incidents.models import Incident
from notifier.incidents.schemas import NotFoundError
from notifier.notices.models import Notice

router = APIRouter(tags=["incidents"])

IncidentId = Annotated[int, PathDigits, Path(ge=1, le=MAX_ID, description="事件编号 / incident id")]
ERRORS = error_responses(401, 403, 404, 422)


def load_visible(session: Session, user: Principal, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"未知事件 {incident_id} / unknown incident {incident_id}")
    check_incident_visible(session, user, incident)
    return incident


@router.get(
    "/incidents",
    response_model=IncidentList,
    summary="事件列表 / incidents (scope: bureau: its own; supervisor: its subtree; admin)",
    responses=error_responses(401, 403, 422),
)
def list_incidents(
    *,
    session: SessionDep,
    user: CurrentUser,
    status: Annotated[Literal["open", "monitoring", "closed", "cancelled"] | None, Query()] = None,
    exercise: Annotated[bool | None, Query(description="演练 / drills only or none")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> IncidentList:
    query = select(Incident)
    visible = visible_jurisdictions(session, user)
    if visible is not None:
        notified = select(Notice.incident_id).where(Notice.jurisdiction_id.in_(visible))
        query = query.where(
            or_(Incident.origin_jurisdiction_id.in_(visible), Incident.id.in_(notified))
        )
    if status is not None:
        query = query.where(Incident.status == IncidentStatus(status))
    if exercise is not None:
        query = query.where(Incident.exercise == exercise)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Incident.id.desc()).limit(limit).offset(offset))
    items: list[IncidentSummary] = [summary_of(session, i) for i in rows]
    return IncidentList(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/incidents/{incident_id}",
    response_model=IncidentDetail,
    summary="事件时间线 / an incident's timeline (scope: parties to it, their supervisors, admin)",
    responses=ERRORS,
)
def get_incident(
    *, incident_id: IncidentId, session: SessionDep, user: CurrentUser
) -> IncidentDetail:
    """Reports, notices and their status, acknowledgements, follow-ups, statutory clocks."""
    return incident_detail(session, load_visible(session, user, incident_id))


@router.post(
    "/incidents/{incident_id}/follow-ups",
    response_model=IncidentDetail,
    status_code=201,
    summary="续报 / add a follow-up (scope: any party to the incident, supervisor, admin)",
    responses=ERRORS,
)
def post_follow_up(
    *,
    incident_id: IncidentId,
    body: FollowUpIn,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> IncidentDetail:
    load_visible(session, user, incident_id)
    lifecycle.add_follow_up(
        session,
        incident_id=incident_id,
        author=user.name,
        text=body.text,
        now=services.now(),
        author_jurisdiction_id=user.jurisdiction_id,
    )
    session.commit()
    return incident_detail(session, load_visible(session, user, incident_id))


@router.post(
    "/incidents/{incident_id}/severity",
    response_model=IncidentDetail,
    summary="定级 / set the grade (scope: supervisor of a party, admin)",
    responses=ERRORS,
)
def post_severity(
    *,
    incident_id: IncidentId,
    body: SeverityIn,
    session: SessionDep,
    services: ServicesDep,
    ctx: ContextDep,
    user: Supervisor,
) -> IncidentDetail:
    load_visible(session, user, incident_id)
    lifecycle.set_severity(
        session,
        incident_id=incident_id,
        grade=Grade(body.grade),
        actor=user.name,
        policy=ctx.policy,
        now=services.now(),
    )
    session.commit()
    return incident_detail(session, load_visible(session, user, incident_id))


@router.post(
    "/incidents/{incident_id}/cancel",
    response_model=IncidentDetail,
    summary="撤销（误报）/ cancel a false alarm (scope: supervisor of a party, admin)",
    responses=ERRORS,
)
def post_cancel(
    *,
    incident_id: IncidentId,
    body: CancelIn,
    session: SessionDep,
    services: ServicesDep,
    user: Supervisor,
) -> IncidentDetail:
    load_visible(session, user, incident_id)
    lifecycle.cancel(
        session, incident_id=incident_id, actor=user.name, reason=body.reason, now=services.now()
    )
    session.commit()
    return incident_detail(session, load_visible(session, user, incident_id))


@router.post(
    "/incidents/{incident_id}/close",
    response_model=IncidentDetail,
    summary="结案 / close (scope: supervisor of a party, admin)",
    responses=ERRORS,
)
def post_close(
    *,
    incident_id: IncidentId,
    session: SessionDep,
    services: ServicesDep,
    user: Supervisor,
    body: CloseIn | None = None,
) -> IncidentDetail:
    load_visible(session, user, incident_id)
    lifecycle.close(session, incident_id=incident_id, actor=user.name, now=services.now())
    session.commit()
    return incident_detail(session, load_visible(session, user, incident_id))

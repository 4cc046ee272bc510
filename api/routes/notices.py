"""Notices addressed to the caller's bureau (or its subtree), and acknowledging them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select

from api.auth.scopes import visible_jurisdictions
from api.deps import CurrentUser, ServicesDep, SessionDep, forbidden
from api.errors import error_responses
from api.schemas.common import MAX_ID, PathDigits
from api.schemas.notices import AckIn, AckOut, MyNotice, NoticeList
from notifier.accounts.roles import Role
from notifier.bureaus.models import Bureau
from notifier.enums import NoticeStatus
from notifier.incidents.models import Incident
from notifier.incidents.schemas import NotFoundError
from notifier.notices.models import Notice
from notifier.notices.service import acknowledge

router = APIRouter(tags=["notices"])

NoticeStatusName = Literal["pending", "sent", "acknowledged", "overdue", "escalated", "cancelled"]


@router.get(
    "/notices",
    response_model=NoticeList,
    summary="我的通报 / notices to my bureau (scope: bureau: its own; supervisor: its subtree; "
    "admin: all)",
    responses=error_responses(401, 403, 422),
)
def list_notices(
    *,
    session: SessionDep,
    user: CurrentUser,
    status: Annotated[NoticeStatusName | None, Query()] = None,
    incident_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> NoticeList:
    query = (
        select(Notice, Bureau.name_zh, Incident)
        .join(Bureau, Bureau.jurisdiction_id == Notice.jurisdiction_id)
        .join(Incident, Incident.id == Notice.incident_id)
    )
    visible = visible_jurisdictions(session, user)
    if visible is not None:
        query = query.where(Notice.jurisdiction_id.in_(visible))
    if status is not None:
        query = query.where(Notice.status == NoticeStatus(status))
    if incident_id is not None:
        query = query.where(Notice.incident_id == incident_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Notice.id.desc()).limit(limit).offset(offset))
    items = [
        MyNotice(
            id=n.id,
            jurisdiction_id=n.jurisdiction_id,
            bureau=name,
            role=n.role.value,
            status=n.status.value,
            distance_km=None if n.distance_km is None else round(n.distance_km, 3),
            eta_hours=None if n.eta_hours is None else round(n.eta_hours, 3),
            ack_deadline=n.ack_deadline,
            incident_id=n.incident_id,
            river=incident.river,
            exercise=incident.exercise,
            incident_status=incident.status.value,
            reason=n.reason,
            created_at=n.created_at,
            acknowledged_at=n.acknowledged_at,
        )
        for n, name, incident in rows
    ]
    return NoticeList(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/notices/{notice_id}/ack",
    response_model=AckOut,
    summary="确认收到 / acknowledge (scope: the addressed bureau's own users, admin)",
    responses=error_responses(401, 403, 404, 422),
)
def post_ack(
    *,
    notice_id: Annotated[int, PathDigits, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
    body: AckIn | None = None,
) -> AckOut:
    """Idempotent: a second acknowledgement changes nothing and answers with the first."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFoundError(f"未知通报 {notice_id} / unknown notice {notice_id}")
    if user.role is not Role.ADMIN and notice.jurisdiction_id != user.jurisdiction_id:
        raise forbidden(
            "只能确认发给本单位的通报", "you can only acknowledge notices to your own bureau"
        )
    body = body or AckIn()
    result = acknowledge(
        session,
        notice_id=notice_id,
        by_name=body.by_name.strip() or user.name,
        channel="api",
        now=services.now(),
        note=body.note,
    )
    session.commit()
    return AckOut(
        notice_id=result.notice_id,
        first=result.first,
        acknowledged_at=result.acknowledged_at,
        by_name=result.by_name,
    )

"""GET /incidents/{id}/cap: the incident as CAP 1.2 messages (F's builder, filled from the
database and the network's polygons)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cap import CapAck, CapArea, CapEnd, CapIncident, CapText, CapUpdate, alert_messages
from api.deps import CurrentUser, ServicesDep, SessionDep
from api.errors import ApiError, error_responses
from api.routes.incidents import IncidentId, load_visible
from notifier.bureaus.models import Bureau
from notifier.enums import FollowUpKind
from notifier.incidents.models import FollowUp, Incident
from notifier.notices.models import Acknowledgement, Notice
from notifier.reports.models import Report

router = APIRouter(tags=["incidents"])
CAP_MEDIA = "application/xml"


def cap_sender(jurisdiction_id: str) -> str:
    return f"{jurisdiction_id}@rivernotify"


def _geometries(services: ServicesDep, incident: Incident, jids: list[str]) -> list[CapArea]:
    try:
        network = services.network()
    except Exception:
        return [CapArea(CapText(j, j), None, geocode=j) for j in jids]
    frame = network.jurisdictions.set_index("jurisdiction_id")
    areas = []
    for jid in jids:
        if jid in frame.index:
            row = frame.loc[jid]
            geometry = row.geometry if isinstance(row.geometry, BaseGeometry) else None
            name = str(row["name"])
            areas.append(CapArea(CapText(name, f"{name} ({jid})"), geometry, geocode=jid))
    reaches = network.reaches[network.reaches["reach_id"].isin(incident.affected_reaches)]
    if len(reaches):
        path = unary_union(list(reaches.geometry))
        areas.append(CapArea(CapText(f"{incident.river}污染路径", "path of the pollution"), path))
    return areas


@dataclass(frozen=True, slots=True)
class _Story:
    """What the CAP messages are made of, read from the tables."""

    notices: list[tuple[Notice, Bureau]]
    origin: Bureau | None
    first: Report | None
    follow_ups: list[FollowUp]
    acks: list[tuple[Acknowledgement, str, str]]


def _story(session: Session, incident: Incident) -> _Story:
    notices = session.execute(
        select(Notice, Bureau)
        .join(Bureau, Bureau.jurisdiction_id == Notice.jurisdiction_id)
        .where(Notice.incident_id == incident.id)
        .order_by(Notice.position)
    )
    first = session.scalars(
        select(Report).where(Report.incident_id == incident.id).order_by(Report.id).limit(1)
    ).first()
    follow_ups = session.scalars(
        select(FollowUp).where(FollowUp.incident_id == incident.id).order_by(FollowUp.id)
    )
    acks = session.execute(
        select(Acknowledgement, Notice.jurisdiction_id, Bureau.name_zh)
        .join(Notice, Notice.id == Acknowledgement.notice_id)
        .join(Bureau, Bureau.jurisdiction_id == Notice.jurisdiction_id)
        .where(Notice.incident_id == incident.id)
        .order_by(Acknowledgement.at)
    )
    return _Story(
        notices=[(n, b) for n, b in notices],
        origin=session.get(Bureau, incident.origin_jurisdiction_id),
        first=first,
        follow_ups=list(follow_ups),
        acks=[(a, jid, name) for a, jid, name in acks],
    )


def cap_incident(session: Session, services: ServicesDep, incident: Incident) -> CapIncident:
    story = _story(session, incident)
    origin = story.origin
    origin_name = origin.name_zh if origin is not None else incident.origin_jurisdiction_id
    first = story.first
    ends = [f for f in story.follow_ups if f.kind is FollowUpKind.END_OF_ALERT]
    measured = ", ".join(
        f"{m['code']}={m['value']} {m['unit']}" for m in (first.measurements if first else [])
    )
    settings = services.settings
    public = settings.public_url or f"http://{settings.host}:{settings.port}"
    parties = [incident.origin_jurisdiction_id, *(n.jurisdiction_id for n, _ in story.notices)]
    river = incident.river
    return CapIncident(
        incident_id=str(incident.id),
        sender=cap_sender(incident.origin_jurisdiction_id),
        sender_name=CapText(origin_name, (origin.name_en if origin else "") or origin_name),
        sent=min([incident.opened_at, *(n.created_at for n, _ in story.notices)]),
        grade=incident.effective_grade.value,
        drill=incident.exercise,
        headline=CapText(f"{river}跨界水污染通报", f"Cross-boundary pollution on {river}"),
        description=CapText(
            f"{origin_name}报告{river}水质异常：{measured or '见事件详情'}",
            f"Anomaly reported on {river} by {incident.origin_jurisdiction_id}: "
            f"{measured or 'see the incident'}",
        ),
        instruction=CapText(
            "请确认收到通报，加强下游监测并做好应急准备",
            "Acknowledge this notice, step up monitoring downstream and prepare to respond",
        ),
        web=f"{public.rstrip('/')}/api/v1/incidents/{incident.id}",
        areas=tuple(_geometries(services, incident, list(dict.fromkeys(parties)))),
        updates=tuple(
            CapUpdate(sent=f.at, text=CapText(f.text, f.text))
            for f in story.follow_ups
            if f.kind is FollowUpKind.FOLLOW_UP
        ),
        end=CapEnd(sent=ends[0].at, reason=CapText(ends[0].text, ends[0].text)) if ends else None,
        acks=tuple(
            CapAck(sent=a.at, sender=cap_sender(jid), bureau=name, note=a.note)
            for a, jid, name in story.acks
        ),
        onset=first.observed_at if first else None,
    )


@router.get(
    "/incidents/{incident_id}/cap",
    summary="CAP 1.2 消息 / the incident as CAP 1.2 XML (scope: as GET /incidents/{id})",
    response_class=Response,
    responses={
        200: {
            "content": {CAP_MEDIA: {"schema": {"type": "string"}}},
            "description": "One CAP 1.2 alert message; X-CAP-Messages says how many exist",
        },
        **error_responses(401, 403, 404, 422),
    },
)
def get_cap(
    *,
    incident_id: IncidentId,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
    message: Annotated[
        int | None,
        Query(
            ge=1,
            le=100_000,
            description="第 n 条消息（默认最新）/ the n-th message, default the latest",
        ),
    ] = None,
) -> Response:
    """Alert, then an Update per follow-up, Cancel at the end of the alert, Ack per
    acknowledgement, in the order they were sent; status Exercise for drills."""
    incident = load_visible(session, user, incident_id)
    messages = alert_messages(cap_incident(session, services, incident))
    if message is not None and message > len(messages):
        raise ApiError(
            404,
            "not_found",
            f"只有 {len(messages)} 条消息",
            f"there are {len(messages)} messages",
            field="message",
        )
    chosen = messages[(message or len(messages)) - 1]
    return Response(chosen, media_type=CAP_MEDIA, headers={"X-CAP-Messages": str(len(messages))})

"""Building a NoticeContext for an outbox row from the database.

The outbox payload names what the message is about (kind, incident, notice, follow-up,
recipient); everything else is read fresh here at send time, so a retried message shows the
current names and contacts. A map is drawn when a geometry source is given (the network), and
left out otherwise: the text says everything the map does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.delivery.claim import ClaimedMessage
from notifier.delivery.context import Contact, MapGeometry, Measurement, MessageKind, NoticeContext
from notifier.delivery.email import format_number
from notifier.delivery.record import recipient_jurisdiction
from notifier.delivery.tokens import ack_url, make_ack_token
from notifier.enums import GRADE_NAMES_ZH
from notifier.incidents.models import FollowUp, Incident
from notifier.notices.models import Notice
from notifier.reports.models import Evaluation, Report
from notifier.stations.models import Station

CLOCK_NAMES = {
    "report_upward": "向上级报告时限 / report to the higher level",
    "public_information": "权威信息发布时限 / authoritative public information",
    "press_conference": "新闻发布会时限 / press conference",
}
NO_CONTACTS = "该单位没有登记任何联系方式 / the bureau has no contact registered"
#: Kinds whose recipient is the notice's own bureau and may acknowledge it by link.
ACK_KINDS = frozenset({MessageKind.NOTICE, MessageKind.REMINDER, MessageKind.FOLLOW_UP})

#: Payload keys that name a bureau the message mentions.
BUREAU_KEYS = (
    "recipient_jurisdiction_id",
    "about_jurisdiction_id",
    "escalated_jurisdiction_id",
    "unreachable_jurisdiction_id",
)
ORIGINS = "rivernotify.render.origins"  # session.info keys
PRELOADED = "rivernotify.render.preloaded"

#: (incident, report, recipient jurisdiction id) -> map geometry or None.
GeometrySource = Callable[[Incident, Report | None, str], MapGeometry | None]


class RenderError(LookupError):
    """The row refers to something that is not in the database."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    public_url: str
    secret_key: str
    parameter_names: Mapping[str, tuple[str, str]]  # HJ 212 code -> (Chinese, English)
    geometry: GeometrySource | None = None


def _first_report(session: Session, incident_id: int) -> Report | None:
    query = select(Report).where(Report.incident_id == incident_id).order_by(Report.id).limit(1)
    return session.scalars(query).first()


def _limit_text(check: Mapping[str, Any]) -> str:
    low, high, bound = check.get("low"), check.get("high"), check.get("bound")
    if bound == "range" and low is not None and high is not None:
        return f"{format_number(low)}-{format_number(high)}"
    if bound == "min" and low is not None:
        return f"≥ {format_number(low)}"
    return f"≤ {format_number(low)}" if low is not None else ""


def measurements_of(
    report: Report, evaluation: Evaluation | None, names: Mapping[str, tuple[str, str]]
) -> tuple[Measurement, ...]:
    """The report's measurements joined with their GB 3838 check (station alarms aside)."""
    checks = {
        str(c.get("code")): c
        for c in (evaluation.results if evaluation else [])
        if c.get("source", "gb3838") == "gb3838"
    }
    found = []
    for item in report.measurements:
        code = str(item.get("code", ""))
        check = checks.get(code, {})
        zh, en = names.get(code, (code, code))
        ratio = check.get("ratio")
        exceeded = bool(check.get("exceeded"))
        found.append(
            Measurement(
                code=code,
                name_zh=zh,
                name_en=en,
                value=float(check.get("value", item.get("value", 0.0))),
                unit=str(check.get("unit", item.get("unit", ""))),
                limit_text=_limit_text(check),
                target_class=evaluation.target_class if evaluation else None,
                exceedance=float(ratio) - 1 if exceeded and ratio else None,
            )
        )
    return tuple(found)


def _bureau(session: Session, jurisdiction_id: str | None) -> Bureau | None:
    return session.get(Bureau, jurisdiction_id) if jurisdiction_id else None


def _contacts(bureau: Bureau | None) -> tuple[Contact, ...]:
    if bureau is None or not (bureau.duty_name or bureau.duty_phone):
        return ()
    email = bureau.emails[0] if bureau.emails else ""
    return (Contact(bureau.duty_name or bureau.name_zh, bureau.duty_phone, email, "值班 / duty"),)


def _summary(session: Session, message: ClaimedMessage, report: Report | None) -> str:
    follow_up_id = message.payload.get("follow_up_id")
    if follow_up_id is not None:
        follow_up = session.get(FollowUp, int(follow_up_id))
        if follow_up is not None:
            return follow_up.text
    return report.note if report is not None else ""


def _clock(message: ClaimedMessage) -> tuple[str | None, datetime | None]:
    """The statutory clock a warning is about, from the payload the engine wrote."""
    kind = message.payload.get("clock")
    due_text = message.payload.get("due_at")
    if not isinstance(kind, str):
        return None, None
    due = datetime.fromisoformat(due_text) if isinstance(due_text, str) else None
    return CLOCK_NAMES.get(kind, kind), due


def preload(session: Session, messages: Sequence[ClaimedMessage]) -> None:
    """Load a batch's incidents, notices and bureaus in three queries: rendering then finds
    them in the session (``session.get`` asks the database only for what is not loaded)."""
    incident_ids = {m.incident_id for m in messages}
    notice_ids = {m.notice_id for m in messages if m.notice_id is not None}
    incidents = session.scalars(select(Incident).where(Incident.id.in_(incident_ids))).all()
    notices = (
        session.scalars(select(Notice).where(Notice.id.in_(notice_ids))).all() if notice_ids else []
    )
    bureau_ids = {i.origin_jurisdiction_id for i in incidents} | {
        n.jurisdiction_id for n in notices
    }
    for message in messages:
        for name in BUREAU_KEYS:
            value = message.payload.get(name)
            if isinstance(value, str):
                bureau_ids.add(value)
    bureaus = session.scalars(select(Bureau).where(Bureau.jurisdiction_id.in_(bureau_ids))).all()
    # The identity map holds objects weakly: keep them alive for the batch.
    session.info[PRELOADED] = (incidents, notices, bureaus)


def _origin_fields(
    session: Session, incident: Incident, options: RenderOptions
) -> tuple[dict[str, Any], Report | None]:
    """Where and what: the origin and the first report's measurements (the same for every
    message of the incident: kept in ``session.info`` for the rest of the batch)."""
    kept: dict[int, tuple[dict[str, Any], Report | None]] = session.info.setdefault(ORIGINS, {})
    if incident.id not in kept:
        kept[incident.id] = _read_origin_fields(session, incident, options)
    return kept[incident.id]


def _read_origin_fields(
    session: Session, incident: Incident, options: RenderOptions
) -> tuple[dict[str, Any], Report | None]:
    origin = _bureau(session, incident.origin_jurisdiction_id)
    report = _first_report(session, incident.id)
    evaluation = station = None
    if report is not None:
        evaluation = session.scalars(
            select(Evaluation).where(Evaluation.report_id == report.id)
        ).first()
        station = session.get(Station, report.station_id) if report.station_id else None
    lon = report.lon if report and report.lon is not None else (station.lon if station else None)
    lat = report.lat if report and report.lat is not None else (station.lat if station else None)
    fields = {
        "origin_jurisdiction": origin.jurisdiction_name
        if origin
        else incident.origin_jurisdiction_id,
        "origin_bureau": origin.name_zh if origin else incident.origin_jurisdiction_id,
        "origin_reach": incident.origin_reach_id,
        "origin_station": station.name if station else None,
        "lon": lon,
        "lat": lat,
        "observed_at": report.observed_at if report else incident.opened_at,
        "measurements": measurements_of(report, evaluation, options.parameter_names)
        if report
        else (),
        "contacts": _contacts(origin),
    }
    return fields, report


def _notice_fields(
    notice: Notice | None, recipient: Bureau, kind: MessageKind, options: RenderOptions
) -> dict[str, Any]:
    """The recipient's own notice (role, arrival, deadline, ack link), if this is theirs."""
    if notice is None or notice.jurisdiction_id != recipient.jurisdiction_id:
        return {"role": "supervisor_copy"}
    link = None
    if kind in ACK_KINDS:
        token = make_ack_token(notice.id, secret_key=options.secret_key)
        link = ack_url(token, public_url=options.public_url)
    return {
        "role": notice.role.value,
        "distance_km": notice.distance_km,
        "eta": notice.eta_at,
        "ack_deadline": notice.ack_deadline,
        "ack_url": link,
    }


def _about_fields(
    session: Session, message: ClaimedMessage, notice: Notice | None, recipient: Bureau
) -> dict[str, Any]:
    """Escalations and failure reports are about another bureau; clock warnings, a clock."""
    payload = message.payload
    about_id = (
        payload.get("about_jurisdiction_id")
        or payload.get("escalated_jurisdiction_id")
        or payload.get("unreachable_jurisdiction_id")
    )
    if (
        about_id is None
        and notice is not None
        and notice.jurisdiction_id != recipient.jurisdiction_id
    ):
        about_id = notice.jurisdiction_id
    about = _bureau(session, about_id)
    failed_reply = payload.get("failed_reply")
    if failed_reply is None and payload.get("reason") == "no_contacts":
        failed_reply = NO_CONTACTS
    clock_name, clock_due = _clock(message)
    return {
        "about_bureau": about.name_zh if about else None,
        "failed_reply": failed_reply,
        "clock_name": clock_name,
        "clock_due": clock_due,
    }


def render_context(
    session: Session, message: ClaimedMessage, *, options: RenderOptions
) -> NoticeContext:
    """Everything the message says, read from the database now (RenderError if missing)."""
    incident = session.get(Incident, message.incident_id)
    if incident is None:
        raise RenderError(f"outbox {message.id}: incident {message.incident_id} not found")
    kind = MessageKind(message.kind)
    notice = session.get(Notice, message.notice_id) if message.notice_id is not None else None
    recipient_id = recipient_jurisdiction(session, message)
    recipient = _bureau(session, recipient_id)
    if recipient is None:
        raise RenderError(f"outbox {message.id}: recipient bureau {recipient_id!r} not found")
    origin, report = _origin_fields(session, incident, options)
    grade = incident.effective_grade
    geometry = options.geometry
    return NoticeContext(
        kind=kind,
        exercise=incident.exercise,
        incident_id=incident.id,
        notice_id=notice.id if notice is not None else None,
        river=incident.river,
        recipient_bureau=recipient.name_zh,
        recipient_jurisdiction=recipient.jurisdiction_name,
        message_id=message.message_id,
        in_reply_to=message.in_reply_to,
        grade=f"{grade.value} {GRADE_NAMES_ZH[grade]}",
        summary=_summary(session, message, report),
        map=geometry(incident, report, recipient.jurisdiction_id) if geometry else None,
        **origin,
        **_notice_fields(notice, recipient, kind, options),
        **_about_fields(session, message, notice, recipient),
    )

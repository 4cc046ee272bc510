"""Reading an incident's whole story from the tables into the response schemas."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.schemas.incidents import (
    AckEntry,
    ClockEntry,
    FollowUpEntry,
    IncidentDetail,
    IncidentSummary,
    NoticeEntry,
    ReportEntry,
)
from notifier.bureaus.models import Bureau
from notifier.incidents.models import FollowUp, Incident, StatutoryClock
from notifier.notices.models import Acknowledgement, Notice
from notifier.reports.models import Evaluation, Report


def _r3(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summary_of(
    session: Session, incident: Incident, *, notices: int | None = None
) -> IncidentSummary:
    if notices is None:
        notices = (
            session.scalar(
                select(func.count()).select_from(Notice).where(Notice.incident_id == incident.id)
            )
            or 0
        )
    return IncidentSummary(
        id=incident.id,
        river=incident.river,
        origin_reach_id=incident.origin_reach_id,
        origin_jurisdiction_id=incident.origin_jurisdiction_id,
        direction=incident.direction.value,
        status=incident.status.value,
        exercise=incident.exercise,
        grade=incident.effective_grade.value,
        proposed_grade=incident.proposed_grade.value,
        opened_at=incident.opened_at,
        closed_at=incident.closed_at,
        cancelled_at=incident.cancelled_at,
        ended_at=incident.ended_at,
        notices=notices,
    )


def _reports(session: Session, incident_id: int) -> list[ReportEntry]:
    rows = session.execute(
        select(Report, Evaluation)
        .outerjoin(Evaluation, Evaluation.report_id == Report.id)
        .where(Report.incident_id == incident_id)
        .order_by(Report.id)
    )
    return [
        ReportEntry(
            id=r.id,
            station_id=r.station_id,
            reach_id=r.reach_id,
            jurisdiction_id=r.jurisdiction_id,
            lon=r.lon,
            lat=r.lat,
            observed_at=r.observed_at,
            received_at=r.received_at,
            measurements=list(r.measurements),
            direction=r.direction.value,
            note=r.note,
            reporter=r.reporter,
            exceeded=e.exceeded if e is not None else None,
            proposed_grade=e.proposed_grade.value if e is not None and e.proposed_grade else None,
        )
        for r, e in rows
    ]


def _notices(session: Session, incident_id: int) -> list[NoticeEntry]:
    rows = session.execute(
        select(Notice, Bureau.name_zh)
        .join(Bureau, Bureau.jurisdiction_id == Notice.jurisdiction_id)
        .where(Notice.incident_id == incident_id)
        .order_by(Notice.position)
    )
    return [
        NoticeEntry(
            id=n.id,
            jurisdiction_id=n.jurisdiction_id,
            bureau=name,
            role=n.role.value,
            status=n.status.value,
            distance_km=_r3(n.distance_km),
            eta_hours=_r3(n.eta_hours),
            ack_deadline=n.ack_deadline,
            reason=n.reason,
            created_at=n.created_at,
            sent_at=n.sent_at,
            acknowledged_at=n.acknowledged_at,
            reminded_at=n.reminded_at,
            escalated_at=n.escalated_at,
        )
        for n, name in rows
    ]


def incident_detail(session: Session, incident: Incident) -> IncidentDetail:
    notices = _notices(session, incident.id)
    acks = session.scalars(
        select(Acknowledgement)
        .join(Notice, Notice.id == Acknowledgement.notice_id)
        .where(Notice.incident_id == incident.id)
        .order_by(Acknowledgement.id)
    )
    follow_ups = session.scalars(
        select(FollowUp).where(FollowUp.incident_id == incident.id).order_by(FollowUp.id)
    )
    clocks = session.scalars(
        select(StatutoryClock)
        .where(StatutoryClock.incident_id == incident.id)
        .order_by(StatutoryClock.due_at)
    )
    summary = summary_of(session, incident, notices=len(notices))
    return IncidentDetail(
        **summary.model_dump(),
        affected_reaches=list(incident.affected_reaches),
        reports=_reports(session, incident.id),
        notice_list=notices,
        acknowledgements=[
            AckEntry(
                notice_id=a.notice_id, by_name=a.by_name, at=a.at, channel=a.channel, note=a.note
            )
            for a in acks
        ],
        follow_ups=[
            FollowUpEntry(
                id=f.id,
                kind=f.kind.value,
                author=f.author,
                author_jurisdiction_id=f.author_jurisdiction_id,
                text=f.text,
                at=f.at,
            )
            for f in follow_ups
        ],
        clocks=[
            ClockEntry(kind=c.kind.value, due_at=c.due_at, met_at=c.met_at, basis=c.basis)
            for c in clocks
        ],
    )

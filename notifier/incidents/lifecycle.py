"""Incident use cases after opening: severity, follow-ups, end of alert, cancel, close, clocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.audit.service import record
from notifier.bureaus.models import Bureau
from notifier.clocks import statutory_clocks
from notifier.enums import (
    AWAITING_ACK,
    ClockKind,
    FollowUpKind,
    Grade,
    IncidentStatus,
    NoticeStatus,
    OutboxKind,
    OutboxStatus,
)
from notifier.incidents.models import FollowUp, Incident, StatutoryClock
from notifier.incidents.schemas import EngineError, NotFoundError
from notifier.notices.deadlines import ack_deadline
from notifier.notices.models import Notice
from notifier.outbox.models import OutboxMessage
from notifier.outbox.service import enqueue
from notifier.routing.policy import Policy

LIVE = (IncidentStatus.OPEN, IncidentStatus.MONITORING)


def get_incident(session: Session, incident_id: int, *, live: bool = False) -> Incident:
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFoundError(f"未知事件 / unknown incident {incident_id}")
    if live and incident.status not in LIVE:
        raise EngineError(
            f"事件 {incident_id} 已{incident.status.value} / incident is {incident.status.value}"
        )
    return incident


def set_severity(
    session: Session,
    *,
    incident_id: int,
    grade: Grade,
    actor: str,
    policy: Policy,
    now: datetime,
) -> Incident:
    """People set the grade; the statutory clocks follow it (I-II: 2 h upward, 5·24), and
    notices not yet acknowledged get the grade's shorter deadline if it is sooner."""
    incident = get_incident(session, incident_id, live=True)
    before = {"grade": incident.grade.value if incident.grade else None}
    incident.grade = Grade(grade)
    _move_clocks(session, incident, policy=policy)
    _tighten_deadlines(session, incident, policy=policy, actor=actor, now=now)
    session.flush()
    record(
        session,
        actor=actor,
        action="incident.set_severity",
        entity="incident",
        entity_id=incident_id,
        at=now,
        before=before,
        after={"grade": incident.grade.value},
    )
    return incident


def _move_clocks(session: Session, incident: Incident, *, policy: Policy) -> None:
    query = select(StatutoryClock).where(StatutoryClock.incident_id == incident.id)
    clocks = {c.kind: c for c in session.scalars(query)}
    wanted = {
        d.kind: d
        for d in statutory_clocks(incident.opened_at, grade=incident.effective_grade, policy=policy)
    }
    for kind, due in wanted.items():
        clock = clocks.get(kind)
        if clock is None:
            session.add(
                StatutoryClock(
                    incident_id=incident.id, kind=kind, due_at=due.due_at, basis=due.basis
                )
            )
        elif clock.met_at is None and clock.due_at != due.due_at:
            clock.due_at, clock.warned_at = due.due_at, None
    for kind, clock in clocks.items():
        if kind not in wanted and clock.met_at is None:
            session.delete(clock)


def _tighten_deadlines(
    session: Session, incident: Incident, *, policy: Policy, actor: str, now: datetime
) -> None:
    query = select(Notice).where(
        Notice.incident_id == incident.id,
        Notice.status.in_(list(AWAITING_ACK)),
        Notice.reminded_at.is_(None),
    )
    for notice in session.scalars(query):
        sooner = ack_deadline(
            notice.created_at,
            grade=incident.effective_grade,
            eta_hours=notice.eta_hours,
            policy=policy,
        )
        if sooner < notice.ack_deadline:
            before = {"ack_deadline": notice.ack_deadline}
            notice.ack_deadline = sooner
            record(
                session,
                actor=actor,
                action="notice.deadline",
                entity="notice",
                entity_id=notice.id,
                at=now,
                before=before,
                after={"ack_deadline": sooner},
            )


def _notified(session: Session, incident_id: int) -> list[tuple[Notice, Bureau]]:
    query = (
        select(Notice, Bureau)
        .join(Bureau, Bureau.jurisdiction_id == Notice.jurisdiction_id)
        .where(Notice.incident_id == incident_id)
        .order_by(Notice.position)
    )
    return [(notice, bureau) for notice, bureau in session.execute(query).all()]


def _broadcast(
    session: Session,
    incident: Incident,
    follow_up: FollowUp,
    kind: OutboxKind,
    *,
    skip: str | None,
    now: datetime,
    extra: dict[str, object] | None = None,
) -> int:
    count = 0
    for notice, bureau in _notified(session, incident.id):
        if bureau.jurisdiction_id == skip:
            continue
        rows = enqueue(
            session,
            kind=kind,
            key=f"{follow_up.id}.notice-{notice.id}",
            incident_id=incident.id,
            notice_id=notice.id,
            bureau=bureau,
            now=now,
            follow_up_id=follow_up.id,
            extra=extra,
        )
        count += len(rows)
    return count


def add_follow_up(
    session: Session,
    *,
    incident_id: int,
    author: str,
    text: str,
    now: datetime,
    author_jurisdiction_id: str | None = None,
) -> FollowUp:
    """续报 from any party: to every bureau notified, threaded under its first notice."""
    incident = get_incident(session, incident_id, live=True)
    if not text.strip():
        raise EngineError("续报内容为空 / follow-up text is empty")
    if author_jurisdiction_id is not None and session.get(Bureau, author_jurisdiction_id) is None:
        raise EngineError(f"未知单位 / unknown bureau {author_jurisdiction_id!r}")
    follow_up = FollowUp(
        incident_id=incident_id,
        kind=FollowUpKind.FOLLOW_UP,
        author=author,
        author_jurisdiction_id=author_jurisdiction_id,
        text=text,
        at=now,
    )
    session.add(follow_up)
    session.flush()
    record(
        session,
        actor=author,
        action="incident.follow_up",
        entity="follow_up",
        entity_id=follow_up.id,
        at=now,
        after={"incident_id": incident_id, "text": text},
    )
    _broadcast(
        session, incident, follow_up, OutboxKind.FOLLOW_UP, skip=author_jurisdiction_id, now=now
    )
    return follow_up


def end_of_alert(
    session: Session, *, incident_id: int, author: str, text: str, now: datetime
) -> FollowUp:
    """解除: everyone notified before is told; the incident moves to monitoring."""
    incident = get_incident(session, incident_id, live=True)
    if incident.ended_at is not None:
        raise EngineError(f"事件 {incident_id} 已解除 / alert already ended")
    follow_up = FollowUp(
        incident_id=incident_id,
        kind=FollowUpKind.END_OF_ALERT,
        author=author,
        text=text or "预警解除 / end of alert",
        at=now,
    )
    session.add(follow_up)
    before = {"status": incident.status.value, "ended_at": None}
    incident.ended_at = now
    incident.status = IncidentStatus.MONITORING
    session.flush()
    record(
        session,
        actor=author,
        action="incident.end_of_alert",
        entity="incident",
        entity_id=incident_id,
        at=now,
        before=before,
        after={"status": incident.status.value, "ended_at": now.isoformat()},
    )
    _broadcast(session, incident, follow_up, OutboxKind.END_OF_ALERT, skip=None, now=now)
    return follow_up


def _withdraw_unsent(session: Session, incident_id: int) -> set[int | None]:
    """Pending messages of a cancelled incident never go out; returns the notices whose
    message already went (or is going) out."""
    pending = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.incident_id == incident_id,
            OutboxMessage.status == OutboxStatus.PENDING.value,
        )
    )
    for message in pending:
        message.status = OutboxStatus.FAILED.value
        message.last_error = "incident cancelled before sending / 事件已取消"
    gone = [OutboxStatus.SENT.value, OutboxStatus.LEASED.value]
    return set(
        session.scalars(
            select(OutboxMessage.notice_id).where(
                OutboxMessage.incident_id == incident_id, OutboxMessage.status.in_(gone)
            )
        )
    )


def cancel(
    session: Session, *, incident_id: int, actor: str, reason: str, now: datetime
) -> Incident:
    """A false alarm: notices still waiting are cancelled, unsent messages withdrawn, and
    bureaus that were already sent a notice are told."""
    incident = get_incident(session, incident_id, live=True)
    before = {"status": incident.status.value}
    incident.status = IncidentStatus.CANCELLED
    incident.cancelled_at = now
    reached = _withdraw_unsent(session, incident_id)
    text = f"事件取消 / incident cancelled: {reason}"
    follow_up = FollowUp(
        incident_id=incident_id, kind=FollowUpKind.END_OF_ALERT, author=actor, text=text, at=now
    )
    session.add(follow_up)
    session.flush()
    for notice, bureau in _notified(session, incident_id):
        if notice.status in AWAITING_ACK:
            notice.status, notice.cancelled_at = NoticeStatus.CANCELLED, now
            record(
                session,
                actor=actor,
                action="notice.cancel",
                entity="notice",
                entity_id=notice.id,
                at=now,
                after={"status": "cancelled"},
            )
        if notice.id in reached:
            enqueue(
                session,
                kind=OutboxKind.END_OF_ALERT,
                key=f"{follow_up.id}.notice-{notice.id}",
                incident_id=incident_id,
                notice_id=notice.id,
                bureau=bureau,
                now=now,
                follow_up_id=follow_up.id,
                extra={"cancelled": True},
            )
    session.flush()
    record(
        session,
        actor=actor,
        action="incident.cancel",
        entity="incident",
        entity_id=incident_id,
        at=now,
        before=before,
        after={"status": "cancelled", "reason": reason},
    )
    return incident


def close(session: Session, *, incident_id: int, actor: str, now: datetime) -> Incident:
    incident = get_incident(session, incident_id, live=True)
    before = {"status": incident.status.value}
    incident.status = IncidentStatus.CLOSED
    incident.closed_at = now
    session.flush()
    record(
        session,
        actor=actor,
        action="incident.close",
        entity="incident",
        entity_id=incident_id,
        at=now,
        before=before,
        after={"status": "closed"},
    )
    return incident


def set_monitoring(session: Session, *, incident_id: int, actor: str, now: datetime) -> Incident:
    incident = get_incident(session, incident_id, live=True)
    if incident.status is IncidentStatus.MONITORING:
        return incident
    incident.status = IncidentStatus.MONITORING
    session.flush()
    record(
        session,
        actor=actor,
        action="incident.monitoring",
        entity="incident",
        entity_id=incident_id,
        at=now,
        before={"status": "open"},
        after={"status": "monitoring"},
    )
    return incident


def meet_clock(
    session: Session, *, incident_id: int, kind: ClockKind, actor: str, now: datetime
) -> StatutoryClock:
    """Record that a statutory step was done (upward report, public information, press)."""
    clock = session.scalars(
        select(StatutoryClock).where(
            StatutoryClock.incident_id == incident_id, StatutoryClock.kind == ClockKind(kind)
        )
    ).first()
    if clock is None:
        raise NotFoundError(f"事件 {incident_id} 无此时限 / no {kind} clock on this incident")
    if clock.met_at is None:
        clock.met_at = now
        session.flush()
        record(
            session,
            actor=actor,
            action="clock.met",
            entity="clock",
            entity_id=clock.id,
            at=now,
            after={"kind": clock.kind.value, "met_at": now.isoformat()},
        )
    return clock

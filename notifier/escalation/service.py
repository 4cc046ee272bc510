"""due_actions(now): apply the reminders, escalations and clock warnings that are due.

Run by the delivery worker's loop. Idempotent: each action marks what it did, so a second run
at the same ``now`` writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.audit.service import record
from notifier.bureaus.models import Bureau
from notifier.enums import AWAITING_ACK, IncidentStatus, NoticeStatus, OutboxKind
from notifier.escalation.due import ActionKind, ClockState, DueAction, NoticeState, due_actions
from notifier.incidents.models import Incident, StatutoryClock
from notifier.notices.models import Notice
from notifier.outbox.service import enqueue
from notifier.routing.policy import Policy


def _states(session: Session) -> tuple[list[NoticeState], list[ClockState]]:
    """What may be due, locked on PostgreSQL (SKIP LOCKED: two workers never act twice on
    one notice; on SQLite the caller's BEGIN IMMEDIATE serializes them)."""
    notices = session.scalars(
        select(Notice)
        .join(Incident, Incident.id == Notice.incident_id)
        .where(
            Incident.status == IncidentStatus.OPEN,
            Incident.ended_at.is_(None),
            Notice.status.in_(list(AWAITING_ACK)),
        )
        .with_for_update(of=Notice, skip_locked=True)
    )
    clocks = session.scalars(
        select(StatutoryClock)
        .join(Incident, Incident.id == StatutoryClock.incident_id)
        .where(
            Incident.status.in_([IncidentStatus.OPEN, IncidentStatus.MONITORING]),
            StatutoryClock.met_at.is_(None),
            StatutoryClock.warned_at.is_(None),
        )
        .with_for_update(of=StatutoryClock, skip_locked=True)
    )
    return (
        [
            NoticeState(n.id, n.status, n.created_at, n.ack_deadline, n.reminded_at, n.escalated_at)
            for n in notices
        ],
        [ClockState(c.id, c.due_at, c.met_at, c.warned_at) for c in clocks],
    )


def _remind(session: Session, notice: Notice, now: datetime) -> None:
    before = {"status": notice.status.value}
    notice.reminded_at = now
    notice.status = NoticeStatus.OVERDUE
    bureau = session.get(Bureau, notice.jurisdiction_id)
    if bureau is not None:
        enqueue(
            session,
            kind=OutboxKind.REMINDER,
            key=notice.id,
            incident_id=notice.incident_id,
            notice_id=notice.id,
            bureau=bureau,
            now=now,
        )
    record(
        session,
        actor="system:due",
        action="notice.remind",
        entity="notice",
        entity_id=notice.id,
        at=now,
        before=before,
        after={"status": "overdue"},
    )


def _escalate(session: Session, notice: Notice, now: datetime) -> None:
    before = {"status": notice.status.value}
    notice.escalated_at = now
    notice.status = NoticeStatus.ESCALATED
    bureau = session.get(Bureau, notice.jurisdiction_id)
    supervisor = (
        session.get(Bureau, bureau.supervisor_id) if bureau and bureau.supervisor_id else None
    )
    if supervisor is not None:
        enqueue(
            session,
            kind=OutboxKind.ESCALATION,
            key=notice.id,
            incident_id=notice.incident_id,
            notice_id=notice.id,
            bureau=supervisor,
            now=now,
            extra={"escalated_jurisdiction_id": notice.jurisdiction_id},
        )
    record(
        session,
        actor="system:due",
        action="notice.escalate",
        entity="notice",
        entity_id=notice.id,
        at=now,
        before=before,
        after={
            "status": "escalated",
            "to": supervisor.jurisdiction_id if supervisor is not None else None,
        },
    )


def _warn(session: Session, clock: StatutoryClock, now: datetime) -> None:
    clock.warned_at = now
    incident = session.get(Incident, clock.incident_id)
    assert incident is not None
    origin = session.get(Bureau, incident.origin_jurisdiction_id)
    targets = [origin]
    if origin is not None and origin.supervisor_id:
        targets.append(session.get(Bureau, origin.supervisor_id))
    for bureau in targets:
        if bureau is not None:
            enqueue(
                session,
                kind=OutboxKind.CLOCK_WARNING,
                key=f"{clock.id}.{bureau.jurisdiction_id}",
                incident_id=incident.id,
                notice_id=None,
                bureau=bureau,
                now=now,
                extra={"clock": clock.kind.value, "due_at": clock.due_at.isoformat()},
            )
    record(
        session,
        actor="system:due",
        action="clock.warn",
        entity="clock",
        entity_id=clock.id,
        at=now,
        after={"kind": clock.kind.value, "due_at": clock.due_at.isoformat()},
    )


def run_due_actions(session: Session, *, policy: Policy, now: datetime) -> list[DueAction]:
    """Decide (pure) and apply what is due at ``now``; returns what was done."""
    notices, clocks = _states(session)
    actions = due_actions(notices, clocks, policy=policy, now=now)
    for action in actions:
        if action.kind is ActionKind.CLOCK_WARNING:
            clock = session.get(StatutoryClock, action.clock_id)
            assert clock is not None
            _warn(session, clock, now)
            continue
        notice = session.get(Notice, action.notice_id)
        assert notice is not None
        if action.kind is ActionKind.REMINDER:
            _remind(session, notice, now)
        else:
            _escalate(session, notice, now)
    session.flush()
    return actions

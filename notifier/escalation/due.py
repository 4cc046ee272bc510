"""Decide the due reminders, escalations and statutory-clock warnings (pure).

Each action changes the state it was decided from (a reminder sets ``reminded_at``, an
escalation ``escalated_at``, a warning ``warned_at``), so deciding again at the same ``now``
after applying them yields nothing: the caller's loop is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from notifier.enums import AWAITING_ACK, NoticeStatus
from notifier.notices.deadlines import escalation_due
from notifier.routing.policy import Policy


class ActionKind(StrEnum):
    REMINDER = "reminder"
    ESCALATION = "escalation"
    CLOCK_WARNING = "clock_warning"


@dataclass(frozen=True, slots=True)
class NoticeState:
    notice_id: int
    status: NoticeStatus
    created_at: datetime
    ack_deadline: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClockState:
    clock_id: int
    due_at: datetime
    met_at: datetime | None
    warned_at: datetime | None


@dataclass(frozen=True, slots=True)
class DueAction:
    kind: ActionKind
    notice_id: int | None = None
    clock_id: int | None = None


def due_actions(
    notices: Iterable[NoticeState],
    clocks: Iterable[ClockState],
    *,
    policy: Policy,
    now: datetime,
) -> list[DueAction]:
    actions: list[DueAction] = []
    for n in notices:
        if n.status not in AWAITING_ACK:
            continue
        if n.reminded_at is None and now >= n.ack_deadline:
            actions.append(DueAction(ActionKind.REMINDER, notice_id=n.notice_id))
        if n.escalated_at is None and now >= escalation_due(
            n.created_at, n.ack_deadline, policy=policy
        ):
            actions.append(DueAction(ActionKind.ESCALATION, notice_id=n.notice_id))
    warn_before = timedelta(minutes=policy.warn_before_minutes)
    for c in clocks:
        if c.met_at is None and c.warned_at is None and now >= c.due_at - warn_before:
            actions.append(DueAction(ActionKind.CLOCK_WARNING, clock_id=c.clock_id))
    return actions

"""The pure due-action decisions and the statutory clocks, with fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifier.clocks import statutory_clocks
from notifier.enums import ClockKind, Grade, NoticeStatus
from notifier.escalation.due import ActionKind, ClockState, NoticeState, due_actions
from notifier.routing.policy import load_policy

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
POLICY = load_policy()


def _notice(**kw: object) -> NoticeState:
    base: dict[str, object] = dict(
        notice_id=1,
        status=NoticeStatus.SENT,
        created_at=T0,
        ack_deadline=T0 + timedelta(minutes=60),
        reminded_at=None,
        escalated_at=None,
    )
    return NoticeState(**(base | kw))  # type: ignore[arg-type]


def test_nothing_before_the_deadline() -> None:
    assert due_actions([_notice()], [], policy=POLICY, now=T0 + timedelta(minutes=59)) == []


def test_reminder_at_deadline_escalation_at_twice() -> None:
    at_deadline = due_actions([_notice()], [], policy=POLICY, now=T0 + timedelta(minutes=60))
    assert [a.kind for a in at_deadline] == [ActionKind.REMINDER]
    reminded = _notice(status=NoticeStatus.OVERDUE, reminded_at=T0 + timedelta(minutes=60))
    assert due_actions([reminded], [], policy=POLICY, now=T0 + timedelta(minutes=119)) == []
    late = due_actions([reminded], [], policy=POLICY, now=T0 + timedelta(minutes=120))
    assert [a.kind for a in late] == [ActionKind.ESCALATION]


def test_acknowledged_or_cancelled_notices_are_left_alone() -> None:
    later = T0 + timedelta(hours=5)
    for status in (NoticeStatus.ACKNOWLEDGED, NoticeStatus.CANCELLED, NoticeStatus.ESCALATED):
        assert due_actions([_notice(status=status)], [], policy=POLICY, now=later) == []


def test_clock_warning_before_due_once() -> None:
    clock = ClockState(clock_id=7, due_at=T0 + timedelta(hours=4), met_at=None, warned_at=None)
    assert due_actions([], [clock], policy=POLICY, now=T0 + timedelta(hours=3, minutes=29)) == []
    got = due_actions([], [clock], policy=POLICY, now=T0 + timedelta(hours=3, minutes=30))
    assert [(a.kind, a.clock_id) for a in got] == [(ActionKind.CLOCK_WARNING, 7)]
    warned = ClockState(7, clock.due_at, None, T0 + timedelta(hours=3, minutes=30))
    met = ClockState(7, clock.due_at, T0 + timedelta(hours=1), None)
    assert due_actions([], [warned, met], policy=POLICY, now=T0 + timedelta(hours=9)) == []


def test_statutory_clocks_by_grade() -> None:
    minor = statutory_clocks(T0, grade=Grade.III, policy=POLICY)
    assert [(c.kind, c.due_at - T0) for c in minor] == [
        (ClockKind.REPORT_UPWARD, timedelta(hours=4))
    ]
    major = statutory_clocks(T0, grade=Grade.II, policy=POLICY)
    assert [(c.kind, c.due_at - T0) for c in major] == [
        (ClockKind.REPORT_UPWARD, timedelta(hours=2)),
        (ClockKind.PUBLIC_INFORMATION, timedelta(hours=5)),
        (ClockKind.PRESS_CONFERENCE, timedelta(hours=24)),
    ]

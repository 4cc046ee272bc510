"""Acknowledgement deadlines (pure): by grade, and before the water arrives."""

from __future__ import annotations

from datetime import datetime, timedelta

from notifier.enums import Grade
from notifier.routing.policy import Policy


def ack_deadline(
    now: datetime, *, grade: Grade, eta_hours: float | None, policy: Policy
) -> datetime:
    """The grade's time to acknowledge, cut to the estimated arrival minus the margin.

    A neighbour the water reaches in 2 hours must confirm well before then. The floor
    (``minimum_minutes``) keeps a deadline in the future for a bank the water is already at.
    """
    deadline = now + timedelta(minutes=policy.ack_minutes[grade])
    if eta_hours is not None:
        before_arrival = (
            now + timedelta(hours=eta_hours) - timedelta(minutes=policy.arrival_margin_minutes)
        )
        deadline = min(deadline, before_arrival)
    return max(deadline, now + timedelta(minutes=policy.minimum_minutes))


def escalation_due(created_at: datetime, ack_deadline: datetime, *, policy: Policy) -> datetime:
    """Escalation comes at ``escalate_factor`` times the time the recipient was given."""
    return created_at + (ack_deadline - created_at) * policy.escalate_factor

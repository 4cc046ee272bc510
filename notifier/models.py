"""Every table, imported together so that ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

from notifier.audit.models import AuditEvent
from notifier.bureaus.models import Bureau
from notifier.db import Base
from notifier.incidents.models import FollowUp, Incident, StatutoryClock
from notifier.notices.models import Acknowledgement, Notice
from notifier.outbox.models import DeliveryAttempt, OutboxMessage
from notifier.ratelimits.models import RateBucket
from notifier.reports.models import Evaluation, Report
from notifier.stations.models import Station

__all__ = [
    "Acknowledgement",
    "AuditEvent",
    "Base",
    "Bureau",
    "DeliveryAttempt",
    "Evaluation",
    "FollowUp",
    "Incident",
    "Notice",
    "OutboxMessage",
    "RateBucket",
    "Report",
    "Station",
    "StatutoryClock",
]

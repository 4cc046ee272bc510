"""The engine's vocabulary: every status, role and kind stored in the database."""

from __future__ import annotations

from enum import StrEnum


class ReportDirection(StrEnum):
    SOURCE = "source"  # pollution is here and may flow down
    OBSERVED_DOWNSTREAM = "observed_downstream"  # an anomaly seen here may come from upstream
    BOTH = "both"


class Grade(StrEnum):
    """突发环境事件分级: I 特别重大, II 重大, III 较大, IV 一般."""

    I = "I"  # noqa: E741
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def major(self) -> bool:
        """Grades I-II: the 2-hour upward report and the 5·24 rule apply."""
        return self in (Grade.I, Grade.II)


GRADE_NAMES_ZH = {Grade.I: "特别重大", Grade.II: "重大", Grade.III: "较大", Grade.IV: "一般"}


class IncidentStatus(StrEnum):
    OPEN = "open"
    MONITORING = "monitoring"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class NoticeRole(StrEnum):
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    BOUNDARY = "boundary"
    SUPERVISOR_COPY = "supervisor_copy"
    ADJACENT_PREFECTURE = "adjacent_prefecture"
    PROVINCIAL_COPY = "provincial_copy"


#: When one bureau qualifies for several roles it gets one notice with the strongest.
ROLE_STRENGTH = {
    NoticeRole.BOUNDARY: 6,
    NoticeRole.DOWNSTREAM: 5,
    NoticeRole.UPSTREAM: 5,
    NoticeRole.ADJACENT_PREFECTURE: 4,
    NoticeRole.PROVINCIAL_COPY: 3,
    NoticeRole.SUPERVISOR_COPY: 2,
}


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


#: Statuses that still wait for an acknowledgement.
AWAITING_ACK = frozenset({NoticeStatus.PENDING, NoticeStatus.SENT, NoticeStatus.OVERDUE})


class ClockKind(StrEnum):
    REPORT_UPWARD = "report_upward"  # 《突发环境事件信息报告办法》2011: 4 h (III-IV), 2 h (I-II)
    PUBLIC_INFORMATION = "public_information"  # 5·24: authoritative information within 5 h
    PRESS_CONFERENCE = "press_conference"  # 5·24: press conference within 24 h


class FollowUpKind(StrEnum):
    FOLLOW_UP = "follow_up"  # 续报
    END_OF_ALERT = "end_of_alert"  # 解除


class OutboxKind(StrEnum):
    NOTICE = "notice"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    FOLLOW_UP = "follow_up"
    END_OF_ALERT = "end_of_alert"
    DELIVERY_FAILURE = "delivery_failure"
    CLOCK_WARNING = "clock_warning"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    SENT = "sent"
    FAILED = "failed"


class AttemptResult(StrEnum):
    SENT = "sent"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"

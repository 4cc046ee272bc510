from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base, StrEnumType, UTCDateTime
from notifier.enums import (
    ClockKind,
    FollowUpKind,
    Grade,
    IncidentStatus,
    ReportDirection,
)


class Incident(Base):
    """A pollution event on one river. ``affected_reaches`` are the reaches within the routing
    horizon; a later report on one of them inside ``[window_start, window_end]`` joins it."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    river: Mapped[str] = mapped_column(String(200), index=True)
    origin_reach_id: Mapped[str] = mapped_column(String(64))
    origin_jurisdiction_id: Mapped[str] = mapped_column(ForeignKey("bureaus.jurisdiction_id"))
    direction: Mapped[ReportDirection] = mapped_column(StrEnumType(ReportDirection))
    affected_reaches: Mapped[list[str]] = mapped_column(JSON)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[IncidentStatus] = mapped_column(StrEnumType(IncidentStatus), index=True)
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_grade: Mapped[Grade] = mapped_column(StrEnumType(Grade))
    grade: Mapped[Grade | None] = mapped_column(StrEnumType(Grade))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def effective_grade(self) -> Grade:
        """The grade people set, else the proposed one."""
        return self.grade or self.proposed_grade


class FollowUp(Base):
    """续报 from any party, or the end of alert (解除)."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[FollowUpKind] = mapped_column(StrEnumType(FollowUpKind))
    author: Mapped[str] = mapped_column(String(200))
    author_jurisdiction_id: Mapped[str | None] = mapped_column(
        ForeignKey("bureaus.jurisdiction_id")
    )
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatutoryClock(Base):
    """A legal deadline on an incident and when it was met."""

    __tablename__ = "statutory_clocks"
    __table_args__ = (
        UniqueConstraint("incident_id", "kind", name="uq_statutory_clocks_incident_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[ClockKind] = mapped_column(StrEnumType(ClockKind))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    basis: Mapped[str] = mapped_column(String(200))

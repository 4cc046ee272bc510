from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base, StrEnumType, UTCDateTime
from notifier.enums import NoticeRole, NoticeStatus


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("incident_id", "jurisdiction_id", name="uq_notices_incident_bureau"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    jurisdiction_id: Mapped[str] = mapped_column(ForeignKey("bureaus.jurisdiction_id"))
    role: Mapped[NoticeRole] = mapped_column(StrEnumType(NoticeRole))
    position: Mapped[int] = mapped_column(Integer)  # order within the incident
    reason: Mapped[str] = mapped_column(Text, default="")
    crossing_reach: Mapped[str | None] = mapped_column(String(64))
    distance_km: Mapped[float | None] = mapped_column(Float)
    eta_hours: Mapped[float | None] = mapped_column(Float)
    eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ack_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[NoticeStatus] = mapped_column(StrEnumType(NoticeStatus), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Acknowledgement(Base):
    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(32))  # link | api | cli | phone
    note: Mapped[str] = mapped_column(Text, default="")

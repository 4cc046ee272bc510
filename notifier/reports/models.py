from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base, StrEnumType, UTCDateTime
from notifier.enums import Grade, ReportDirection


class Report(Base):
    """One submission, never changed after insert (triggers refuse UPDATE and DELETE).

    ``measurements`` is a list of ``{"code", "value", "unit", "flag"}``. A report located by
    lon/lat keeps the point and the distance to the reach it was snapped to.
    """

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.station_id"))
    reach_id: Mapped[str] = mapped_column(String(64), index=True)
    river: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[str] = mapped_column(ForeignKey("bureaus.jurisdiction_id"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    snap_distance_m: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    measurements: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    direction: Mapped[ReportDirection] = mapped_column(StrEnumType(ReportDirection))
    note: Mapped[str] = mapped_column(Text, default="")
    reporter: Mapped[str] = mapped_column(String(200))
    declared_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)


class Evaluation(Base):
    """The check of one report against GB 3838-2002 and the station's alarm thresholds.

    ``results`` is a list of ``{"code", "value_mg_l", "limit", "bound", "source", "exceeded",
    "ratio", "evaluated", "reason"}``.
    """

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    target_class: Mapped[int] = mapped_column()
    waterbody: Mapped[str] = mapped_column(String(32))
    exceeded: Mapped[bool] = mapped_column(Boolean)
    max_ratio: Mapped[float] = mapped_column(Float)
    proposed_grade: Mapped[Grade | None] = mapped_column(StrEnumType(Grade))
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())

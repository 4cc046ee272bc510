from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base


class Station(Base):
    """A monitoring section. ``thresholds`` holds per-station alarm limits by HJ 212 code:
    ``{"w21003": {"max": 1.0, "unit": "mg/L"}, "w01009": {"min": 4.0}}``."""

    __tablename__ = "stations"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    reach_id: Mapped[str] = mapped_column(String(64), index=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("bureaus.jurisdiction_id"))
    mn: Mapped[str | None] = mapped_column(String(32), unique=True)
    api_key_hash: Mapped[str | None] = mapped_column(String(200))
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

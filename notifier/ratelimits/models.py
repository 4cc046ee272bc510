from __future__ import annotations

from sqlalchemy import Double, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base


class RateBucket(Base):
    """One token bucket: ``tokens`` left at ``at`` (Unix seconds: every process reads the same
    wall clock, unlike the monotonic clock the in-process buckets use). ``key`` is a SHA-256
    of what is limited (a station key, a username and address), never the thing itself."""

    __tablename__ = "rate_limits"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Double())
    at: Mapped[float] = mapped_column(Double())

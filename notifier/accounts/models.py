from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.accounts.roles import Role
from notifier.db import Base, StrEnumType, UTCDateTime


class User(Base):
    """A person who signs in. ``jurisdiction_id`` is the bureau they work for; what they may
    see and do follows from it and from ``role`` (see api.deps)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[str] = mapped_column(ForeignKey("bureaus.jurisdiction_id"))
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

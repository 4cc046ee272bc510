from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base, UTCDateTime


class Bureau(Base):
    """A jurisdiction's environmental bureau, identified by the jurisdiction's id.

    ``emails`` is a list of addresses; ``webhooks`` a list of ``{"url", "format"}`` objects
    (format generic | wecom | dingtalk).
    """

    __tablename__ = "bureaus"

    jurisdiction_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    jurisdiction_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    supervisor_id: Mapped[str | None] = mapped_column(
        ForeignKey("bureaus.jurisdiction_id"), index=True
    )
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    webhooks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duty_name: Mapped[str] = mapped_column(String(200), default="")
    duty_phone: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from api.schemas.common import Note, ShortText
from api.schemas.reports import NoticeOut


class MyNotice(NoticeOut):
    incident_id: int
    river: str
    exercise: bool
    incident_status: str
    reason: str
    created_at: datetime
    acknowledged_at: datetime | None


class NoticeList(BaseModel):
    items: list[MyNotice]
    total: int
    limit: int
    offset: int


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by_name: ShortText = ""  # default: the signed-in user's name
    note: Note = ""


class AckOut(BaseModel):
    notice_id: int
    first: bool
    acknowledged_at: datetime
    by_name: str

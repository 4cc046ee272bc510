from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Note, RequiredText
from api.schemas.reports import NoticeOut


class IncidentSummary(BaseModel):
    id: int
    river: str
    origin_reach_id: str
    origin_jurisdiction_id: str
    direction: str
    status: str
    exercise: bool
    grade: str = Field(description="people's grade, else the proposed one (I-IV)")
    proposed_grade: str
    opened_at: datetime
    closed_at: datetime | None
    cancelled_at: datetime | None
    ended_at: datetime | None
    notices: int


class IncidentList(BaseModel):
    items: list[IncidentSummary]
    total: int
    limit: int
    offset: int


class ReportEntry(BaseModel):
    id: int
    station_id: str | None
    reach_id: str
    jurisdiction_id: str
    lon: float | None
    lat: float | None
    observed_at: datetime
    received_at: datetime
    measurements: list[dict[str, Any]]
    direction: str
    note: str
    reporter: str
    exceeded: bool | None
    proposed_grade: str | None


class AckEntry(BaseModel):
    notice_id: int
    by_name: str
    at: datetime
    channel: str
    note: str


class NoticeEntry(NoticeOut):
    reason: str
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None


class FollowUpEntry(BaseModel):
    id: int
    kind: str
    author: str
    author_jurisdiction_id: str | None
    text: str
    at: datetime


class ClockEntry(BaseModel):
    kind: str
    due_at: datetime
    met_at: datetime | None
    basis: str


class IncidentDetail(IncidentSummary):
    affected_reaches: list[str]
    reports: list[ReportEntry]
    notice_list: list[NoticeEntry]
    acknowledgements: list[AckEntry]
    follow_ups: list[FollowUpEntry]
    clocks: list[ClockEntry]


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: RequiredText


class SeverityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: Literal["I", "II", "III", "IV"]
    note: Note = ""


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: RequiredText


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = ""

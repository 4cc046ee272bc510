from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.common import Identifier, Latitude, Longitude, Note, RowId

HJ212Code = Annotated[str, StringConstraints(pattern=r"^[a-z][0-9]{5}$", max_length=6)]
Unit = Annotated[str, StringConstraints(max_length=16, pattern=r"^[A-Za-z0-9/μµ个无量纲 ]*$")]
Flag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]$")]


def _plausible_time(value: datetime) -> datetime:
    if not 1970 <= value.year <= 2200:
        raise ValueError("时间须在 1970-2200 年间 / time must be between 1970 and 2200")
    return value


ObservedAt = Annotated[AwareDatetime, AfterValidator(_plausible_time)]
Direction = Literal["source", "observed_downstream", "both"]


class MeasurementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: HJ212Code = Field(description="HJ 212-2017 污染物编码 / code, e.g. w21003 (氨氮)")
    value: float = Field(ge=-1e9, le=1e9, allow_inf_nan=False)
    unit: Unit = "mg/L"
    flag: Flag = Field("N", description="数据标记 N 正常 ... / HJ 212 data flag")


class ReportIn(BaseModel):
    """Where: exactly one of ``station_id``, ``reach_id`` or ``lon`` + ``lat``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "station_id": "S1",
                "observed_at": "2026-05-01T09:30:00+08:00",
                "measurements": [{"code": "w21003", "value": 6.5, "unit": "mg/L", "flag": "N"}],
                "direction": "source",
                "note": "岸边发现排污口 / outfall found",
            }
        },
    )

    station_id: Identifier | None = None
    reach_id: Identifier | None = None
    lon: Longitude | None = None
    lat: Latitude | None = None
    observed_at: ObservedAt
    measurements: list[MeasurementIn] = Field(default_factory=list, max_length=100)
    direction: Direction = "source"
    note: Note = ""
    declared_incident: bool = Field(
        False, description="无监测数据也立案 / open an incident without measurements"
    )


class NoticeOut(BaseModel):
    id: int
    jurisdiction_id: str
    bureau: str
    role: str
    status: str
    distance_km: float | None
    eta_hours: float | None
    ack_deadline: datetime


class ReportOut(BaseModel):
    report_id: int
    incident_id: int | None = Field(description="null where nothing was exceeded")
    opened: bool
    joined: bool
    exceeded: bool
    notices: list[NoticeOut]


class DrillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reach_id: Identifier
    direction: Direction = "source"
    measurements: list[MeasurementIn] = Field(default_factory=list, max_length=100)


__all__ = ["DrillIn", "MeasurementIn", "NoticeOut", "ReportIn", "ReportOut", "RowId"]

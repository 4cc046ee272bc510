from __future__ import annotations

from pydantic import BaseModel


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str
    jurisdiction_id: str
    scope: str


class TraceEntryOut(BaseModel):
    jurisdiction_id: str
    name: str
    kind: str
    first_reach: str
    distance_km: float
    eta_hours: float
    eta_estimated: bool
    adjacent: bool
    boundary: bool
    other_prefecture: bool
    other_province: bool
    within_horizon: bool
    path: list[str]


class TraceOut(BaseModel):
    reach_id: str
    river: str
    direction: str
    entries: list[TraceEntryOut]


class BureauStats(BaseModel):
    jurisdiction_id: str
    bureau: str
    notices: int
    acknowledged: int
    median_ack_minutes: float | None
    p90_ack_minutes: float | None


class PeriodStats(BaseModel):
    period: str
    incidents: int
    notices: int
    acknowledged: int
    median_ack_minutes: float | None
    p90_ack_minutes: float | None
    bureaus: list[BureauStats]


class StatsOut(BaseModel):
    period: str
    timezone: str
    periods: list[PeriodStats]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}

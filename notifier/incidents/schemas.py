"""Inputs and answers of the incident use cases, kept apart from the tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifier.enums import NoticeRole, NoticeStatus, ReportDirection
from notifier.evaluation.evaluate import Measurement


class EngineError(ValueError):
    """A use case refused its input; ``problems`` lists every reason (Chinese / English)."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class NotFoundError(EngineError):
    pass


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Where (exactly one of station_id, reach_id, lon/lat), what and who."""

    measurements: tuple[Measurement, ...]
    reporter: str
    observed_at: datetime
    station_id: str | None = None
    reach_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    direction: ReportDirection = ReportDirection.SOURCE
    note: str = ""
    declared_incident: bool = False
    exercise: bool = False


@dataclass(frozen=True, slots=True)
class NoticeView:
    id: int
    jurisdiction_id: str
    bureau: str
    role: NoticeRole
    status: NoticeStatus
    distance_km: float | None
    eta_hours: float | None
    ack_deadline: datetime
    reason: str = ""
    position: int = 0  # order within the incident

    def as_json(self) -> dict[str, Any]:
        return self.fields() | {"ack_deadline": self.ack_deadline.isoformat()}

    def fields(self) -> dict[str, Any]:
        """The answer's fields, the deadline still a datetime (for encoders that write
        datetimes their own way)."""
        return {
            "id": self.id,
            "jurisdiction_id": self.jurisdiction_id,
            "bureau": self.bureau,
            "role": self.role.value,
            "status": self.status.value,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 3),
            "eta_hours": None if self.eta_hours is None else round(self.eta_hours, 3),
            "ack_deadline": self.ack_deadline,
        }


@dataclass(frozen=True, slots=True)
class SubmitResult:
    report_id: int
    incident_id: int | None
    opened: bool  # a new incident was opened by this report
    joined: bool  # the report joined an open incident
    exceeded: bool
    notices: list[NoticeView] = field(default_factory=list)  # all notices of the incident
    new_notice_ids: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The shape shared by the CLI (--json) and the HTTP API."""
        return {
            "incident_id": self.incident_id,
            "opened": self.opened,
            "notices": [n.as_json() for n in self.notices],
        }

"""start_drill and drill_results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.context import EngineContext
from notifier.enums import NoticeRole, ReportDirection
from notifier.evaluation.evaluate import Measurement
from notifier.incidents.models import Incident
from notifier.incidents.schemas import EngineError, NotFoundError, ReportInput, SubmitResult
from notifier.incidents.service import submit_report
from notifier.notices.models import Notice


def start_drill(
    session: Session,
    *,
    reach_id: str,
    actor: str,
    ctx: EngineContext,
    now: datetime,
    direction: ReportDirection = ReportDirection.SOURCE,
    measurements: tuple[Measurement, ...] = (),
) -> SubmitResult:
    """An exercise incident at a reach: real notices marked 【演练】, never joined with a real
    incident."""
    return submit_report(
        session,
        ReportInput(
            measurements=measurements,
            reporter=actor,
            observed_at=now,
            reach_id=reach_id,
            direction=direction,
            note="演练 / drill",
            declared_incident=True,
            exercise=True,
        ),
        ctx=ctx,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class DrillResult:
    jurisdiction_id: str
    bureau: str
    role: NoticeRole
    notified_at: datetime
    acknowledged_at: datetime | None
    seconds_to_ack: float | None
    within_deadline: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "jurisdiction_id": self.jurisdiction_id,
            "bureau": self.bureau,
            "role": self.role.value,
            "notified_at": self.notified_at.isoformat(),
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "seconds_to_ack": self.seconds_to_ack,
            "within_deadline": self.within_deadline,
        }


def drill_results(session: Session, *, incident_id: int) -> list[DrillResult]:
    """Time to acknowledge per bureau, in notice order (from the notice, not its sending)."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"未知事件 / unknown incident {incident_id}")
    if not incident.exercise:
        raise EngineError(f"事件 {incident_id} 不是演练 / incident is not a drill")
    rows = session.execute(
        select(Notice, Bureau.name_zh)
        .join(Bureau, Bureau.jurisdiction_id == Notice.jurisdiction_id)
        .where(Notice.incident_id == incident_id)
        .order_by(Notice.position)
    ).all()
    results = []
    for notice, name in rows:
        ack = notice.acknowledged_at
        results.append(
            DrillResult(
                jurisdiction_id=notice.jurisdiction_id,
                bureau=name,
                role=notice.role,
                notified_at=notice.created_at,
                acknowledged_at=ack,
                seconds_to_ack=(ack - notice.created_at).total_seconds() if ack else None,
                within_deadline=ack is not None and ack <= notice.ack_deadline,
            )
        )
    return results

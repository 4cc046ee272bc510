"""Rows for delivery tests, written through the engine's models (not its use cases, so these
tests depend only on the tables): bureaus of the 汾河 example, one incident and its notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.delivery.email import make_message_id
from notifier.enums import Grade, IncidentStatus, NoticeRole, NoticeStatus, ReportDirection
from notifier.incidents.models import Incident
from notifier.notices.models import Notice
from notifier.outbox.models import DeliveryAttempt, OutboxMessage
from notifier.reports.models import Evaluation, Report

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SENDER = "rivernotify <noreply@rivernotify.example>"
PROVINCE, ORIGIN, RECIPIENT = "140000", "140105", "140700"


@dataclass(frozen=True)
class Seeded:
    incident_id: int
    notice_id: int


def _bureau(jid: str, name: str, jname: str, supervisor: str | None, **extra: Any) -> Bureau:
    return Bureau(
        jurisdiction_id=jid,
        jurisdiction_name=jname,
        kind="prefecture",
        name_zh=name,
        supervisor_id=supervisor,
        emails=extra.get("emails", [f"duty@{jid}.example"]),
        webhooks=extra.get("webhooks", []),
        duty_name=extra.get("duty_name", ""),
        duty_phone=extra.get("duty_phone", ""),
        updated_at=T0,
    )


def seed_incident(
    engine: Engine,
    *,
    province_webhook: str | None = None,
    exercise: bool = False,
    deadline: datetime | None = None,
) -> Seeded:
    """One incident with one pending notice. Tests that run a real worker on the real clock
    pass a ``deadline`` in the future: the worker also runs the engine's due actions, and a
    deadline already past would (rightly) add a reminder to what the server receives."""
    hooks = [{"url": province_webhook, "format": "generic"}] if province_webhook else []
    with Session(engine) as session, session.begin():
        session.add(_bureau(PROVINCE, "山西省生态环境厅", "山西省", None, webhooks=hooks))
        session.flush()
        session.add_all(
            [
                _bureau(
                    ORIGIN,
                    "太原市生态环境局小店分局",
                    "太原市小店区",
                    PROVINCE,
                    duty_name="王工",
                    duty_phone="0351-1234567",
                ),
                _bureau(RECIPIENT, "晋中市生态环境局", "晋中市", PROVINCE),
            ]
        )
        session.flush()
        incident = Incident(
            river="汾河",
            origin_reach_id="fenhe-012",
            origin_jurisdiction_id=ORIGIN,
            direction=ReportDirection.SOURCE,
            affected_reaches=["fenhe-012", "fenhe-013"],
            window_start=T0,
            window_end=T0 + timedelta(hours=48),
            status=IncidentStatus.OPEN,
            exercise=exercise,
            proposed_grade=Grade.III,
            opened_at=T0,
        )
        session.add(incident)
        session.flush()
        report = Report(
            incident_id=incident.id,
            station_id=None,
            reach_id="fenhe-012",
            river="汾河",
            jurisdiction_id=ORIGIN,
            lon=112.5601,
            lat=37.7102,
            snap_distance_m=12.0,
            observed_at=T0 - timedelta(minutes=20),
            received_at=T0,
            measurements=[{"code": "w01018", "value": 45.0, "unit": "mg/L", "flag": "N"}],
            direction=ReportDirection.SOURCE,
            note="排污口附近水体发黑",
            reporter="小店分局",
        )
        session.add(report)
        session.flush()
        session.add(
            Evaluation(
                report_id=report.id,
                target_class=3,
                waterbody="river",
                exceeded=True,
                max_ratio=2.25,
                proposed_grade=Grade.III,
                evaluated_at=T0,
                results=[
                    {
                        "code": "w01018",
                        "value": 45.0,
                        "unit": "mg/L",
                        "source": "gb3838",
                        "bound": "max",
                        "low": 20.0,
                        "high": None,
                        "exceeded": True,
                        "ratio": 2.25,
                        "evaluated": True,
                        "reason": "",
                    }
                ],
            )
        )
        notice = Notice(
            incident_id=incident.id,
            jurisdiction_id=RECIPIENT,
            role=NoticeRole.DOWNSTREAM,
            position=1,
            reason="",
            crossing_reach="fenhe-013",
            distance_km=38.2,
            eta_hours=3.0,
            eta_at=T0 + timedelta(hours=3),
            ack_deadline=deadline or T0 + timedelta(minutes=30),
            status=NoticeStatus.PENDING,
            created_at=T0,
        )
        session.add(notice)
        session.flush()
        return Seeded(incident.id, notice.id)


def add_outbox(
    engine: Engine,
    seeded: Seeded,
    *,
    count: int = 1,
    recipient: str | None = None,
    channel: str = "email",
    webhook_format: str | None = None,
    kind: str = "notice",
    start: int = 0,
    due: datetime = T0,
) -> list[str]:
    """``count`` pending rows to the recipient bureau; returns their Message-IDs."""
    rows = []
    for n in range(start, start + count):
        message_id = make_message_id(
            incident_id=seeded.incident_id, kind=kind, key=f"{seeded.notice_id}-{n}", sender=SENDER
        )
        rows.append(
            {
                "incident_id": seeded.incident_id,
                "notice_id": seeded.notice_id,
                "kind": kind,
                "channel": channel,
                "recipient": recipient or f"duty{n}@{RECIPIENT}.example",
                "webhook_format": webhook_format,
                "message_id": message_id,
                "in_reply_to": None,
                "payload": {
                    "kind": kind,
                    "incident_id": seeded.incident_id,
                    "notice_id": seeded.notice_id,
                    "recipient_jurisdiction_id": RECIPIENT,
                },
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": T0,
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(OutboxMessage), rows)
    return [r["message_id"] for r in rows]


def outbox_rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def attempts(engine: Engine) -> list[DeliveryAttempt]:
    with Session(engine) as session:
        return list(session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))

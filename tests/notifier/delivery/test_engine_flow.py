"""The engine's own use cases write outbox rows; the worker renders and sends each kind.

Reminder and escalation (due actions), follow-up and end of alert (lifecycle), all threaded
under the first notice, in Chinese first with the right subject tag.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.delivery.build import render_options
from notifier.delivery.tokens import read_ack_token
from notifier.delivery.worker import Worker
from notifier.enums import ClockKind
from notifier.escalation.service import run_due_actions
from notifier.incidents.lifecycle import add_follow_up, end_of_alert
from notifier.incidents.models import StatutoryClock
from notifier.routing.policy import load_policy
from notifier.settings import Settings
from tests.fixtures.smtp import SmtpServer
from tests.notifier.delivery.seed import PROVINCE, RECIPIENT, T0, add_outbox, seed_incident

SECRET = "engine-flow-secret"


def body(mail: object) -> str:
    return mail.message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]


def test_every_kind_is_rendered_threaded_and_sent(db: Engine, smtp_server: SmtpServer) -> None:
    seeded = seed_incident(db)
    [first_id] = add_outbox(db, seeded, recipient=f"duty@{RECIPIENT}.example")
    now = [T0]
    settings = Settings(
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        secret_key=SECRET,
        public_url="https://notify.example",
    )
    worker = Worker(db, settings, render_options(settings), clock=lambda: now[0])
    asyncio.run(worker.tick())

    now[0] = T0 + timedelta(hours=2)  # past the ack deadline and twice it
    with Session(db) as session, session.begin():
        session.add(
            StatutoryClock(
                incident_id=seeded.incident_id,
                kind=ClockKind.REPORT_UPWARD,
                due_at=now[0] + timedelta(minutes=1),
                basis="《突发环境事件信息报告办法》",
            )
        )
        session.flush()
        actions = run_due_actions(session, policy=load_policy(), now=now[0])
        assert {a.kind.value for a in actions} >= {"reminder", "escalation"}
        add_follow_up(
            session,
            incident_id=seeded.incident_id,
            author="小店分局",
            text="复测化学需氧量 38 mg/L，仍超标。",
            now=now[0],
        )
        end_of_alert(
            session,
            incident_id=seeded.incident_id,
            author="小店分局",
            text="水质恢复。",
            now=now[0],
        )
    while asyncio.run(worker.tick()) is not None:
        pass

    mails = {m.message["Subject"][:4]: m for m in smtp_server.messages}
    assert set(mails) >= {"【跨界水", "【催办】", "【升级】", "【续报】", "【解除】", "【时限提"}
    clock = mails["【时限提"]
    assert "向上级报告时限" in clock.message["Subject"] + body(clock)
    assert "2026-11-24 18:01" in body(clock)  # due time shown in Asia/Shanghai
    for tag in ("【催办】", "【续报】", "【解除】"):
        mail = mails[tag]
        assert mail.rcpt_tos == (f"duty@{RECIPIENT}.example",)
        assert mail.message["In-Reply-To"] == first_id, tag
        assert mail.message["References"] == first_id
    assert "复测化学需氧量 38 mg/L" in body(mails["【续报】"])
    assert "水质恢复" in body(mails["【解除】"])
    reminder = body(mails["【催办】"])
    token = next(line for line in reminder.splitlines() if "/ack/" in line).rsplit("/", 1)[1]
    assert read_ack_token(token, secret_key=SECRET) == seeded.notice_id

    escalation = mails["【升级】"]
    assert escalation.rcpt_tos == (f"duty@{PROVINCE}.example",)
    assert "（晋中市生态环境局未确认）" in escalation.message["Subject"]
    text = body(escalation)
    assert "晋中市生态环境局在确认时限内未确认" in text
    assert "/ack/" not in text  # the supervisor cannot acknowledge for the bureau


def test_a_bureau_without_contacts_is_reported_to_its_supervisor(
    db: Engine, smtp_server: SmtpServer
) -> None:
    """The engine's own delivery_failure row (reason no_contacts) renders as such."""
    from notifier.enums import OutboxKind
    from notifier.outbox.service import enqueue

    seeded = seed_incident(db)
    with Session(db) as session, session.begin():
        province = session.get(Bureau, PROVINCE)
        assert province is not None
        enqueue(
            session,
            kind=OutboxKind.DELIVERY_FAILURE,
            key=f"{seeded.notice_id}.no-contacts",
            incident_id=seeded.incident_id,
            notice_id=seeded.notice_id,
            bureau=province,
            now=T0,
            extra={"reason": "no_contacts", "unreachable_jurisdiction_id": RECIPIENT},
        )
    settings = Settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    asyncio.run(Worker(db, settings, render_options(settings), clock=lambda: T0).tick())
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (f"duty@{PROVINCE}.example",)
    assert mail.message["Subject"].startswith("【投递失败】通报未能送达 晋中市生态环境局")
    assert "没有登记任何联系方式" in body(mail)

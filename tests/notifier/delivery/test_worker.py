"""The worker on SQLite against the real SMTP and HTTP test servers, with a fixed clock."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from notifier.delivery.build import render_options
from notifier.delivery.claim import claim_due
from notifier.delivery.outcome import temporary
from notifier.delivery.record import Delivery, record_deliveries
from notifier.delivery.retry import RetryPolicy
from notifier.delivery.tokens import read_ack_token
from notifier.delivery.webhook import derive_webhook_secret, verify
from notifier.delivery.worker import Worker, run_worker
from notifier.enums import NoticeStatus
from notifier.notices.models import Notice
from notifier.settings import Settings
from tests.fixtures.http import WebhookServer
from tests.fixtures.smtp import SilentServer, SmtpServer
from tests.notifier.delivery.seed import (
    PROVINCE,
    RECIPIENT,
    T0,
    add_outbox,
    attempts,
    outbox_rows,
    seed_incident,
)

SECRET = "worker-test-secret-key"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_worker(engine: Engine, clock: Clock, *, port: int | None, **overrides: Any) -> Worker:
    settings = Settings(
        database_url=str(engine.url),
        smtp_host="127.0.0.1" if port else None,
        smtp_port=port or 25,
        smtp_timeout_s=overrides.pop("smtp_timeout_s", 3.0),
        secret_key=SECRET,
        public_url="https://notify.example",
        **overrides,
    )
    return Worker(
        engine, settings, render_options(settings), worker_id="w1", rand=lambda: 0.0, clock=clock
    )


def tick(worker: Worker) -> Any:
    return asyncio.run(worker.tick())


def test_sends_records_and_marks_the_notice_sent(db: Engine, smtp_server: SmtpServer) -> None:
    seeded = seed_incident(db)
    ids = add_outbox(db, seeded, count=3)
    summary = tick(make_worker(db, Clock(T0), port=smtp_server.port))
    assert summary.sent == 3
    received = smtp_server.wait_for(3)
    assert sorted(m.message_id for m in received) == sorted(ids)
    mail = received[0].message
    assert mail["Subject"].startswith("【跨界水污染通报】汾河 太原市小店区 → 晋中市")
    text = mail.get_body(("plain",)).get_content()
    assert "晋中市生态环境局：" in text and "排污口附近水体发黑" not in text
    assert "45 mg/L" in text and "≤ 20" in text and "超标 1.25 倍" in text
    assert "王工" in text  # the origin's duty contact
    link = next(line for line in text.splitlines() if "/ack/" in line)
    assert link.startswith("https://notify.example/ack/")
    token = link.rsplit("/", 1)[1]
    assert read_ack_token(token, secret_key=SECRET) == seeded.notice_id
    rows = outbox_rows(db)
    assert {(r.status, r.attempts, r.sent_at) for r in rows} == {("sent", 1, T0)}
    assert all(r.leased_by is None for r in rows)
    assert [(a.result, a.channel) for a in attempts(db)] == [("sent", "email")] * 3
    assert all(a.server_reply and "OK queued" in a.server_reply for a in attempts(db))
    with Session(db) as session:
        notice = session.get(Notice, seeded.notice_id)
        assert notice is not None
        assert notice.status is NoticeStatus.SENT and notice.sent_at == T0
    assert tick(make_worker(db, Clock(T0 + timedelta(hours=1)), port=smtp_server.port)) is None


def test_451_first_then_delivered_once_after_a_retry(db: Engine, smtp_server: SmtpServer) -> None:
    seeded = seed_incident(db)
    [message_id] = add_outbox(db, seeded)
    smtp_server.fail_next(1, "451 4.7.1 greylisted")
    clock = Clock(T0)
    worker = make_worker(db, clock, port=smtp_server.port)
    assert tick(worker).retried == 1
    [row] = outbox_rows(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "451 4.7.1 greylisted")
    assert row.next_attempt_at == T0 + timedelta(seconds=1)  # base delay, no jitter
    clock.advance(0.5)
    assert tick(worker) is None  # not due yet
    clock.advance(0.5)
    assert tick(worker).sent == 1
    assert smtp_server.message_id_counts() == {message_id: 1}
    assert [a.result for a in attempts(db)] == ["temporary_failure", "sent"]


def test_550_fails_and_escalates_to_the_supervisor_by_webhook(
    db: Engine, smtp_server: SmtpServer, webhook_server: WebhookServer
) -> None:
    seeded = seed_incident(db, province_webhook=webhook_server.url("/province"))
    add_outbox(db, seeded, recipient="gone@140700.example")
    smtp_server.reject_recipient("gone@140700.example", "550 5.1.1 user unknown")
    clock = Clock(T0)
    worker = make_worker(db, clock, port=smtp_server.port)
    summary = tick(worker)
    assert (summary.failed, summary.escalated) == (1, 1)
    failed, report = outbox_rows(db)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error is not None and "550 5.1.1 user unknown" in failed.last_error
    assert (report.kind, report.channel, report.status) == (
        "delivery_failure",
        "webhook",
        "pending",
    )
    assert report.recipient == webhook_server.url("/province")
    assert report.payload["about_jurisdiction_id"] == RECIPIENT
    assert report.payload["recipient_jurisdiction_id"] == PROVINCE
    assert [a.result for a in attempts(db)] == ["permanent_failure"]

    assert tick(worker).sent == 1  # the report itself goes out on the next round
    [request] = webhook_server.received()
    secret = derive_webhook_secret(SECRET, webhook_server.url("/province"))
    verify(
        request.body,
        timestamp=request.headers["x-rivernotify-timestamp"],
        signature=request.headers["x-rivernotify-signature"],
        secret=secret,
        now=T0.timestamp(),
    )
    payload = request.json()
    assert payload["type"] == "delivery_failure"
    assert payload["subject"].startswith("【投递失败】通报未能送达 晋中市生态环境局")
    assert payload["about_bureau"] == "晋中市生态环境局"
    assert "550 5.1.1 user unknown" in payload["text"]
    assert smtp_server.messages == []


def test_550_escalates_by_email_when_the_supervisor_has_no_webhook(
    db: Engine, smtp_server: SmtpServer
) -> None:
    seeded = seed_incident(db)
    add_outbox(db, seeded, recipient="gone@140700.example")
    smtp_server.reject_recipient("gone@140700.example")
    worker = make_worker(db, Clock(T0), port=smtp_server.port)
    tick(worker)
    tick(worker)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (f"duty@{PROVINCE}.example",)
    assert mail.message["Subject"].startswith("【投递失败】")
    assert "晋中市生态环境局" in mail.message.get_body(("plain",)).get_content()
    # A failed failure report is not escalated again (no loops).
    rows = outbox_rows(db)
    assert [r.kind for r in rows] == ["notice", "delivery_failure"]


def test_server_down_then_up_everything_goes_out_within_a_minute(
    db: Engine, smtp_server: SmtpServer
) -> None:
    seeded = seed_incident(db)
    ids = add_outbox(db, seeded, count=5)
    smtp_server.stop()
    clock = Clock(T0)
    worker = make_worker(db, clock, port=smtp_server.port)
    while clock.now < T0 + timedelta(minutes=10):  # ten minutes of outage, a tick every 5 s
        tick(worker)
        clock.advance(5)
    assert smtp_server.messages == []
    assert all(r.status == "pending" and r.attempts > 5 for r in outbox_rows(db))
    smtp_server.start()
    recovered = clock.now
    while any(r.status != "sent" for r in outbox_rows(db)):
        clock.advance(1)
        tick(worker)
        assert clock.now - recovered <= timedelta(seconds=31)
    assert smtp_server.message_id_counts() == dict.fromkeys(ids, 1)


def test_a_server_that_never_answers_times_out_then_retries(
    db: Engine, silent_smtp_server: SilentServer, smtp_server: SmtpServer
) -> None:
    seeded = seed_incident(db)
    [message_id] = add_outbox(db, seeded)
    clock = Clock(T0)
    silent = make_worker(db, clock, port=silent_smtp_server.port, smtp_timeout_s=0.3)
    assert tick(silent).retried == 1
    [row] = outbox_rows(db)
    assert row.status == "pending" and row.last_error is not None and "timed out" in row.last_error
    clock.advance(1)
    assert tick(make_worker(db, clock, port=smtp_server.port)).sent == 1
    assert smtp_server.message_id_counts() == {message_id: 1}


def test_an_expired_lease_is_taken_again_with_the_same_message_id(
    db: Engine, smtp_server: SmtpServer
) -> None:
    seeded = seed_incident(db)
    [message_id] = add_outbox(db, seeded)
    [claimed] = claim_due(db, worker_id="dead", now=T0, lease=timedelta(seconds=60), limit=10)
    clock = Clock(T0 + timedelta(seconds=30))
    worker = make_worker(db, clock, port=smtp_server.port)
    assert tick(worker) is None  # still leased by the (dead) worker
    clock.advance(31)
    assert tick(worker).sent == 1
    assert smtp_server.message_id_counts() == {message_id: 1}
    assert claimed.message_id == message_id

    # The dead worker wakes up and reports a failure: it no longer holds the lease.
    with Session(db) as session, session.begin():
        summary = record_deliveries(
            session,
            [Delivery(claimed, temporary("late"), T0)],
            worker_id="dead",
            now=clock.now,
            policy=RetryPolicy(),
            rand=lambda: 0.0,
        )
    assert summary.lease_lost == 1
    assert outbox_rows(db)[0].status == "sent"


def test_two_claims_never_overlap(db: Engine) -> None:
    seeded = seed_incident(db)
    add_outbox(db, seeded, count=10)
    lease = timedelta(seconds=60)
    first = claim_due(db, worker_id="a", now=T0, lease=lease, limit=6)
    second = claim_due(db, worker_id="b", now=T0, lease=lease, limit=6)
    assert len(first) == 6 and len(second) == 4
    assert not {m.id for m in first} & {m.id for m in second}


def test_webhook_rows_go_to_the_robot(db: Engine, webhook_server: WebhookServer) -> None:
    seeded = seed_incident(db, exercise=True)
    add_outbox(
        db,
        seeded,
        channel="webhook",
        webhook_format="wecom",
        recipient=webhook_server.url("/cgi-bin/webhook/send?key=k"),
    )
    assert tick(make_worker(db, Clock(T0), port=None)).sent == 1
    [request] = webhook_server.received()
    content = request.json()["markdown"]["content"]
    assert content.startswith("### 【演练】【跨界水污染通报】汾河")


def test_emails_wait_when_no_smtp_server_is_configured(db: Engine) -> None:
    seeded = seed_incident(db)
    add_outbox(db, seeded)
    assert tick(make_worker(db, Clock(T0), port=None)).retried == 1
    assert outbox_rows(db)[0].status == "pending"


def test_run_worker_loop_delivers_and_stops(db: Engine, smtp_server: SmtpServer) -> None:
    seeded = seed_incident(db)
    ids = add_outbox(db, seeded, count=4, due=datetime.now(UTC) - timedelta(seconds=1))
    settings = Settings(
        database_url=str(db.url),
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        worker_poll_s=0.05,
    )
    ticks: list[datetime] = []

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(
                settings,
                stop_event=stop,
                engine=db,
                due=lambda session, now: ticks.append(now),
            )
        )
        while len(smtp_server.messages) < 4:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    async def bounded() -> None:
        await asyncio.wait_for(main(), timeout=15)

    thread = threading.Thread(target=asyncio.run, args=(bounded(),))
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert sorted(smtp_server.message_id_counts()) == sorted(ids)
    assert ticks  # the engine's due actions ran in the loop
    with Session(db) as session:
        assert session.scalar(select(Notice.status)) is NoticeStatus.SENT


def test_a_slow_build_does_not_eat_the_sends_lease(db: Engine, smtp_server: SmtpServer) -> None:
    seeded = seed_incident(db)
    add_outbox(db, seeded, count=3)
    clock = Clock(T0)
    worker = make_worker(db, clock, port=smtp_server.port, lease_s=60.0)
    batch = asyncio.run(worker.prepare(asyncio.run(worker.claim())))
    clock.advance(50)  # built slowly: most of the lease is gone, none of it has run out
    assert asyncio.run(worker.finish(batch)).sent == 3
    assert len(smtp_server.wait_for(3)) == 3


def test_rows_taken_over_while_the_batch_was_built_are_not_sent(
    db: Engine, smtp_server: SmtpServer
) -> None:
    seeded = seed_incident(db)
    add_outbox(db, seeded, count=3)
    clock = Clock(T0)
    worker = make_worker(db, clock, port=smtp_server.port, lease_s=60.0)
    batch = asyncio.run(worker.prepare(asyncio.run(worker.claim())))
    clock.advance(61)  # the lease ran out and another worker took the rows
    taken = claim_due(db, worker_id="w2", now=clock(), lease=timedelta(seconds=60), limit=10)
    assert len(taken) == 3
    summary = asyncio.run(worker.finish(batch))
    assert (summary.sent, summary.lease_lost) == (0, 3)
    assert smtp_server.messages == []
    assert {r.leased_by for r in outbox_rows(db)} == {"w2"}

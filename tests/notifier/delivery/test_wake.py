"""The worker hears of new rows without polling, and a hanging webhook never holds up email.

Each test runs the real loop (``run_worker``) against a real SMTP server, with a poll interval
far longer than the test waits: a delivery inside the test's window proves the wake-up path.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.db import session_factory
from notifier.delivery.worker import idle_pause_s, run_worker
from notifier.enums import OutboxKind
from notifier.outbox.service import enqueue
from notifier.outbox.signal import Doorbell, ring_on_commit
from notifier.settings import Settings
from tests.fixtures.smtp import SilentServer, SmtpServer
from tests.notifier.delivery.seed import RECIPIENT, Seeded, add_outbox, outbox_rows, seed_incident

LONG_POLL_S = 30.0  # the loop must not be what delivers within the test's few seconds


def settings_for(db: Engine, smtp: SmtpServer, **extra: Any) -> Settings:
    return Settings(
        database_url=str(db.url),
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        worker_poll_s=LONG_POLL_S,
        **extra,
    )


def in_thread(main: Callable[[], Coroutine[Any, Any, None]], *, timeout_s: float = 40) -> None:
    """Run ``main`` on an event loop of its own; fail if it does not finish."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(main(), timeout=timeout_s))
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=timeout_s + 5)
    assert not thread.is_alive()
    if failure:
        raise failure[0]


async def wait_for_mail(smtp: SmtpServer, count: int, *, within_s: float) -> float:
    started = time.monotonic()
    while len(smtp.messages) < count:
        if time.monotonic() - started > within_s:
            raise AssertionError(f"{len(smtp.messages)} of {count} mails after {within_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def enqueue_notice(session: Session, seeded: Seeded, key: str) -> None:
    bureau = session.get(Bureau, RECIPIENT)
    assert bureau is not None
    enqueue(session, kind=OutboxKind.NOTICE, key=key, incident_id=seeded.incident_id,
            notice_id=seeded.notice_id, bureau=bureau, now=datetime.now(UTC))  # fmt: skip


def test_a_commit_in_this_process_rings_the_worker(db: Engine, smtp_server: SmtpServer) -> None:
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))
    factory = session_factory(db)
    doorbell = Doorbell()
    ring_on_commit(factory, doorbell)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(
            settings_for(db, smtp_server), stop_event=stop, engine=db, doorbell=doorbell
        ))  # fmt: skip
        await asyncio.sleep(0.5)  # the loops have polled once, found nothing and sleep
        with factory() as session, session.begin():
            enqueue_notice(session, seeded, "rung")
        assert await wait_for_mail(smtp_server, 1, within_s=5) < 5
        stop.set()
        await task

    in_thread(main)


def test_a_rolled_back_transaction_rings_nobody(db: Engine) -> None:
    seeded = seed_incident(db)
    factory = session_factory(db)
    doorbell = Doorbell()
    ring_on_commit(factory, doorbell)
    rung: list[bool] = []

    async def main() -> None:
        wake = doorbell.listener()
        with factory() as session:
            session.begin()
            enqueue_notice(session, seeded, "undone")
            session.rollback()
        with factory() as session, session.begin():
            session.get(Bureau, RECIPIENT)  # a commit that wrote no outbox row
        await asyncio.sleep(0.05)
        rung.append(wake.is_set())

    asyncio.run(main())
    assert rung == [False]


def test_postgres_notify_wakes_a_worker_in_another_session(
    db: Engine, smtp_server: SmtpServer
) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite workers in other processes poll")
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(settings_for(db, smtp_server), stop_event=stop, engine=db)
        )
        await asyncio.sleep(1.0)  # listening by now
        with Session(db) as session, session.begin():  # no doorbell: only NOTIFY tells
            enqueue_notice(session, seeded, "notified")
        assert await wait_for_mail(smtp_server, 1, within_s=5) < 5
        stop.set()
        await task

    in_thread(main)


def test_a_hanging_webhook_does_not_hold_up_email(db: Engine, smtp_server: SmtpServer) -> None:
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))
    silent = SilentServer()  # accepts the connection, never answers
    now = datetime.now(UTC) - timedelta(seconds=1)
    add_outbox(db, seeded, channel="webhook", recipient=f"http://{silent.host}:{silent.port}/h",
               webhook_format="generic", due=now)  # fmt: skip
    add_outbox(db, seeded, start=1, due=now + timedelta(milliseconds=1))
    settings = settings_for(db, smtp_server, webhook_timeout_s=8.0)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(settings, stop_event=stop, engine=db))
        waited = await wait_for_mail(smtp_server, 1, within_s=4)
        assert waited < 4  # the webhook is still waiting for its 8 s timeout
        [hook] = [r for r in outbox_rows(db) if r.channel == "webhook"]
        assert hook.status == "leased"
        stop.set()
        await task

    try:
        in_thread(main)
    finally:
        silent.close()


def test_only_a_worker_nobody_rings_polls_often() -> None:
    settings = Settings(worker_poll_s=0.05)
    assert idle_pause_s(settings, rung=False) == 0.05  # alone on SQLite: the poll is all
    assert idle_pause_s(settings, rung=True) == 0.5  # rung: the poll is only a fallback
    assert idle_pause_s(Settings(worker_poll_s=2.0), rung=True) == 2.0

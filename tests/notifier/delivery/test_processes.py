"""Workers as real processes: killed mid-round, and two of them sharing one PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from notifier.outbox.models import DeliveryAttempt, OutboxMessage
from tests.fixtures.smtp import SmtpServer
from tests.notifier.delivery.seed import add_outbox, attempts, outbox_rows, seed_incident

ROOT = Path(__file__).resolve().parents[3]
RIVERNOTIFY = Path(sys.executable).parent / "rivernotify"


def worker_env(engine: Engine, smtp: SmtpServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVERNOTIFY_")}
    env.update(
        RIVERNOTIFY_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        RIVERNOTIFY_SMTP_HOST=smtp.host,
        RIVERNOTIFY_SMTP_PORT=str(smtp.port),
        RIVERNOTIFY_PUBLIC_URL="https://notify.example",
        RIVERNOTIFY_WORKER_POLL_S="0.05",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def now_due() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)


def count(engine: Engine, *conditions: object) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(OutboxMessage).where(*conditions)  # type: ignore[arg-type]
        return int(session.scalar(query) or 0)


def test_a_worker_killed_between_send_and_commit_loses_nothing(
    db: Engine, smtp_server: SmtpServer
) -> None:
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))
    ids = add_outbox(db, seeded, count=5, due=now_due())
    env = worker_env(db, smtp_server, RIVERNOTIFY_LEASE_S="2")
    victim = subprocess.Popen(
        [sys.executable, "-m", "tests.notifier.delivery.worker_process"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert victim.stdout is not None
        line = victim.stdout.readline()
        assert line.strip() == "SENT 5", victim.stderr.read() if victim.stderr else line
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert victim.returncode == -signal.SIGKILL
    assert sorted(smtp_server.message_id_counts()) == sorted(ids)
    # Sent, but nothing was recorded: the rows are still leased by the dead worker.
    assert {(r.status, r.attempts) for r in outbox_rows(db)} == {("leased", 0)}
    assert attempts(db) == []

    time.sleep(2.1)  # the lease runs out
    result = subprocess.run(
        [str(RIVERNOTIFY), "worker", "--once"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert {(r.status, r.attempts) for r in outbox_rows(db)} == {("sent", 1)}
    assert [a.result for a in attempts(db)] == ["sent"] * 5
    # Delivered again, with the same Message-IDs: the recipient's client sees one message each.
    assert smtp_server.message_id_counts() == dict.fromkeys(ids, 2)


@pytest.mark.postgres
@pytest.mark.slow  # two processes, 1,000 real SMTP deliveries: ~20-40 s
def test_two_workers_on_postgresql_send_each_message_exactly_once(
    postgres_url: str, smtp_server: SmtpServer
) -> None:
    from notifier.db import engine_from_url

    engine = engine_from_url(postgres_url)
    try:
        seeded = seed_incident(engine, deadline=datetime.now(UTC) + timedelta(days=1))
        ids = add_outbox(engine, seeded, count=1000, due=now_due())
        env = worker_env(engine, smtp_server, RIVERNOTIFY_WORKER_BATCH="50")
        workers = [
            subprocess.Popen(
                [str(RIVERNOTIFY), "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 240
            while count(engine, OutboxMessage.status == "sent") < 1000:
                assert time.monotonic() < deadline, "workers did not finish in time"
                assert all(w.poll() is None for w in workers), "a worker exited early"
                time.sleep(0.2)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            logs = [w.communicate(timeout=30)[1] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], logs
        counts = smtp_server.message_id_counts()
        assert len(counts) == 1000 and set(counts) == set(ids)
        assert set(counts.values()) == {1}, "a message was sent twice"
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 1000
            by_worker = session.execute(
                select(func.count()).select_from(OutboxMessage)
            ).scalar_one()
        assert by_worker == 1000
        # Both workers took part (each logged its own deliveries).
        assert all("delivered:" in log for log in logs), logs
    finally:
        engine.dispose()

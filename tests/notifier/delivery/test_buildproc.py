"""Messages built in child processes (the default outside tests): the same bytes as built in
the worker itself, delivered through the real SMTP test server, and a dead child costing
nothing but a batch built at home."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from notifier.delivery import buildproc
from notifier.delivery import worker as worker_module
from notifier.delivery.build import Built, MessageBuilder, render_options
from notifier.delivery.buildproc import BuildProcesses, _split, can_use_processes
from notifier.delivery.claim import ClaimedMessage
from notifier.delivery.maps import network_maps
from notifier.delivery.smtp import OutgoingEmail
from notifier.delivery.webhook import WebhookRequest
from notifier.delivery.worker import Worker, start_build_processes
from notifier.settings import Settings
from tests.fixtures.smtp import SmtpServer
from tests.notifier.delivery.seed import T0, add_outbox, outbox_rows, seed_incident

TOKEN = re.compile(rb"ack/[A-Za-z0-9_.\-]+")


def _settings(db: Engine, data_dir: Path, **extra: object) -> Settings:
    return Settings(
        database_url=db.url.render_as_string(hide_password=False),
        network_dir=data_dir,
        secret_key="buildproc-test-secret",
        public_url="https://notify.example",
        **extra,  # type: ignore[arg-type]
    )


def _claimed(worker: Worker) -> list[ClaimedMessage]:
    return asyncio.run(worker.claim())


def test_children_build_exactly_what_the_worker_would(db: Engine, data_dir: Path) -> None:
    seeded = seed_incident(db)
    add_outbox(db, seeded, count=4)
    add_outbox(db, seeded, count=1, channel="webhook", recipient="https://hook.example/x",
               webhook_format="generic", start=4)  # fmt: skip
    settings = _settings(db, data_dir, build_processes=2)
    worker = Worker(db, settings, render_options(settings, geometry=network_maps(settings)),
                    clock=lambda: T0)  # fmt: skip
    claimed = _claimed(worker)

    async def remote() -> object:
        processes = await start_build_processes(settings, db)
        assert processes is not None
        try:
            return await processes.build(claimed, now=T0)
        finally:
            processes.close()

    built = asyncio.run(remote())
    at_home = MessageBuilder(db, settings, worker.options).build(claimed, now=T0)
    assert isinstance(built, Built) and not built.failed and not at_home.failed
    assert built.prepared.keys() == at_home.prepared.keys() and len(built.prepared) == 5
    for row_id, message in built.prepared.items():
        assert _readable(message) == _readable(at_home.prepared[row_id])
    emails = [m for m in built.prepared.values() if isinstance(m, OutgoingEmail)]
    assert all(b"image/png" in m.data for m in emails)  # the children drew the maps too


def _readable(message: object) -> object:
    """A message with its acknowledgement tokens blanked (they carry the signing second, and
    a webhook's signature headers sign them)."""
    if isinstance(message, WebhookRequest):
        body = TOKEN.sub(b"ack/-", message.body)
        return message.url, message.webhook_format, body, sorted(message.headers)
    assert isinstance(message, OutgoingEmail)
    parsed = email.message_from_bytes(message.data, policy=email.policy.SMTP)
    parts = [p.get_payload(decode=True) or b"" for p in parsed.walk() if not p.is_multipart()]
    return [list(parsed.items()), [TOKEN.sub(b"ack/-", part) for part in parts]]


def test_the_worker_sends_what_its_children_claimed_built_and_recorded(
    db: Engine, data_dir: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))
    ids = add_outbox(db, seeded, count=3)
    settings = _settings(db, data_dir, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                         build_processes=1)  # fmt: skip

    def at_home(*args: object, **kwargs: object) -> None:
        raise AssertionError("the database work was to be done by the child")

    async def main() -> int:
        worker = Worker(db, settings, render_options(settings), clock=lambda: T0)
        worker.processes = await start_build_processes(settings, db)
        assert worker.processes is not None
        monkeypatch.setattr(worker_module, "claim_due", at_home)
        monkeypatch.setattr(worker, "_record", at_home)
        monkeypatch.setattr(worker.builder, "build", at_home)
        try:
            summary = await worker.tick()
        finally:
            await worker.close()
        return summary.sent if summary else 0

    assert asyncio.run(main()) == 3
    assert sorted(smtp_server.message_id_counts()) == sorted(ids)
    assert {r.status for r in outbox_rows(db)} == {"sent"}


def test_a_dead_child_means_a_batch_done_at_home_then_a_restart(
    db: Engine, data_dir: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))
    add_outbox(db, seeded, count=2)
    add_outbox(db, seeded, count=2, start=2, due=T0 + timedelta(seconds=1))
    settings = _settings(db, data_dir, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                         worker_batch=2, build_processes=1)  # fmt: skip
    monkeypatch.setattr(buildproc, "RESTART_AFTER_S", 3600.0)

    async def main() -> list[int]:
        worker = Worker(db, settings, render_options(settings), clock=lambda: T0)
        processes = worker.processes = await start_build_processes(settings, db)
        assert processes is not None and processes._pool is not None
        for pid in list(processes._pool._processes):  # the child is killed, as by the OOM killer
            os.kill(pid, signal.SIGKILL)
        try:
            first = await worker.tick()  # claimed, built and recorded at home
            assert processes._pool is None
            monkeypatch.setattr(buildproc, "RESTART_AFTER_S", 0.0)
            worker.clock = lambda: T0 + timedelta(seconds=1)
            second = await worker.tick()  # the children are started again and do the work
            assert processes._pool is not None
        finally:
            await worker.close()
        return [s.sent if s else 0 for s in (first, second)]

    assert asyncio.run(main()) == [2, 2]
    assert len(smtp_server.wait_for(4)) == 4
    assert {r.status for r in outbox_rows(db)} == {"sent"}


def test_no_children_for_an_in_memory_database_or_when_turned_off(tmp_path: Path) -> None:
    assert not can_use_processes("sqlite://")
    assert not can_use_processes("sqlite:///:memory:")
    assert can_use_processes(f"sqlite:///{tmp_path / 'x.db'}")
    assert can_use_processes("postgresql+psycopg://u@h/db")
    from notifier.db import engine_from_url

    engine = engine_from_url(f"sqlite:///{tmp_path / 'x.db'}")
    off = Settings(database_url=str(engine.url), build_processes=0)
    assert asyncio.run(start_build_processes(off, engine)) is None
    engine.dispose()


def _row(row_id: int, incident_id: int) -> ClaimedMessage:
    return ClaimedMessage(row_id, incident_id, None, "notice", "email", "a@b.example", None,
                          f"<{row_id}@x>", None, {}, 0, T0)  # fmt: skip


def test_a_batch_is_split_by_incident_into_even_parts() -> None:
    rows = [_row(i, incident) for i, incident in enumerate([1, 1, 2, 2, 3, 3, 3, 4])]
    parts = _split(rows, 2)
    assert [len(p) for p in parts] == [4, 4]
    incidents = [{m.incident_id for m in p} for p in parts]
    assert incidents == [{1, 2}, {3, 4}]  # an incident's rows stay together
    assert _split(rows, 1) == [rows] and _split(rows[:1], 4) == [rows[:1]]
    assert sorted(m.id for p in _split(rows, 3) for m in p) == list(range(8))


def test_processes_that_cannot_start_leave_the_worker_building_at_home(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", network_dir=tmp_path)
    processes = BuildProcesses(settings, database_url="nonsense://", count=1)

    async def main() -> object:
        return await processes.build([_row(1, 1)], now=T0)

    assert asyncio.run(main()) is None  # the child's start failed: the caller builds itself
    assert processes._pool is None and processes._failed_at is not None


ORPHAN_SCRIPT = """
import asyncio, sys
from notifier.delivery.buildproc import BuildProcesses
from notifier.settings import Settings

async def main():
    settings = Settings(database_url=sys.argv[1], network_dir=sys.argv[2])
    processes = BuildProcesses(settings, database_url=sys.argv[1], count=1)
    await processes.start()
    print(*processes._pool._processes, flush=True)
    await asyncio.sleep(60)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_children_leave_when_their_worker_is_killed(tmp_path: Path, data_dir: Path) -> None:
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    parent = subprocess.Popen(
        [sys.executable, str(script), url, str(data_dir)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert parent.stdout is not None
    children = [int(pid) for pid in parent.stdout.readline().split()]
    assert children and all(psutil.pid_exists(pid) for pid in children)
    parent.kill()  # SIGKILL: no clean-up runs in the parent
    parent.wait()
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [p for p in children if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert alive == []

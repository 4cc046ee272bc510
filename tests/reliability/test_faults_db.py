"""Database faults: PostgreSQL restarted mid-run, SQLite locked by another writer, the disk
under the embedded database full. The API answers 503 (never 500) while it cannot store, every
report it accepted is stored, and the worker carries on by itself."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notifier.context import EngineContext
from notifier.db import engine_from_url
from notifier.settings import Settings
from tests.api.conftest import SECRET, build_app
from tests.fixtures.smtp import SmtpServer
from tests.reliability.pgserver import own_postgres
from tests.reliability.support import (
    outbox_by_status,
    report_body,
    report_ids,
    seed_api_database,
    small_filesystem,
)


def _unsent(engine: Any) -> list[tuple[Any, ...]]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from notifier.outbox.models import OutboxMessage

    with Session(engine) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent"))
        return [(r.kind, r.channel, r.attempts, r.next_attempt_at, r.last_error) for r in rows]


def _settings(url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SecretStr(SECRET),
        public_url="http://testserver",
        worker_poll_s=0.05,
        **extra,
    )


def _sign_in(client: TestClient, username: str) -> dict[str, str]:
    from tests.api.conftest import PASSWORD

    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@contextlib.contextmanager
def _worker_thread(settings: Settings) -> Iterator[None]:
    """``run_worker`` (the loop ``rivernotify worker`` runs) in a thread of its own."""
    from notifier.delivery.worker import run_worker

    box: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await run_worker(settings, stop_event=box["stop"])

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)
        assert not thread.is_alive(), "the worker did not stop"


@pytest.mark.postgres
def test_postgresql_restart_gives_503_loses_no_accepted_report_and_the_worker_resumes(
    api_ctx: EngineContext, smtp_server: SmtpServer
) -> None:
    with own_postgres() as server:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(server.bin_dir / "createdb"), "-h",
             "127.0.0.1", "-p", str(server.port), "-U", "postgres", "rivernotify"]
            if server.as_root else
            [str(server.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(server.port),
             "-U", "postgres", "rivernotify"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        url = server.url("rivernotify")
        seed_api_database(url)
        settings = _settings(
            url, smtp_host=smtp_server.host, smtp_port=smtp_server.port, lease_s=2.0
        )
        app = build_app(settings, api_ctx)
        statuses: collections.Counter[int] = collections.Counter()
        accepted: list[int] = []
        ready_while_down: list[int] = []
        down_s = 0.0
        with TestClient(app, raise_server_exceptions=False) as client, _worker_thread(settings):
            user = _sign_in(client, "a1")

            def post(n: int) -> int:
                answer = client.post("/api/v1/reports", json=report_body(n), headers=user)
                statuses[answer.status_code] += 1
                if answer.status_code == 201:
                    accepted.append(answer.json()["report_id"])
                elif answer.status_code == 503:
                    error = answer.json()["error"]
                    assert error["code"] == "database_unavailable"
                    assert answer.headers["Retry-After"].isdigit()
                return int(answer.status_code)

            assert [post(n) for n in range(10)] == [201] * 10
            stopped = time.monotonic()
            server.stop("fast")
            during = [post(n) for n in range(10, 20)]
            ready_while_down.append(client.get("/readyz").status_code)
            time.sleep(1.0)  # the worker meets the outage too
            server.start()
            down_s = time.monotonic() - stopped
            after = [post(n) for n in range(20, 40)]
            assert client.get("/readyz").status_code == 200
            restarted = time.monotonic()
            # The worker carried on by itself: everything queued is sent.
            deadline = time.monotonic() + 30
            while set(state := outbox_by_status(app.state.services.engine)) != {"sent"}:
                assert time.monotonic() < deadline, (state, _unsent(app.state.services.engine))
                time.sleep(0.1)
            drained_s = time.monotonic() - restarted
        assert during == [503] * 10
        assert ready_while_down == [503]
        assert after[-10:] == [201] * 10  # the pool reconnected
        assert 500 not in statuses
        engine = engine_from_url(url)
        try:
            assert set(accepted) <= report_ids(engine)
            outbox = outbox_by_status(engine)
        finally:
            engine.dispose()
        app.state.services.engine.dispose()
        assert outbox.get("sent", 0) > 0 and set(outbox) == {"sent"}
        ids = smtp_server.message_id_counts()
        print(
            f"FIGURE pg-restart: down {down_s:.2f} s; statuses {dict(statuses)}; "
            f"drained {drained_s:.2f} s after restart; distinct Message-IDs {len(ids)}, "
            f"resent with the same id {sum(c - 1 for c in ids.values())}; "
            f"accepted {len(accepted)} all stored; outbox {outbox}; "
            f"SMTP received {len(smtp_server.messages)}"
        )


def test_sqlite_locked_by_another_writer_waits_and_stores_everything(
    api_settings: Settings, api_ctx: EngineContext
) -> None:
    """Another process holds the write lock for 2 s (under the 10 s busy timeout): requests
    wait their turn and every one is stored."""
    app = build_app(api_settings, api_ctx)
    path = Path(api_settings.database_url.removeprefix("sqlite:///"))
    statuses: list[int] = []
    accepted: list[int] = []
    waits: list[float] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        user = _sign_in(client, "a1")
        blocker = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        blocker.execute("BEGIN EXCLUSIVE")
        released = threading.Timer(2.0, lambda: blocker.execute("COMMIT"))
        released.start()
        try:
            for n in range(5):
                started = time.monotonic()
                answer = client.post("/api/v1/reports", json=report_body(n), headers=user)
                waits.append(time.monotonic() - started)
                statuses.append(answer.status_code)
                if answer.status_code == 201:
                    accepted.append(answer.json()["report_id"])
        finally:
            released.join()
            blocker.close()
    assert statuses == [201] * 5
    assert waits[0] >= 1.5  # it waited for the lock rather than failing
    assert set(accepted) <= report_ids(app.state.services.engine)
    app.state.services.engine.dispose()
    print(f"FIGURE sqlite-lock: first request waited {waits[0]:.2f} s, all 5 stored")


def test_sqlite_locked_past_the_busy_timeout_is_a_503_not_a_500(
    api_settings: Settings, api_ctx: EngineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notifier.db.SQLITE_BUSY_TIMEOUT_MS", 300)
    app = build_app(api_settings, api_ctx)
    path = Path(api_settings.database_url.removeprefix("sqlite:///"))
    with TestClient(app, raise_server_exceptions=False) as client:
        user = _sign_in(client, "a1")
        before = report_ids(app.state.services.engine)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            answer = client.post("/api/v1/reports", json=report_body(1), headers=user)
        finally:
            blocker.execute("COMMIT")
            blocker.close()
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "database_unavailable"
        assert "retry" in answer.json()["error"]["message_en"]
        # Told to retry, the client retries: stored once.
        again = client.post("/api/v1/reports", json=report_body(1), headers=user)
        assert again.status_code == 201
        assert report_ids(app.state.services.engine) == before | {again.json()["report_id"]}
    app.state.services.engine.dispose()


def test_disk_full_under_sqlite_is_a_clear_503_and_nothing_is_corrupted(
    api_template: Path, api_settings: Settings, api_ctx: EngineContext, tmp_path: Path
) -> None:
    import shutil

    with small_filesystem(tmp_path / "small", size_kib=8192) as small:
        path = small / "full.db"
        shutil.copy(api_template, path)
        filler = small / "filler"
        free = shutil.disk_usage(small).free
        filler.write_bytes(b"\0" * max(0, free - 640 * 1024))  # leave ~640 KiB
        settings = api_settings.model_copy(update={"database_url": f"sqlite:///{path}"})
        app = build_app(settings, api_ctx)
        accepted: list[int] = []
        refusal: dict[str, Any] = {}
        with TestClient(app, raise_server_exceptions=False) as client:
            user = _sign_in(client, "a1")
            big = "满" * 1300  # a long note: the disk fills in tens of reports, not thousands
            for n in range(2000):
                body = report_body(n) | {"note": big}
                answer = client.post("/api/v1/reports", json=body, headers=user)
                if answer.status_code != 201:
                    refusal = {"status": answer.status_code, **answer.json()["error"]}
                    break
                accepted.append(answer.json()["report_id"])
            assert refusal, "the disk never filled"
            filler.unlink()  # space again: the service carries on
            again = client.post("/api/v1/reports", json=report_body(9999), headers=user)
            assert again.status_code == 201, again.text
        app.state.services.engine.dispose()
        with contextlib.closing(sqlite3.connect(path)) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        engine = engine_from_url(f"sqlite:///{path}")
        try:
            stored = report_ids(engine)
        finally:
            engine.dispose()
    assert refusal["status"] == 503 and refusal["code"] == "database_unavailable"
    assert "disk full" in refusal["message_en"] and "磁盘已满" in refusal["message_zh"]
    assert verdict == "ok"
    assert set(accepted) | {again.json()["report_id"]} <= stored
    print(
        f"FIGURE disk-full: {len(accepted)} reports stored before the disk filled; then 503 "
        f"'{refusal['message_en']}'; integrity_check {verdict}; all accepted reports present"
    )

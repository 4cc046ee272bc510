"""The disk full under PostgreSQL, through the real API, in the two places it can fill.

- The database's files (a tablespace on a small tmpfs): PostgreSQL fails the one statement
  that needed space with an ERROR ("could not extend file", SQLSTATE 53100) and stays up. The
  API answers 503 and carries on by itself once there is space again.
- The write-ahead log (``pg_wal`` on a small tmpfs): PostgreSQL cannot go on without WAL, so the
  backend that needed a new segment PANICs, the server restarts, crash recovery needs a new
  segment as well, fails, and the server shuts down. A deployment then sees 503 for everything
  until someone frees space and starts PostgreSQL again; after that nothing answered 2xx is
  missing and the API takes reports again without being restarted.
"""

from __future__ import annotations

import collections
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notifier.context import EngineContext
from notifier.db import engine_from_url
from notifier.settings import Settings
from tests.api.conftest import PASSWORD, SECRET, build_app
from tests.reliability.pgserver import OwnPostgres, own_postgres
from tests.reliability.support import (
    fill_leaving,
    noisy_note,
    report_body,
    report_ids,
    seed_api_database,
    small_filesystem,
)

pytestmark = pytest.mark.postgres


@dataclass
class Run:
    accepted: list[int] = field(default_factory=list)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    refusal: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _mount_point() -> Iterator[Path]:
    """A directory the ``postgres`` user can reach (pytest's tmp_path is root's, mode 0700)."""
    parent = Path(tempfile.mkdtemp(prefix="rivernotify-pg-full-"))
    parent.chmod(0o755)
    try:
        yield parent / "small"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _client(url: str, ctx: EngineContext) -> tuple[Any, TestClient, dict[str, str]]:
    settings = Settings(database_url=url, secret_key=SecretStr(SECRET), public_url="http://x")
    app = build_app(settings, ctx)
    client = TestClient(app, raise_server_exceptions=False)
    answer = client.post("/api/v1/auth/token", data={"username": "a1", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return app, client, {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _post(client: TestClient, user: dict[str, str], n: int, run: Run) -> int:
    body = report_body(n) | {"note": noisy_note(n)}
    answer = client.post("/api/v1/reports", json=body, headers=user)
    run.statuses[answer.status_code] += 1
    if answer.status_code == 201:
        run.accepted.append(answer.json()["report_id"])
    elif not run.refusal:
        run.refusal = {"status": answer.status_code, **answer.json()["error"]}
        assert answer.headers.get("Retry-After", "").isdigit(), answer.headers
    return int(answer.status_code)


def _fill(client: TestClient, user: dict[str, str], run: Run, *, limit: int = 3000) -> None:
    for n in range(limit):
        if _post(client, user, n, run) != 201:
            return
    pytest.fail(f"the disk never filled in {limit} reports")


def _until_accepted(client: TestClient, user: dict[str, str], run: Run, *, tries: int) -> int:
    """Post until one report is accepted (a pooled connection may still be a dead one)."""
    for attempt in range(1, tries + 1):
        if _post(client, user, 100_000 + attempt, run) == 201:
            return attempt
        time.sleep(0.2)
    pytest.fail(f"no report accepted in {tries} tries after space was freed: {run.statuses}")


def _stored(url: str) -> set[int]:
    engine = engine_from_url(url)
    try:
        return report_ids(engine)
    finally:
        engine.dispose()


def _log(server: OwnPostgres) -> str:
    return (server.base / "log").read_text(errors="replace")


def test_full_tablespace_is_a_503_postgresql_stays_up_and_resumes_by_itself(
    api_ctx: EngineContext,
) -> None:
    with (
        _mount_point() as where,
        small_filesystem(where, size_kib=48 * 1024, owner="postgres") as small,
        own_postgres() as server,
    ):
        space = small / "tablespace"
        space.mkdir()
        shutil.chown(space, "postgres", "postgres")
        server.psql(f"CREATE TABLESPACE small LOCATION '{space}'")
        server.psql("CREATE DATABASE rivernotify TABLESPACE small STRATEGY file_copy")
        url = server.url("rivernotify")
        seed_api_database(url)
        filler = fill_leaving(small, kib=1024)
        run = Run()
        app, client, user = _client(url, ctx=api_ctx)
        with client:
            _fill(client, user, run)
            still_full = [_post(client, user, 50_000 + n, run) for n in range(3)]
            ready_while_full = client.get("/readyz").status_code
            filler.unlink()
            tries = _until_accepted(client, user, run, tries=3)
        app.state.services.engine.dispose()
        stored = _stored(url)
        log = _log(server)
    assert run.refusal["status"] == 503 and run.refusal["code"] == "database_unavailable"
    assert "disk full" in run.refusal["message_en"] and "磁盘已满" in run.refusal["message_zh"]
    assert still_full == [503] * 3 and 500 not in run.statuses
    assert ready_while_full == 200  # the server is up; reading works
    assert tries == 1
    assert set(run.accepted) <= stored
    assert "could not extend file" in log and "PANIC" not in log
    print(
        f"FIGURE pg-disk-full tablespace: {len(run.accepted) - 1} reports stored before the "
        f"disk filled, then 503 '{run.refusal['message_en']}'; statuses {dict(run.statuses)}; "
        "no PANIC; the first report after freeing space stored; all accepted present"
    )


def _wait_stopped(server: OwnPostgres, *, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while (server.data / "postmaster.pid").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_full_pg_wal_panics_then_503_until_space_and_a_restart_and_nothing_accepted_is_lost(
    api_ctx: EngineContext,
) -> None:
    with (
        _mount_point() as where,
        small_filesystem(where, size_kib=48 * 1024, owner="postgres") as small,
        own_postgres(
            initdb_args=("-X", str(where / "pg_wal"), "--wal-segsize=1"),
            # No checkpoint by WAL volume: segments pile up until the disk is full.
            options="-c max_wal_size=1GB -c min_wal_size=4MB",
        ) as server,
    ):
        server.psql("CREATE DATABASE rivernotify STRATEGY file_copy")
        url = server.url("rivernotify")
        seed_api_database(url)
        filler = fill_leaving(small, kib=1100)
        run = Run()
        app, client, user = _client(url, ctx=api_ctx)
        with client:
            _fill(client, user, run)
            stopped = _wait_stopped(server, timeout_s=30)
            while_down = [_post(client, user, 50_000 + n, run) for n in range(5)]
            ready_while_down = client.get("/readyz").status_code
            filler.unlink()
            server.start()
            tries = _until_accepted(client, user, run, tries=10)
            assert client.get("/readyz").status_code == 200
        app.state.services.engine.dispose()
        stored = _stored(url)
        log = _log(server)
    assert run.refusal["status"] == 503 and run.refusal["code"] == "database_unavailable"
    assert 500 not in run.statuses
    assert stopped, "PostgreSQL did not stop after the PANIC (it recovered by itself?)"
    assert while_down == [503] * 5 and ready_while_down == 503
    assert "PANIC" in log and "No space left on device" in log
    assert set(run.accepted) <= stored
    print(
        f"FIGURE pg-disk-full pg_wal: {len(run.accepted) - 1} reports stored, then 503 "
        f"'{run.refusal['message_en']}'; PostgreSQL PANICked and shut down (recovery found no "
        f"space); 503 while down; after freeing space and pg_ctl start the API took a report "
        f"on try {tries}; statuses {dict(run.statuses)}; all accepted present"
    )

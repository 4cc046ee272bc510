"""Rate limits shared by several server processes: buckets in the database
(``rate_limit_store = "database"``), on SQLite and PostgreSQL. Two app instances (and two real
``rivernotify serve`` processes) on one database give a key its limit once, not twice."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.ratelimit import DatabaseRateLimiter, RatePolicy
from notifier.context import EngineContext
from notifier.db import engine_from_url
from notifier.ratelimits.models import RateBucket
from notifier.settings import Settings
from tests.api.conftest import SECRET, build_app
from tests.fixtures.smtp import SmtpServer, free_port
from tests.reliability.support import report_body, seed_api_database

RIVERNOTIFY = Path(sys.executable).parent / "rivernotify"


def _rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(RateBucket)) or 0)


def test_database_buckets_allow_the_burst_then_refuse_and_are_shared(db: Engine) -> None:
    policy = RatePolicy(burst=3, per_minute=6)  # one token every 10 s
    one = DatabaseRateLimiter(db, scope="t", policy=policy)
    other_engine = engine_from_url(str(db.url.render_as_string(hide_password=False)))
    try:
        other = DatabaseRateLimiter(other_engine, scope="t", policy=policy)  # "another process"
        key = "station\x00key with NUL"  # stored as a digest: any text is a key
        assert [one.check(key, now=100.0).allowed for _ in range(2)] == [True, True]
        assert other.check(key, now=100.0).allowed
        refused = other.check(key, now=100.0)
        assert not refused.allowed and refused.retry_after_s == pytest.approx(10.0)
        assert not one.check(key, now=105.0).allowed
        assert one.check(key, now=110.0).allowed
        assert other.check("someone else", now=110.0).allowed
        # Another scope (sign-in vs reports) is another bucket.
        assert DatabaseRateLimiter(db, scope="u", policy=policy).check(key, now=110.0).allowed
    finally:
        other_engine.dispose()


def test_buckets_full_again_are_pruned(db: Engine) -> None:
    limiter = DatabaseRateLimiter(db, scope="t", policy=RatePolicy(burst=2, per_minute=60))
    limiter.check("old", now=0.0)
    limiter.check("recent", now=100.0)
    assert _rows(db) == 2
    assert limiter.prune(now=101.5) == 1  # "old" refilled 2 tokens long ago; "recent" not yet
    assert _rows(db) == 1
    assert limiter.check("old", now=101.5).allowed  # an absent row is a full bucket


@pytest.mark.postgres
def test_concurrent_checks_from_two_engines_allow_exactly_the_burst(postgres_url: str) -> None:
    """Eight threads on two engines race on one key: the row lock lets exactly the burst
    through (without it, two readers of the same row would both spend the same token)."""
    policy = RatePolicy(burst=40, per_minute=0.0)
    engines = [engine_from_url(postgres_url) for _ in range(2)]
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(engine: Engine) -> None:
        limiter = DatabaseRateLimiter(engine, scope="race", policy=policy)
        for _ in range(10):
            verdict = limiter.check("one key").allowed
            with lock:
                allowed.append(verdict)

    threads = [threading.Thread(target=hammer, args=(engines[n % 2],)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for engine in engines:
            engine.dispose()
    assert len(allowed) == 80 and sum(allowed) == 40


def _issue_key(url: str) -> str:
    from notifier.db import session_factory
    from notifier.stations.service import issue_api_key
    from tests.notifier import synthetic

    engine = engine_from_url(url)
    try:
        with session_factory(engine)() as session, session.begin():
            return issue_api_key(session, station_id="S1", actor="test", now=synthetic.NOW)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    seed_api_database(url)
    return url


@pytest.mark.parametrize("store", ["database", "process"])
def test_two_app_instances_on_one_database(
    seeded_url: str, api_ctx: EngineContext, store: str
) -> None:
    """Reports alternate between two apps on one database with a burst of 3: with the
    database store the fourth is refused, wherever it lands; with the in-process store each
    app counts on its own and lets it through (the limit the database store closes)."""
    key = _issue_key(seeded_url)
    settings = Settings(
        database_url=seeded_url,
        secret_key=SecretStr(SECRET),
        public_url="http://testserver",
        rate_limit_store=store,  # type: ignore[arg-type]
        report_burst=3,
        report_per_minute=1.0,
    )
    apps = [build_app(settings, api_ctx) for _ in range(2)]
    statuses: list[int] = []
    try:
        with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
            for n in range(4):
                client = (first, second)[n % 2]
                answer = client.post(
                    "/api/v1/reports", json=report_body(n), headers={"X-API-Key": key}
                )
                statuses.append(answer.status_code)
    finally:
        for app in apps:
            app.state.services.engine.dispose()
    expected = [201, 201, 201, 429] if store == "database" else [201] * 4
    assert statuses == expected


@contextlib.contextmanager
def _servers(url: str, smtp: SmtpServer, *, count: int) -> Iterator[list[str]]:
    """``count`` ``rivernotify serve`` processes on one database, ready when this yields."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVERNOTIFY_")} | {
        "RIVERNOTIFY_DATABASE_URL": url,
        "RIVERNOTIFY_SECRET_KEY": SECRET,
        "RIVERNOTIFY_SMTP_HOST": smtp.host,
        "RIVERNOTIFY_SMTP_PORT": str(smtp.port),
        "RIVERNOTIFY_RATE_LIMIT_STORE": "database",
        "RIVERNOTIFY_SIGN_IN_BURST": "3",
        "RIVERNOTIFY_SIGN_IN_PER_MINUTE": "1",
    }
    logs = Path(tempfile.mkdtemp(prefix="rivernotify-rl-"))
    processes: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for n in range(count):
            port, log = free_port(), logs / f"serve{n}.log"
            args = [str(RIVERNOTIFY), "serve", "--port", str(port), "--hj212-port",
                    str(free_port())]  # fmt: skip
            with log.open("wb") as out:
                process = subprocess.Popen(args, env=env, stdout=out, stderr=out)
            processes.append((process, f"http://127.0.0.1:{port}", log))
        for process, base, log in processes:
            _wait_ready(process, base, log)
        yield [base for _, base, _ in processes]
    finally:
        for process, _, _ in processes:
            process.terminate()
        for process, _, _ in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"rivernotify serve exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"rivernotify serve at {base} did not start: {log.read_text()[-2000:]}")


@pytest.mark.postgres
@pytest.mark.slow
def test_two_server_processes_share_the_sign_in_limit(
    postgres_url: str, smtp_server: SmtpServer
) -> None:
    """Wrong passwords for one account, alternating between two real server processes on one
    PostgreSQL, burst 3: the fourth attempt is refused with 429 by whichever process gets it,
    and the account is refused on both until the bucket refills."""
    seed_api_database(postgres_url)
    statuses: list[int] = []
    with _servers(postgres_url, smtp_server, count=2) as bases:
        for n in range(6):
            answer = httpx.post(
                f"{bases[n % 2]}/api/v1/auth/token",
                data={"username": "a1", "password": f"wrong {n}"},
                timeout=30,
            )
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                assert answer.json()["error"]["code"] == "rate_limited"
                assert int(answer.headers["Retry-After"]) >= 1
    assert statuses == [401, 401, 401, 429, 429, 429]

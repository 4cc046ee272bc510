"""The real app for the end-to-end benchmarks: a prepared database, a timed SMTP server, a
throwaway PostgreSQL server and ``rivernotify serve`` processes on free loopback ports.

The server runs in its own process (``python -m bench.apphost``), so the load generator and
the SMTP server in the benchmark process do not share its interpreter. With ``--ceiling`` the
host adds ``POST /bench/insert`` (one row, one commit): the ingest benchmark's ceiling. That
route exists only in this benchmark host, never in ``api/``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
SECRET = "bench-secret-key-0123456789abcdef-not-for-production"
ADMIN = "bench_admin"
#: A directory: run each server process under pyinstrument, its report written there.
PROFILE_ENV = "RIVERNOTIFY_BENCH_PROFILE_DIR"


# -- the SMTP server, with the arrival time of every message ---------------------------------
@dataclass
class Arrivals:
    """(perf_counter seconds, Message-ID) of each message, appended by the SMTP thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    items: list[tuple[float, str]] = field(default_factory=list)
    per_incident: dict[int, list[float]] = field(default_factory=dict)

    def snapshot(self) -> list[tuple[float, str]]:
        with self.lock:
            return list(self.items)

    def add(self, at: float, message_id: str) -> None:
        with self.lock:
            self.items.append((at, message_id))
            incident = incident_of(message_id)
            if incident is not None:
                self.per_incident.setdefault(incident, []).append(at)

    def of_incident(self, incident: int) -> list[float]:
        """Arrival times of the incident's messages so far."""
        with self.lock:
            return list(self.per_incident.get(incident, ()))


@contextlib.contextmanager
def timed_smtp() -> Iterator[tuple[Any, Arrivals]]:
    """The test suite's aiosmtpd server (tests/fixtures/smtp.py), timing each DATA."""
    from tests.fixtures.smtp import ScriptedHandler, SmtpServer

    arrivals = Arrivals()

    class TimedHandler(ScriptedHandler):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            data = bytes(envelope.original_content or envelope.content)
            arrivals.add(time.perf_counter(), _message_id(data))
            return "250 2.0.0 OK"

    server = SmtpServer()
    server.handler = TimedHandler()
    server.start()
    try:
        yield server, arrivals
    finally:
        server.stop()


def _message_id(data: bytes) -> str:
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.splitlines():
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("ascii", "replace")
    return ""


def incident_of(message_id: str) -> int | None:
    """``<notice-7.incident-12.r...@domain>`` (or ``rivernotify.12.notice.7``) -> 12."""
    import re

    found = re.search(r"incident-(\d+)", message_id) or re.search(
        r"rivernotify\.(\d+)\.", message_id
    )
    return int(found.group(1)) if found else None


# -- databases ----------------------------------------------------------------------------------
@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh database on a throwaway PostgreSQL server started with the tests' helpers
    (tests/fixtures/postgres.py), or None where PostgreSQL is not installed."""
    from tests.fixtures import postgres as pg

    bin_dir = pg._bin_dir()
    if bin_dir is None:
        yield None
        return
    with pg.throwaway_server(
        bin_dir, prefix="rivernotify-bench-pg-", max_connections=300
    ) as server:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        pg._admin(server, f"CREATE DATABASE {name}")
        yield server.url(name)


def prepare_database(url: str, *, webhooks: bool = False) -> str:
    """Migrate, seed the shipped network and its contacts, add an admin; its bearer token.
    The shipped contacts' webhooks are dropped unless ``webhooks``: email is measured."""
    from sqlalchemy import text

    from api.auth.tokens import TokenClaims, make_bearer_token
    from notifier.accounts.service import add_user
    from notifier.context import context_from_settings
    from notifier.db import engine_from_url, session_factory
    from notifier.migrate import upgrade
    from notifier.seed import contacts_in, seed_network

    engine = engine_from_url(url)
    try:
        upgrade(engine)
        network = context_from_settings(settings_for(url)).topology.network  # type: ignore[attr-defined]
        now = datetime.now(UTC)
        with session_factory(engine)() as session, session.begin():
            seed_network(session, network=network, contacts=contacts_in(DATA_DIR), now=now)
            session.flush()
            if not webhooks:  # their hosts (hooks.example) do not resolve here
                session.execute(text("UPDATE bureaus SET webhooks = :none"), {"none": "[]"})
            user = add_user(session, username=ADMIN, password="bench password 2026",
                            jurisdiction_id=_first_bureau(session), role="admin",
                            actor="bench", now=now)  # fmt: skip
            session.flush()
            claims = TokenClaims(user.id, user.username, "admin")
    finally:
        engine.dispose()
    return make_bearer_token(claims, secret_key=SECRET)


def _first_bureau(session: Any) -> str:
    from sqlalchemy import text

    row = session.execute(text("SELECT jurisdiction_id FROM bureaus ORDER BY 1 LIMIT 1")).first()
    return str(row[0]) if row else ""


def settings_for(url: str, **update: Any) -> Any:
    from pydantic import SecretStr

    from notifier.settings import Settings

    return Settings(database_url=url, network_dir=DATA_DIR, secret_key=SecretStr(SECRET), **update)


def count_rows(url: str, sql: str) -> int:
    from sqlalchemy import text

    from notifier.db import engine_from_url

    engine = engine_from_url(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


# -- server processes ---------------------------------------------------------------------------
@dataclass
class Host:
    process: subprocess.Popen[bytes]
    http_port: int
    hj212_port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def _free_port() -> int:
    from tests.fixtures.smtp import free_port

    return free_port()


@contextlib.contextmanager
def hosts(
    url: str, *, smtp: tuple[str, int], count: int = 1, ceiling: bool = False,
    worker: bool = True, worker_processes: int = 0,
) -> Iterator[list[Host]]:  # fmt: skip
    """``count`` server processes on one database, each with its own worker (unless not
    ``worker``), ready when this yields; and ``worker_processes`` separate `rivernotify
    worker` processes."""
    started: list[Host] = []
    workers: list[subprocess.Popen[bytes]] = []
    logs = Path(tempfile.mkdtemp(prefix="rivernotify-bench-"))
    env = {
        **os.environ,
        "RIVERNOTIFY_DATABASE_URL": url,
        "RIVERNOTIFY_SMTP_HOST": smtp[0],
        "RIVERNOTIFY_SMTP_PORT": str(smtp[1]),
        "RIVERNOTIFY_SECRET_KEY": SECRET,
        "RIVERNOTIFY_NETWORK_DIR": str(DATA_DIR),
        "RIVERNOTIFY_MODE": "development",
        "PYTHONPATH": str(ROOT),
    }
    try:
        for n in range(count):
            http, hj = _free_port(), _free_port()
            log = logs / f"host{n}.log"
            args = [sys.executable, "-m", "bench.apphost", "--port", str(http),
                    "--hj212-port", str(hj)]  # fmt: skip
            profile = os.environ.get(PROFILE_ENV)
            if profile:  # the host under pyinstrument; its report is written on stop
                out_file = str(Path(profile) / f"host{n}.txt")
                args[1:1] = ["-m", "pyinstrument", "-o", out_file]
            args += ["--ceiling"] if ceiling else []
            args += [] if worker else ["--no-worker"]
            with log.open("wb") as out:
                process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=out)
            started.append(Host(process, http, hj, log))
        worker_logs = [logs / f"worker{n}.log" for n in range(worker_processes)]
        for path in worker_logs:
            with path.open("wb") as out:
                workers.append(subprocess.Popen(WORKER_COMMAND, env=env, cwd=ROOT,
                                                stdout=out, stderr=out))  # fmt: skip
        for host in started:
            _wait_ready(host)
        for process, path in zip(workers, worker_logs, strict=True):
            _wait_worker(process, path)
        yield started
    finally:
        processes = [host.process for host in started] + workers
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


#: `rivernotify worker`, with the interpreter running the benchmark.
WORKER_COMMAND = [sys.executable, "-c", "import sys; from api.cli import main; "
                  "sys.exit(main(['worker']))"]  # fmt: skip


def _wait_ready(host: Host, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            raise RuntimeError(f"bench host exited: {host.log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{host.base}/healthz", timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise TimeoutError(f"bench host on port {host.http_port} did not start")


def _wait_worker(process: subprocess.Popen[bytes], log: Path, timeout_s: float = 120.0) -> None:
    """Until the worker says it started (after its build processes loaded the network)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bench worker exited: {log.read_text(errors='replace')[-2000:]}")
        if re.search(r"delivery worker \S+ started", log.read_text(errors="replace")):
            return
        time.sleep(0.2)
    raise TimeoutError(f"bench worker did not start: see {log}")


# -- the host process ---------------------------------------------------------------------------
def _row_model() -> Any:
    from pydantic import BaseModel

    class Row(BaseModel):
        n: int
        note: str = ""

    return Row


def _ceiling_router() -> Any:
    """``POST /bench/insert``: one row in its own table, one commit; the ingest ceiling. It
    writes the way the app's own writers do (``api.ingest.writer_session``: the process's
    write turn, then BEGIN IMMEDIATE on SQLite), so the ceiling is not handicapped by SQLite's
    busy handler where the report routes are not."""
    from fastapi import APIRouter, Request
    from sqlalchemy import text

    from api.ingest import writer_session

    router = APIRouter()
    row = _row_model()

    def insert(request: Request, body: row) -> dict[str, int]:  # type: ignore[valid-type]
        services = request.app.state.services
        with writer_session(services) as session:
            session.execute(
                text("INSERT INTO bench_rows (body, at) VALUES (:b, :t)"),
                {"b": body.model_dump_json(), "t": datetime.now(UTC).isoformat()},  # type: ignore[attr-defined]
            )
            session.commit()
        return {"ok": 1}

    insert.__annotations__ = {"request": Request, "body": row, "return": dict[str, int]}
    router.add_api_route("/bench/insert", insert, methods=["POST"], status_code=201)

    return router


def _create_bench_table(url: str) -> None:
    from sqlalchemy import text

    from notifier.db import engine_from_url

    engine = engine_from_url(url)
    key = "SERIAL" if url.startswith("postgresql") else "INTEGER"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE IF NOT EXISTS bench_rows (id {key} PRIMARY KEY, "
                              "body TEXT, at TEXT)"))  # fmt: skip
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rivernotify serve`` (optionally with the ceiling route, or without the worker)."""
    import logging

    from api import server
    from notifier.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m bench.apphost")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hj212-port", type=int, required=True)
    parser.add_argument("--ceiling", action="store_true")
    parser.add_argument("--no-worker", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings().model_copy(update={"port": args.port, "hj212_port": args.hj212_port})
    if args.ceiling:
        _create_bench_table(settings.database_url)
        original = server.build_app

        def with_ceiling(s: Settings) -> Any:
            app = original(s)
            app.include_router(_ceiling_router())
            return app

        server.build_app = with_ceiling  # type: ignore[assignment]
    worker = not args.no_worker
    if os.environ.get(PROFILE_ENV):
        return _profiled_prepare(lambda: server.serve(settings, worker=worker))
    return server.serve(settings, worker=worker)


def _profiled_prepare(serve: Any) -> int:
    """The worker's message building runs in a thread pyinstrument does not sample: profile
    it with cProfile, accumulated over every call, written next to pyinstrument's report."""
    import cProfile
    import pstats

    from notifier.delivery.build import MessageBuilder

    profile = cProfile.Profile()
    original = MessageBuilder.build

    def build(self: MessageBuilder, claimed: Any, *, now: Any) -> Any:
        profile.enable()
        try:
            return original(self, claimed, now=now)
        finally:
            profile.disable()

    MessageBuilder.build = build  # type: ignore[method-assign]
    try:
        return int(serve())
    finally:
        out = Path(os.environ[PROFILE_ENV]) / f"prepare-{os.getpid()}.txt"
        with out.open("w") as stream:
            pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    sys.exit(main())

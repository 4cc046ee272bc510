"""Report to inbox: POST a report over HTTP, time until the SMTP server holds every notice.

    python -m bench --only e2e --reports 200

The app is ``rivernotify serve`` in its own process (API + delivery worker, default settings:
the worker polls every 0.2 s when idle), the mail server aiosmtpd in this process. Each report
is on a station whose report opens an incident with 5 to 10 notices (found by a calibration
pass over every shipped station); its observed time is a week before the previous one's, so
no report joins an earlier incident (the join window is 72 h). The baseline is the POST's own
answer time in the same run: the rest is the outbox, the worker and SMTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from bench import Figure, Options, Section
from bench.apphost import (
    Arrivals,
    count_rows,
    hosts,
    incident_of,
    postgres_database,
    prepare_database,
    timed_smtp,
)

P50_TARGET_MS, P99_TARGET_MS = 250.0, 1000.0
CONCURRENCY = 10
EMAILS = "SELECT count(*) FROM outbox_messages WHERE channel = 'email'"


@dataclass
class Reporter:
    """Posts reports, each a week before the last, so that each opens its own incident."""

    base: str
    token: str
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))
    sequence: int = 0

    def body(self, station: str) -> dict[str, object]:
        self.sequence += 1
        observed = self.start - timedelta(days=7 * self.sequence)
        return {
            "station_id": station,
            "observed_at": observed.isoformat(),
            "measurements": [{"code": "w21003", "value": 6.5, "unit": "mg/L", "flag": "N"}],
            "note": "bench",
        }

    async def post(self, http: httpx.AsyncClient, station: str) -> tuple[float, float, dict]:  # type: ignore[type-arg]
        body = self.body(station)
        started = time.perf_counter()
        answer = await http.post("/api/v1/reports", json=body)
        answered = time.perf_counter()
        answer.raise_for_status()
        return started, answered, answer.json()


def stations_in(data_dir: Path) -> list[str]:
    import json

    features = json.loads((data_dir / "stations.geojson").read_text(encoding="utf-8"))["features"]
    return [f["properties"]["station_id"] for f in features]


async def calibrate(reporter: Reporter, stations: list[str], *, enough: int = 0) -> list[str]:
    """The stations whose report opens an incident with 5 to 10 notices (the first
    ``enough`` of them, or all)."""
    chosen: list[str] = []
    async with _client(reporter) as http:
        for station in stations:
            if enough and len(chosen) >= enough:
                break
            _, _, result = await reporter.post(http, station)
            if result.get("opened") and 5 <= len(result.get("notices", [])) <= 10:
                chosen.append(station)
    return chosen


@contextlib.asynccontextmanager
async def _client(reporter: Reporter):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {reporter.token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=reporter.base, headers=headers, timeout=60,
                                 limits=limits) as http:  # fmt: skip
        yield http


async def measure(
    reporter: Reporter, stations: list[str], count: int
) -> list[tuple[float, float, dict]]:  # type: ignore[type-arg]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(stations[n % len(stations)])
    results: list[tuple[float, float, dict]] = []  # type: ignore[type-arg]

    async def one(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            results.append(await reporter.post(http, queue.get_nowait()))

    async with _client(reporter) as http:
        await asyncio.gather(*(one(http) for _ in range(CONCURRENCY)))
    return results


def wait_drained(url: str, arrivals: Arrivals, *, timeout_s: float = 180.0) -> int:
    """Until the SMTP server has as many messages as the outbox has email rows."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        expected = count_rows(url, EMAILS)
        if len(arrivals.snapshot()) >= expected:
            return expected
        time.sleep(0.1)
    raise TimeoutError(f"SMTP got {len(arrivals.snapshot())} of {count_rows(url, EMAILS)}")


def per_incident_expected(url: str) -> dict[int, int]:
    from sqlalchemy import text

    from notifier.db import engine_from_url

    engine = engine_from_url(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT incident_id, count(*) FROM outbox_messages "
                                     "WHERE channel = 'email' GROUP BY incident_id"))  # fmt: skip
            return {int(i): int(c) for i, c in rows}
    finally:
        engine.dispose()


@dataclass
class E2eResult:
    latencies_ms: list[float]
    answers_ms: list[float]
    emails: int
    missing: int
    joined: int
    stations: int
    seconds: float


def run_one(url: str, reports: int, *, enough: int = 0) -> E2eResult:
    from bench.apphost import DATA_DIR

    token = prepare_database(url)
    with timed_smtp() as (smtp, arrivals), hosts(url, smtp=(smtp.host, smtp.port)) as [host]:
        reporter = Reporter(host.base, token)
        stations = asyncio.run(calibrate(reporter, stations_in(DATA_DIR), enough=enough))
        if not stations:
            raise RuntimeError("no shipped station opens an incident with 5 to 10 notices")
        wait_drained(url, arrivals)
        before = len(arrivals.snapshot())
        started = time.perf_counter()
        results = asyncio.run(measure(reporter, stations, reports))
        wait_drained(url, arrivals)
        seconds = time.perf_counter() - started
        received = arrivals.snapshot()[before:]
    expected = per_incident_expected(url)
    last: dict[int, float] = {}
    got: dict[int, int] = defaultdict(int)
    for at, message_id in received:
        incident = incident_of(message_id)
        if incident is not None:
            last[incident] = max(last.get(incident, 0.0), at)
            got[incident] += 1
    latencies, answers, missing, joined = [], [], 0, 0
    for t0, t1, answer in results:
        incident = int(answer["incident_id"])
        joined += 0 if answer["opened"] else 1
        missing += max(0, expected.get(incident, 0) - got.get(incident, 0))
        answers.append((t1 - t0) * 1000)
        if incident in last:
            latencies.append((last[incident] - t0) * 1000)
    return E2eResult(latencies, answers, len(received), missing, joined, len(stations), seconds)


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="rivernotify-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


def figures(label: str, result: E2eResult, reports: int) -> list[Figure]:
    p50, p99 = np.percentile(result.latencies_ms, [50, 99])
    a50 = float(np.percentile(result.answers_ms, 50))
    return [
        Figure(f"{label}: report to inbox p50", float(p50), "ms", f"< {P50_TARGET_MS:g} ms",
               bool(p50 < P50_TARGET_MS), f"POST answer p50 {a50:.0f} ms", a50 / float(p50)),
        Figure(f"{label}: report to inbox p99", float(p99), "ms", f"< {P99_TARGET_MS:g} ms",
               bool(p99 < P99_TARGET_MS)),
        Figure(f"{label}: emails per report", result.emails / reports, "mails"),
        Figure(f"{label}: reports per second (10 at a time)", reports / result.seconds, "per s"),
    ]  # fmt: skip


def run(options: Options) -> Section:
    reports = options.reports
    section = Section(f"report to inbox: {reports} reports, {CONCURRENCY} at a time, real "
                      "server process and aiosmtpd")  # fmt: skip
    databases: list[tuple[str, contextlib.AbstractContextManager[str | None]]] = [
        ("SQLite", sqlite_database()),
        ("PostgreSQL", postgres_database()),
    ]
    for label, database in databases:
        with database as url:
            if url is None:
                section.notes.append(f"{label}: not installed, skipped")
                continue
            result = run_one(url, reports)
        section.figures += figures(label, result, reports)
        section.notes.append(
            f"{label}: {result.stations} calibrated stations with 5-10 notices; "
            f"{len(result.latencies_ms)} of {reports} reports timed; {result.missing} emails "
            f"missing; {result.joined} reports joined an earlier incident"
        )
    return section

"""Report to inbox: POST a report over HTTP, time until the SMTP server holds every notice.

    python -m bench --only e2e --reports 200

The app is ``rivernotify serve`` in its own process (API + delivery worker, default settings),
the mail server aiosmtpd in this process. Each report is on a station whose report opens an
incident with 5 to 10 notices (found by a calibration pass over every shipped station); its
observed time is a week before the previous one's, so no report joins an earlier incident
(the join window is 72 h).

"10 at a time" is read as ten reports in flight: ten clients, each posting a report and waiting
until the SMTP server holds every email of that report's incident before posting its next. A
report's latency runs from the start of its POST to the arrival of its incident's last email.
The baseline is the POST's own answer time in the same run: the rest is the outbox, the worker
and SMTP. The throughput of the same run (reports fully delivered per second) is reported too.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import httpx
import numpy as np

from bench import Figure, Options, Section
from bench.apphost import (
    Arrivals,
    count_rows,
    hosts,
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


@dataclass
class Timed:
    """One report: POST start, POST answered, last email arrived (perf_counter seconds)."""

    started: float
    answered: float
    delivered: float | None
    incident: int
    emails: int


Mode = Literal["rounds", "flight"]


async def measure(
    reporter: Reporter, stations: list[str], count: int, *, url: str, arrivals: Arrivals,
    mode: Mode = "rounds", timeout_s: float = 120.0,
) -> list[Timed]:  # fmt: skip
    """``count`` reports, each timed until its incident's emails arrived: in rounds of
    ``CONCURRENCY`` posted together (the next round when the whole round is delivered), or
    with ``CONCURRENCY`` in flight all the time (a client posts again as soon as its report
    is delivered)."""
    from notifier.db import engine_from_url

    picks = [stations[n % len(stations)] for n in range(count)]
    results: list[Timed] = []
    engine = engine_from_url(url)

    def expected(incident: int) -> int:
        from sqlalchemy import text

        with engine.connect() as conn:
            sql = text(EMAILS + " AND incident_id = :i")
            return int(conn.execute(sql, {"i": incident}).scalar_one())

    async def one(http: httpx.AsyncClient, station: str) -> None:
        started, answered, answer = await reporter.post(http, station)
        incident = int(answer["incident_id"])
        emails = await asyncio.to_thread(expected, incident)
        deadline = time.perf_counter() + timeout_s
        while len(got := arrivals.of_incident(incident)) < emails:
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.002)
        done = max(got) if len(got) >= emails and got else None
        results.append(Timed(started, answered, done, incident, emails))

    async def client(http: httpx.AsyncClient) -> None:
        while picks:
            await one(http, picks.pop())

    try:
        async with _client(reporter) as http:
            if mode == "flight":
                await asyncio.gather(*(client(http) for _ in range(CONCURRENCY)))
            while picks:
                batch = [picks.pop() for _ in range(min(CONCURRENCY, len(picks)))]
                await asyncio.gather(*(one(http, station) for station in batch))
    finally:
        engine.dispose()
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


@dataclass
class E2eResult:
    latencies_ms: list[float]
    answers_ms: list[float]
    emails: int
    missing: int
    joined: int
    stations: int
    seconds: float


def run_one(
    url: str, reports: int, *, enough: int = 0, split: bool = False
) -> dict[Mode, E2eResult]:
    """Both ways of keeping ten reports going, one after the other, on one server: `serve`
    alone, or (``split``) `serve --no-worker` beside a `rivernotify worker` process."""
    from bench.apphost import DATA_DIR

    token = prepare_database(url)
    results: dict[Mode, E2eResult] = {}
    processes = {"worker": not split, "worker_processes": 1 if split else 0}
    with (
        timed_smtp() as (smtp, arrivals),
        hosts(url, smtp=(smtp.host, smtp.port), **processes) as [host],
    ):
        reporter = Reporter(host.base, token)
        stations = asyncio.run(calibrate(reporter, stations_in(DATA_DIR), enough=enough))
        if not stations:
            raise RuntimeError("no shipped station opens an incident with 5 to 10 notices")
        for mode in ("rounds", "flight"):
            wait_drained(url, arrivals)
            before = len(arrivals.snapshot())
            started = time.perf_counter()
            timed = asyncio.run(
                measure(reporter, stations, reports, url=url, arrivals=arrivals, mode=mode)
            )
            seconds = time.perf_counter() - started
            received = len(arrivals.snapshot()) - before
            results[mode] = _result(timed, received, len(stations), seconds)
    return results


def _result(timed: list[Timed], received: int, stations: int, seconds: float) -> E2eResult:
    return E2eResult(
        latencies_ms=[(r.delivered - r.started) * 1000 for r in timed if r.delivered is not None],
        answers_ms=[(r.answered - r.started) * 1000 for r in timed],
        emails=received,
        missing=sum(1 for r in timed if r.delivered is None),
        joined=len(timed) - len({r.incident for r in timed}),
        stations=stations,
        seconds=seconds,
    )


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="rivernotify-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


def figures(label: str, results: dict[Mode, E2eResult], reports: int) -> list[Figure]:
    rounds, flight = results["rounds"], results["flight"]
    p50, p99 = np.percentile(rounds.latencies_ms, [50, 99])
    a50 = float(np.percentile(rounds.answers_ms, 50))
    f50, f99 = np.percentile(flight.latencies_ms, [50, 99])
    return [
        Figure(f"{label}: report to inbox p50 (rounds of 10)", float(p50), "ms",
               f"< {P50_TARGET_MS:g} ms", bool(p50 < P50_TARGET_MS),
               f"POST answer p50 {a50:.0f} ms", a50 / float(p50)),
        Figure(f"{label}: report to inbox p99 (rounds of 10)", float(p99), "ms",
               f"< {P99_TARGET_MS:g} ms", bool(p99 < P99_TARGET_MS)),
        Figure(f"{label}: report to inbox p50 (10 in flight)", float(f50), "ms",
               f"< {P50_TARGET_MS:g} ms", bool(f50 < P50_TARGET_MS)),
        Figure(f"{label}: report to inbox p99 (10 in flight)", float(f99), "ms",
               f"< {P99_TARGET_MS:g} ms", bool(f99 < P99_TARGET_MS)),
        Figure(f"{label}: emails per report", rounds.emails / reports, "mails"),
        Figure(f"{label}: reports fully delivered per second (10 in flight)",
               reports / flight.seconds, "per s"),
    ]  # fmt: skip


#: (label, split): `serve` alone, then the API and the worker in processes of their own.
SHAPES = (("serve", False), ("serve --no-worker + worker", True))


def run(options: Options) -> Section:
    reports = options.reports
    section = Section(f"report to inbox: {reports} reports, {CONCURRENCY} at a time, real "
                      "server processes and aiosmtpd")  # fmt: skip
    for shape, split in SHAPES:
        databases: list[tuple[str, contextlib.AbstractContextManager[str | None]]] = [
            ("SQLite", sqlite_database()),
            ("PostgreSQL", postgres_database()),
        ]
        for name, database in databases:
            label = f"{name}, {shape}"
            with database as url:
                if url is None:
                    section.notes.append(f"{name}: not installed, skipped")
                    continue
                results = run_one(url, reports, split=split)
            section.figures += figures(label, results, reports)
            for mode, result in results.items():
                section.notes.append(
                    f"{label}, {mode}: {result.stations} calibrated stations with 5-10 "
                    f"notices; {len(result.latencies_ms)} of {reports} reports timed; "
                    f"{result.missing} not fully delivered within 120 s; {result.joined} "
                    "joined an earlier incident"
                )
    return section

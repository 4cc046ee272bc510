"""Scale-out: two API processes and two workers on one PostgreSQL, against one of each.

    python -m bench --only scaleout --reports 200

Each configuration gets a fresh database; the same reports (each opening its own incident
with 5 to 10 notices) are posted 10 at a time, spread over the processes, and the clock stops
when the SMTP server holds every email of the outbox. "Nothing sent twice": no Message-ID
arrives twice at the SMTP server.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from bench import Figure, Options, Section
from bench.apphost import (
    DATA_DIR,
    count_rows,
    hosts,
    postgres_database,
    prepare_database,
    timed_smtp,
)
from bench.e2e import CONCURRENCY, EMAILS, Reporter, calibrate, stations_in, wait_drained


@dataclass
class Throughput:
    processes: int
    reports: int
    seconds: float
    emails: int
    expected: int
    duplicates: int

    @property
    def rate(self) -> float:
        return self.reports / self.seconds


async def _post_all(reporter: Reporter, bases: list[str], stations: list[str], count: int) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(stations[n % len(stations)])
    headers = {"Authorization": f"Bearer {reporter.token}"}
    clients = [httpx.AsyncClient(base_url=b, headers=headers, timeout=60) for b in bases]

    async def lane(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            answer = await http.post("/api/v1/reports", json=reporter.body(queue.get_nowait()))
            answer.raise_for_status()

    try:
        await asyncio.gather(*(lane(clients[n % len(clients)]) for n in range(CONCURRENCY)))
    finally:
        for http in clients:
            await http.aclose()


def run_config(
    processes: int, reports: int, stations: list[str] | None, *, enough: int = 0
) -> tuple[Throughput, list[str]]:
    with postgres_database() as url:
        if url is None:
            raise LookupError("PostgreSQL is not installed")
        token = prepare_database(url)
        with timed_smtp() as (smtp, arrivals), hosts(
            url, smtp=(smtp.host, smtp.port), count=processes, worker=False,
            worker_processes=processes,
        ) as started:  # fmt: skip
            reporter = Reporter(started[0].base, token)
            if stations is None:
                stations = asyncio.run(calibrate(reporter, stations_in(DATA_DIR), enough=enough))
            else:
                asyncio.run(calibrate(reporter, stations))  # the same warm-up either way
            wait_drained(url, arrivals)
            before = len(arrivals.snapshot())
            t0 = time.perf_counter()
            asyncio.run(_post_all(reporter, [h.base for h in started], stations, reports))
            expected = wait_drained(url, arrivals) - before
            seconds = time.perf_counter() - t0
            time.sleep(1.0)  # a late duplicate would arrive now
            received = arrivals.snapshot()
        duplicates = sum(c - 1 for c in Counter(m for _, m in received).values() if c > 1)
        sent = count_rows(url, EMAILS + " AND status = 'sent'")
    result = Throughput(processes, reports, seconds, len(received) - before, expected, duplicates)
    if sent < expected:
        result.expected = sent
    return result, stations


def run(options: Options) -> Section:
    reports = options.reports
    section = Section(f"scale-out on PostgreSQL: {reports} reports, {CONCURRENCY} at a time, "
                      "report to every email delivered")  # fmt: skip
    try:
        one, stations = run_config(1, reports, None)
        two, _ = run_config(2, reports, stations)
    except LookupError as exc:
        section.notes.append(f"skipped: {exc}")
        return section
    for result in (one, two):
        shape = f"{result.processes} API + {result.processes} worker"
        section.figures += [
            Figure(f"{shape}: reports per second", result.rate, "per s",
                   baseline="1 API + 1 worker" if result is two else "",
                   ratio=one.rate / result.rate if result is two else None),
            Figure(f"{shape}: emails per second",
                   result.emails / result.seconds, "per s"),
            Figure(f"{shape}: Message-IDs received twice",
                   result.duplicates, "", "0", result.duplicates == 0),
        ]  # fmt: skip
        section.notes.append(
            f"{shape}: {result.emails} emails received for "
            f"{result.expected} outbox email rows in {result.seconds:.1f} s"
        )
    section.notes.append("rates: the ratio column is 1+1 processes over 2+2 (below 1: faster)")
    section.notes.append("n process(es): n `rivernotify serve --no-worker` (HTTP API) and n "
                         "`rivernotify worker` processes (woken by PostgreSQL NOTIFY); the "
                         f"machine has {_cores()} logical cores")  # fmt: skip
    return section


def _cores() -> int:
    import os

    return os.cpu_count() or 1

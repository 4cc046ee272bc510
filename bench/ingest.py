"""Ingest: sustained reports per second over REST and HJ 212 packets over TCP.

    python -m bench --only ingest --requests 2000

One ``rivernotify serve`` process on SQLite (with its worker), loaded closed-loop by 10
clients. The ceiling is the same app's bare ``POST /bench/insert`` (one row, one commit; added
by the benchmark host only), measured in the same run, once before the reports and once after
them: the baseline is the two together, so that drift of a shared machine during the run
does not favour either side. "No request lost": the rows in the
database afterwards equal the requests answered (bare inserts, REST reports and HJ 212
packets each counted). The exceeding reports all join the incident the first one opens, and
each answer lists every notice of that incident (the count is in the notes). On SQLite the
report route commits in groups (``api.ingest.GroupCommit``: reports that wait for the write
turn together share one transaction and one commit, and each is answered after it); the
ceiling commits each row on its own, as before.

The load generator runs on the same machine as the server: on 2 cores shared with other
work the ratio to the ceiling moves with the load average (see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np

from bench import Figure, Options, Section
from bench.apphost import DATA_DIR, count_rows, hosts, prepare_database, timed_smtp
from bench.e2e import sqlite_database

CONCURRENCY = 10
SHARE_TARGET, P99_TARGET_MS = 0.60, 200.0


@dataclass
class Load:
    """Requests answered, wall time and each request's time."""

    answered: int
    failed: int
    seconds: float
    times_ms: list[float]

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    @property
    def p99(self) -> float:
        return float(np.percentile(self.times_ms, 99)) if self.times_ms else float("nan")


async def closed_loop(count: int, send: Callable[[int], Awaitable[bool]]) -> Load:
    """``count`` calls of ``send(n)``, ``CONCURRENCY`` at a time."""
    numbers = iter(range(count))
    times: list[float] = []
    failed = 0

    async def lane() -> None:
        nonlocal failed
        for n in numbers:
            started = time.perf_counter()
            ok = await send(n)
            times.append((time.perf_counter() - started) * 1000)
            failed += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return Load(len(times) - failed, failed, time.perf_counter() - started, times)


def _station() -> tuple[str, str]:
    import json

    features = json.loads((DATA_DIR / "stations.geojson").read_text(encoding="utf-8"))["features"]
    return next(
        (f["properties"]["station_id"], f["properties"]["mn"])
        for f in features
        if f["properties"].get("mn")
    )


async def rest_loads(base: str, token: str, count: int) -> tuple[dict[str, Load], int]:
    """The three REST loads, and how many notices the last exceeding answer listed."""
    station, _ = _station()
    now = datetime.now(UTC) - timedelta(minutes=5)
    headers = {"Authorization": f"Bearer {token}"}
    loads: dict[str, Load] = {}
    last: list[httpx.Response] = []  # read once at the end: parsing is not part of the load
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as http:

        def report(value: float) -> Callable[[int], Awaitable[bool]]:
            async def send(n: int) -> bool:
                measurement = {"code": "w21003", "value": value, "unit": "mg/L"}
                body = {"station_id": station, "note": "bench", "measurements": [measurement],
                        "observed_at": (now - timedelta(seconds=n)).isoformat()}  # fmt: skip
                answer = await http.post("/api/v1/reports", json=body)
                last[:] = [answer]
                return answer.status_code == 201

            return send

        async def insert(n: int) -> bool:
            answer = await http.post("/bench/insert", json={"n": n, "note": "bench"})
            return answer.status_code == 201

        await closed_loop(min(count, 50), insert)  # warm-up (not counted in the figures)
        # The ceiling is measured before and after the reports (the machine drifts: on 2
        # shared cores one ceiling run read 744 a second and the next 894); the baseline is
        # their mean.
        first = await closed_loop(count, insert)
        loads["quiet"] = await closed_loop(count, report(0.1))
        loads["exceeding"] = await closed_loop(count, report(6.5))
        loads["ceiling after"] = await closed_loop(count, insert)
        loads["ceiling"] = first
    listed = len(last[0].json().get("notices", [])) if last else 0
    return loads, listed


async def hj212_load(port: int, count: int) -> Load:
    from api.hj212.codec import encode_packet

    _, mn = _station()
    start = datetime.now(UTC) + timedelta(hours=8) - timedelta(days=2)  # Beijing time, past
    lanes = [await asyncio.open_connection("127.0.0.1", port) for _ in range(CONCURRENCY)]
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for lane in lanes:
        free.put_nowait(lane)

    async def send(n: int) -> bool:
        at = start + timedelta(seconds=n)
        packet = encode_packet(
            {"QN": f"{at:%Y%m%d%H%M%S}{n % 1000:03d}", "ST": "21", "CN": "2011",
             "PW": "123456", "MN": mn, "Flag": "5"},
            cp={"DataTime": f"{at:%Y%m%d%H%M%S}", "w21003-Rtd": "0.2", "w21003-Flag": "N"},
        )  # fmt: skip
        reader, writer = await free.get()
        try:
            writer.write(packet)
            await writer.drain()
            reply = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout=30)
            return b"CN=9014" in reply
        finally:
            free.put_nowait((reader, writer))

    try:
        return await closed_loop(count, send)
    finally:
        for _, writer in lanes:
            writer.close()


def _figure(name: str, load: Load, ceiling: Load) -> list[Figure]:
    share = load.rate / ceiling.rate
    return [
        Figure(f"{name}: per second", load.rate, "per s", f">= {SHARE_TARGET:.0%} of ceiling",
               share >= SHARE_TARGET, f"bare insert {ceiling.rate:.0f}/s",
               ceiling.rate / load.rate),
        Figure(f"{name}: p99", load.p99, "ms", f"< {P99_TARGET_MS:g} ms",
               load.p99 < P99_TARGET_MS),
    ]  # fmt: skip


def run(options: Options) -> Section:
    count = options.requests
    section = Section(f"ingest: {count} requests per kind, {CONCURRENCY} clients, SQLite, "
                      "one server process")  # fmt: skip
    with sqlite_database() as url:
        token = prepare_database(url)
        with (
            timed_smtp() as (smtp, _),
            hosts(url, smtp=(smtp.host, smtp.port), ceiling=True) as [host],
        ):
            loads, listed = asyncio.run(rest_loads(host.base, token, count))
            before = count_rows(url, "SELECT count(*) FROM reports")
            loads["HJ 212 packets"] = asyncio.run(hj212_load(host.hj212_port, count))
            time.sleep(0.5)
            hj212_rows = count_rows(url, "SELECT count(*) FROM reports") - before
        rows = count_rows(url, "SELECT count(*) FROM bench_rows")
    before_ceiling, after_ceiling = loads["ceiling"], loads.pop("ceiling after")
    ceiling = Load(
        before_ceiling.answered + after_ceiling.answered,
        before_ceiling.failed + after_ceiling.failed,
        before_ceiling.seconds + after_ceiling.seconds,
        before_ceiling.times_ms + after_ceiling.times_ms,
    )
    loads["ceiling"] = ceiling
    section.figures.append(Figure("ceiling: bare insert per second", ceiling.rate, "per s"))
    section.figures.append(Figure("ceiling: p99", ceiling.p99, "ms"))
    section.figures += _figure("REST reports, no exceedance", loads["quiet"], ceiling)
    section.figures += _figure(
        "REST reports, exceeding (one incident)", loads["exceeding"], ceiling
    )
    section.figures += _figure("HJ 212 packets over TCP", loads["HJ 212 packets"], ceiling)
    lost = sum(load.failed for load in loads.values())
    section.notes.append(
        f"requests not answered with success: {lost}; bare-insert rows {rows - min(count, 50)} "
        f"of {ceiling.answered}; REST reports stored {before} of "
        f"{loads['quiet'].answered + loads['exceeding'].answered} answered; HJ 212 reports "
        f"stored {hj212_rows} of {loads['HJ 212 packets'].answered} acknowledged"
    )
    section.notes.append(
        f"each exceeding answer lists every notice of the joined incident ({listed} here)"
    )
    section.notes.append(
        f"the ceiling is the bare inserts before the reports ({before_ceiling.rate:.0f}/s) and "
        f"after them ({after_ceiling.rate:.0f}/s) together"
    )
    return section

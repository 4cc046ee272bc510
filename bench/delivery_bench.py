"""Delivery: emails per second from the outbox to a mail server, against raw aiosmtplib.

    python -m bench --only delivery [--messages N]

The outbox is filled by the engine itself (reports on the shipped network, each opening its
own incident with its notices and copies), in a SQLite database. The mail server is aiosmtpd in
a process of its own (``bench.smtpsink``). Two runs over the same messages:

- ceiling: the messages, already built and flattened, sent with bare ``aiosmtplib`` one after
  another over one connection: the transport alone;
- ours: the delivery worker's loop (``run_worker``, default settings, maps drawn from the
  network) from the pending outbox rows until every one is recorded as sent: claiming,
  reading the database, the map, the email, sending and recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure, Options, Section
from bench.apphost import DATA_DIR, prepare_database, settings_for
from bench.smtpsink import sink_process

TARGET_SHARE = 0.70
SENT = "SELECT count(*) FROM outbox_messages WHERE channel = 'email' AND status = 'sent'"


def fill_outbox(url: str, *, emails: int) -> tuple[int, int]:
    """Reports that open incidents until the outbox holds ``emails`` email rows: (rows,
    reports). Each report is a week before the last, so none joins an earlier incident."""
    from sqlalchemy import func, select

    from notifier.context import context_from_settings
    from notifier.db import engine_from_url, session_factory
    from notifier.evaluation.evaluate import Measurement
    from notifier.incidents.schemas import ReportInput
    from notifier.incidents.service import submit_report
    from notifier.outbox.models import OutboxMessage

    ctx = context_from_settings(settings_for(url))
    stations = _stations()
    engine = engine_from_url(url)
    now = datetime.now(UTC)
    reports = rows = 0
    try:
        factory = session_factory(engine)
        while rows < emails and reports < 20 * len(stations):
            station = stations[reports % len(stations)]
            reports += 1
            data = ReportInput(
                measurements=(Measurement("w21003", 6.5, "mg/L"),),
                reporter="bench",
                observed_at=now - timedelta(days=7 * reports),
                station_id=station,
            )
            with factory() as session, session.begin():
                with contextlib.suppress(Exception):  # a station off the network, say
                    submit_report(session, data, ctx=ctx, now=now)
                rows = (
                    session.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.channel == "email")
                    )
                    or 0
                )
    finally:
        engine.dispose()
    return rows, reports


def _stations() -> list[str]:
    import json

    text = (DATA_DIR / "stations.geojson").read_text(encoding="utf-8")
    return [f["properties"]["station_id"] for f in json.loads(text)["features"]]


def built_messages(url: str, settings: Any) -> list[Any]:
    """Every pending email row built as the worker builds it, without leasing any."""
    from sqlalchemy import select

    from notifier.db import engine_from_url
    from notifier.delivery.build import MessageBuilder, render_options
    from notifier.delivery.claim import _COLUMNS, ClaimedMessage
    from notifier.delivery.maps import network_maps
    from notifier.outbox.models import OutboxMessage

    engine = engine_from_url(url)
    try:
        with engine.connect() as conn:
            query = select(*_COLUMNS).where(OutboxMessage.channel == "email")
            claimed = [ClaimedMessage(*row) for row in conn.execute(query)]
        options = render_options(settings, geometry=network_maps(settings))
        built = MessageBuilder(engine, settings, options).build(claimed, now=datetime.now(UTC))
    finally:
        engine.dispose()
    if built.failed:
        raise RuntimeError(f"{len(built.failed)} messages could not be built: {built.failed}")
    return list(built.prepared.values())


async def send_raw(messages: list[Any], *, host: str, port: int, sender: str) -> float:
    """Seconds to send every message with bare aiosmtplib over one connection."""
    import aiosmtplib

    client = aiosmtplib.SMTP(hostname=host, port=port, local_hostname="localhost")
    await client.connect()
    started = time.perf_counter()
    for item in messages:
        await client.sendmail(sender, [item.recipient], item.data)
    seconds = time.perf_counter() - started
    await client.quit()
    return seconds


async def run_worker_until_sent(url: str, settings: Any, expected: int) -> float:
    """Seconds from starting the worker loop until ``expected`` email rows are sent."""
    from sqlalchemy import text

    from notifier.db import engine_from_url
    from notifier.delivery.maps import network_maps
    from notifier.delivery.worker import run_worker

    geometry = network_maps(settings)  # loaded before timing, as `serve` does at start
    gc.collect()  # and kept out of the collector's way, as `serve` and `worker` do
    gc.freeze()
    stop, ready = asyncio.Event(), asyncio.Event()
    watcher = engine_from_url(url)
    task = asyncio.create_task(
        run_worker(settings, stop_event=stop, geometry=geometry, ready=ready)
    )
    await ready.wait()  # its build processes started, as `serve` does at start
    started = time.perf_counter()
    try:
        while not task.done():
            with watcher.connect() as conn:
                if int(conn.execute(text(SENT)).scalar_one()) >= expected:
                    break
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        await task
        watcher.dispose()
    return seconds


def run(options: Options) -> Section:
    emails = max(options.reports * 7, 50)  # --reports 200: about 1,400 emails
    section = Section(f"delivery: about {emails} emails from the outbox to aiosmtpd "
                      "(its own process), SQLite")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rivernotify-bench-") as directory:
        url = f"sqlite:///{Path(directory) / 'delivery.db'}"
        prepare_database(url)
        rows, reports = fill_outbox(url, emails=emails)
        with sink_process() as (host, port):
            settings = settings_for(url, smtp_host=host, smtp_port=port)
            messages = built_messages(url, settings)
            raw_s = asyncio.run(send_raw(messages, host=host, port=port,
                                         sender="noreply@rivernotify.example"))  # fmt: skip
            ours_s = asyncio.run(run_worker_until_sent(url, settings, rows))
    raw_rate, our_rate = rows / raw_s, rows / ours_s
    share = our_rate / raw_rate
    section.figures += [
        Figure("ceiling: bare aiosmtplib, one connection", raw_rate, "per s"),
        Figure("delivery worker, outbox to server", our_rate, "per s",
               f">= {TARGET_SHARE:.0%} of ceiling", share >= TARGET_SHARE,
               f"bare aiosmtplib {raw_rate:.0f}/s", raw_rate / our_rate),
        Figure("delivery worker: share of the ceiling", share * 100, "%"),
    ]  # fmt: skip
    section.notes.append(
        f"{rows} email rows from {reports} reports on the shipped stations; the ceiling sends "
        "the same messages, built beforehand; every message carries its map"
    )
    return section


def main() -> int:
    from bench.results import print_section

    print_section(run(replace(Options(), reports=200)))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())

"""Delivery speed: building notices and sending them over one SMTP connection.

    python -m bench.delivery_bench [--messages N]

Sends to the embedded SMTP sink (aiosmtpd on loopback, in this process), so the figure is a
floor for a real mail server on a LAN. Registered in ``bench.__main__`` as ``delivery``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shapely.geometry import LineString, Point, box

from bench import Figure, Options, Section
from bench.results import print_section
from notifier.delivery.context import MapGeometry, Measurement, MessageKind, NoticeContext
from notifier.delivery.email import build_email, make_message_id
from notifier.delivery.mapimage import render_map_png
from notifier.delivery.sink import MailSink
from notifier.delivery.smtp import OutgoingEmail, SmtpConfig, send_batch

SENDER = "rivernotify <noreply@rivernotify.example>"
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
TARGET_PER_S = 100.0


def _context(n: int) -> NoticeContext:
    return NoticeContext(
        kind=MessageKind.NOTICE, exercise=False, incident_id=1, notice_id=n, river="汾河",
        origin_jurisdiction="太原市小店区", origin_bureau="太原市生态环境局小店分局",
        origin_reach="fenhe-012", origin_station="温南社", lon=112.56, lat=37.71,
        observed_at=NOW, recipient_bureau="晋中市生态环境局", recipient_jurisdiction="晋中市",
        role="downstream", message_id=make_message_id(incident_id=1, kind="notice", key=n,
                                                      sender=SENDER),
        measurements=(Measurement("w01018", "化学需氧量", "COD", 45.0, "mg/L", "≤ 20", 3, 1.25),),
        eta=NOW + timedelta(hours=3), ack_deadline=NOW + timedelta(minutes=30),
        ack_url=f"http://127.0.0.1:8000/ack/token{n}",
    )  # fmt: skip


def run(options: Options, *, messages: int = 500) -> Section:
    section = Section(f"delivery: {messages} notices, one SMTP connection to a loopback sink")
    started = time.perf_counter()
    items = [
        OutgoingEmail(build_email(_context(n), sender=SENDER, recipient=f"b{n}@x.example",
                                  now=NOW), f"b{n}@x.example")
        for n in range(1, messages + 1)
    ]  # fmt: skip
    built = time.perf_counter() - started
    geometry = MapGeometry(
        Point(112.56, 37.71),
        (LineString([(112.56, 37.71), (112.7, 37.6)]),),
        box(112.6, 37.3, 113.1, 37.68),
    )
    started = time.perf_counter()
    for _ in range(20):
        render_map_png(geometry)
    map_ms = (time.perf_counter() - started) / 20 * 1000
    sink = MailSink(directory=None, keep_last=messages)
    sink.start()
    try:
        config = SmtpConfig(host=sink.host, port=sink.port, sender=SENDER)
        started = time.perf_counter()
        outcomes = asyncio.run(send_batch(items, config=config))
        sent_s = time.perf_counter() - started
    finally:
        sink.stop()
    if not all(o.sent for o in outcomes):
        section.notes.append(f"{sum(not o.sent for o in outcomes)} messages were not accepted")
    rate = messages / sent_s
    section.figures += [
        Figure("emails built (zh+en, text+HTML)", messages / built, "per s"),
        Figure("map PNG drawn (480x320)", map_ms, "ms"),
        Figure("emails sent, one connection", rate, "per s", target=f">= {TARGET_PER_S:g}/s",
               met=rate >= TARGET_PER_S),
    ]  # fmt: skip
    return section


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery_bench")
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args(argv)
    print_section(run(Options(), messages=args.messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())

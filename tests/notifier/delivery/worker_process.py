"""A delivery worker in a process of its own, for the crash test.

    python -m tests.notifier.delivery.worker_process

Settings come from RIVERNOTIFY_*. It runs one round but, instead of recording what it sent,
prints ``SENT n`` and waits to be killed: the moment between the send and the commit.
"""

from __future__ import annotations

import asyncio
import time

from notifier.db import engine_from_settings
from notifier.delivery.build import render_options
from notifier.delivery.record import Delivery
from notifier.delivery.worker import Worker
from notifier.settings import Settings


def main() -> None:
    settings = Settings()
    worker = Worker(engine_from_settings(settings), settings, render_options(settings))

    def die_before_recording(deliveries: list[Delivery]) -> None:
        sent = sum(d.outcome.sent for d in deliveries)
        print(f"SENT {sent}", flush=True)
        time.sleep(3600)

    worker._record = die_before_recording  # type: ignore[method-assign]
    asyncio.run(worker.tick())


if __name__ == "__main__":
    main()

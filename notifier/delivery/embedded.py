"""Delivery inside the server process, as `make run` needs it: the SMTP sink when no mail
server is configured, and the worker loop as a background task.

    async with running_delivery(settings, mail_dir=var / "mail") as delivery:
        app.state.mail_sink = delivery.sink
        ...  # serve
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from notifier.delivery.maps import network_maps
from notifier.delivery.sink import MailSink, start_sink_if_needed
from notifier.delivery.worker import engine_due_hook, run_worker
from notifier.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunningDelivery:
    settings: Settings  # SMTP pointed at the sink when one was started
    sink: MailSink | None


@asynccontextmanager
async def running_delivery(
    settings: Settings, *, mail_dir: Path, with_maps: bool = True
) -> AsyncIterator[RunningDelivery]:
    """Start the sink (if needed) and the worker; stop both on exit, the worker first."""
    effective, sink = await asyncio.to_thread(start_sink_if_needed, settings, directory=mail_dir)
    geometry = await asyncio.to_thread(network_maps, settings) if with_maps else None
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(effective, stop_event=stop, due=engine_due_hook(settings), geometry=geometry),
        name="rivernotify-delivery-worker",
    )
    try:
        yield RunningDelivery(effective, sink)
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=max(settings.smtp_timeout_s, 5.0) + 5.0)
        except TimeoutError:
            log.warning("delivery worker did not stop in time; its leases will expire")
        if sink is not None:
            sink.stop()

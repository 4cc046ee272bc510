"""Hearing of new outbox rows written by other processes, through PostgreSQL LISTEN/NOTIFY.

The transaction that writes rows sends ``NOTIFY`` (see :mod:`notifier.outbox.signal`); this
listens on its own connection and rings the worker's doorbell for each. If the connection
breaks, it rings once (rows may have come meanwhile) and connects again with backoff; the
worker's polling covers the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.engine import URL

from notifier.outbox.signal import CHANNEL, Doorbell

log = logging.getLogger(__name__)


def conninfo_of(url: URL) -> str:
    """A libpq connection URI from an SQLAlchemy ``postgresql+psycopg://`` URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_for_outbox(url: URL, doorbell: Doorbell, *, stop: asyncio.Event) -> None:
    import psycopg

    failures = 0
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo_of(url), autocommit=True
            ) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                failures = 0
                doorbell.ring()
                while not stop.is_set():
                    async for _ in connection.notifies(timeout=1.0):
                        doorbell.ring()
        except Exception as exc:  # the server restarting, say
            failures += 1
            doorbell.ring()
            log.warning("LISTEN %s: %s (retrying; polling meanwhile)", CHANNEL, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(0.5 * 2**failures, 30.0))

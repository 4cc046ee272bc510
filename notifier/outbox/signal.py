"""Telling the delivery worker that outbox rows are waiting, so that it need not poll for them.

A transaction that writes outbox rows calls :func:`announce`. On PostgreSQL that queues a
``NOTIFY`` which the server delivers when (and only if) the transaction commits, to workers in
any process listening on :data:`CHANNEL`. In the process itself, sessions made by a factory
passed to :func:`ring_on_commit` ring a :class:`Doorbell` after such a commit, which is how a
worker beside the API (``rivernotify serve``) hears of new rows on SQLite too. Polling stays as
the fallback: a missed ring costs one poll interval, never a message.
"""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

CHANNEL = "rivernotify_outbox"
_ANNOUNCED = "rivernotify.outbox.announced"  # session.info: the transaction that announced


def announce(session: Session) -> None:
    """Mark the session's transaction as one that wrote outbox rows (once per transaction)."""
    transaction = session.get_transaction()
    if transaction is None or session.info.get(_ANNOUNCED) is transaction:
        return
    session.info[_ANNOUNCED] = transaction
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


class Doorbell:
    """Wakes the worker's loops: ``ring()`` may be called from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: list[asyncio.Event] = []
        self._lock = threading.Lock()

    def listener(self) -> asyncio.Event:
        """A new event that every ring sets (call from the loop that will wait on it)."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            wake = asyncio.Event()
            self._events.append(wake)
            return wake

    def ring(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._set_all()
        else:
            loop.call_soon_threadsafe(self._set_all)

    def _set_all(self) -> None:
        for wake in self._events:
            wake.set()


def ring_on_commit(factory: sessionmaker[Session], doorbell: Doorbell) -> None:
    """Ring ``doorbell`` after each commit of a ``factory`` session that announced outbox rows."""

    def committed(session: Session) -> None:
        if session.info.pop(_ANNOUNCED, None) is not None:
            doorbell.ring()

    def rolled_back(session: Session) -> None:
        session.info.pop(_ANNOUNCED, None)

    event.listen(factory, "after_commit", committed)
    event.listen(factory, "after_rollback", rolled_back)

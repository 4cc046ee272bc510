"""The worker's child processes (``RIVERNOTIFY_BUILD_PROCESSES``, 1 by default): they claim
due rows, build their messages and record what was sent; the worker itself only talks SMTP.

Drawing a map and writing a MIME message cost about 0.7 ms of CPU per email, the database
work about 0.2 ms, sending 0.4 ms. In one process they take turns on the interpreter lock, and
in ``serve`` they also take turns with the API's requests; and every moment the worker spends
on them is a moment the mail server's connection waits. In a child they run beside both, on
another core (the delivery benchmark went from about 690 to about 780 emails a second when
claiming and recording moved there too, after building).

Each child loads the network and opens its own engine once, when it starts: the parent
sends it rows and gets finished messages back (about 15 KB an email). Children are started
with ``spawn`` (a forked copy of a process with threads and an event loop is not safe). If a
child dies, the worker does that step itself, and the children are started again at most
once every ``RESTART_AFTER_S``: delivery never waits on them. A claim or record a dying child
had committed is safe either way: unanswered rows stay leased and are sent again when the
lease runs out, and recording is guarded by the lease.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from datetime import datetime, timedelta
from itertools import groupby
from typing import TypeVar

from notifier.delivery.build import Built, MessageBuilder, render_options
from notifier.delivery.claim import ClaimedMessage, claim_due
from notifier.delivery.record import Delivery, RecordSummary, record_batch
from notifier.delivery.retry import RetryPolicy
from notifier.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

RESTART_AFTER_S = 30.0
PARENT_CHECK_S = 0.5

_builder: MessageBuilder | None = None  # a child's own, made by _start_child


def _start_child(settings: Settings, database_url: str) -> None:
    from notifier.db import engine_from_url
    from notifier.delivery.maps import network_maps

    global _builder  # noqa: PLW0603 - one builder per child process, made once at its start
    watch_parent()
    engine = engine_from_url(database_url)
    options = render_options(settings, geometry=network_maps(settings))
    _builder = MessageBuilder(engine, settings, options)
    gc.collect()  # the network lives as long as the child: out of the collector's way
    gc.freeze()


def watch_parent() -> None:
    """Make this child process leave within a second of being orphaned: a child whose
    parent died (SIGKILL, say) would otherwise live on, holding the network in memory."""
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _ready() -> bool:
    return _builder is not None


def _child_builder() -> MessageBuilder:
    if _builder is None:  # pragma: no cover - the pool runs _start_child first
        raise RuntimeError("build process not started")
    return _builder


def _build(claimed: list[ClaimedMessage], now: datetime) -> Built:
    return _child_builder().build(claimed, now=now)


def _claim(worker_id: str, now: datetime, lease: timedelta, limit: int,
           channel: str | None) -> list[ClaimedMessage]:  # fmt: skip
    return claim_due(_child_builder().engine, worker_id=worker_id, now=now, lease=lease,
                     limit=limit, channel=channel)  # fmt: skip


def _record(deliveries: list[Delivery], worker_id: str, now: datetime,
            policy: RetryPolicy) -> RecordSummary:  # fmt: skip
    return record_batch(_child_builder().engine, deliveries, worker_id=worker_id, now=now,
                        policy=policy, rand=random.random)  # fmt: skip


def can_use_processes(database_url: str) -> bool:
    """Children open the database themselves: not possible for an in-memory SQLite one."""
    return ":memory:" not in database_url and database_url.rstrip("/") != "sqlite:"


class BuildProcesses:
    """``count`` child processes building batches; a batch is split between them by
    incident (the maps of one incident share their drawing)."""

    def __init__(self, settings: Settings, *, database_url: str, count: int) -> None:
        self.settings, self.database_url, self.count = settings, database_url, count
        self._pool: ProcessPoolExecutor | None = None
        self._failed_at: float | None = None

    async def start(self) -> None:
        """Start the children and wait until each has loaded the network (a few seconds)."""
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=self.count,
            mp_context=context,
            initializer=_start_child,
            initargs=(self.settings, self.database_url),
        )
        loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self.count)))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        self._pool, self._failed_at = pool, None

    async def build(self, claimed: Sequence[ClaimedMessage], *, now: datetime) -> Built | None:
        """The batch built by the children; None when they are down (build it yourself)."""
        if self._pool is None and not await self._restart():
            return None
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        parts = _split(claimed, self.count)
        try:
            results = await asyncio.gather(
                *(loop.run_in_executor(self._pool, _build, part, now) for part in parts)
            )
        except Exception as exc:  # a child died (killed, out of memory) or could not answer
            log.error("message build process failed (%s); building in the worker itself", exc)
            self._down()
            return None
        return Built(
            {i: m for r in results for i, m in r.prepared.items()},
            {i: f for r in results for i, f in r.failed.items()},
        )

    async def claim(
        self, *, worker_id: str, now: datetime, lease: timedelta, limit: int, channel: str | None
    ) -> list[ClaimedMessage] | None:
        """Due rows leased to ``worker_id`` by a child (its database work is off the worker's
        interpreter lock); None when the children are down (claim them yourself)."""
        return await self._call(_claim, worker_id, now, lease, limit, channel)

    async def record(
        self, deliveries: list[Delivery], *, worker_id: str, now: datetime, policy: RetryPolicy
    ) -> RecordSummary | None:
        """A sent batch recorded by a child; None when the children are down."""
        return await self._call(_record, deliveries, worker_id, now, policy)

    async def _call(self, function: Callable[..., T], *args: object) -> T | None:
        if self._pool is None and not await self._restart():
            return None
        assert self._pool is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        except BrokenExecutor as exc:  # a child died (killed, out of memory)
            log.error("message build process failed (%s); working in the worker itself", exc)
            self._down()
            return None

    async def _restart(self) -> bool:
        if self._failed_at is not None and time.monotonic() - self._failed_at < RESTART_AFTER_S:
            return False
        try:
            await self.start()
        except Exception as exc:
            log.error("cannot start the message build processes: %s", exc)
            self._failed_at = time.monotonic()
            return False
        log.info("message build processes started again")
        return True

    def _down(self) -> None:
        self.close()
        self._failed_at = time.monotonic()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _split(claimed: Sequence[ClaimedMessage], count: int) -> list[list[ClaimedMessage]]:
    """Up to ``count`` parts of about equal size, an incident's rows kept together."""
    if count <= 1 or len(claimed) <= 1:
        return [list(claimed)]
    target = -(-len(claimed) // count)
    parts: list[list[ClaimedMessage]] = [[]]
    ordered = sorted(claimed, key=lambda m: m.incident_id)
    for _, rows in groupby(ordered, key=lambda m: m.incident_id):
        if len(parts[-1]) >= target and len(parts) < count:
            parts.append([])
        parts[-1].extend(rows)
    return parts

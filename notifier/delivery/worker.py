"""The delivery worker: claim due outbox rows, send them, record what happened; repeat.

Sending happens outside any transaction (a mail server can take seconds); the claim before it
and the record after it are short transactions of their own. If the process dies between the
send and the record, the rows stay leased until the lease runs out and are then claimed and
sent again with the same Message-ID: delivery is at-least-once and loses nothing.

Email and webhooks are claimed and sent by loops of their own, so a bureau's unreachable
webhook (each waits for its timeout) never holds up anybody's email. The loops sleep until a
:class:`~notifier.outbox.signal.Doorbell` rings (a commit that wrote outbox rows, in this
process or, on PostgreSQL, in any) or the poll interval passes; while there is work they do
not sleep at all. One SMTP connection is kept open between rounds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from notifier.db import engine_from_settings
from notifier.delivery.build import MessageBuilder, Prepared, render_options
from notifier.delivery.buildproc import BuildProcesses, can_use_processes
from notifier.delivery.claim import ClaimedMessage, claim_due, renew_lease
from notifier.delivery.outcome import Outcome, temporary
from notifier.delivery.record import Delivery, RecordSummary, record_batch
from notifier.delivery.render import GeometrySource, RenderOptions
from notifier.delivery.retry import RetryPolicy
from notifier.delivery.smtp import OutgoingEmail, SmtpConfig, SmtpLink, send_batch
from notifier.delivery.webhook import WebhookRequest, send_webhooks
from notifier.enums import Channel
from notifier.outbox.signal import Doorbell
from notifier.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Called once per tick with a session in its own transaction (the engine's due_actions).
DueHook = Callable[[Session, datetime], object]


@dataclass(frozen=True, slots=True)
class Batch:
    """Claimed rows with their messages built, ready to send."""

    claimed: list[ClaimedMessage]
    prepared: Prepared
    failed: dict[int, Outcome]  # rows whose message could not be built

    def keeping(self, ids: set[int]) -> Batch:
        return Batch(
            [m for m in self.claimed if m.id in ids],
            {i: p for i, p in self.prepared.items() if i in ids},
            {i: f for i, f in self.failed.items() if i in ids},
        )


@dataclass(frozen=True, slots=True)
class Sent:
    """A batch's outcomes, waiting to be recorded; rows lost to another worker are counted."""

    deliveries: list[Delivery]
    lease_lost: int = 0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Worker:
    """One worker's state; ``tick()`` does one claim-send-record round."""

    engine: Engine
    settings: Settings
    options: RenderOptions
    worker_id: str = field(default_factory=new_worker_id)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    rand: Callable[[], float] = random.random
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    processes: BuildProcesses | None = None  # None: messages are built in a thread

    def __post_init__(self) -> None:
        self.smtp = SmtpConfig.from_settings(self.settings) if self.settings.smtp_host else None
        self.link = SmtpLink(self.smtp) if self.smtp is not None else None
        self.builder = MessageBuilder(self.engine, self.settings, self.options)

    async def close(self) -> None:
        if self.processes is not None:
            self.processes.close()
        if self.link is not None:
            await self.link.close()

    async def tick(self, channel: Channel | None = None) -> RecordSummary | None:
        """One round (of one channel's rows, if given); None when nothing was due."""
        claimed = await self.claim(channel)
        if not claimed:
            return None
        return await self.finish(await self.prepare(claimed))

    async def claim(self, channel: Channel | None = None) -> list[ClaimedMessage]:
        """Lease due rows: in a build process if there is one (its database work then stays
        off this process's interpreter lock, which the sending and, in `serve`, the API
        need), else in a thread."""
        lease = timedelta(seconds=self.settings.lease_s)
        now, limit = self.clock(), self.settings.worker_batch
        name = channel.value if channel is not None else None
        if self.processes is not None:
            claimed = await self.processes.claim(
                worker_id=self.worker_id, now=now, lease=lease, limit=limit, channel=name
            )
            if claimed is not None:
                return claimed
        return await asyncio.to_thread(claim_due, self.engine, worker_id=self.worker_id, now=now,
                                       lease=lease, limit=limit, channel=name)  # fmt: skip

    async def prepare(self, claimed: Sequence[ClaimedMessage]) -> Batch:
        """The batch's messages, built by the build processes if there are any and they
        answer, else in a thread of this process."""
        now = self.clock()
        built = await self.processes.build(claimed, now=now) if self.processes else None
        if built is None:
            built = await asyncio.to_thread(self.builder.build, claimed, now=now)
        return Batch(list(claimed), built.prepared, built.failed)

    async def finish(self, batch: Batch) -> RecordSummary:
        """Send a prepared batch and record what happened."""
        return await self.record(await self.send(batch))

    async def send(self, batch: Batch) -> Sent:
        """Send a prepared batch. The lease is renewed first, and rows another worker has
        taken over meanwhile are left to it."""
        held = await asyncio.to_thread(
            renew_lease,
            self.engine,
            [m.id for m in batch.claimed],
            worker_id=self.worker_id,
            now=self.clock(),
            lease=timedelta(seconds=self.settings.lease_s),
        )
        lost = len(batch.claimed) - len(held)
        if lost:
            log.warning("%d rows were taken over by another worker before sending", lost)
            batch = batch.keeping(held)
        return Sent(await self._send(batch) if batch.claimed else [], lost)

    async def record(self, sent: Sent) -> RecordSummary:
        """Record a sent batch's outcomes (retries, failures and escalations decided here)."""
        if not sent.deliveries:
            return RecordSummary(lease_lost=sent.lease_lost)
        summary = None
        if self.processes is not None:
            summary = await self.processes.record(
                sent.deliveries, worker_id=self.worker_id, now=self.clock(), policy=self.policy
            )
        if summary is None:
            summary = await asyncio.to_thread(self._record, sent.deliveries)
        summary.lease_lost += sent.lease_lost
        log.info(
            "delivered: %d sent, %d to retry, %d failed (%d escalated)",
            summary.sent,
            summary.retried,
            summary.failed,
            summary.escalated,
        )
        return summary

    async def _send(self, batch: Batch) -> list[Delivery]:
        prepared, outcomes = batch.prepared, dict(batch.failed)
        # Stop starting new sends well before the lease (just renewed) runs out, so that
        # nobody else takes a row this worker is still sending.
        stop_at = time.monotonic() + self.settings.lease_s * 0.7
        attempted_at = self.clock()
        emails = [(i, p) for i, p in prepared.items() if isinstance(p, OutgoingEmail)]
        hooks = [(i, p) for i, p in prepared.items() if isinstance(p, WebhookRequest)]
        email_outcomes, hook_outcomes = await asyncio.gather(
            self._send_emails([p for _, p in emails], stop_at=stop_at),
            send_webhooks([p for _, p in hooks], timeout_s=self.settings.webhook_timeout_s),
        )
        outcomes.update(zip([i for i, _ in emails], email_outcomes, strict=True))
        outcomes.update(zip([i for i, _ in hooks], hook_outcomes, strict=True))
        return [Delivery(m, outcomes[m.id], attempted_at) for m in batch.claimed]

    async def _send_emails(self, items: list[OutgoingEmail], *, stop_at: float) -> list[Outcome]:
        if not items:
            return []
        if self.smtp is None:
            return [temporary("no SMTP server configured (RIVERNOTIFY_SMTP_HOST)")] * len(items)
        return await send_batch(items, config=self.smtp, stop_at=stop_at, link=self.link)

    def _record(self, deliveries: list[Delivery]) -> RecordSummary:
        return record_batch(self.engine, deliveries, worker_id=self.worker_id, now=self.clock(),
                            policy=self.policy, rand=self.rand)  # fmt: skip


async def run_worker(
    settings: Settings,
    *,
    stop_event: asyncio.Event,
    engine: Engine | None = None,
    due: DueHook | None = None,
    geometry: GeometrySource | None = None,
    doorbell: Doorbell | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Until ``stop_event`` is set: the due actions every poll interval, and a delivery loop
    per channel that drains its backlog at full speed and otherwise waits for the doorbell.
    ``ready`` is set once the build processes have started (benchmarks time from there)."""
    engine = engine or engine_from_settings(settings)
    worker = Worker(engine, settings, render_options(settings, geometry=geometry))
    worker.processes = await start_build_processes(settings, engine)
    if ready is not None:
        ready.set()
    pause = idle_pause_s(settings, rung=doorbell is not None or engine.dialect.name != "sqlite")
    doorbell = doorbell or Doorbell()
    log.info("delivery worker %s started", worker.worker_id)
    loops = [
        _deliver(worker, channel, stop_event, doorbell.listener(), pause=pause)
        for channel in Channel
    ]
    if due is not None:
        loops.append(_due_loop(engine, due, worker, stop_event, doorbell))
    if engine.dialect.name == "postgresql":
        from notifier.delivery.wake import listen_for_outbox

        loops.append(listen_for_outbox(engine.url, doorbell, stop=stop_event))
    try:
        await asyncio.gather(*loops)
    finally:
        await worker.close()
    log.info("delivery worker %s stopped", worker.worker_id)


async def start_build_processes(settings: Settings, engine: Engine) -> BuildProcesses | None:
    """The worker's build processes (``build_processes``), started and ready; None when there
    are to be none or they cannot start (messages are then built in a thread: logged)."""
    url = engine.url.render_as_string(hide_password=False)
    if settings.build_processes < 1 or not can_use_processes(url):
        return None
    processes = BuildProcesses(settings, database_url=url, count=settings.build_processes)
    try:
        await processes.start()
    except Exception as exc:
        log.error("cannot start message build processes (%s): building in the worker", exc)
        return None
    return processes


def idle_pause_s(settings: Settings, *, rung: bool) -> float:
    """How long an idle loop waits before looking again. A worker that is rung when rows
    are written (beside the API in `serve`, or woken by PostgreSQL's NOTIFY) only polls as a
    fallback, every half second at the most often; a worker alone on SQLite has nothing but
    the poll (``worker_poll_s``), which costs it a few percent of a core when idle."""
    return max(settings.worker_poll_s, 0.5) if rung else settings.worker_poll_s


async def _deliver(
    worker: Worker, channel: Channel, stop: asyncio.Event, wake: asyncio.Event, *, pause: float
) -> None:
    """A pipeline: the next batch is claimed and built while the last one is being sent, and
    a sent batch is recorded while the next one is being sent, so that the connection to the
    mail server is kept busy while there is work."""
    failures = 0
    sending: asyncio.Task[Sent] | None = None
    recording: asyncio.Task[RecordSummary] | None = None
    while not stop.is_set():
        wake.clear()  # before claiming: a ring during the round means "look again"
        batch: Batch | None = None
        try:
            claimed = await worker.claim(channel)
            batch = await worker.prepare(claimed) if claimed else None
            failures = 0
        except Exception:  # the database went away, say: log, back off, try again
            failures += 1
            log.exception("%s delivery round failed (%d in a row); retrying", channel, failures)
        if sending is not None:
            sent = await _settled(sending, channel)
            sending = None
            await _settled(recording, channel)  # one batch recorded at a time, in order
            recording = asyncio.create_task(worker.record(sent)) if sent is not None else None
        if batch is not None:
            sending = asyncio.create_task(worker.send(batch))
            continue
        await _settled(recording, channel)
        recording = None
        wait = min(pause * 2 ** min(failures, 10), 30.0)
        await _sleep(wait, stop, None if failures else wake)
    sent = await _settled(sending, channel)
    await _settled(recording, channel)
    if sent is not None:
        await _settled(asyncio.create_task(worker.record(sent)), channel)


async def _settled(task: asyncio.Task[T] | None, channel: Channel) -> T | None:
    """The task's result; None if there was none or it failed (logged: its rows stay leased
    and are sent again when the lease runs out)."""
    if task is None:
        return None
    try:
        return await task
    except Exception:
        log.exception("%s delivery: sending or recording a batch failed", channel)
        return None


async def _due_loop(
    engine: Engine, due: DueHook, worker: Worker, stop: asyncio.Event, doorbell: Doorbell
) -> None:
    """Reminders, escalations and clock warnings; whatever they queue, delivery hears of."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(_run_due, engine, due, worker.clock())
            doorbell.ring()
        except Exception:  # a failure here must not hold up deliveries
            log.exception("due actions (reminders, escalations, clock warnings) failed")
        await _sleep(worker.settings.due_every_s, stop, None)


async def _sleep(seconds: float, stop: asyncio.Event, wake: asyncio.Event | None) -> None:
    """Until ``seconds`` pass, ``stop`` is set or ``wake`` is."""
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


def engine_due_hook(settings: Settings) -> DueHook:
    """The engine's reminders, escalations and clock warnings under the configured policy
    (raises the policy's own error, which says what is wrong with the file)."""
    from notifier.escalation.service import run_due_actions
    from notifier.routing.policy import load_policy

    policy = load_policy(settings.policy_file)

    def run(session: Session, now: datetime) -> object:
        return run_due_actions(session, policy=policy, now=now)

    return run


def _run_due(engine: Engine, due: DueHook, now: datetime) -> None:
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(writer) as session, session.begin():
        due(session, now)

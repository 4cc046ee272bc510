"""The delivery worker: claim due outbox rows, send them, record what happened; repeat.

Sending happens outside any transaction (a mail server can take seconds); the claim before it
and the record after it are short transactions of their own. If the process dies between the
send and the record, the rows stay leased until the lease runs out and are then claimed and
sent again with the same Message-ID: delivery is at-least-once and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.db import engine_from_settings
from notifier.delivery.claim import ClaimedMessage, claim_due
from notifier.delivery.context import NoticeContext
from notifier.delivery.email import build_email
from notifier.delivery.mapimage import render_map_png
from notifier.delivery.outcome import Outcome, temporary
from notifier.delivery.record import (
    Delivery,
    RecordSummary,
    recipient_jurisdiction,
    record_deliveries,
)
from notifier.delivery.render import GeometrySource, RenderOptions, render_context
from notifier.delivery.retry import RetryPolicy
from notifier.delivery.smtp import OutgoingEmail, SmtpConfig, send_batch
from notifier.delivery.tokens import default_public_url
from notifier.delivery.webhook import (
    WebhookFormat,
    WebhookRequest,
    derive_webhook_secret,
    prepare_request,
    send_webhooks,
)
from notifier.enums import Channel
from notifier.settings import Settings

log = logging.getLogger(__name__)

#: Called once per tick with a session in its own transaction (the engine's due_actions).
DueHook = Callable[[Session, datetime], object]


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

    def __post_init__(self) -> None:
        self.smtp = SmtpConfig.from_settings(self.settings) if self.settings.smtp_host else None
        # One map per incident and recipient bureau, drawn once however many messages use it.
        self.map_cache: dict[tuple[int, str], bytes] = {}

    async def tick(self) -> RecordSummary | None:
        """One round; None when nothing was due."""
        lease = timedelta(seconds=self.settings.lease_s)
        claimed = await asyncio.to_thread(
            claim_due,
            self.engine,
            worker_id=self.worker_id,
            now=self.clock(),
            lease=lease,
            limit=self.settings.worker_batch,
        )
        if not claimed:
            return None
        # Stop starting new sends well before the lease runs out, so that nobody else takes
        # a row this worker is still sending.
        stop_at = time.monotonic() + self.settings.lease_s * 0.7
        deliveries = await self._send(claimed, stop_at=stop_at)
        summary = await asyncio.to_thread(self._record, deliveries)
        log.info(
            "delivered: %d sent, %d to retry, %d failed (%d escalated)",
            summary.sent,
            summary.retried,
            summary.failed,
            summary.escalated,
        )
        return summary

    def _prepare(
        self, claimed: Sequence[ClaimedMessage]
    ) -> tuple[dict[int, OutgoingEmail | WebhookRequest], dict[int, Outcome]]:
        now = self.clock()
        prepared: dict[int, OutgoingEmail | WebhookRequest] = {}
        failed: dict[int, Outcome] = {}
        with Session(self.engine) as session:
            for message in claimed:
                try:
                    prepared[message.id] = self._prepare_one(session, message, now)
                except Exception as exc:  # a bug or missing data: retried, and logged loudly
                    log.exception("outbox %d: could not build the message", message.id)
                    failed[message.id] = temporary(f"render error: {type(exc).__name__}: {exc}")
        return prepared, failed

    def _prepare_one(
        self, session: Session, message: ClaimedMessage, now: datetime
    ) -> OutgoingEmail | WebhookRequest:
        context = render_context(session, message, options=self.options)
        if message.channel == Channel.EMAIL.value:
            email = build_email(
                context,
                sender=self.settings.smtp_from,
                recipient=message.recipient,
                now=now,
                map_png=self._map_png(context),
            )
            return OutgoingEmail(email, message.recipient)
        return prepare_request(
            context,
            url=message.recipient,
            webhook_format=WebhookFormat(message.webhook_format or "generic"),
            secret=self._webhook_secret(session, message),
            now=now,
        )

    def _map_png(self, context: NoticeContext) -> bytes | None:
        if context.map is None:
            return None
        key = (context.incident_id, context.recipient_jurisdiction)
        png = self.map_cache.get(key)
        if png is None:
            if len(self.map_cache) >= 256:
                self.map_cache.clear()
            png = self.map_cache[key] = render_map_png(context.map)
        return png

    def _webhook_secret(self, session: Session, message: ClaimedMessage) -> bytes:
        """The bureau's own secret for this URL if it has one, else the derived one."""
        jid = recipient_jurisdiction(session, message)
        bureau = session.get(Bureau, jid) if jid else None
        for hook in bureau.webhooks if bureau else []:
            if hook.get("url") == message.recipient and hook.get("secret"):
                return str(hook["secret"]).encode()
        secret_key = self.settings.secret_key.get_secret_value()
        return derive_webhook_secret(secret_key, message.recipient)

    async def _send(self, claimed: Sequence[ClaimedMessage], *, stop_at: float) -> list[Delivery]:
        prepared, outcomes = await asyncio.to_thread(self._prepare, claimed)
        attempted_at = self.clock()
        emails = [(i, p) for i, p in prepared.items() if isinstance(p, OutgoingEmail)]
        hooks = [(i, p) for i, p in prepared.items() if isinstance(p, WebhookRequest)]
        email_outcomes, hook_outcomes = await asyncio.gather(
            self._send_emails([p for _, p in emails], stop_at=stop_at),
            send_webhooks([p for _, p in hooks], timeout_s=self.settings.webhook_timeout_s),
        )
        outcomes.update(zip([i for i, _ in emails], email_outcomes, strict=True))
        outcomes.update(zip([i for i, _ in hooks], hook_outcomes, strict=True))
        return [Delivery(m, outcomes[m.id], attempted_at) for m in claimed]

    async def _send_emails(self, items: list[OutgoingEmail], *, stop_at: float) -> list[Outcome]:
        if not items:
            return []
        if self.smtp is None:
            return [temporary("no SMTP server configured (RIVERNOTIFY_SMTP_HOST)")] * len(items)
        return await send_batch(items, config=self.smtp, stop_at=stop_at)

    def _record(self, deliveries: list[Delivery]) -> RecordSummary:
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        with Session(writer) as session, session.begin():
            return record_deliveries(
                session,
                deliveries,
                worker_id=self.worker_id,
                now=self.clock(),
                policy=self.policy,
                rand=self.rand,
            )


def parameter_names(settings: Settings) -> dict[str, tuple[str, str]]:
    """HJ 212 code -> (Chinese, English) names from the shipped standards table, if present."""
    from notifier.evaluation.standards import LIMITS_FILE, read_standards

    path = Path(settings.network_dir) / LIMITS_FILE
    if not path.is_file():
        log.warning("standards table %s not found: parameters shown by code", path)
        return {}
    standards = read_standards(path)
    return {code: (limit.item_zh, limit.item_en) for (code, _), limit in standards.limits.items()}


def render_options(settings: Settings, *, geometry: GeometrySource | None = None) -> RenderOptions:
    return RenderOptions(
        public_url=settings.public_url or default_public_url(settings.host, settings.port),
        secret_key=settings.secret_key.get_secret_value(),
        parameter_names=parameter_names(settings),
        geometry=geometry,
    )


async def run_worker(
    settings: Settings,
    *,
    stop_event: asyncio.Event,
    engine: Engine | None = None,
    due: DueHook | None = None,
    geometry: GeometrySource | None = None,
) -> None:
    """Loop until ``stop_event`` is set: due actions, then deliveries, then a short sleep
    unless there was work (a backlog drains at full speed)."""
    engine = engine or engine_from_settings(settings)
    worker = Worker(engine, settings, render_options(settings, geometry=geometry))
    log.info("delivery worker %s started", worker.worker_id)
    failures = 0
    while not stop_event.is_set():
        busy = False
        try:
            if due is not None:  # a failure here must not hold up deliveries
                await asyncio.to_thread(_run_due, engine, due, worker.clock())
        except Exception:
            log.exception("due actions (reminders, escalations, clock warnings) failed")
        try:
            busy = await worker.tick() is not None
            failures = 0
        except Exception:  # the database went away, say: log, back off, try again
            failures += 1
            log.exception("delivery worker round failed (%d in a row); retrying", failures)
        if not busy:
            pause = min(settings.worker_poll_s * 2 ** min(failures, 10), 30.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=pause)
    log.info("delivery worker %s stopped", worker.worker_id)


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

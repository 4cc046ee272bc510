"""Building the messages of claimed outbox rows: read the database, draw the map, write the
email or the webhook request. Nothing is sent here.

A :class:`MessageBuilder` runs in the worker's thread pool or, by default, in a process of
its own (:mod:`notifier.delivery.buildproc`): building is the CPU-heavy part of delivery, and
in another process it runs beside the sending and beside the API instead of taking turns with
them on one interpreter lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.delivery.claim import ClaimedMessage
from notifier.delivery.context import NoticeContext
from notifier.delivery.email import email_bytes
from notifier.delivery.mapimage import MapPainter
from notifier.delivery.outcome import Outcome, temporary
from notifier.delivery.record import recipient_jurisdiction
from notifier.delivery.render import GeometrySource, RenderOptions, preload, render_context
from notifier.delivery.smtp import OutgoingEmail
from notifier.delivery.tokens import default_public_url
from notifier.delivery.webhook import (
    WebhookFormat,
    WebhookRequest,
    derive_webhook_secret,
    prepare_request,
)
from notifier.enums import Channel
from notifier.settings import Settings

log = logging.getLogger(__name__)

Prepared = dict[int, OutgoingEmail | WebhookRequest]


@dataclass(frozen=True, slots=True)
class Built:
    """A batch's messages by row id, and the rows whose message could not be built."""

    prepared: Prepared
    failed: dict[int, Outcome]


@dataclass
class MessageBuilder:
    """Builds messages for claimed rows; keeps the maps it drew for the next batches."""

    engine: Engine
    settings: Settings
    options: RenderOptions
    # One map per incident, recipient bureau and path, however many messages use it; the
    # painter keeps what the recipients of one incident share.
    map_cache: dict[tuple[int, str, int], bytes] = field(default_factory=dict)
    painter: MapPainter = field(default_factory=MapPainter)

    def build(self, claimed: Sequence[ClaimedMessage], *, now: datetime) -> Built:
        """Every row's message; a row that cannot be built gets a temporary failure (it is
        retried, and the error is logged loudly) instead of stopping the batch."""
        prepared: Prepared = {}
        failed: dict[int, Outcome] = {}
        with Session(self.engine) as session:
            preload(session, claimed)
            for message in claimed:
                try:
                    prepared[message.id] = self._build_one(session, message, now)
                except Exception as exc:  # a bug or missing data
                    log.exception("outbox %d: could not build the message", message.id)
                    failed[message.id] = temporary(f"render error: {type(exc).__name__}: {exc}")
        return Built(prepared, failed)

    def _build_one(
        self, session: Session, message: ClaimedMessage, now: datetime
    ) -> OutgoingEmail | WebhookRequest:
        context = render_context(session, message, options=self.options)
        if message.channel == Channel.EMAIL.value:
            data = email_bytes(
                context,
                sender=self.settings.smtp_from,
                recipient=message.recipient,
                now=now,
                map_png=self._map_png(context),
            )
            return OutgoingEmail(data, message.recipient)
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
        key = (context.incident_id, context.recipient_jurisdiction, len(context.map.path))
        png = self.map_cache.get(key)
        if png is None:
            if len(self.map_cache) >= 256:
                self.map_cache.clear()
            png = self.map_cache[key] = self.painter.png(context.map, key=context.incident_id)
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

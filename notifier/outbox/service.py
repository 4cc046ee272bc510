"""Writing outbox rows for a decision, in the caller's transaction."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.bureaus.models import Bureau
from notifier.bureaus.service import contacts_of
from notifier.enums import OutboxKind, OutboxStatus
from notifier.outbox.models import OutboxMessage
from notifier.outbox.signal import announce

DOMAIN = "rivernotify"


def _tag(recipient: str) -> str:
    return hashlib.sha256(recipient.encode("utf-8")).hexdigest()[:10]


def message_id(kind: OutboxKind, key: int | str, *, incident_id: int, recipient: str) -> str:
    """A stable RFC 5322 Message-ID: the same message to the same recipient always has it,
    so a resend after a crash is recognisable as the same message."""
    label = kind.value.replace("_", "-")
    return f"<{label}-{key}.incident-{incident_id}.r{_tag(recipient)}@{DOMAIN}>"


def thread_root(session: Session, *, notice_id: int, recipient: str) -> str | None:
    """The first notice's Message-ID to this recipient (for In-Reply-To)."""
    query = (
        select(OutboxMessage.message_id)
        .where(
            OutboxMessage.notice_id == notice_id,
            OutboxMessage.kind == OutboxKind.NOTICE.value,
            OutboxMessage.recipient == recipient,
        )
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    return session.scalar(query)


def enqueue(
    session: Session,
    *,
    kind: OutboxKind,
    key: int | str,
    incident_id: int,
    notice_id: int | None,
    bureau: Bureau,
    now: datetime,
    follow_up_id: int | None = None,
    extra: dict[str, Any] | None = None,
    flush: bool = True,
) -> list[OutboxMessage]:
    """One pending message per contact per channel of ``bureau``. Without ``flush`` the rows
    are written with the caller's next flush (many bureaus' rows in one statement)."""
    rows = []
    for contact in contacts_of(bureau):
        payload: dict[str, Any] = {
            "kind": kind.value,
            "incident_id": incident_id,
            "notice_id": notice_id,
            "follow_up_id": follow_up_id,
            "recipient_jurisdiction_id": bureau.jurisdiction_id,
        }
        payload |= extra or {}
        reply_to = None
        if kind is not OutboxKind.NOTICE and notice_id is not None:
            reply_to = thread_root(session, notice_id=notice_id, recipient=contact.recipient)
        row = OutboxMessage(
            incident_id=incident_id,
            notice_id=notice_id,
            kind=kind.value,
            channel=contact.channel,
            recipient=contact.recipient,
            webhook_format=contact.webhook_format,
            message_id=message_id(kind, key, incident_id=incident_id, recipient=contact.recipient),
            in_reply_to=reply_to,
            payload=payload,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    if rows:
        announce(session)
    if flush:
        session.flush()
    return rows

"""Writing down what happened after a send: one transaction per batch.

Each attempt becomes a delivery_attempts row; the outbox row moves on (sent, back to pending
with its next attempt time, or failed), but only if this worker still holds its lease: a
worker whose lease ran out while it was sending must not overwrite the state written by the
worker that took the row over. A permanent failure tells the recipient's supervising bureau,
through an outbox row of its own, that the bureau could not be reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlalchemy.orm import Session

from notifier.audit.service import record as audit
from notifier.bureaus.models import Bureau
from notifier.delivery.claim import ClaimedMessage
from notifier.delivery.outcome import Outcome, Result
from notifier.delivery.retry import GiveUp, RetryPolicy, backoff_delay_s, decide_retry
from notifier.enums import Channel, OutboxKind, OutboxStatus
from notifier.notices.models import Notice
from notifier.notices.service import mark_notices_sent
from notifier.outbox.models import DeliveryAttempt, OutboxMessage
from notifier.outbox.service import message_id as outbox_message_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    message: ClaimedMessage
    outcome: Outcome
    attempted_at: datetime

    @property
    def attempted(self) -> bool:
        """False when the sender gave up on the batch before this message was tried."""
        return self.outcome.attempted


@dataclass
class RecordSummary:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    escalated: int = 0
    lease_lost: int = 0


def record_batch(
    engine: Engine,
    deliveries: Sequence[Delivery],
    *,
    worker_id: str,
    now: datetime,
    policy: RetryPolicy,
    rand: Callable[[], float],
) -> RecordSummary:
    """:func:`record_deliveries` in a transaction of its own, taking SQLite's write lock at
    the start (the worker's and its child processes' way of recording a sent batch)."""
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(writer) as session, session.begin():
        return record_deliveries(session, deliveries, worker_id=worker_id, now=now,
                                 policy=policy, rand=rand)  # fmt: skip


def _mine(message: ClaimedMessage, worker_id: str) -> Any:
    return (
        (OutboxMessage.id == message.id)
        & (OutboxMessage.leased_by == worker_id)
        & (OutboxMessage.status == OutboxStatus.LEASED.value)
    )


def record_deliveries(
    session: Session,
    deliveries: Sequence[Delivery],
    *,
    worker_id: str,
    now: datetime,
    policy: RetryPolicy,
    rand: Callable[[], float],
) -> RecordSummary:
    """Record every delivery; the caller commits (one transaction for the batch).

    The common case, accepted messages, is one UPDATE for the whole batch (its RETURNING says
    which rows this worker still held); retries and failures, rarer, are written one by one."""
    summary = RecordSummary()
    attempts = [
        {
            "outbox_id": d.message.id,
            "attempted_at": d.attempted_at,
            "channel": d.message.channel,
            "result": d.outcome.result.value,
            "server_reply": d.outcome.reply[:2000],
        }
        for d in deliveries
        if d.attempted
    ]
    if attempts:  # one multi-row INSERT, not an object per attempt
        session.execute(insert(DeliveryAttempt), attempts)
    accepted = [d.message for d in deliveries if d.attempted and d.outcome.result is Result.SENT]
    _record_sent(session, accepted, worker_id=worker_id, now=now, summary=summary)
    for delivery in deliveries:
        if delivery.attempted and delivery.outcome.result is Result.SENT:
            continue
        _record_one(session, delivery, worker_id=worker_id, now=now, policy=policy, rand=rand,
                    summary=summary)  # fmt: skip
    session.flush()
    return summary


def _record_sent(
    session: Session,
    messages: Sequence[ClaimedMessage],
    *,
    worker_id: str,
    now: datetime,
    summary: RecordSummary,
) -> None:
    if not messages:
        return
    ids = [m.id for m in messages]
    statement = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.leased_by == worker_id,
            OutboxMessage.status == OutboxStatus.LEASED.value,
        )
        .values(
            status=OutboxStatus.SENT.value,
            attempts=OutboxMessage.attempts + 1,
            sent_at=now,
            last_error=None,
            leased_by=None,
            lease_expires_at=None,
        )
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    still_mine = set(session.scalars(statement))
    for message in messages:
        if message.id not in still_mine:
            summary.lease_lost += 1
            log.warning("outbox %d: lease lost before recording it sent", message.id)
    summary.sent += len(still_mine)
    # The first accepted message of a notice moves it from pending to sent.
    first_notices = [
        m.notice_id
        for m in messages
        if m.id in still_mine and m.kind == OutboxKind.NOTICE.value and m.notice_id is not None
    ]
    mark_notices_sent(session, first_notices, now=now)


def _record_one(
    session: Session,
    delivery: Delivery,
    *,
    worker_id: str,
    now: datetime,
    policy: RetryPolicy,
    rand: Callable[[], float],
    summary: RecordSummary,
) -> None:
    message, outcome = delivery.message, delivery.outcome
    values = _next_state(delivery, now=now, policy=policy, rand=rand)
    changed = session.execute(
        update(OutboxMessage).where(_mine(message, worker_id)).values(**values)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        summary.lease_lost += 1
        log.warning("outbox %d: lease lost before recording %s", message.id, outcome.result)
        return
    if values["status"] == OutboxStatus.PENDING.value:
        summary.retried += 1
    else:
        summary.failed += 1
        if escalate_failure(session, message, reply=outcome.reply, now=now):
            summary.escalated += 1


def _next_state(
    delivery: Delivery, *, now: datetime, policy: RetryPolicy, rand: Callable[[], float]
) -> dict[str, Any]:
    message, outcome = delivery.message, delivery.outcome
    released = {"leased_by": None, "lease_expires_at": None}
    if not delivery.attempted:
        delay = backoff_delay_s(max(message.attempts, 1), policy=policy, rand=rand)
        return {
            **released,
            "status": OutboxStatus.PENDING.value,
            "next_attempt_at": now + timedelta(seconds=delay),
        }
    attempts = message.attempts + 1  # accepted messages are recorded by _record_sent
    decision = decide_retry(attempts, result=outcome.result, now=now, policy=policy, rand=rand)
    if isinstance(decision, GiveUp):
        return {
            **released,
            "status": OutboxStatus.FAILED.value,
            "attempts": attempts,
            "last_error": f"{decision.reason}: {outcome.reply}"[:2000],
        }
    return {
        **released,
        "status": OutboxStatus.PENDING.value,
        "attempts": attempts,
        "next_attempt_at": decision.when,
        "last_error": outcome.reply[:2000],
    }


def recipient_jurisdiction(session: Session, message: ClaimedMessage) -> str | None:
    jid = message.payload.get("recipient_jurisdiction_id")
    if isinstance(jid, str) and jid:
        return jid
    if message.notice_id is not None:
        notice = session.get(Notice, message.notice_id)
        if notice is not None:
            return notice.jurisdiction_id
    return None


def escalate_failure(
    session: Session, message: ClaimedMessage, *, reply: str, now: datetime
) -> OutboxMessage | None:
    """Queue a delivery_failure message to the supervising bureau; None when there is nobody
    to tell (no supervisor, no contact) or the failed message was itself such a report."""
    if message.kind == OutboxKind.DELIVERY_FAILURE.value:
        log.error("delivery-failure report %d could not be delivered either: %s", message.id, reply)
        return None
    about = recipient_jurisdiction(session, message)
    bureau = session.get(Bureau, about) if about else None
    supervisor = (
        session.get(Bureau, bureau.supervisor_id) if bureau and bureau.supervisor_id else None
    )
    if bureau is None or supervisor is None:
        log.error("outbox %d failed and no supervising bureau is known to tell", message.id)
        return None
    channel, recipient, webhook_format = _contact(supervisor)
    if channel is None or recipient is None:
        log.error("supervising bureau %s has no contact", supervisor.jurisdiction_id)
        return None
    first_notice = message.in_reply_to or (
        message.message_id if message.kind == OutboxKind.NOTICE.value else None
    )
    row = OutboxMessage(
        incident_id=message.incident_id,
        notice_id=message.notice_id,
        kind=OutboxKind.DELIVERY_FAILURE.value,
        channel=channel.value,
        recipient=recipient,
        webhook_format=webhook_format,
        message_id=outbox_message_id(
            OutboxKind.DELIVERY_FAILURE,
            message.id,
            incident_id=message.incident_id,
            recipient=recipient,
        ),
        in_reply_to=first_notice,
        payload={
            "kind": OutboxKind.DELIVERY_FAILURE.value,
            "incident_id": message.incident_id,
            "notice_id": message.notice_id,
            "recipient_jurisdiction_id": supervisor.jurisdiction_id,
            "about_jurisdiction_id": bureau.jurisdiction_id,
            "failed_outbox_id": message.id,
            "failed_channel": message.channel,
            "failed_recipient": message.recipient,
            "failed_reply": reply[:500],
        },
        status=OutboxStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    audit(
        session,
        actor="delivery-worker",
        action="delivery_failed",
        entity="outbox_message",
        entity_id=message.id,
        at=now,
        after={
            "recipient": message.recipient,
            "reply": reply[:500],
            "told": supervisor.jurisdiction_id,
        },
    )
    return row


def _contact(bureau: Bureau) -> tuple[Channel | None, str | None, str | None]:
    """Webhook if the bureau has one (watched more closely than mail), else email."""
    for hook in bureau.webhooks or []:
        url = hook.get("url") if isinstance(hook, dict) else None
        if url:
            return Channel.WEBHOOK, str(url), str(hook.get("format") or "generic")
    for address in bureau.emails or []:
        if address:
            return Channel.EMAIL, address, None
    return None, None, None

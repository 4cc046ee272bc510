"""Taking due outbox rows for one worker: a lease, so that a dead worker's rows come back.

A row is due when it is pending and its next attempt time has come, or when it is leased and
the lease has run out (its worker died or hung). Claiming sets ``leased_by`` and
``lease_expires_at`` in one statement. On PostgreSQL the candidate rows are locked with
``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint sets without waiting on each
other; on SQLite the statement runs in a ``BEGIN IMMEDIATE`` transaction, which takes the one
write lock up front, so two claims cannot interleave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from notifier.enums import OutboxStatus
from notifier.outbox.models import OutboxMessage


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A leased outbox row, detached from any session (sending happens outside transactions)."""

    id: int
    incident_id: int
    notice_id: int | None
    kind: str
    channel: str
    recipient: str
    webhook_format: str | None
    message_id: str
    in_reply_to: str | None
    payload: dict[str, Any]
    attempts: int
    lease_expires_at: datetime


_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.incident_id,
    OutboxMessage.notice_id,
    OutboxMessage.kind,
    OutboxMessage.channel,
    OutboxMessage.recipient,
    OutboxMessage.webhook_format,
    OutboxMessage.message_id,
    OutboxMessage.in_reply_to,
    OutboxMessage.payload,
    OutboxMessage.attempts,
    OutboxMessage.lease_expires_at,
)


def due_condition(now: datetime) -> Any:
    return or_(
        and_(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
        ),
        and_(
            OutboxMessage.status == OutboxStatus.LEASED.value,
            OutboxMessage.lease_expires_at < now,
        ),
    )


def claim_due(
    engine: Engine,
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    channel: str | None = None,
) -> list[ClaimedMessage]:
    """Lease up to ``limit`` due rows (oldest due first), of one ``channel`` if given, and
    return them; commits at once."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    due = due_condition(now)
    if channel is not None:
        due = and_(due, OutboxMessage.channel == channel)
    # A read first: an idle poll finds nothing and must not take SQLite's one write lock.
    with engine.connect() as connection:
        if connection.execute(select(OutboxMessage.id).where(due).limit(1)).first() is None:
            return []
    candidates = (
        select(OutboxMessage.id)
        .where(due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL, ignored by SQLite
    )
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates.scalar_subquery()))
        .values(
            status=OutboxStatus.LEASED.value,
            leased_by=worker_id,
            lease_expires_at=now + lease,
        )
        .returning(*_COLUMNS)
    )
    immediate = engine.execution_options(sqlite_begin="IMMEDIATE")
    with immediate.begin() as connection:
        rows = connection.execute(statement).all()
    claimed = [ClaimedMessage(*row) for row in rows]
    claimed.sort(key=lambda m: m.id)
    return claimed


def count_due(engine: Engine, *, now: datetime) -> int:
    """How many rows a worker could claim right now (for logs and the metrics endpoint)."""
    from sqlalchemy import func

    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(OutboxMessage).where(due_condition(now))
            ).scalar_one()
        )


def renew_lease(
    engine: Engine, ids: Sequence[int], *, worker_id: str, now: datetime, lease: timedelta
) -> set[int]:
    """Extend this worker's lease on ``ids`` from ``now``; the ids it still held.

    A batch is built before it is sent: renewing just before sending gives the send the whole
    lease, however long the building took. A row missing from the answer was taken over by
    another worker after its lease ran out, and must not be sent by this one."""
    if not ids:
        return set()
    statement = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(ids)),
            OutboxMessage.leased_by == worker_id,
            OutboxMessage.status == OutboxStatus.LEASED.value,
        )
        .values(lease_expires_at=now + lease)
        .returning(OutboxMessage.id)
    )
    immediate = engine.execution_options(sqlite_begin="IMMEDIATE")
    with immediate.begin() as connection:
        return {int(row[0]) for row in connection.execute(statement)}

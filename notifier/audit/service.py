"""Writing audit events. Called by every use case inside its own transaction."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from notifier.audit.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of an ORM object as JSON-ready values (for before/after)."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    at: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        at=at,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    session.add(event)
    return event


def record_each(
    session: Session,
    entity_ids: Sequence[object],
    *,
    actor: str,
    action: str,
    entity: str,
    at: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """The same event for each of many entities, in one multi-row INSERT (the delivery
    worker records a batch of notices at a time)."""
    if not entity_ids:
        return
    before_json = _jsonable(before) if before is not None else None
    after_json = _jsonable(after) if after is not None else None
    rows = [
        {"actor": actor, "action": action, "entity": entity, "entity_id": str(entity_id),
         "at": at, "before": before_json, "after": after_json}
        for entity_id in entity_ids
    ]  # fmt: skip
    session.execute(insert(AuditEvent), rows)


def events_for(session: Session, *, entity: str, entity_id: object) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(query))

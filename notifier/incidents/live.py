"""The live incident a report joins, read with its notices in one statement.

A station whose readings stay over a limit reports into the same live incident every few
minutes; each such report needs the incident's window, reaches and grade and answers with the
incident's notices. One joined, plain-column query gives all of them, without ORM objects;
widening the incident is one UPDATE. Opening an incident stays with the ORM (service.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Text,
    bindparam,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from notifier.audit.service import record
from notifier.bureaus.models import Bureau
from notifier.enums import Grade, IncidentStatus, NoticeRole, NoticeStatus
from notifier.incidents.models import Incident
from notifier.incidents.schemas import NoticeView, ReportInput
from notifier.notices.models import Notice

LIVE = (IncidentStatus.OPEN, IncidentStatus.MONITORING)


@dataclass(frozen=True, slots=True)
class LiveIncident:
    """What a joining report needs of its incident; ``notices`` in their order."""

    id: int
    window_start: datetime
    window_end: datetime
    affected_reaches: tuple[str, ...]
    effective_grade: Grade
    exercise: bool
    notices: tuple[NoticeView, ...]


def _raw(column: Any) -> Any:
    """The column as the driver hands it over: no type processing per row (the values are
    decoded once, by the functions below, and only those that are used)."""
    return type_coerce(column, Text)


@cache
def _live_query() -> Select[Any]:
    """Live incidents on a river with their notices (one row per notice, or one row for an
    incident without any), oldest incident first. Built once, on first use.

    The joins are flat (incident, then its notices by ``ix_notices_incident_id``, then each
    notice's bureau): nested as ``incidents LEFT JOIN (notices JOIN bureaus)``, SQLite
    materialized the join of every notice in the database on each report. The live statuses
    are written into the statement, not expanded into bound parameters on every execution."""
    i, n, b = Incident.__table__.c, Notice.__table__.c, Bureau.__table__.c
    joined = Incident.__table__.outerjoin(Notice.__table__, n.incident_id == i.id).outerjoin(
        Bureau.__table__, b.jurisdiction_id == n.jurisdiction_id
    )
    live: list[ColumnElement[Any]] = [literal_column(f"'{status.value}'") for status in LIVE]
    incident = (i.id, i.window_start, i.window_end, i.affected_reaches, i.grade,
                i.proposed_grade, i.exercise)  # fmt: skip
    notice = (n.id, n.jurisdiction_id, b.name_zh, n.role, n.status, n.distance_km,
              n.eta_hours, n.ack_deadline, n.reason, n.position)  # fmt: skip
    return (
        select(*(_raw(c) for c in incident), *(_raw(c) for c in notice))  # notices from 7
        .select_from(joined)
        .where(
            i.river == bindparam("river"),
            i.status.in_(live),
            i.exercise == bindparam("exercise"),
            i.ended_at.is_(None),
            # Only incidents whose window covers the report: without it every live incident
            # on the river came back with all its notices (and, on PostgreSQL, its reaches
            # decoded once per notice row), a cost growing with every incident opened.
            i.window_start <= bindparam("at", type_=i.window_start.type),
            i.window_end >= bindparam("at", type_=i.window_end.type),
        )
        .order_by(i.id, n.position)
    )


def _reaches(value: Any) -> tuple[str, ...]:
    """The JSON column as text (SQLite) or already decoded (psycopg decodes json itself)."""
    return tuple(json.loads(value) if isinstance(value, str | bytes) else value)


def _utc(value: Any) -> datetime:
    """A stored UTC time as SQLite's text or the driver's datetime (as UTCDateTime reads it)."""
    at = _from_text(value) if isinstance(value, str) else value
    assert isinstance(at, datetime)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@lru_cache(maxsize=4096)
def _from_text(value: str) -> datetime:
    """Cached: every report joining an incident reads its notices' deadlines again."""
    return datetime.fromisoformat(value)


def _incident(row: Sequence[Any]) -> LiveIncident:
    grade = Grade(row[4] or row[5])
    return LiveIncident(row[0], _utc(row[1]), _utc(row[2]), _reaches(row[3]), grade,
                        bool(row[6]), ())  # fmt: skip


_ROLES = {role.value: role for role in NoticeRole}
_STATUSES = {status.value: status for status in NoticeStatus}


def _notice(row: Sequence[Any]) -> NoticeView:
    """The notice in positions 7 to 16 of a row of :func:`_live_query` (as
    ``notifier.notices.service.view_of_row`` reads the typed columns)."""
    nid, jurisdiction, bureau, role, status, distance, eta, deadline, reason, position = row[7:]
    return NoticeView(nid, jurisdiction, bureau or "", _ROLES[role], _STATUSES[status],
                      None if distance is None else float(distance),
                      None if eta is None else float(eta), _utc(deadline), reason,
                      position)  # fmt: skip


def find_joinable(
    session: Session,
    *,
    river: str,
    reach_id: str,
    observed_at: datetime,
    exercise: bool,
    affected: Sequence[str] = (),
) -> LiveIncident | None:
    """The oldest live incident on the river whose window covers this report and whose
    affected reaches hold its reach or meet its own ``affected`` path, with its notices.

    Meeting the path is what joins a report upstream of a live incident: the water it saw
    flows through the incident's reaches, so it is the same pollution seen further up (the
    incident is widened upstream), and the outcome does not depend on which of two reports
    arriving together was stored first."""
    found: LiveIncident | None = None
    path = set(affected)
    notices: list[NoticeView] = []
    passed = None  # the incident of the previous rows, when it did not cover this report
    values = {"river": river, "exercise": exercise, "at": observed_at}
    rows = session.connection().execute(_live_query(), values)
    for row in rows:
        if found is not None:
            if row[0] != found.id:
                break
        elif row[0] == passed:
            continue
        else:
            passed = row[0]
            candidate = _incident(row)
            inside = candidate.window_start <= observed_at <= candidate.window_end
            reaches = candidate.affected_reaches
            if not inside or (reach_id not in reaches and path.isdisjoint(reaches)):
                continue
            found = candidate
        if row[7] is not None:
            notices.append(_notice(row))
    if found is None:
        return None
    return LiveIncident(
        found.id,
        found.window_start,
        found.window_end,
        found.affected_reaches,
        found.effective_grade,
        found.exercise,
        tuple(notices),
    )


def widen(
    session: Session,
    incident: LiveIncident,
    *,
    data: ReportInput,
    affected: Sequence[str],
    join_window: timedelta,
    now: datetime,
) -> None:
    """Widen the incident's reaches and window to cover this report. A report inside both
    changes nothing and writes nothing here (the report row names its incident, and so does
    its ``report.submit`` audit event); otherwise one UPDATE, and an ``incident.join`` audit
    event saying what was added."""
    added = sorted(set(affected).difference(incident.affected_reaches))
    until = data.observed_at + join_window
    if not added and until <= incident.window_end:
        return
    window_end = max(incident.window_end, until)
    values: dict[str, Any] = {"window_end": window_end}
    if added:
        values["affected_reaches"] = sorted({*incident.affected_reaches, *added})
    table = cast(Table, Incident.__table__)
    session.execute(update(table).where(table.c.id == incident.id).values(**values))
    loaded = session.identity_map.get(identity_key(Incident, incident.id))
    if loaded is not None:  # an ORM copy read earlier in this session is now stale
        session.expire(loaded)
    record(
        session,
        actor=data.reporter,
        action="incident.join",
        entity="incident",
        entity_id=incident.id,
        at=now,
        before={"window_end": incident.window_end},
        after={"window_end": window_end, "added_reaches": added},
    )

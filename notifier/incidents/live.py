"""The live incident a report joins, read with its notices in one statement.

A station whose readings stay over a limit reports into the same live incident every few
minutes; each such report needs the incident's window, reaches and grade and answers with the
incident's notices. One joined, plain-column query gives all of them, without ORM objects;
widening the incident is one UPDATE. Opening an incident stays with the ORM (service.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    Text,
    bindparam,
    func,
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
    incident = (i.id, i.window_start, i.window_end, i.affected_reaches, i.grade,
                i.proposed_grade, i.exercise)  # fmt: skip
    notice = (n.id, n.jurisdiction_id, b.name_zh, n.role, n.status, n.distance_km,
              n.eta_hours, n.ack_deadline, n.reason, n.position)  # fmt: skip
    return (
        select(*(_raw(c) for c in incident), *(_raw(c) for c in notice))  # notices from 7
        .select_from(joined)
        .where(*_live_filters())
        .order_by(i.id, n.position)
    )


def _live_filters() -> list[ColumnElement[bool]]:
    """Live incidents on the river (``river``, ``exercise``) whose window covers ``at``."""
    i = Incident.__table__.c
    live: list[ColumnElement[Any]] = [literal_column(f"'{status.value}'") for status in LIVE]
    return [
        i.river == bindparam("river"),
        i.status.in_(live),
        i.exercise == bindparam("exercise"),
        i.ended_at.is_(None),
        # Only incidents whose window covers the report: without it every live incident
        # on the river came back with all its notices (and, on PostgreSQL, its reaches
        # decoded once per notice row), a cost growing with every incident opened.
        i.window_start <= bindparam("at", type_=i.window_start.type),
        i.window_end >= bindparam("at", type_=i.window_end.type),
    ]


#: What never changes in a notice once written (routing decided it), by notice id:
#: ((jurisdiction, created_at as stored), distance_km, eta_hours, reason). Kept per database
#: by the caller (``PlanCache.notice_facts``): SQLite's JSON would round the floats to 15
#: digits. The stored creation time tells a notice from one that reused its id (a rolled
#: back batch of :class:`api.ingest.GroupCommit`, a notice deleted by hand).
NoticeFacts = dict[int, tuple[tuple[str, str], float | None, float | None, str]]
FACTS_KEPT = 100_000
_UNKNOWN = (("", ""), None, None, "")


@cache
def _aggregated_query() -> Select[Any]:
    """SQLite: one row per live incident, the changing part of its notices as one JSON
    array. Python's sqlite3 hands the interpreter lock back and forth on every row fetched;
    under load that made the 22 rows of a joined incident cost more than the rest of the
    report's statements together (the benchmark's ingest profile)."""
    i, n, b = Incident.__table__.c, Notice.__table__.c, Bureau.__table__.c
    item = func.json_array(n.id, n.jurisdiction_id, b.name_zh, n.role, n.status,
                           n.ack_deadline, n.position, n.created_at)  # fmt: skip
    notices = (
        select(func.json_group_array(item))
        .select_from(
            Notice.__table__.outerjoin(Bureau.__table__, b.jurisdiction_id == n.jurisdiction_id)
        )
        .where(n.incident_id == i.id)
        .scalar_subquery()
    )
    columns = (i.id, i.window_start, i.window_end, i.affected_reaches, i.grade,
               i.proposed_grade, i.exercise, notices)  # fmt: skip
    return select(*(_raw(c) for c in columns)).where(*_live_filters()).order_by(i.id)


@cache
def _facts_query() -> Select[Any]:
    n = Notice.__table__.c
    columns = (n.id, n.jurisdiction_id, n.created_at, n.distance_km, n.eta_hours, n.reason)
    return select(*(_raw(c) for c in columns)).where(n.incident_id == bindparam("incident_id"))


def _aggregated_views(
    connection: Connection, incident_id: int, text: str, facts: NoticeFacts
) -> tuple[NoticeView, ...]:
    items = sorted(json.loads(text), key=itemgetter(6))
    if any(facts.get(item[0], _UNKNOWN)[0] != (item[1], item[7]) for item in items):
        if len(facts) >= FACTS_KEPT:
            facts.clear()
        for nid, jurisdiction, created, distance, eta, reason in connection.execute(
            _facts_query(), {"incident_id": incident_id}
        ):
            facts[nid] = ((jurisdiction, created), distance, eta, reason)
    views = []
    for nid, jurisdiction, bureau, role, status, deadline, position, _ in items:
        _, distance, eta, reason = facts[nid]
        views.append(NoticeView(nid, jurisdiction, bureau or "", _ROLES[role], _STATUSES[status],
                                distance, eta, _utc(deadline), reason, position))  # fmt: skip
    return tuple(views)


def _aggregates(connection: Connection) -> bool:
    """SQLite with its JSON functions built in (3.38 and later)."""
    return connection.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 38)


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
    facts: NoticeFacts | None = None,
) -> LiveIncident | None:
    """The oldest live incident on the river whose window covers this report and whose
    affected reaches hold its reach or meet its own ``affected`` path, with its notices.

    Meeting the path is what joins a report upstream of a live incident: the water it saw
    flows through the incident's reaches, so it is the same pollution seen further up (the
    incident is widened upstream), and the outcome does not depend on which of two reports
    arriving together was stored first. With ``facts`` (kept by the caller for this
    database), SQLite reads each incident's notices as one row (:func:`_aggregated_query`)."""
    connection = session.connection()
    values = {"river": river, "exercise": exercise, "at": observed_at}
    path = set(affected)

    def covers(candidate: LiveIncident) -> bool:
        inside = candidate.window_start <= observed_at <= candidate.window_end
        reaches = candidate.affected_reaches
        return inside and (reach_id in reaches or not path.isdisjoint(reaches))

    if facts is not None and _aggregates(connection):
        for row in connection.execute(_aggregated_query(), values):
            candidate = _incident(row)
            if covers(candidate):
                views = _aggregated_views(connection, candidate.id, row[7], facts)
                return replace(candidate, notices=views)
        return None
    return _first_covering(connection.execute(_live_query(), values), covers)


def _first_covering(
    rows: Iterable[Sequence[Any]], covers: Callable[[LiveIncident], bool]
) -> LiveIncident | None:
    """The first incident in rows of :func:`_live_query` (one per notice, oldest incident
    first) that ``covers`` the report, with its notices."""
    found: LiveIncident | None = None
    notices: list[NoticeView] = []
    passed = None  # the incident of the previous rows, when it did not cover this report
    for row in rows:
        if found is not None:
            if row[0] != found.id:
                break
        elif row[0] == passed:
            continue
        else:
            passed = row[0]
            candidate = _incident(row)
            if not covers(candidate):
                continue
            found = candidate
        if row[7] is not None:
            notices.append(_notice(row))
    return None if found is None else replace(found, notices=tuple(notices))


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

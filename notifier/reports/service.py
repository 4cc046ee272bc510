"""Locating and storing a report and its evaluation (the first half of submit_report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from notifier.audit.models import AuditEvent
from notifier.bureaus.models import Bureau
from notifier.context import EngineContext
from notifier.evaluation.evaluate import (
    EvaluationResult,
    MeasurementError,
    check_measurements,
    evaluate,
)
from notifier.incidents.schemas import EngineError, ReportInput
from notifier.reports.models import Evaluation, Report
from notifier.stations.models import Station
from notifier.topology import ReachInfo, SnapError

FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class StationRef:
    """What a report needs of its station: read as plain columns (no ORM object, no identity
    map), since every station report reads one."""

    station_id: str
    reach_id: str
    lon: float
    lat: float
    thresholds: dict[str, Any]


@cache
def _station_query() -> Select[Any]:
    c = Station.__table__.c
    return select(c.station_id, c.reach_id, c.lon, c.lat, c.thresholds).where(
        c.station_id == bindparam("station_id")
    )


def read_station(session: Session, station_id: str) -> StationRef | None:
    row = session.connection().execute(_station_query(), {"station_id": station_id}).first()
    return None if row is None else StationRef(row[0], row[1], row[2], row[3], row[4] or {})


@dataclass(frozen=True, slots=True)
class Located:
    reach: ReachInfo
    station: StationRef | None
    snap_distance_m: float | None
    lon: float | None
    lat: float | None


def _locate(
    session: Session, data: ReportInput, ctx: EngineContext, problems: list[str]
) -> Located | None:
    given = [
        name
        for name, present in (
            ("station", data.station_id is not None),
            ("reach", data.reach_id is not None),
            ("lon/lat", data.lon is not None or data.lat is not None),
        )
        if present
    ]
    if len(given) != 1:
        problems.append(
            "须且只须给出站点、河段或经纬度之一 / give exactly one of station, reach or lon/lat"
            + (f" (got {', '.join(given)})" if given else "")
        )
        return None
    station, snap_m, reach_id = None, None, data.reach_id
    lon, lat = data.lon, data.lat
    if data.station_id is not None:
        station = read_station(session, data.station_id)
        if station is None:
            problems.append(f"未知站点 / unknown station {data.station_id!r}")
            return None
        reach_id, lon, lat = station.reach_id, station.lon, station.lat
    elif data.lon is not None or data.lat is not None:
        if data.lon is None or data.lat is None:
            problems.append("经纬度须同时给出 / give both lon and lat")
            return None
        try:
            snap = ctx.topology.snap(data.lon, data.lat, limit_m=ctx.policy.snap_limit_m)
        except SnapError as exc:
            problems.append(str(exc))
            return None
        reach_id, snap_m = snap.reach_id, snap.distance_m
    assert reach_id is not None
    reach = ctx.topology.reach(reach_id)
    if reach is None:
        problems.append(f"未知河段 / unknown reach {reach_id!r}")
        return None
    return Located(reach=reach, station=station, snap_distance_m=snap_m, lon=lon, lat=lat)


@cache
def _bureau_exists() -> Select[Any]:
    bureaus = Bureau.__table__.c
    return select(bureaus.jurisdiction_id).where(bureaus.jurisdiction_id == bindparam("j"))


def _has_bureau(session: Session, jurisdiction_id: str, known: set[str] | None) -> bool:
    """Whether the jurisdiction has a bureau; ``known`` remembers those that do (bureaus are
    seeded and updated, never deleted, so a yes stays true)."""
    if known is not None and jurisdiction_id in known:
        return True
    found = session.execute(_bureau_exists(), {"j": jurisdiction_id}).first() is not None
    if found and known is not None:
        known.add(jurisdiction_id)
    return found


def validate_report(
    session: Session,
    data: ReportInput,
    ctx: EngineContext,
    *,
    now: datetime,
    known_bureaus: set[str] | None = None,
) -> Located:
    """Every problem with a report at once, or where it is. ``known_bureaus``: jurisdictions
    already seen to have a bureau (kept by the caller across reports)."""
    problems: list[str] = []
    if data.observed_at.tzinfo is None:
        problems.append("observed_at 须带时区 / observed_at must be timezone-aware")
    elif data.observed_at > now + FUTURE_TOLERANCE:
        problems.append("observed_at 在未来 / observed_at is in the future")
    if not data.measurements and not data.declared_incident:
        problems.append("没有监测数据 / no measurements (declare an incident to report none)")
    if not data.reporter.strip():
        problems.append("缺少报告人 / reporter is empty")
    located = _locate(session, data, ctx, problems)
    if located is not None:
        thresholds = located.station.thresholds if located.station is not None else {}
        try:
            check_measurements(
                data.measurements,
                standards=ctx.standards,
                thresholds=thresholds,
                waterbody=located.reach.waterbody,
            )
        except MeasurementError as exc:
            problems.append(str(exc))
        if not _has_bureau(session, located.reach.jurisdiction_id, known_bureaus):
            problems.append(
                f"辖区 {located.reach.jurisdiction_id} 无生态环境局记录, 请先运行 rivernotify db "
                f"upgrade / no bureau for jurisdiction {located.reach.jurisdiction_id}: "
                "run `rivernotify db upgrade` to seed bureaus"
            )
    if problems or located is None:
        raise EngineError(problems)
    return located


def evaluate_report(data: ReportInput, located: Located, ctx: EngineContext) -> EvaluationResult:
    return evaluate(
        data.measurements,
        target_class=located.reach.target_class,
        waterbody=located.reach.waterbody,
        standards=ctx.standards,
        thresholds=located.station.thresholds if located.station is not None else {},
        policy=ctx.policy,
    )


@cache
def _inserts() -> tuple[Insert, Insert, Insert]:
    """Plain-table inserts, built once: a report is three rows and no ORM objects, so the
    ingest path pays neither the unit of work nor building statements (see PERFORMANCE.md)."""
    tables = (Report.__table__, Evaluation.__table__, AuditEvent.__table__)
    reports, evaluations, audit = (insert(cast(Table, table)) for table in tables)
    return reports, evaluations, audit


def _report_row(
    data: ReportInput,
    located: Located,
    measurements: list[dict[str, Any]],
    *,
    incident_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "station_id": located.station.station_id if located.station is not None else None,
        "reach_id": located.reach.reach_id,
        "river": located.reach.river,
        "jurisdiction_id": located.reach.jurisdiction_id,
        "lon": located.lon,
        "lat": located.lat,
        "snap_distance_m": located.snap_distance_m,
        "observed_at": data.observed_at,
        "received_at": now,
        "measurements": measurements,
        "direction": data.direction,
        "note": data.note,
        "reporter": data.reporter,
        "declared_incident": data.declared_incident,
        "exercise": data.exercise,
    }


def _evaluation_row(
    report_id: int, located: Located, result: EvaluationResult, *, now: datetime
) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "target_class": located.reach.target_class,
        "waterbody": located.reach.waterbody,
        "exceeded": result.exceeded,
        "max_ratio": min(result.max_ratio, 1e9),
        "proposed_grade": result.proposed_grade,
        "results": [c.as_json() for c in result.checks],
        "evaluated_at": now,
    }


def store_report(
    session: Session,
    data: ReportInput,
    located: Located,
    result: EvaluationResult,
    *,
    incident_id: int | None,
    now: datetime,
) -> int:
    """The report, its evaluation and its ``report.submit`` audit event (the row
    ``notifier.audit.service.record`` would write); returns the report's id."""
    reports, evaluations, audit = _inserts()
    connection = session.connection()  # plain statements: the ORM session has nothing to add
    measurements = [m.as_json() for m in data.measurements]
    row = _report_row(data, located, measurements, incident_id=incident_id, now=now)
    inserted = connection.execute(reports, row)
    key = inserted.inserted_primary_key
    assert key is not None  # a single-row insert always has one
    report_id = int(key[0])
    evaluation = _evaluation_row(report_id, located, result, now=now)
    connection.execute(evaluations, evaluation)
    after = {
        "reach_id": located.reach.reach_id,
        "incident_id": incident_id,
        "exceeded": result.exceeded,
        "direction": data.direction.value,
        "measurements": measurements,
        "exercise": data.exercise,
    }
    event = {
        "actor": data.reporter,
        "action": "report.submit",
        "entity": "report",
        "entity_id": str(report_id),
        "at": now,
        "before": None,
        "after": after,
    }
    connection.execute(audit, event)
    return report_id

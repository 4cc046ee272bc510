"""HJ 212 data into the engine: the handler the listener calls for each data upload.

The MN names the station. Every measurement is stored with its data flag, but only flag N
may trigger: D's evaluation also judges T (over range), so T readings, like parameters the
standard has no limit for, are kept in the report's note instead of its measurements.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Services
from api.hj212.codec import Measurement as Reading
from api.hj212.codec import Packet, Readings
from api.hj212.listener import Handler, RejectedData, UnknownStation
from notifier.context import EngineContext
from notifier.enums import ReportDirection
from notifier.evaluation.evaluate import (
    JUDGED_FLAGS,
    Measurement,
    MeasurementError,
    check_measurements,
)
from notifier.incidents.plans import PlanCache
from notifier.incidents.schemas import EngineError, ReportInput
from notifier.incidents.service import submit_report
from notifier.stations.models import Station

log = logging.getLogger(__name__)
VALID_FLAG = "N"
WRITER_LOCK = "sqlite_writer_lock"
PLANS = "route_plans"


def route_plans(services: Services) -> PlanCache:
    """The process's traces and recipients per reach (notifier.incidents.plans), kept with
    the engine context they were computed from."""
    plans = services.extras.get(PLANS)
    if not isinstance(plans, PlanCache):
        plans = services.extras.setdefault(PLANS, PlanCache())
    return plans


@contextmanager
def writer_turn(services: Services) -> Iterator[None]:
    """This process's turn to write (SQLite only; re-entrant within one thread).

    SQLite has one write lock, taken at BEGIN IMMEDIATE; threads of this process that want it
    wait here, on a lock, in turn, instead of in SQLite's busy handler, which polls with
    sleeps of up to 100 ms (long tails under load) and lets a late arrival overtake. Other
    processes still queue on the busy timeout. PostgreSQL writers are not serialized here
    (reports on one river are, by an advisory lock in submit_report)."""
    if services.engine.dialect.name != "sqlite":
        yield
        return
    lock = services.extras.get(WRITER_LOCK)
    if lock is None:
        lock = services.extras.setdefault(WRITER_LOCK, threading.RLock())
    with lock:
        yield


@contextmanager
def writer_session(services: Services) -> Iterator[Session]:
    """A writer session in this process's turn (:func:`writer_turn`), rolled back unless
    committed."""
    with writer_turn(services), services.writer_sessions() as session:
        try:
            yield session
        finally:
            session.rollback()


def split_readings(
    readings: Sequence[Reading],
    *,
    ctx: EngineContext,
    thresholds: dict[str, object],
    waterbody: str,
) -> tuple[list[Measurement], list[str]]:
    """(measurements the engine stores, readings set aside in the note as text)."""
    kept: list[Measurement] = []
    aside: list[str] = []
    for reading in readings:
        text = f"{reading.code}={reading.value:g}{reading.unit or ''}({reading.flag})"
        if reading.flag != VALID_FLAG and reading.flag in JUDGED_FLAGS:
            aside.append(text)  # would be judged by the engine: keep it out of the evaluation
            continue
        measurement = Measurement(reading.code, reading.value, reading.unit or "", reading.flag)
        try:
            check_measurements(
                [measurement], standards=ctx.standards, thresholds=thresholds, waterbody=waterbody
            )
        except MeasurementError:
            aside.append(text)
            continue
        kept.append(measurement)
    return kept, aside


def ingest_readings(services: Services, mn: str, readings: Readings) -> int | None:
    """Store one upload as a report (opening or joining an incident when an N reading exceeds
    a limit); returns the incident id, if any."""
    ctx = services.context()
    with writer_session(services) as session:
        station = session.scalars(select(Station).where(Station.mn == mn)).first()
        if station is None:
            raise UnknownStation(mn)
        reach = ctx.topology.reach(station.reach_id)
        kept, aside = split_readings(
            readings.measurements,
            ctx=ctx,
            thresholds=dict(station.thresholds),
            waterbody=reach.waterbody if reach is not None else "river",
        )
        if not kept:
            raise RejectedData(
                f"站点 {station.station_id} 的数据中没有可评价的参数 / no parameter the standard "
                f"covers in this upload: {', '.join(aside) or '(empty)'}"
            )
        note = "HJ 212" + (f"; 未参与评价 / not evaluated: {', '.join(aside)}" if aside else "")
        data = ReportInput(
            measurements=tuple(kept),
            reporter=f"hj212:{station.station_id}",
            observed_at=readings.observed_at,
            station_id=station.station_id,
            direction=ReportDirection.SOURCE,
            note=note[:4000],
        )
        try:
            result = submit_report(
                session, data, ctx=ctx, now=services.now(), plans=route_plans(services)
            )
        except EngineError as exc:
            raise RejectedData(str(exc)) from None
        session.commit()
    if result.opened:
        log.warning("HJ 212 MN=%s opened incident %s", mn, result.incident_id)
    return result.incident_id


def hj212_handler(services: Services) -> Handler:
    """The listener's handler; the database work runs in a thread."""

    async def handle(packet: Packet, readings: Readings) -> None:
        await asyncio.to_thread(ingest_readings, services, packet.mn, readings)

    return handle

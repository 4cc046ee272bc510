"""HJ 212 data into the engine: the handler the listener calls for each data upload.

The MN names the station. Every measurement is stored with its data flag, but only flag N
may trigger: D's evaluation also judges T (over range), so T readings, like parameters the
standard has no limit for, are kept in the report's note instead of its measurements.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, cast

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
GROUP_COMMIT = "group_commit"


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


T = TypeVar("T")
#: Most reports one shared transaction commits: bounds how long the first of them waits.
BATCH_LIMIT = 32


class _Job(Generic[T]):
    """One request's write: ``first`` (in the write turn, before any transaction: a rate
    limit whose bucket has a transaction of its own) and ``work`` (in a transaction, not
    committing it)."""

    __slots__ = ("error", "first", "result", "settled", "wake", "work")

    def __init__(self, work: Callable[[Session], T], first: Callable[[], None] | None) -> None:
        self.work, self.first = work, first
        self.settled = False
        self.result: T | None = None
        self.error: BaseException | None = None
        self.wake = threading.Event()  # settled, or handed the lead

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return cast(T, self.result)


class GroupCommit:
    """Concurrent writes of one process committed together (SQLite).

    Each report's own transaction paid for BEGIN IMMEDIATE, COMMIT and a session (about a
    third of a joining report's database time). Requests that arrive while another batch is
    being written wait here; then one of them (the leader) writes every waiting job in one
    transaction, in the order they came, and commits once; nobody is answered before that
    commit. If any job of a batch fails, or the commit does, the batch is rolled back and
    each of its jobs runs again alone, in its own transaction, exactly as without batching:
    a report is never stored half, and one bad report never costs another its answer. So
    ``work`` must have no effect outside the session that a second run would repeat wrongly.
    On PostgreSQL (writers are not serialized in the process) each job runs alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Job[Any]] = []
        self._leading = False

    @property
    def waiting(self) -> int:
        """Jobs queued for the next batch."""
        with self._lock:
            return len(self._waiting)

    def run(
        self,
        services: Services,
        work: Callable[[Session], T],
        *,
        first: Callable[[], None] | None = None,
    ) -> T:
        """``work(session)``'s result once committed, or its error."""
        job = _Job(work, first)
        if services.engine.dialect.name != "sqlite":
            _write(services, [job])
            return job.outcome()
        with self._lock:
            self._waiting.append(job)
            follow, self._leading = self._leading, True
        if follow:  # woken once, when settled or when handed the lead
            job.wake.wait()
            if job.settled:
                return job.outcome()
        try:
            while not job.settled:
                with self._lock:
                    batch = self._waiting[:BATCH_LIMIT]
                    del self._waiting[:BATCH_LIMIT]
                try:
                    _write(services, batch)
                finally:
                    for other in batch:
                        other.wake.set()
        finally:
            with self._lock:  # the lead passes to the oldest waiting job, if any
                if self._waiting:
                    self._waiting[0].wake.set()
                else:
                    self._leading = False
        return job.outcome()


def _settle(job: _Job[T], run: Callable[[], T]) -> None:
    try:
        job.result = run()
    except BaseException as exc:  # handed to the job's own thread, raised there
        job.error = exc
    job.settled = True


def _alone(services: Services, job: _Job[T]) -> None:
    def run() -> T:
        with writer_session(services) as session:
            result = job.work(session)
            session.commit()
        return result

    _settle(job, run)


def _write(services: Services, batch: list[_Job[Any]]) -> None:
    """The batch in the write turn: each job's ``first``, then one transaction for those
    that passed (or each alone, see :class:`GroupCommit`). Every job is settled after."""
    try:
        with writer_turn(services):
            ready: list[_Job[Any]] = []
            for job in batch:
                if job.first is not None:
                    _settle(job, job.first)
                    if job.error is not None:
                        continue
                    job.settled = False
                ready.append(job)
            if len(ready) > 1 and _together(services, ready):
                return
            for job in ready:
                _alone(services, job)
    finally:
        for job in batch:
            if not job.settled:  # pragma: no cover - only if the turn itself failed
                job.error = job.error or RuntimeError("write not attempted")
                job.settled = True


def _together(services: Services, jobs: list[_Job[Any]]) -> bool:
    """All ``jobs`` in one transaction; False (nothing kept) if any of them or the commit
    failed."""
    try:
        with writer_session(services) as session:
            results = [job.work(session) for job in jobs]
            session.commit()
    except Exception:  # each job runs again alone and meets its own error
        return False
    for job, result in zip(jobs, results, strict=True):
        job.result, job.settled = result, True
    return True


def group_commit(services: Services) -> GroupCommit:
    """The process's :class:`GroupCommit` (kept with the services)."""
    found = services.extras.get(GROUP_COMMIT)
    if not isinstance(found, GroupCommit):
        found = services.extras.setdefault(GROUP_COMMIT, GroupCommit())
    return found


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

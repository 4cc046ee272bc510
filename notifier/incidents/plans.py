"""What a report at one reach sets in motion, remembered per reach and direction.

The traces from a reach, the reaches they put within the routing horizon and the set of
jurisdictions :func:`notifier.routing.route.route` picks from them depend only on the network,
the policy, the reach, the report's direction and the other banks of the reach: not on the
time, the grade or the database. A station that reports every minute into a live incident is
therefore traced once, and when every jurisdiction of its plan has been told already, the
report is joined without routing again (see ``submit_report``).

The cache belongs to whoever holds the :class:`EngineContext` and the database (the app
keeps one per process); a cache handed a different context starts afresh. It also remembers
the jurisdictions seen to have a bureau (``bureaus``: bureaus are never deleted), which
saves validating each report against the bureaus table, and what never changes in a notice
(``notice_facts``), which saves reading it again for every report joining its incident.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from basins.model import Direction, TraceEntry
from notifier.context import EngineContext
from notifier.enums import Grade, ReportDirection
from notifier.routing.route import NoticeDecision, route, within_horizon
from notifier.topology import ReachInfo

#: Plans kept; the shipped network has a few thousand reaches with stations or reports.
PLAN_CACHE_SIZE = 4096
#: ``route`` needs a time and a grade; neither changes whom it picks (only the deadlines).
_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Plan:
    """The traces of one (reach, direction), the affected reaches and whom routing picks."""

    down: tuple[TraceEntry, ...]
    up: tuple[TraceEntry, ...]
    affected: tuple[str, ...]
    recipients: frozenset[str]


def _traces(
    ctx: EngineContext, reach_id: str, direction: ReportDirection
) -> tuple[list[TraceEntry], list[TraceEntry]]:
    down: list[TraceEntry] = []
    up: list[TraceEntry] = []
    if direction in (ReportDirection.SOURCE, ReportDirection.BOTH):
        down = ctx.topology.trace(reach_id, direction=Direction.DOWN)
    if direction in (ReportDirection.OBSERVED_DOWNSTREAM, ReportDirection.BOTH):
        up = ctx.topology.trace(reach_id, direction=Direction.UP)
    return down, up


def affected_reaches(
    reach_id: str, entries: Sequence[TraceEntry], *, ctx: EngineContext
) -> list[str]:
    """The reaches within the routing horizon: a later report on one of them joins."""
    reaches = {reach_id}
    for entry in entries:
        if within_horizon(entry, policy=ctx.policy):
            reaches.update(entry.path)
            reaches.add(entry.first_reach)
    return sorted(reaches)


def route_plan(
    reach: ReachInfo, direction: ReportDirection, *, ctx: EngineContext, grade: Grade, now: datetime
) -> tuple[Plan, list[NoticeDecision]]:
    """The plan of a report at ``reach`` and the routing decisions for ``grade`` at ``now``."""
    down, up = _traces(ctx, reach.reach_id, direction)
    decisions = decide(reach, direction, down=down, up=up, ctx=ctx, grade=grade, now=now)
    plan = Plan(
        down=tuple(down),
        up=tuple(up),
        affected=tuple(affected_reaches(reach.reach_id, [*down, *up], ctx=ctx)),
        recipients=frozenset(d.jurisdiction_id for d in decisions),
    )
    return plan, decisions


def decide(
    reach: ReachInfo,
    direction: ReportDirection,
    *,
    down: Sequence[TraceEntry],
    up: Sequence[TraceEntry],
    ctx: EngineContext,
    grade: Grade,
    now: datetime,
) -> list[NoticeDecision]:
    """``route`` for a report at ``reach``, from its traces."""
    return route(
        reach.jurisdiction_id,
        direction=direction,
        downstream=down,
        upstream=up,
        hierarchy=ctx.topology.hierarchy,
        policy=ctx.policy,
        grade=grade,
        now=now,
        other_banks=reach.co_jurisdictions,
        origin_reach=reach.reach_id,
    )


@dataclass
class PlanCache:
    """Plans by (reach, direction, other banks) for one context; safe to share by threads."""

    size: int = PLAN_CACHE_SIZE
    _ctx: EngineContext | None = None
    bureaus: set[str] = field(default_factory=set)
    #: What never changes in a notice, by id (notifier.incidents.live.NoticeFacts): a
    #: report joining a live incident on SQLite reads only the rest of each notice again.
    notice_facts: dict[int, tuple[tuple[str, str], float | None, float | None, str]] = field(
        default_factory=dict
    )
    _plans: dict[tuple[str, ReportDirection, tuple[str, ...]], Plan] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, reach: ReachInfo, direction: ReportDirection, *, ctx: EngineContext) -> Plan:
        key = (reach.reach_id, direction, tuple(reach.co_jurisdictions))
        with self._lock:
            if self._ctx is not ctx:
                self._ctx, self._plans = ctx, {}
            found = self._plans.get(key)
        if found is not None:
            return found
        plan, _ = route_plan(reach, direction, ctx=ctx, grade=Grade.IV, now=_ANY_TIME)
        with self._lock:
            if self._ctx is ctx:
                if len(self._plans) >= self.size:
                    self._plans.clear()
                self._plans[key] = plan
        return plan

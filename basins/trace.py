"""Which jurisdictions does water from a reach reach (downstream), or come from (upstream)?

Both directions answer with the jurisdictions *entered*, in order of estimated arrival, one
:class:`~basins.model.TraceEntry` each. A jurisdiction is entered where the walk first meets a
reach it administers, or a boundary reach whose other bank it holds (``boundary``); the other
bank of the origin reach itself is met at distance 0. ``adjacent`` marks jurisdictions met before
leaving the origin's own jurisdiction on some path: the first foreign jurisdiction on every path,
which the routing policy must always notify (``keep_adjacent`` keeps them past the horizon).

Downstream: distances run from the spill point (``origin_offset_m`` above the origin reach's
downstream end, by default that end) to the upstream end of the first reach entered; where the
water divides, the earliest arrival wins (Dijkstra over event reaches, jumping along the primary
tree with :attr:`NetworkIndex.next_stop`). Upstream: distance and time the water takes from the
jurisdiction (the downstream end of its nearest reach) to the spill point (by default the origin
reach's upstream end), over every tributary; computed on whole tree intervals at once, see
:mod:`basins.trace_walks`.
"""

from __future__ import annotations

import numpy as np

from basins.index import NetworkIndex
from basins.model import Direction, Hierarchy, JurisdictionKind, TraceEntry
from basins.trace_walks import EPS, TIE_DECIMALS, DownWalk, Hit, UpWalk, Walk


class UnknownReachError(KeyError):
    """A reach id that the network does not contain."""

    def __init__(self, reach_id: str) -> None:
        super().__init__(reach_id)
        self.reach_id = reach_id

    def __str__(self) -> str:
        return f"未知河段编号 unknown reach id: {self.reach_id!r}"


def trace(
    index: NetworkIndex,
    reach_id: str,
    *,
    direction: Direction,
    hierarchy: Hierarchy,
    max_km: float | None = None,
    max_hours: float | None = None,
    keep_adjacent: bool = False,
    origin_offset_m: float | None = None,
    paths: bool = True,
) -> list[TraceEntry]:
    """Jurisdictions entered from ``reach_id``, by estimated arrival (see the module docstring).

    ``origin_offset_m`` is the spill point's distance above the origin reach's downstream end
    (what :func:`basins.snap.snap_point` returns); ``None`` takes the end nearest the direction
    of travel. ``paths=False`` leaves ``TraceEntry.path`` empty, which saves the per-reach work.
    """
    if reach_id not in index.position:
        raise UnknownReachError(reach_id)
    for label, value in (("max_km", max_km), ("max_hours", max_hours)):
        if value is not None and not value >= 0:
            raise ValueError(f"{label} 须为非负数 must be a non-negative number, got {value}")
    origin = index.position[reach_id]
    limit_m = np.inf if max_km is None else max_km * 1000.0
    limit_s = np.inf if max_hours is None else max_hours * 3600.0
    if Direction(direction) is Direction.DOWN:
        walker: Walk = DownWalk(index, origin, origin_offset_m)
    else:
        walker = UpWalk(index, origin, origin_offset_m)
    hits = walker.run(np.inf if keep_adjacent else limit_s, np.inf if keep_adjacent else limit_m)
    adjacent = walker.adjacent()
    kept = _within(
        index, hits, limits=(limit_s, limit_m), keep=adjacent if keep_adjacent else set()
    )
    dresser = _Dresser(index, hierarchy, walker=walker, paths=paths)
    return [dresser.entry(hit, hit.jurisdiction in adjacent) for hit in kept]


def _within(
    index: NetworkIndex, hits: list[Hit], *, limits: tuple[float, float], keep: set[int]
) -> list[Hit]:
    """Hits inside both horizons (or kept anyway), by arrival; ties within a microsecond go by
    distance, then id, so float noise cannot reorder them."""
    limit_s, limit_m = limits
    kept = [
        hit
        for hit in hits
        if (hit.seconds <= limit_s + EPS and hit.metres <= limit_m + EPS)
        or hit.jurisdiction in keep
    ]
    kept.sort(
        key=lambda h: (
            round(max(h.seconds, 0.0), TIE_DECIMALS),
            round(max(h.metres, 0.0), 3),
            index.jurisdiction_ids[h.jurisdiction],
        )
    )
    return kept


_Facts = tuple[str, JurisdictionKind, str | None, str | None]  # name, kind, prefecture, province

#: What an entry shows of each jurisdiction, per hierarchy object (the last few seen). A
#: Hierarchy is immutable, so its answers can be kept; identity is checked on every use.
_FACTS: dict[int, tuple[Hierarchy, dict[str, _Facts]]] = {}


def _facts_of(hierarchy: Hierarchy) -> dict[str, _Facts]:
    cached = _FACTS.get(id(hierarchy))
    if cached is not None and cached[0] is hierarchy:
        return cached[1]
    if len(_FACTS) >= 8:
        _FACTS.clear()
    table: dict[str, _Facts] = {}
    _FACTS[id(hierarchy)] = (hierarchy, table)
    return table


class _Dresser:
    """Turns hits into TraceEntry objects: names, kinds, prefecture and province flags, paths."""

    def __init__(
        self, index: NetworkIndex, hierarchy: Hierarchy, *, walker: Walk, paths: bool
    ) -> None:
        self.index, self.hierarchy, self.walker, self.paths = index, hierarchy, walker, paths
        self.table = _facts_of(hierarchy)
        _, _, self.prefecture, self.province = self.facts(index.jurisdiction_ids[walker.home])

    def facts(self, jid: str) -> _Facts:
        found = self.table.get(jid)
        if found is None:
            known = self.hierarchy.jurisdictions.get(jid)
            if known is None:  # unknown: shown by its id, never "another prefecture/province"
                found = (jid, JurisdictionKind.COUNTY, None, None)
            else:
                found = (
                    known.name,
                    known.kind,
                    self.hierarchy.prefecture_of(jid),
                    self.hierarchy.province_of(jid),
                )
            self.table[jid] = found
        return found

    def entry(self, hit: Hit, adjacent: bool) -> TraceEntry:
        jid = self.index.jurisdiction_ids[hit.jurisdiction]
        name, kind, prefecture, province = self.facts(jid)
        return TraceEntry(
            jid,
            name,
            kind,
            self.index.reach_ids[hit.reach],
            max(hit.metres, 0.0) / 1000.0,  # sums along the tree can round to -1e-12
            max(hit.seconds, 0.0) / 3600.0,
            hit.estimated,
            adjacent,
            hit.boundary,
            None not in (prefecture, self.prefecture) and prefecture != self.prefecture,
            None not in (province, self.province) and province != self.province,
            self.walker.path(hit.reach) if self.paths else (),
        )

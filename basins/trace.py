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

Paths: each entry's ``path`` (reach ids from the origin to its first reach) is known to the
walk as it goes, and spelled out as a tuple when first read (:class:`RoutedEntry`): on a long
river the tuples cost more than the rest of the trace, and most callers read few of them.
"""

from __future__ import annotations

import dataclasses
import operator
import sys
from typing import Any

import numpy as np

from basins.index import NetworkIndex
from basins.model import Direction, Hierarchy, JurisdictionKind, TraceEntry
from basins.trace_walks import EPS, TIE_DECIMALS, TIE_GAP, DownWalk, Hit, UpWalk, Walk


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
    of travel. ``paths=False`` leaves ``TraceEntry.path`` empty (plain TraceEntry objects);
    otherwise each path is built when first read, the same tuple either way.
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
    return _by_arrival(index, kept)


def _by_arrival(index: NetworkIndex, hits: list[Hit]) -> list[Hit]:
    """Sort by (time to the microsecond, distance to the millimetre, id).

    ``round`` is slow, so sort by raw time first (rounding keeps that order) and apply the full
    key only within clusters of hits less than two microseconds apart, the only ones whose
    rounded times can tie.
    """
    hits.sort(key=_SECONDS)
    out: list[Hit] = []
    start = 0
    for k in range(1, len(hits) + 1):
        if k < len(hits) and hits[k].seconds - hits[k - 1].seconds < TIE_GAP:
            continue
        if k - start > 1:
            out.extend(sorted(hits[start:k], key=lambda h: _tie_key(index, h)))
        else:
            out.append(hits[start])
        start = k
    return out


_SECONDS = operator.attrgetter("seconds")


def _tie_key(index: NetworkIndex, hit: Hit) -> tuple[float, float, str]:
    return (
        round(hit.seconds, TIE_DECIMALS),
        round(hit.metres, 3),
        index.jurisdiction_ids[hit.jurisdiction],
    )


_Facts = tuple[str, str, JurisdictionKind, str | None, str | None]  # id, name, kind, pref, prov

#: What an entry shows of each jurisdiction, by its code in an index, per (hierarchy, the
#: index's list of jurisdiction ids) pair (the last few seen). Both are immutable, so the
#: answers can be kept; identity is checked on every use. The list, not the index, is kept:
#: an index can be large.
_FACTS: dict[tuple[int, int], tuple[Hierarchy, list[str], list[_Facts | None]]] = {}


def _facts_of(hierarchy: Hierarchy, index: NetworkIndex) -> list[_Facts | None]:
    codes = index.jurisdiction_ids
    key = (id(hierarchy), id(codes))
    cached = _FACTS.get(key)
    if cached is not None and cached[0] is hierarchy and cached[1] is codes:
        return cached[2]
    if len(_FACTS) >= 8:
        _FACTS.clear()
    table: list[_Facts | None] = [None] * len(codes)
    _FACTS[key] = (hierarchy, codes, table)
    return table


def _interned(unit: str | None) -> str | None:
    return None if unit is None else sys.intern(str(unit))


class _Dresser:
    """Turns hits into TraceEntry objects: names, kinds, prefecture and province flags, paths."""

    def __init__(
        self, index: NetworkIndex, hierarchy: Hierarchy, *, walker: Walk, paths: bool
    ) -> None:
        self.index, self.hierarchy, self.walker, self.paths = index, hierarchy, walker, paths
        self.table = _facts_of(hierarchy, index)
        _, _, _, self.prefecture, self.province = self.facts(walker.home)

    def facts(self, code: int) -> _Facts:
        found = self.table[code]
        if found is None:
            jid = self.index.jurisdiction_ids[code]
            known = self.hierarchy.jurisdictions.get(jid)
            if known is None:  # unknown: shown by its id, never "another prefecture/province"
                found = (jid, jid, JurisdictionKind.COUNTY, None, None)
            else:
                found = (
                    jid,
                    known.name,
                    known.kind,
                    _interned(self.hierarchy.prefecture_of(jid)),
                    _interned(self.hierarchy.province_of(jid)),
                )
            self.table[code] = found
        return found

    def entry(self, hit: Hit, adjacent: bool) -> TraceEntry:
        """The entry for one hit. Its slots are filled directly: the frozen dataclass
        ``__init__`` costs half again as much, a visible share of a trace entering many
        jurisdictions (and RoutedEntry's ``path`` is a property, slower still to set)."""
        jid, name, kind, prefecture, province = self.facts(hit.jurisdiction)
        entry = object.__new__(RoutedEntry if self.paths else TraceEntry)
        _put_jurisdiction_id(entry, jid)
        _put_name(entry, name)
        _put_kind(entry, kind)
        _put_first_reach(entry, self.index.reach_ids[hit.reach])
        _put_distance_km(entry, hit.metres / 1000.0)
        _put_eta_hours(entry, hit.seconds / 3600.0)
        _put_eta_estimated(entry, hit.estimated)
        _put_adjacent(entry, adjacent)
        _put_boundary(entry, hit.boundary)
        # interned ids: the same unit is the same object, so identity says it
        _put_other_prefecture(
            entry,
            prefecture is not None
            and self.prefecture is not None
            and prefecture is not self.prefecture,
        )
        _put_other_province(
            entry,
            province is not None and self.province is not None and province is not self.province,
        )
        if self.paths:
            _PATH.__set__(entry, None)  # not read yet
            _WALKER.__set__(entry, self.walker)
            _REACH.__set__(entry, hit.reach)
        else:
            _PATH.__set__(entry, ())
        return entry


_FIELDS = tuple(f.name for f in dataclasses.fields(TraceEntry))
if _FIELDS[-1] != "path" or len(_FIELDS) != 12:  # pragma: no cover - the setters below
    raise ImportError(f"TraceEntry fields changed, update basins.trace: {_FIELDS}")
(
    _put_jurisdiction_id,
    _put_name,
    _put_kind,
    _put_first_reach,
    _put_distance_km,
    _put_eta_hours,
    _put_eta_estimated,
    _put_adjacent,
    _put_boundary,
    _put_other_prefecture,
    _put_other_province,
) = (TraceEntry.__dict__[name].__set__ for name in _FIELDS[:-1])
_PATH: Any = TraceEntry.__dict__["path"]  # the slot itself, under RoutedEntry's property
_as_tuple = operator.attrgetter(*_FIELDS)


class RoutedEntry(TraceEntry):
    """A TraceEntry whose ``path`` is spelled out from the walk when first read, then kept.

    The walk already knows every path (predecessors, slices of the primary tree's preorder),
    but writing each one out as a tuple of reach ids costs a copy per reach per entry: on a
    long river, several times the rest of the trace, while most callers read few paths or none.
    Reading ``path`` gives exactly the tuple an eager trace gives. It compares and hashes equal
    to a plain TraceEntry with the same fields; ``dataclasses.replace`` and pickling work too.
    """

    __slots__ = ("_reach", "_walker")

    @property
    def path(self) -> tuple[str, ...]:
        known: tuple[str, ...] | None = _PATH.__get__(self)
        if known is not None:
            return known
        built: tuple[str, ...] = _WALKER.__get__(self).path(_REACH.__get__(self))
        _PATH.__set__(self, built)
        return built

    @path.setter
    def path(self, value: tuple[str, ...]) -> None:  # dataclass __init__ and __setstate__
        _PATH.__set__(self, value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TraceEntry):
            return bool(_as_tuple(self) == _as_tuple(other))
        return NotImplemented

    __hash__ = TraceEntry.__hash__

    def __repr__(self) -> str:
        return "TraceEntry" + TraceEntry.__repr__(self).removeprefix(type(self).__qualname__)


_WALKER: Any = RoutedEntry.__dict__["_walker"]
_REACH: Any = RoutedEntry.__dict__["_reach"]

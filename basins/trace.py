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
:func:`_upstream_candidates`.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from basins.index import FloatArray, IntArray, NetworkIndex, gather, hops_of
from basins.model import (
    Direction,
    Hierarchy,
    JurisdictionKind,
    TraceEntry,
)

_EPS = 1e-9
#: Arrival times equal to a microsecond count as a tie (sums along different routes round
#: differently); in a tie the administering jurisdiction wins over an other bank.
_TIE_DECIMALS = 6


class UnknownReachError(KeyError):
    """A reach id that the network does not contain."""

    def __init__(self, reach_id: str) -> None:
        super().__init__(reach_id)
        self.reach_id = reach_id

    def __str__(self) -> str:
        return f"未知河段编号 unknown reach id: {self.reach_id!r}"


@dataclass(frozen=True, slots=True)
class _Hit:
    """Earliest arrival at one jurisdiction, before it is dressed as a TraceEntry."""

    jurisdiction: int
    seconds: float
    metres: float
    reach: int
    boundary: bool
    estimated: bool


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
        walker: _Walk = _DownWalk(index, origin, origin_offset_m)
    else:
        walker = _UpWalk(index, origin, origin_offset_m)
    hits = walker.run(np.inf if keep_adjacent else limit_s, np.inf if keep_adjacent else limit_m)
    adjacent = walker.adjacent()
    kept = [
        hit
        for hit in hits
        if (hit.seconds <= limit_s + _EPS and hit.metres <= limit_m + _EPS)
        or (keep_adjacent and hit.jurisdiction in adjacent)
    ]
    kept.sort(
        key=lambda h: (
            round(max(h.seconds, 0.0), _TIE_DECIMALS),
            round(max(h.metres, 0.0), 3),
            index.jurisdiction_ids[h.jurisdiction],
        )
    )
    home = _Levels(hierarchy, index.jurisdiction_ids[walker.home])
    return [
        _entry(
            index,
            hit=hit,
            home=home,
            adjacent=hit.jurisdiction in adjacent,
            walker=walker,
            paths=paths,
        )
        for hit in kept
    ]


class _Walk:
    """Shared state of one trace; subclasses fill ``run``, ``adjacent`` and ``path``."""

    def __init__(self, index: NetworkIndex, origin: int) -> None:
        self.ix = index
        self.origin = origin
        self.home = int(index.jurisdiction[origin])

    def run(self, limit_s: float, limit_m: float) -> list[_Hit]:
        raise NotImplementedError

    def adjacent(self) -> set[int]:
        raise NotImplementedError

    def path(self, reach: int) -> tuple[str, ...]:
        raise NotImplementedError

    def entered_at(self, reach: int) -> tuple[tuple[int, bool], ...]:
        """Jurisdictions a reach brings in: its administrator, then its other banks."""
        ix = self.ix
        event = ix.events.get(reach)
        if event is not None:
            return event.entered
        return ((int(ix.jurisdiction[reach]), False), *((int(j), True) for j in ix.co_of(reach)))

    def best_hits(self, arrivals: list[tuple[float, float, int, bool]]) -> list[_Hit]:
        """Earliest arrival per jurisdiction (administering wins a tie with a boundary)."""
        best: dict[int, _Hit] = {}
        for jid in self.ix.co_of(self.origin):
            best[int(jid)] = _Hit(int(jid), 0.0, 0.0, self.origin, True, False)
        for seconds, metres, reach, est in arrivals:
            for jid, boundary in self.entered_at(reach):
                old = best.get(jid)
                if jid == self.home:
                    continue
                if old is None or _earlier(seconds, boundary, old):
                    best[jid] = _Hit(jid, seconds, metres, reach, boundary, est)
        return list(best.values())


class _DownWalk(_Walk):
    def __init__(self, index: NetworkIndex, origin: int, offset_m: float | None) -> None:
        super().__init__(index, origin)
        offset = 0.0 if offset_m is None else _clamp_offset(index, origin, offset_m)
        length = float(index.length_m[origin])
        share = offset / length if length > 0 else 0.0
        self.start = (
            share * float(index.time_s[origin]),
            offset,
            bool(offset > 0 and index.estimated[origin]),
        )
        self.pred: dict[int, int] = {}
        self._paths: dict[int, tuple[str, ...]] = {origin: (index.reach_ids[origin],)}

    def _next(self, u: int) -> tuple[tuple[int, float, float, bool], ...]:
        """Event reaches after ``u`` with time, distance and estimation from u's downstream end
        to their upstream end (precomputed for events, computed for the origin)."""
        event = self.ix.events.get(u)
        if event is not None:
            return event.hops
        ix = self.ix
        tree = {
            "next_stop": ix.next_stop,
            "cum_s": ix.cum_s,
            "cum_m": ix.cum_m,
            "cum_est": ix.cum_est,
        }
        return hops_of(
            u,
            dptr=ix.down_ptr,
            didx=ix.down_idx,
            tree=tree,
            estimated=ix.estimated,
            times=ix.time_s,
            length=ix.length_m,
        )

    def run(self, limit_s: float, limit_m: float) -> list[_Hit]:
        events = self.ix.events
        settled = self.pred
        heap: list[tuple[float, float, int, int, bool]] = []
        s0, m0, e0 = self.start
        for w, ds, dm, de in self._next(self.origin):
            heap.append((s0 + ds, m0 + dm, w, self.origin, e0 or de))
        heapq.heapify(heap)
        arrivals: list[tuple[float, float, int, bool]] = []
        while heap:
            s, m, w, pred, est = heapq.heappop(heap)
            if w in settled:
                continue
            settled[w] = pred
            arrivals.append((s, m, w, est))
            if s > limit_s or m > limit_m:
                continue
            event = events[w]
            s_end, m_end = s + event.time_s, m + event.length_m
            e_end = est or event.estimated
            for nxt, ds, dm, de in event.hops:
                if nxt not in settled:
                    heapq.heappush(heap, (s_end + ds, m_end + dm, nxt, w, e_end or de))
        return self.best_hits(arrivals)

    def adjacent(self) -> set[int]:
        found = {int(j) for j in self.ix.co_of(self.origin)}
        stack, seen = [self.origin], {self.origin}
        while stack:
            for w, _, _, _ in self._next(stack.pop()):
                entered = self.entered_at(w)
                found.update(j for j, _ in entered)
                if entered[0][0] == self.home and w not in seen:
                    seen.add(w)
                    stack.append(w)
        return found

    def path(self, reach: int) -> tuple[str, ...]:
        done = self._paths.get(reach)
        if done is not None:
            return done
        pred = self.pred[reach]
        head = self.path(pred)
        ix = self.ix
        if ix.down_ptr[pred + 1] - ix.down_ptr[pred] > 1:
            segment = np.array([reach], np.int64)
        else:
            segment = ix.tree_path(ix.parent_list[pred], ix.parent_list[reach])
        out = head + tuple(ix.id_objects[segment].tolist())
        self._paths[reach] = out
        return out


class _UpWalk(_Walk):
    def __init__(self, index: NetworkIndex, origin: int, offset_m: float | None) -> None:
        super().__init__(index, origin)
        length = float(index.length_m[origin])
        above = 0.0 if offset_m is None else length - _clamp_offset(index, origin, offset_m)
        share = above / length if length > 0 else 0.0
        self.extra = (
            share * float(index.time_s[origin]),
            above,
            int(above > 0 and index.estimated[origin]),
        )
        #: portal reach -> (seconds, metres, estimated count) of its base, and where it leads
        self.portals: dict[int, tuple[float, float, int]] = {}
        self.via: dict[int, int] = {}  # portal -> reach its secondary edge enters
        self.best_portal: dict[int, int] = {}  # reach -> portal it drains through
        self._paths: dict[int, tuple[str, ...]] = {}

    def _find_portals(self) -> None:
        """Bellman-Ford over the divergences whose other branch flows back towards the origin."""
        ix, x = self.ix, self.origin
        xs, xm, xe = self.extra
        self.portals = {
            x: (xs - float(ix.time_s[x]), xm - float(ix.length_m[x]), xe - int(ix.estimated[x]))
        }
        src, dst = ix.secondary_src, ix.secondary_dst
        if not len(src):
            return
        for _ in range(len(src) + 1):
            changed = False
            for k in np.flatnonzero(self._inside(dst) | (dst == x)):
                u, c = int(src[k]), int(dst[k])
                if c == x:
                    base = (xs, xm, xe)
                else:
                    p = self._portal_of(c)
                    s, m, e = self._via(c, p)
                    base = (
                        s + float(ix.time_s[c]),
                        m + float(ix.length_m[c]),
                        e + int(ix.estimated[c]),
                    )
                if u not in self.portals or base[0] < self.portals[u][0] - _EPS:
                    self.portals[u], self.via[u], changed = base, c, True
            if not changed:
                return

    def _interval(self, p: int) -> tuple[int, int]:
        lo = int(self.ix.pre[p]) + (1 if p == self.origin else 0)
        return lo, int(self.ix.post[p])

    def _inside(self, reaches: IntArray) -> np.ndarray:
        pre = self.ix.pre[reaches]
        mask = np.zeros(len(reaches), bool)
        for p in self.portals:
            lo, hi = self._interval(p)
            mask |= (pre >= lo) & (pre < hi)
        return mask

    def _via(self, v: int, p: int) -> tuple[float, float, int]:
        ix = self.ix
        s, m, e = self.portals[p]
        return (
            float(ix.cum_s[v] - ix.cum_s[p]) + s,
            float(ix.cum_m[v] - ix.cum_m[p]) + m,
            int(ix.cum_est[v] - ix.cum_est[p]) + e,
        )

    def _portal_of(self, v: int) -> int:
        """The portal through which ``v`` reaches the origin soonest."""
        pre = int(self.ix.pre[v])
        options = [p for p in self.portals if self._interval(p)[0] <= pre < self._interval(p)[1]]
        return min(options, key=lambda p: self._via(v, p)[0])

    def run(self, limit_s: float, limit_m: float) -> list[_Hit]:
        ix = self.ix
        self._find_portals()
        reaches, seconds, metres, est, portal = [], [], [], [], []
        for p, (bs, bm, be) in self.portals.items():
            lo, hi = self._interval(p)
            a, b = np.searchsorted(ix.marked_pre, [lo, hi])
            found = ix.marked[a:b]
            reaches.append(found)
            seconds.append(ix.cum_s[found] - ix.cum_s[p] + bs)
            metres.append(ix.cum_m[found] - ix.cum_m[p] + bm)
            est.append(ix.cum_est[found] - ix.cum_est[p] + be)
            portal.append(np.full(len(found), p, np.int64))
        r, s, m = np.concatenate(reaches), np.concatenate(seconds), np.concatenate(metres)
        e, pt = np.concatenate(est), np.concatenate(portal)
        if len(self.portals) > 1:
            order = np.lexsort((s, r))
            first = np.unique(r[order], return_index=True)[1]
            keep = order[first]
            r, s, m, e, pt = r[keep], s[keep], m[keep], e[keep], pt[keep]
        within = (s <= limit_s + _EPS) & (m <= limit_m + _EPS)
        r, s, m, e, pt = r[within], s[within], m[within], e[within], pt[within]
        self.best_portal.update(zip(r.tolist(), pt.tolist(), strict=True))
        return self._hits(r, s, m, e)

    def _hits(self, r: IntArray, s: FloatArray, m: FloatArray, e: IntArray) -> list[_Hit]:
        """Earliest (reach, time) per jurisdiction over administrators and other banks."""
        ix = self.ix
        co, owner = gather(ix.co_ptr, ix.co_idx, r)
        jur = np.concatenate([ix.jurisdiction[r], co])
        boundary = np.concatenate([np.zeros(len(r), bool), np.ones(len(co), bool)])
        rr, ss, mm, ee = r[owner], s[owner], m[owner], e[owner]
        rr, ss = np.concatenate([r, rr]), np.concatenate([s, ss])
        mm, ee = np.concatenate([m, mm]), np.concatenate([e, ee])
        foreign = jur != self.home
        jur, boundary, rr, ss, mm, ee = (a[foreign] for a in (jur, boundary, rr, ss, mm, ee))
        order = np.lexsort((boundary, np.round(ss, _TIE_DECIMALS)))
        first = order[np.unique(jur[order], return_index=True)[1]]
        hits = {
            int(jur[k]): _Hit(
                int(jur[k]),
                float(ss[k]),
                float(mm[k]),
                int(rr[k]),
                bool(boundary[k]),
                bool(ee[k] > 0),
            )
            for k in first
        }
        for jid in ix.co_of(self.origin):
            old = hits.get(int(jid))
            if old is None or _earlier(0.0, True, old):
                hits[int(jid)] = _Hit(int(jid), 0.0, 0.0, self.origin, True, False)
        hits.pop(self.home, None)
        return list(hits.values())

    def adjacent(self) -> set[int]:
        ix = self.ix
        found = {int(j) for j in ix.co_of(self.origin)}
        stack, seen = [self.origin], {self.origin}
        while stack:
            for u in ix.upstream_of(stack.pop()).tolist():
                found.update(j for j, _ in self.entered_at(u))
                if int(ix.jurisdiction[u]) == self.home and u not in seen:
                    seen.add(u)
                    stack.append(u)
        return found

    def path(self, reach: int) -> tuple[str, ...]:
        """Reach ids from the origin up to ``reach`` (against the flow).

        Each stretch along the primary tree is a few slices of the heavy-path order.
        """
        ix, x = self.ix, self.origin
        memo = self._paths
        if not memo:
            memo[x] = (ix.reach_ids[x],)
        if reach in memo:
            return memo[reach]
        flow: list[IntArray] = []
        known = self.best_portal.get(reach)
        v, p = reach, self._portal_of(reach) if known is None else known
        head: tuple[str, ...] | None = None
        while head is None:
            flow.append(ix.tree_path(v, p))
            if p == x:
                head = memo[x]
                break
            flow.append(np.array([p], np.int64))
            v = self.via[p]
            if v == x:
                head = memo[x]
                break
            p = self._portal_of(v)
        chain = np.concatenate(flow)[::-1] if flow else np.empty(0, np.int64)
        out = head + tuple(ix.id_objects[chain].tolist())
        memo[reach] = out
        return out


def _earlier(seconds: float, boundary: bool, old: _Hit) -> bool:
    mine, theirs = round(seconds, _TIE_DECIMALS), round(old.seconds, _TIE_DECIMALS)
    return (mine, boundary) < (theirs, old.boundary)


def _clamp_offset(index: NetworkIndex, origin: int, offset_m: float) -> float:
    if not offset_m >= 0:
        raise ValueError(f"origin_offset_m 须为非负数 must be >= 0, got {offset_m}")
    return min(float(offset_m), float(index.length_m[origin]))


#: Prefecture and province per jurisdiction, per hierarchy object (the last few seen). A
#: Hierarchy is immutable, so its answers can be kept; identity is checked on every use.
_LEVELS: dict[int, tuple[Hierarchy, dict[str, tuple[str | None, str | None]]]] = {}


def _levels_of(hierarchy: Hierarchy) -> dict[str, tuple[str | None, str | None]]:
    cached = _LEVELS.get(id(hierarchy))
    if cached is not None and cached[0] is hierarchy:
        return cached[1]
    if len(_LEVELS) >= 8:
        _LEVELS.clear()
    table: dict[str, tuple[str | None, str | None]] = {}
    _LEVELS[id(hierarchy)] = (hierarchy, table)
    return table


class _Levels:
    """Prefecture and province of the origin's jurisdiction, compared with each entry's."""

    def __init__(self, hierarchy: Hierarchy, home: str) -> None:
        self.hierarchy = hierarchy
        self.table = _levels_of(hierarchy)
        self.prefecture, self.province = self.levels(home)

    def levels(self, jid: str) -> tuple[str | None, str | None]:
        found = self.table.get(jid)
        if found is None:
            if jid in self.hierarchy.jurisdictions:
                found = (self.hierarchy.prefecture_of(jid), self.hierarchy.province_of(jid))
            else:
                found = (None, None)
            self.table[jid] = found
        return found

    def differs(self, jid: str) -> tuple[bool, bool]:
        """(other prefecture, other province); unknown on either side counts as the same."""
        prefecture, province = self.levels(jid)
        return (
            None not in (prefecture, self.prefecture) and prefecture != self.prefecture,
            None not in (province, self.province) and province != self.province,
        )


def _entry(
    index: NetworkIndex,
    *,
    hit: _Hit,
    home: _Levels,
    adjacent: bool,
    walker: _Walk,
    paths: bool,
) -> TraceEntry:
    jid = index.jurisdiction_ids[hit.jurisdiction]
    known = home.hierarchy.jurisdictions.get(jid)
    other_prefecture, other_province = home.differs(jid)
    return TraceEntry(
        jurisdiction_id=jid,
        name=known.name if known else jid,
        kind=known.kind if known else JurisdictionKind.COUNTY,
        first_reach=index.reach_ids[hit.reach],
        distance_km=max(hit.metres, 0.0) / 1000.0,  # sums along the tree can round to -1e-12
        eta_hours=max(hit.seconds, 0.0) / 3600.0,
        eta_estimated=hit.estimated,
        adjacent=adjacent,
        boundary=hit.boundary,
        other_prefecture=other_prefecture,
        other_province=other_province,
        path=walker.path(hit.reach) if paths else (),
    )

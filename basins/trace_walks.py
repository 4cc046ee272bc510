"""The two walks behind :func:`basins.trace.trace`.

Downstream: Dijkstra over *event* reaches (where a jurisdiction, a boundary or a divergence
begins), jumping between them along the primary tree. Upstream: whole preorder intervals of the
primary tree at once, with the few divergences whose other branch flows back towards the origin
handled as extra entry points ("portals", settled by Bellman-Ford).
"""

from __future__ import annotations

import heapq
from typing import NamedTuple

import numpy as np

from basins.index import FloatArray, IntArray, NetworkIndex, gather
from basins.index_build import BANKS, EST, EVENT_ROW, FORK, HOP_EST, hops_of

EPS = 1e-9
#: A downstream heap entry: seconds, metres, event id, predecessor reach, estimated, on the
#: primary tree (event ids follow reach order, so ties break as by reach).
_Item = tuple[float, float, int, int, bool, bool]
#: An arrival: seconds, metres, reach, estimated, administering jurisdiction, has other banks.
Arrival = tuple[float, float, int, bool, int, int]
#: Arrival times equal to a microsecond count as a tie (sums along different routes round
#: differently); in a tie the administering jurisdiction wins over an other bank.
TIE_DECIMALS = 6
#: Times whose rounding to the microsecond can tie lie closer than this.
TIE_GAP = 2 * 10.0**-TIE_DECIMALS


class Hit(NamedTuple):
    """Earliest arrival at one jurisdiction, before it is dressed as a TraceEntry (a named
    tuple: a trace makes one per jurisdiction entered, and a frozen dataclass costs 3x more).
    Times and distances are clamped at 0: sums along the tree can round to -1e-12."""

    jurisdiction: int
    seconds: float
    metres: float
    reach: int
    boundary: bool
    estimated: bool


class Walk:
    """Shared state of one trace; subclasses fill ``run``, ``adjacent`` and ``path``."""

    def __init__(self, index: NetworkIndex, origin: int) -> None:
        self.ix = index
        self.origin = origin
        self.home = int(index.jurisdiction[origin])

    def run(self, limit_s: float, limit_m: float) -> list[Hit]:
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

    def best_hits(self, arrivals: list[Arrival]) -> list[Hit]:
        """Earliest arrival per jurisdiction (administering wins a tie with a boundary).

        ``arrivals`` come by time, so a later one replaces the best only in a tie (same time
        to the microsecond) that it wins as administrator; ``round`` is costly, so it is only
        called for the few candidates that could win.
        """
        home, events = self.home, self.ix.events
        at: dict[int, int] = {}  # jurisdiction -> index of its best arrival (-1: the origin)
        bank: dict[int, bool] = {}  # jurisdiction -> met as an other bank there
        for jid in self.ix.co_of(self.origin).tolist():
            at[jid], bank[jid] = -1, True
        for k, (seconds, _, reach, _, admin, banks) in enumerate(arrivals):
            entered = events[reach].entered if banks else ((admin, False),)
            for jid, boundary in entered:
                if jid == home:
                    continue
                old = at.get(jid)
                if old is None or _wins(
                    seconds, boundary, arrivals[old][0] if old >= 0 else 0.0, bank[jid]
                ):
                    at[jid], bank[jid] = k, boundary
        origin = (0.0, 0.0, self.origin, False, self.home, 0)
        hits = []
        for jid, k in at.items():
            s, m, r, e, _, _ = arrivals[k] if k >= 0 else origin
            hits.append(Hit(jid, s if s > 0.0 else 0.0, m if m > 0.0 else 0.0, r, bank[jid], e))
        return hits


class DownWalk(Walk):
    def __init__(self, index: NetworkIndex, origin: int, offset_m: float | None) -> None:
        super().__init__(index, origin)
        offset = 0.0 if offset_m is None else clamp_offset(index, origin, offset_m)
        length = float(index.length_m[origin])
        share = offset / length if length > 0 else 0.0
        self.start = (
            share * float(index.time_s[origin]),
            offset,
            bool(offset > 0 and index.estimated[origin]),
        )
        self.pred: dict[int, int] = {}
        self._paths: dict[int, tuple[str, ...]] = {origin: (index.reach_ids[origin],)}
        self._primary: dict[int, bool] = {}
        self._chain: tuple[str, ...] | None = None
        self._depth = 0  # the origin's, once the chain is built

    def _next(self, u: int) -> tuple[tuple[int, float, float, bool], ...]:
        """Event reaches after ``u`` with time, distance and estimation from u's downstream end
        to their upstream end (precomputed for events, computed for the origin)."""
        event = self.ix.events.get(u)
        if event is not None:
            return event.hops
        ix = self.ix
        tree = {name: getattr(ix, name) for name in ("next_stop", "cum_s", "cum_m", "cum_est")}
        return hops_of(
            u,
            dptr=ix.down_ptr,
            didx=ix.down_idx,
            tree=tree,
            estimated=ix.estimated,
            times=ix.time_s,
            length=ix.length_m,
        )

    def run(self, limit_s: float, limit_m: float) -> list[Hit]:
        """Dijkstra over event reaches, read from ``event_rows`` (one cache line each). Most
        events have one hop: when that hop would be the next one popped anyway, it is followed
        at once instead of through the heap."""
        ix = self.ix
        rows, ids, parent = ix.event_rows, ix.event_id, ix.parent_list
        unpack, size = EVENT_ROW.unpack_from, EVENT_ROW.size
        settled, primary = self.pred, self._primary
        heap: list[_Item] = []
        s0, m0, e0 = self.start
        hops = self._next(self.origin)
        for w, ds, dm, de in hops:
            on_tree = len(hops) == 1 or w == parent[self.origin]
            heap.append((s0 + ds, m0 + dm, ids[w], self.origin, e0 or de, on_tree))
        heapq.heapify(heap)
        arrivals: list[Arrival] = []
        push, pop = heapq.heappush, heapq.heappop
        while heap:
            item: _Item | None = pop(heap)
            while item is not None:
                s, m, k, pred, est, on_tree = item
                item = None
                t, length, ds, dm, flags, nxt, w, admin = unpack(rows, size * k)
                if w in settled:
                    break
                settled[w] = pred
                primary[w] = on_tree  # every hop so far followed the primary tree
                arrivals.append((s, m, w, est, admin, flags & BANKS))
                if s > limit_s or m > limit_m:
                    break
                s_end, m_end, e_end = s + t, m + length, est or flags & EST > 0
                if not flags & FORK:
                    if nxt >= 0:
                        e_hop = e_end or flags & HOP_EST > 0
                        follow = (s_end + ds, m_end + dm, nxt, w, e_hop, on_tree)
                        if heap and heap[0] < follow:
                            push(heap, follow)
                        else:
                            item = follow
                    continue
                for after, ds, dm, de in ix.events[w].hops:
                    tree_hop = on_tree and after == parent[w]
                    push(heap, (s_end + ds, m_end + dm, ids[after], w, e_end or de, tree_hop))
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
        """Reach ids from the origin to ``reach``.

        When the earliest route stays on the origin's primary path (always, unless it took the
        other branch of a divergence) the path is a prefix of that one path, built once.
        ``run`` records which routes did.
        """
        if reach == self.origin or self._primary[reach]:
            if self._chain is None:
                ix = self.ix
                self._chain = tuple(ix.id_objects[ix.tree_path(self.origin, -1)].tolist())
                self._depth = int(ix.depth[self.origin])
            steps = self._depth - int(self.ix.depth[reach])
            return self._chain[: steps + 1]
        return self._branch_path(reach)

    def _branch_path(self, reach: int) -> tuple[str, ...]:
        """Path over a divergence's other branch: event by event, each hop's stretch added."""
        ix, paths = self.ix, self._paths
        todo: list[int] = []
        v = reach
        while v not in paths:
            todo.append(v)
            v = self.pred[v]
        for v in reversed(todo):
            u = self.pred[v]
            if ix.down_ptr[u + 1] - ix.down_ptr[u] > 1:
                segment = np.array([v], np.int64)
            else:
                segment = ix.tree_path(ix.parent_list[u], ix.parent_list[v])
            paths[v] = paths[u] + tuple(ix.id_objects[segment].tolist())
        return paths[reach]


class UpWalk(Walk):
    def __init__(self, index: NetworkIndex, origin: int, offset_m: float | None) -> None:
        super().__init__(index, origin)
        length = float(index.length_m[origin])
        above = 0.0 if offset_m is None else length - clamp_offset(index, origin, offset_m)
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
                if u not in self.portals or base[0] < self.portals[u][0] - EPS:
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

    def run(self, limit_s: float, limit_m: float) -> list[Hit]:
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
        within = (s <= limit_s + EPS) & (m <= limit_m + EPS)
        r, s, m, e, pt = r[within], s[within], m[within], e[within], pt[within]
        self.best_portal.update(zip(r.tolist(), pt.tolist(), strict=True))
        return self._hits(r, s, m, e)

    def _hits(self, r: IntArray, s: FloatArray, m: FloatArray, e: IntArray) -> list[Hit]:
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
        order = np.lexsort((boundary, np.round(ss, TIE_DECIMALS)))
        first = order[np.unique(jur[order], return_index=True)[1]]
        hits = {
            int(jur[k]): Hit(
                int(jur[k]),
                max(float(ss[k]), 0.0),
                max(float(mm[k]), 0.0),
                int(rr[k]),
                bool(boundary[k]),
                bool(ee[k] > 0),
            )
            for k in first
        }
        for jid in ix.co_of(self.origin):
            old = hits.get(int(jid))
            if old is None or _earlier(0.0, True, old):
                hits[int(jid)] = Hit(int(jid), 0.0, 0.0, self.origin, True, False)
        hits.pop(self.home, None)
        return list(hits.values())

    def adjacent(self) -> set[int]:
        """Jurisdictions met before any foreign one on some path up from the origin.

        Without divergences flowing back (one portal) a reach qualifies when no jurisdiction
        exit lies strictly between it and the origin: one vectorized test over the marked
        reaches of the origin's interval. Otherwise a walk through the home jurisdiction.
        """
        ix = self.ix
        found = {int(j) for j in ix.co_of(self.origin)}
        if len(self.portals) == 1:
            lo, hi = self._interval(self.origin)
            a, b = np.searchsorted(ix.marked_pre, [lo, hi])
            marked = ix.marked[a:b]
            above = ix.exit_anc[marked]
            inside = (above >= 0) & (ix.pre[np.maximum(above, 0)] >= lo)
            inside &= ix.pre[np.maximum(above, 0)] < hi
            first = marked[~inside]
            co, _ = gather(ix.co_ptr, ix.co_idx, first)
            found.update(ix.jurisdiction[first].tolist(), co.tolist())
            found.discard(self.home)
            return found
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


def _wins(seconds: float, boundary: bool, before: float, was_boundary: bool) -> bool:
    """Whether a later arrival beats the best so far: earlier to the microsecond, or as early
    and administering where the best was an other bank. ``round`` is slow and seldom needed."""
    if seconds >= before and not (was_boundary > boundary and seconds - before < TIE_GAP):
        return False
    return (round(seconds, TIE_DECIMALS), boundary) < (round(before, TIE_DECIMALS), was_boundary)


def _earlier(seconds: float, boundary: bool, old: Hit) -> bool:
    mine, theirs = round(seconds, TIE_DECIMALS), round(old.seconds, TIE_DECIMALS)
    return (mine, boundary) < (theirs, old.boundary)


def clamp_offset(index: NetworkIndex, origin: int, offset_m: float) -> float:
    if not offset_m >= 0:
        raise ValueError(f"origin_offset_m 须为非负数 must be >= 0, got {offset_m}")
    return min(float(offset_m), float(index.length_m[origin]))

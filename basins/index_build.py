"""Building the arrays of :class:`basins.index.NetworkIndex`: CSR helpers, validation, the
primary tree (levels, cumulative sums, heavy-path preorder, next stops) and the event table.

Everything is vectorized one tree level at a time; see :mod:`basins.index` for what each
array is for.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class IndexBuildError(ValueError):
    """The arrays do not describe a valid network; ``problems`` lists every fault found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "河网索引无法建立 cannot build the network index:\n  " + "\n  ".join(problems)
        )


def gather(ptr: IntArray, idx: IntArray, nodes: IntArray) -> tuple[IntArray, IntArray]:
    """Neighbours of ``nodes`` in CSR order, and for each the position of its owner in nodes."""
    starts = ptr[nodes]
    counts = ptr[nodes + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return idx[shift + np.arange(total)], np.repeat(np.arange(len(nodes)), counts)


def transpose(ptr: IntArray, idx: IntArray, n: int) -> tuple[IntArray, IntArray]:
    """Reverse every edge of a CSR adjacency (downstream lists -> upstream lists)."""
    sources = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    order = np.argsort(idx, kind="stable")
    new_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(idx, minlength=n), out=new_ptr[1:])
    return new_ptr, sources[order]


def csr_from_lists(lists: Sequence[Sequence[int]]) -> tuple[IntArray, IntArray]:
    counts = np.fromiter((len(x) for x in lists), np.int64, len(lists))
    ptr = np.zeros(len(lists) + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    flat = np.fromiter((v for x in lists for v in x), np.int64, int(ptr[-1]))
    return ptr, flat


class Event(NamedTuple):
    """A reach where a downstream walk can stop, as plain Python values for the hot loop.

    ``hops`` lead to the next events: (reach, seconds, metres, any estimated reach in between)
    from this reach's downstream end to the next one's upstream end.
    """

    time_s: float
    length_m: float
    estimated: bool
    entered: tuple[tuple[int, bool], ...]  # (jurisdiction, as other bank) brought in here
    hops: tuple[tuple[int, float, float, bool], ...]


def validate_arrays(
    n: int,
    *,
    ids: list[str],
    position: dict[str, int],
    dptr: IntArray,
    didx: IntArray,
    length: FloatArray,
    jur: IntArray,
    n_jur: int,
    cptr: IntArray,
    cidx: IntArray,
) -> None:
    """Collect every structural fault and raise once."""
    problems: list[str] = []
    if len(position) != n:
        problems.append(f"重复的河段编号 duplicate reach ids: {n - len(position)} repeated")
    if len(dptr) != n + 1 or (n and (dptr[0] != 0 or dptr[-1] != len(didx))):
        problems.append("下游列表格式错误 downstream CSR pointer does not match the reaches")
    elif np.any(np.diff(dptr) < 0):
        problems.append("下游列表格式错误 downstream CSR pointer decreases")
    if len(didx) and (didx.min() < 0 or didx.max() >= n):
        problems.append("下游河段超出范围 downstream position out of range")
    elif len(dptr) == n + 1 and len(didx):
        owners = np.repeat(np.arange(n), np.diff(dptr))
        loops = np.flatnonzero(owners == didx)
        if len(loops):
            problems.append(f"河段流向自身 reach flows into itself: {ids[owners[loops[0]]]}")
    if len(length) != n or not np.all(np.isfinite(length)) or np.any(length < 0):
        problems.append("河段长度须为非负有限数 length_m must be finite and >= 0 for every reach")
    if len(jur) != n or (n and (jur.min() < 0 or jur.max() >= n_jur)):
        problems.append("管辖单位编码超出范围 jurisdiction code out of range")
    if len(cptr) != n + 1 or (len(cidx) and (cidx.min() < 0 or cidx.max() >= n_jur)):
        problems.append("对岸管辖单位格式错误 co-jurisdiction CSR malformed or out of range")
    if problems:
        raise IndexBuildError(problems)


def check_acyclic(
    n: int, *, dptr: IntArray, didx: IntArray, uptr: IntArray, uidx: IntArray, ids: list[str]
) -> None:
    """Kahn's algorithm, one vectorized step per topological level."""
    indegree = np.diff(uptr).copy()
    frontier = np.flatnonzero(indegree == 0)
    done = 0
    while len(frontier):
        done += len(frontier)
        children, _ = gather(dptr, didx, frontier)
        if not len(children):
            break
        hit, counts = np.unique(children, return_counts=True)
        indegree[hit] -= counts
        frontier = hit[indegree[hit] == 0]
    if done < n:
        stuck = np.flatnonzero(indegree > 0)[:5]
        names = ", ".join(ids[i] for i in stuck)
        raise IndexBuildError([f"河网存在环路 the network has a cycle through: {names}"])


def _tree_levels(
    n: int, parent: IntArray
) -> tuple[list[IntArray], list[IntArray], IntArray, IntArray]:
    """Breadth-first levels of the primary forest; per level the index of each one's first
    sibling (children of one parent are contiguous), plus the child CSR."""
    has_parent = parent >= 0
    cptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(parent[has_parent], minlength=n), out=cptr[1:])
    cidx = np.flatnonzero(has_parent)[np.argsort(parent[has_parent], kind="stable")]
    frontier = np.flatnonzero(~has_parent)
    levels = [frontier]
    firsts = [np.zeros(len(frontier), np.int64)]
    while True:
        children, owner = gather(cptr, cidx, frontier)
        if not len(children):
            break
        starts = np.searchsorted(owner, owner, side="left")
        levels.append(children)
        firsts.append(starts)
        frontier = children
    return levels, firsts, cptr, cidx


def _cumulative(
    levels: list[IntArray],
    parent: IntArray,
    *,
    columns: tuple[FloatArray, FloatArray, BoolArray],
    jur: IntArray,
    special: BoolArray,
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, IntArray]:
    """Distance, time and estimated-reach count from each reach's downstream end to its outlet,
    the next stop down the primary path, and the nearest jurisdiction exit below each reach."""
    length, times, estimated = columns
    n = len(parent)
    cum_m, cum_s = np.zeros(n), np.zeros(n)
    cum_est = np.zeros(n, np.int64)
    next_stop = np.full(n, -1, np.int64)
    exit_anc = np.full(n, -1, np.int64)
    is_exit = (parent >= 0) & (jur[np.maximum(parent, 0)] != jur)
    for level in levels[1:]:
        p = parent[level]
        exit_anc[level] = np.where(is_exit[p], p, exit_anc[p])
        cum_m[level] = cum_m[p] + length[p]
        cum_s[level] = cum_s[p] + times[p]
        cum_est[level] = cum_est[p] + estimated[p]
        stop_here = special[p] | (jur[p] != jur[level])
        next_stop[level] = np.where(stop_here, p, next_stop[p])
    return cum_m, cum_s, cum_est, next_stop, exit_anc


def _preorder(
    levels: list[IntArray], firsts: list[IntArray], parent: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Heavy-first DFS preorder: (pre, subtree size, heavy-path head, reach at each position)."""
    n = len(parent)
    size = np.ones(n, np.int64)
    for level in reversed(levels[1:]):
        np.add.at(size, parent[level], size[level])
    pre = np.zeros(n, np.int64)
    roots = levels[0]
    pre[roots] = np.cumsum(size[roots]) - size[roots]
    head = np.arange(n, dtype=np.int64)
    for level, first in zip(levels[1:], firsts[1:], strict=True):
        ranked = level[np.lexsort((-size[level], first))]  # heaviest sibling first
        before = np.cumsum(size[ranked]) - size[ranked]
        pre[ranked] = pre[parent[ranked]] + 1 + before - before[first]
        heavy = pre[ranked] == pre[parent[ranked]] + 1
        head[ranked] = np.where(heavy, head[parent[ranked]], ranked)
    order = np.empty(n, np.int64)
    order[pre] = np.arange(n, dtype=np.int64)
    return pre, size, head, order


def primary_tree(
    n: int,
    *,
    dptr: IntArray,
    didx: IntArray,
    length: FloatArray,
    times: FloatArray,
    estimated: BoolArray,
    jur: IntArray,
    cptr: IntArray,
) -> dict[str, Any]:
    """Every array of the primary tree (first downstream link = tree parent)."""
    ndown = np.diff(dptr)
    parent = np.full(n, -1, np.int64)
    parent[ndown > 0] = didx[dptr[:-1][ndown > 0]]
    levels, firsts, _, _ = _tree_levels(n, parent)
    special = (ndown > 1) | (np.diff(cptr) > 0)
    cum_m, cum_s, cum_est, next_stop, exit_anc = _cumulative(
        levels, parent, columns=(length, times, estimated), jur=jur, special=special
    )
    pre, size, head, order = _preorder(levels, firsts, parent)
    depth = np.zeros(n, np.int64)
    for d, level in enumerate(levels):
        depth[level] = d
    exits = (parent >= 0) & (jur[np.maximum(parent, 0)] != jur)
    marked = np.flatnonzero(exits | special)
    marked = marked[np.argsort(pre[marked])]
    owners = np.repeat(np.arange(n, dtype=np.int64), np.maximum(ndown - 1, 0))
    secondary = np.ones(len(didx), bool)
    secondary[dptr[:-1][ndown > 0]] = False
    return {
        "parent": parent,
        "parent_list": parent.tolist(),
        "cum_m": cum_m,
        "cum_s": cum_s,
        "cum_est": cum_est,
        "pre": pre,
        "post": pre + size,
        "head": head,
        "depth": depth,
        "order": order,
        "next_stop": next_stop,
        "exit_anc": exit_anc,
        "marked_pre": pre[marked],
        "marked": marked,
        "secondary_src": owners,
        "secondary_dst": didx[secondary],
    }


def hops_of(
    u: int,
    *,
    dptr: IntArray,
    didx: IntArray,
    tree: dict[str, Any],
    estimated: BoolArray,
    times: FloatArray,
    length: FloatArray,
) -> tuple[tuple[int, float, float, bool], ...]:
    """The next events after reach ``u`` (see :class:`Event`)."""
    lo, hi = int(dptr[u]), int(dptr[u + 1])
    if hi - lo > 1:
        return tuple((int(c), 0.0, 0.0, False) for c in didx[lo:hi])
    w = int(tree["next_stop"][u])
    if hi == lo or w < 0:
        return ()
    cum_s, cum_m, cum_est = tree["cum_s"], tree["cum_m"], tree["cum_est"]
    return (
        (
            w,
            float(cum_s[u] - cum_s[w] - times[w]),
            float(cum_m[u] - cum_m[w] - length[w]),
            bool(cum_est[u] - cum_est[w] - estimated[w] > 0),
        ),
    )


#: One event row of ``NetworkIndex.event_rows``, 64 bytes (one cache line): the reach's time
#: and length, the hop to the next event (seconds, metres); flags, the next event's id (-1:
#: none), the reach, its administering jurisdiction.
EVENT_ROW = struct.Struct("<4d4q")
#: Flags: the reach is estimated; some reach between it and the next event is; it has other
#: banks; it divides (its hops are in ``events``).
EST, HOP_EST, BANKS, FORK = 1, 2, 4, 8


def events_table(
    *,
    dptr: IntArray,
    didx: IntArray,
    tree: dict[str, Any],
    times: FloatArray,
    length: FloatArray,
    estimated: BoolArray,
    jur: IntArray,
    cptr: IntArray,
    cidx: IntArray,
) -> tuple[dict[int, Event], dict[int, int], memoryview]:
    """Events: every reach a next_stop points at and every branch of a divergence, as Event
    tuples by reach, and as ids (in reach order) into rows of plain floats: a walk after some
    other process has flushed the caches then reads one cache line per event, not a dozen
    scattered Python objects (several times faster, see basins/trace_walks.py)."""
    next_stop = tree["next_stop"]
    diverging = np.flatnonzero(np.diff(dptr) > 1)
    branches, _ = gather(dptr, didx, diverging)
    reaches = np.unique(np.concatenate([next_stop[next_stop >= 0], branches]))
    keys = reaches.tolist()
    # one int object per value and one tuple per lone administrator: fewer distinct objects
    same: dict[int, int] = {u: u for u in keys}
    ids = {u: k for k, u in enumerate(keys)}
    alone: dict[int, tuple[tuple[int, bool], ...]] = {}
    out: dict[int, Event] = {}
    table = _aligned_bytes(EVENT_ROW.size * len(keys))
    rows = table.data
    for u, code, count in zip(
        keys, jur[reaches].tolist(), np.diff(cptr)[reaches].tolist(), strict=True
    ):
        admin = same.setdefault(code, code)
        if count:
            banks = (same.setdefault(j, j) for j in cidx[cptr[u] : cptr[u + 1]].tolist())
            entered = ((admin, False), *((j, True) for j in banks))
        else:
            entered = alone.setdefault(admin, ((admin, False),))
        hops = tuple(
            (same.get(w, w), ds, dm, de)
            for w, ds, dm, de in hops_of(
                u, dptr=dptr, didx=didx, tree=tree, estimated=estimated, times=times, length=length
            )
        )
        event = Event(float(times[u]), float(length[u]), bool(estimated[u]), entered, hops)
        out[u] = event
        EVENT_ROW.pack_into(rows, EVENT_ROW.size * ids[u], *_row(event, u, ids))
    table.flags.writeable = False
    return out, ids, table.data


def _aligned_bytes(size: int) -> npt.NDArray[np.uint8]:
    """Zeroed bytes starting on a 64-byte boundary, so that no row straddles two lines."""
    raw = np.zeros(size + 64, np.uint8)
    start = -raw.ctypes.data % 64
    return raw[start : start + size]


def _row(event: Event, reach: int, ids: dict[int, int]) -> tuple[float | int, ...]:
    flags = EST * event.estimated + BANKS * (len(event.entered) > 1)
    if len(event.hops) == 1:
        w, ds, dm, de = event.hops[0]
        nxt, flags = ids[w], flags + HOP_EST * de
    else:
        ds, dm, nxt = 0.0, 0.0, -1
        flags += FORK * (len(event.hops) > 1)
    return (event.time_s, event.length_m, ds, dm, flags, nxt, reach, event.entered[0][0])


def assemble(
    ids: list[str],
    *,
    dptr: IntArray,
    didx: IntArray,
    length: FloatArray,
    times: FloatArray,
    measured: BoolArray,
    jur: IntArray,
    cptr: IntArray,
    cidx: IntArray,
) -> dict[str, Any]:
    """All derived arrays of an index, after its inputs were validated."""
    n = len(ids)
    uptr, uidx = transpose(dptr, didx, n)
    check_acyclic(n, dptr=dptr, didx=didx, uptr=uptr, uidx=uidx, ids=ids)
    estimated = ~measured
    tree = primary_tree(
        n,
        dptr=dptr,
        didx=didx,
        length=length,
        times=times,
        estimated=estimated,
        jur=jur,
        cptr=cptr,
    )
    tree["events"], tree["event_id"], tree["event_rows"] = events_table(
        dptr=dptr,
        didx=didx,
        tree=tree,
        times=times,
        length=length,
        estimated=estimated,
        jur=jur,
        cptr=cptr,
        cidx=cidx,
    )
    tree.update(up_ptr=uptr, up_idx=uidx, estimated=estimated)
    return tree

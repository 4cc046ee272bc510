"""A compact, array-only index of a river network for fast tracing.

Tracing must stay fast on a national network (10^6 reaches), so the hot path never touches
networkx's per-node dicts. Everything lives in numpy arrays:

* CSR lists of downstream and upstream neighbours (a divergence has several downstream ones);
* a *primary tree*: every reach's first listed downstream reach is its tree parent, outlets are
  roots. Along it we keep cumulative distance, time and count of estimated reaches from each
  reach's downstream end to its outlet, so any stretch of a tree path costs two subtractions;
* DFS pre/post numbers of that tree, heaviest child first, so "everything whose primary path
  passes X" is the interval ``pre[X] <= pre[v] < post[X]`` and every heavy path is a contiguous
  run of ``order``: the reaches between two points of a tree path are a few slices
  (:meth:`NetworkIndex.tree_path`). Inflows that reach X only over a divergence's other branch
  are added by the tracer through the (few) secondary edges, see :mod:`basins.trace_walks`;
* ``next_stop``: the first reach down the primary path where anything can happen (another
  jurisdiction, a boundary reach, a divergence), so a downstream walk jumps from event to event;
  the hops between events are precomputed as plain Python tuples (``events``), and again as
  packed rows, one cache line per event (``event_rows``), which the walk reads;
* the sorted list of *marked* reaches (jurisdiction exits, boundary reaches, divergences): the
  only reaches where an upstream trace can meet a jurisdiction first.

The arrays are built level by level (breadth first over the tree), vectorized; the only Python
loops run over event reaches (a few per jurisdiction), so 10^6 reaches build in a few seconds
(see bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from basins.index_build import (
    BoolArray,
    Event,
    FloatArray,
    IndexBuildError,
    IntArray,
    assemble,
    csr_from_lists,
    gather,
    transpose,
    validate_arrays,
)
from basins.traveltime import reach_times_s, reach_velocities

if TYPE_CHECKING:
    from basins.model import Network


@dataclass(frozen=True, slots=True, eq=False)
class NetworkIndex:
    """Immutable arrays over reaches 0..n-1; see the module docstring for what each is for."""

    reach_ids: list[str]
    position: dict[str, int]
    jurisdiction_ids: list[str]
    down_ptr: IntArray
    down_idx: IntArray
    up_ptr: IntArray
    up_idx: IntArray
    length_m: FloatArray
    time_s: FloatArray
    estimated: BoolArray
    jurisdiction: IntArray
    co_ptr: IntArray
    co_idx: IntArray
    parent: IntArray
    parent_list: list[int]  # the same as a list: pointer chasing on numpy scalars is slow
    cum_m: FloatArray
    cum_s: FloatArray
    cum_est: IntArray
    pre: IntArray
    post: IntArray
    head: IntArray  # top of the heavy path each reach lies on (heavy child = largest subtree)
    order: IntArray  # reach at each preorder position; a heavy path is a contiguous run
    depth: IntArray  # reaches between each reach and its outlet along the primary tree
    next_stop: IntArray
    exit_anc: IntArray  # nearest strict primary ancestor leaving its parent's jurisdiction, or -1
    marked_pre: IntArray
    marked: IntArray
    secondary_src: IntArray
    secondary_dst: IntArray
    events: dict[int, Event]
    event_id: dict[int, int]  # event reach -> its id, a row of event_rows
    event_rows: memoryview  # per event id one EVENT_ROW (basins.index_build)
    id_objects: npt.NDArray[np.object_]  # reach_ids as an object array, for fancy indexing
    geometry: Any = None  # shapely geometries in EPSG:4326 when built from a Network

    @property
    def size(self) -> int:
        return len(self.reach_ids)

    @staticmethod
    def from_arrays(
        reach_ids: Sequence[str],
        *,
        down_ptr: npt.ArrayLike,
        down_idx: npt.ArrayLike,
        length_m: npt.ArrayLike,
        velocity_ms: npt.ArrayLike,
        discharge_m3s: npt.ArrayLike,
        kind: npt.ArrayLike,
        jurisdiction_ids: Sequence[str],
        jurisdiction: npt.ArrayLike,
        co_ptr: npt.ArrayLike | None = None,
        co_idx: npt.ArrayLike | None = None,
        geometry: Any = None,
    ) -> NetworkIndex:
        """Build from plain arrays: CSR downstream lists (reach positions) and jurisdiction codes.

        ``jurisdiction`` holds, per reach, a position in ``jurisdiction_ids``; ``co_ptr/co_idx``
        is the CSR of each reach's other-bank jurisdictions (positions too).
        """
        n = len(reach_ids)
        ids = list(reach_ids)
        dptr = np.asarray(down_ptr, dtype=np.int64)
        didx = np.asarray(down_idx, dtype=np.int64)
        length = np.asarray(length_m, dtype=np.float64)
        jur = np.asarray(jurisdiction, dtype=np.int64)
        cptr = np.zeros(n + 1, np.int64) if co_ptr is None else np.asarray(co_ptr, np.int64)
        cidx = np.empty(0, np.int64) if co_idx is None else np.asarray(co_idx, np.int64)
        position = {rid: i for i, rid in enumerate(ids)}
        validate_arrays(
            n,
            ids=ids,
            position=position,
            dptr=dptr,
            didx=didx,
            length=length,
            jur=jur,
            n_jur=len(jurisdiction_ids),
            cptr=cptr,
            cidx=cidx,
        )
        velocity, measured = reach_velocities(velocity_ms, discharge_m3s, kind)
        times = reach_times_s(length, velocity)
        derived = assemble(
            ids,
            dptr=dptr,
            didx=didx,
            length=length,
            times=times,
            measured=measured,
            jur=jur,
            cptr=cptr,
            cidx=cidx,
        )
        return NetworkIndex(
            reach_ids=ids,
            id_objects=np.array(ids, dtype=object),
            position=position,
            jurisdiction_ids=list(jurisdiction_ids),
            down_ptr=dptr,
            down_idx=didx,
            length_m=length,
            time_s=times,
            jurisdiction=jur,
            co_ptr=cptr,
            co_idx=cidx,
            geometry=geometry,
            **derived,
        )

    def tree_path(self, start: int, stop: int) -> IntArray:
        """Reaches from ``start`` (included) down the primary tree to ``stop`` (excluded).

        ``stop`` must be on start's primary path to the outlet, or -1 for the whole way. Heavy
        paths are contiguous in preorder, so this takes O(log n) slices, not a step per reach.
        """
        parts: list[IntArray] = []
        head, pre, order, parent = self.head, self.pre, self.order, self.parent
        stop_head = int(head[stop]) if stop >= 0 else -2
        v = start
        while v != stop and v >= 0:
            h = int(head[v])
            if h == stop_head:
                parts.append(order[int(pre[stop]) + 1 : int(pre[v]) + 1][::-1])
                break
            parts.append(order[int(pre[h]) : int(pre[v]) + 1][::-1])
            v = int(parent[h])
        if not parts:
            return np.empty(0, np.int64)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def downstream_of(self, i: int) -> IntArray:
        return self.down_idx[self.down_ptr[i] : self.down_ptr[i + 1]]

    def upstream_of(self, i: int) -> IntArray:
        return self.up_idx[self.up_ptr[i] : self.up_ptr[i + 1]]

    def co_of(self, i: int) -> IntArray:
        return self.co_idx[self.co_ptr[i] : self.co_ptr[i + 1]]


def _split_ids(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def index_from_network(network: Network) -> NetworkIndex:
    """Build the index of a loaded network (reach geometries kept for snapping)."""
    reaches = network.reaches
    ids = [str(r) for r in reaches["reach_id"]]
    position = {rid: i for i, rid in enumerate(ids)}
    problems: list[str] = []
    down_lists: list[list[int]] = []
    for rid, raw in zip(ids, reaches["downstream"], strict=True):
        targets = []
        for target in dict.fromkeys(_split_ids(raw)):  # a repeated id is one link
            if target in position:
                targets.append(position[target])
            else:
                problems.append(f"河段 {rid} 的下游 {target} 不存在 unknown downstream reach")
        down_lists.append(targets)
    if problems:
        raise IndexBuildError(problems)
    admin = [str(j) for j in reaches["jurisdiction"]]
    co_lists = [_split_ids(v) for v in reaches["co_jurisdictions"]]
    table = sorted(set(admin).union(*co_lists)) if co_lists else sorted(set(admin))
    code = {jid: i for i, jid in enumerate(table)}
    dptr, didx = csr_from_lists(down_lists)
    cptr, cidx = csr_from_lists([[code[j] for j in row] for row in co_lists])
    return NetworkIndex.from_arrays(
        ids,
        down_ptr=dptr,
        down_idx=didx,
        length_m=reaches["length_m"].to_numpy(dtype=np.float64),
        velocity_ms=reaches["velocity_ms"].to_numpy(dtype=np.float64),
        discharge_m3s=reaches["discharge_m3s"].to_numpy(dtype=np.float64),
        kind=reaches["kind"].astype(str).to_numpy(),
        jurisdiction_ids=table,
        jurisdiction=np.array([code[j] for j in admin], dtype=np.int64),
        co_ptr=cptr,
        co_idx=cidx,
        geometry=reaches.geometry.to_numpy(),
    )


__all__ = [
    "BoolArray",
    "Event",
    "FloatArray",
    "IndexBuildError",
    "IntArray",
    "NetworkIndex",
    "csr_from_lists",
    "gather",
    "index_from_network",
    "transpose",
]

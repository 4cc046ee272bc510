"""A realistic synthetic river network as plain arrays (no geometry), for benchmarks.

Topology: each basin is a *topologically random* channel network in Shreve's (1966) sense, i.e.
a uniformly random binary tree, drawn with Rémy's (1985) algorithm in O(n). Such networks have
the depth of real ones (the main stem of an n-link basin is about sqrt(pi * n) links long), not
the logarithmic depth of a random recursive tree. Basin sizes follow a heavy tail: one basin
holds 40 % of the reaches, the rest split into smaller ones.

Attributes: reach lengths are log-normal clipped to 0.5-5 km; discharge grows with Shreve
magnitude; 5 % of reaches have a measured velocity; a few reaches are reservoirs or lakes; one
reach in 10 000 diverges into a side channel that rejoins two to four reaches downstream.

Administration: jurisdictions (counties) are contiguous sub-basins of about ``region_size``
reaches, cut bottom-up where the accumulated drainage reaches the size; prefectures and
provinces are cut the same way at 10x and 100x that size. A third of the reaches where a river
leaves a county run along the border and carry the downstream county as the other bank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from basins.index import gather
from basins.model import Hierarchy, Jurisdiction, JurisdictionKind

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SyntheticNetwork:
    """Arguments for ``NetworkIndex.from_arrays`` plus the hierarchy and the primary parents."""

    reach_ids: list[str]
    down_ptr: IntArray
    down_idx: IntArray
    length_m: FloatArray
    velocity_ms: FloatArray
    discharge_m3s: FloatArray
    kind: npt.NDArray[np.str_]
    jurisdiction_ids: list[str]
    jurisdiction: IntArray
    co_ptr: IntArray
    co_idx: IntArray
    hierarchy: Hierarchy
    parent: IntArray

    @property
    def size(self) -> int:
        return len(self.reach_ids)

    def index_arguments(self) -> dict[str, object]:
        return {
            "down_ptr": self.down_ptr,
            "down_idx": self.down_idx,
            "length_m": self.length_m,
            "velocity_ms": self.velocity_ms,
            "discharge_m3s": self.discharge_m3s,
            "kind": self.kind,
            "jurisdiction_ids": self.jurisdiction_ids,
            "jurisdiction": self.jurisdiction,
            "co_ptr": self.co_ptr,
            "co_idx": self.co_idx,
        }


def remy_tree(links: int, rng: np.random.Generator) -> IntArray:
    """Parent pointers of a uniformly random binary tree with ``links`` (odd) nodes; -1 = root.

    Each step picks an existing link uniformly and splits it: a new junction link takes its
    place, with the old link and a new source link as its two upstream branches.
    """
    parent = [-1] * links
    picks = rng.random(links // 2)
    count = 1
    for u in picks.tolist():
        x = int(u * count)
        y = count
        parent[y] = parent[x]
        parent[x] = y
        parent[y + 1] = y
        count += 2
    return np.asarray(parent, dtype=np.int64)


def _basin_sizes(n: int, rng: np.random.Generator) -> list[int]:
    sizes = [max(1, int(0.4 * n)) | 1]
    left = n - sizes[0]
    while left > 0:
        size = min(left, int(rng.integers(max(1, n // 1000), max(2, n // 8)))) | 1
        size = min(size, left)
        if size % 2 == 0:
            size -= 1
        sizes.append(max(size, 1))
        left -= sizes[-1]
    return sizes


def _levels(parent: IntArray) -> list[IntArray]:
    n = len(parent)
    has = parent >= 0
    cptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(parent[has], minlength=n), out=cptr[1:])
    cidx = np.flatnonzero(has)[np.argsort(parent[has], kind="stable")]
    levels = [np.flatnonzero(~has)]
    while True:
        children, _ = gather(cptr, cidx, levels[-1])
        if not len(children):
            return levels
        levels.append(children)


def _cut(parent: IntArray, levels: list[IntArray], size: int) -> IntArray:
    """Head reach of the contiguous region of about ``size`` reaches each reach falls in."""
    open_count = np.ones(len(parent), np.int64)
    cut = np.zeros(len(parent), bool)
    for level in reversed(levels[1:]):
        cut[level] = open_count[level] >= size
        np.add.at(open_count, parent[level], np.where(cut[level], 0, open_count[level]))
    cut[levels[0]] = True
    head = np.arange(len(parent), dtype=np.int64)
    for level in levels[1:]:
        head[level] = np.where(cut[level], level, head[parent[level]])
    return head


def _hierarchy(
    county_head: IntArray, prefecture_head: IntArray, province_head: IntArray
) -> tuple[list[str], IntArray, Hierarchy]:
    counties, code = np.unique(county_head, return_inverse=True)
    ids = [f"C{k:06d}" for k in range(len(counties))]
    table: dict[str, Jurisdiction] = {}
    for head in np.unique(province_head).tolist():
        pid = f"S{head}"
        table[pid] = Jurisdiction(pid, f"省{head}", JurisdictionKind.PROVINCE, None)
    for head in np.unique(prefecture_head).tolist():
        fid, pid = f"P{head}", f"S{province_head[head]}"
        table[fid] = Jurisdiction(fid, f"市{head}", JurisdictionKind.PREFECTURE, pid)
    for k, head in enumerate(counties.tolist()):
        table[ids[k]] = Jurisdiction(
            ids[k], f"县{k}", JurisdictionKind.COUNTY, f"P{prefecture_head[head]}"
        )
    return ids, code.astype(np.int64), Hierarchy(table)


def _downstream_csr(
    parent: IntArray, levels: list[IntArray], rng: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray]:
    """Primary edges to the tree parent plus side channels rejoining 2-4 reaches down."""
    n = len(parent)
    depth = np.zeros(n, np.int64)
    for d, level in enumerate(levels):
        depth[level] = d
    candidates = np.flatnonzero(depth >= 5)
    count = min(len(candidates), max(1, n // 10_000)) if len(candidates) else 0
    sources = rng.choice(candidates, size=count, replace=False) if count else np.empty(0, int)
    targets = sources.copy()
    for _ in range(2):
        targets = parent[targets]
    extra = rng.integers(0, 3, size=len(targets))
    for step in range(2):
        targets = np.where(extra > step, parent[targets], targets)
    primary = np.flatnonzero(parent >= 0)
    src = np.concatenate([primary, sources])
    dst = np.concatenate([parent[primary], targets])
    rank = np.concatenate([np.zeros(len(primary), np.int64), np.ones(len(sources), np.int64)])
    order = np.lexsort((rank, src))
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return ptr, dst[order].astype(np.int64), sources.astype(np.int64)


def generate(n: int, *, seed: int = 20240601, region_size: int = 300) -> SyntheticNetwork:
    """A network of exactly ``n`` reaches (n >= 1)."""
    rng = np.random.default_rng(seed)
    parts, offset = [], 0
    for size in _basin_sizes(n, rng):
        tree = remy_tree(size, rng)
        parts.append(np.where(tree >= 0, tree + offset, -1))
        offset += size
    parent = np.concatenate(parts)
    levels = _levels(parent)
    ids, code, hierarchy = _hierarchy(
        _cut(parent, levels, region_size),
        _cut(parent, levels, region_size * 10),
        _cut(parent, levels, region_size * 100),
    )
    down_ptr, down_idx, sources = _downstream_csr(parent, levels, rng)
    magnitude = np.zeros(n)
    leaves = np.bincount(parent[parent >= 0], minlength=n) == 0
    magnitude[leaves] = 1.0
    for level in reversed(levels[1:]):
        np.add.at(magnitude, parent[level], magnitude[level])
    exits = np.flatnonzero((parent >= 0) & (code[np.maximum(parent, 0)] != code))
    border = exits[rng.random(len(exits)) < 1 / 3]
    co_count = np.zeros(n, np.int64)
    co_count[border] = 1
    co_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(co_count, out=co_ptr[1:])
    kind = np.full(n, "river", dtype="<U9")
    kind[rng.random(n) < 0.002] = "reservoir"
    kind[rng.random(n) < 0.0005] = "lake"
    kind[sources] = "canal"
    velocity = np.where(rng.random(n) < 0.05, rng.uniform(0.3, 1.5, n), np.nan)
    return SyntheticNetwork(
        reach_ids=[f"R{i:07d}" for i in range(n)],
        down_ptr=down_ptr,
        down_idx=down_idx,
        length_m=np.clip(rng.lognormal(np.log(1500.0), 0.6, n), 500.0, 5000.0),
        velocity_ms=velocity,
        discharge_m3s=0.05 * magnitude * rng.uniform(0.5, 1.5, n),
        kind=kind,
        jurisdiction_ids=ids,
        jurisdiction=code,
        co_ptr=co_ptr,
        co_idx=code[parent[border]],
        hierarchy=hierarchy,
        parent=parent,
    )

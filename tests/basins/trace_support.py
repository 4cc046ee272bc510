"""Small networks and a networkx reference tracer for the index and trace tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
from shapely.geometry import LineString

from basins.index import NetworkIndex, csr_from_lists, index_from_network
from basins.model import (
    Direction,
    Hierarchy,
    Jurisdiction,
    JurisdictionKind,
    Network,
)


@dataclass
class R:
    """One reach of a test network (ids of downstream reaches, jurisdiction, other banks)."""

    reach_id: str
    down: list[str]
    length_m: float
    jurisdiction: str
    co: list[str] = field(default_factory=list)
    velocity_ms: float = float("nan")
    discharge_m3s: float = float("nan")
    kind: str = "river"


def build(reaches: list[R]) -> NetworkIndex:
    ids = [r.reach_id for r in reaches]
    pos = {rid: i for i, rid in enumerate(ids)}
    table = sorted({r.jurisdiction for r in reaches} | {c for r in reaches for c in r.co})
    code = {j: i for i, j in enumerate(table)}
    dptr, didx = csr_from_lists([[pos[d] for d in r.down] for r in reaches])
    cptr, cidx = csr_from_lists([[code[c] for c in r.co] for r in reaches])
    return NetworkIndex.from_arrays(
        ids,
        down_ptr=dptr,
        down_idx=didx,
        length_m=[r.length_m for r in reaches],
        velocity_ms=[r.velocity_ms for r in reaches],
        discharge_m3s=[r.discharge_m3s for r in reaches],
        kind=[r.kind for r in reaches],
        jurisdiction_ids=table,
        jurisdiction=[code[r.jurisdiction] for r in reaches],
        co_ptr=cptr,
        co_idx=cidx,
    )


def network_of(reaches: list[R], hierarchy: Hierarchy) -> Network:
    """The same reaches as a Network of GeoDataFrames (straight lines along a parallel)."""
    rows = []
    for k, r in enumerate(reaches):
        rows.append(
            {
                "reach_id": r.reach_id,
                "river": "测试河",
                "basin": "test",
                "downstream": ",".join(r.down),
                "length_m": r.length_m,
                "velocity_ms": r.velocity_ms,
                "discharge_m3s": r.discharge_m3s,
                "kind": r.kind,
                "target_class": 3,
                "jurisdiction": r.jurisdiction,
                "co_jurisdictions": ",".join(r.co),
                "host": "",
                "approximate": False,
                "geometry": LineString([(100 + k * 0.01, 30.0), (100 + k * 0.01 + 0.009, 30.0)]),
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    empty = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    return Network(reaches=frame, jurisdictions=empty, stations=empty, hierarchy=hierarchy)


def index_via_network(reaches: list[R], hierarchy: Hierarchy) -> NetworkIndex:
    return index_from_network(network_of(reaches, hierarchy))


def hierarchy(counties: dict[str, tuple[str, str]]) -> Hierarchy:
    """Counties -> (prefecture, province); names are the ids with a suffix."""
    table: dict[str, Jurisdiction] = {}
    for county, (prefecture, province) in counties.items():
        table[province] = Jurisdiction(province, f"{province}省", JurisdictionKind.PROVINCE, None)
        table[prefecture] = Jurisdiction(
            prefecture, f"{prefecture}市", JurisdictionKind.PREFECTURE, province
        )
        table[county] = Jurisdiction(county, f"{county}县", JurisdictionKind.COUNTY, prefecture)
    return Hierarchy(table)


def _flow_graph(index: NetworkIndex, direction: Direction) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(index.size))
    for u in range(index.size):
        for w in index.downstream_of(u).tolist():
            graph.add_edge(*((u, w) if direction is Direction.DOWN else (w, u)))
    return graph


def _adjacent(index: NetworkIndex, graph: nx.DiGraph, x: int) -> set[int]:
    home = int(index.jurisdiction[x])
    pure = {x}
    stack = [x]
    while stack:
        for w in graph.successors(stack.pop()):
            if int(index.jurisdiction[w]) == home and w not in pure:
                pure.add(w)
                stack.append(w)
    adjacent = {int(j) for j in index.co_of(x)}
    for u in pure:
        for w in graph.successors(u):
            adjacent.add(int(index.jurisdiction[w]))
            adjacent.update(int(j) for j in index.co_of(w))
    return adjacent


def reference(
    index: NetworkIndex, reach_id: str, direction: Direction, offset_m: float | None = None
) -> dict[str, tuple[float, float, bool, bool, str]]:
    """Jurisdiction -> (seconds, metres, adjacent, boundary, first_reach) by brute force."""
    graph = _flow_graph(index, direction)
    x = index.position[reach_id]
    length, t = index.length_m[x], index.time_s[x]
    if offset_m is None:
        part = 0.0
    else:
        part = (
            min(offset_m, length) if direction is Direction.DOWN else length - min(offset_m, length)
        )
    share = part / length if length > 0 else 0.0

    def weight(u: int, _w: int, _d: object) -> float:
        return float(share * t) if u == x else float(index.time_s[u])

    times, routes = nx.single_source_dijkstra(graph, x, weight=weight)
    home = int(index.jurisdiction[x])
    best: dict[int, tuple[float, bool, float, int]] = {
        int(j): (0.0, True, 0.0, x) for j in index.co_of(x)
    }
    for r, sec in times.items():
        metres = float(part) + sum(float(index.length_m[v]) for v in routes[r][1:-1])
        options = [(int(index.jurisdiction[r]), False)] + [(int(j), True) for j in index.co_of(r)]
        for j, boundary in options:
            old = best.get(j)
            if (
                r != x
                and j != home
                and (old is None or (round(sec, 6), boundary) < (round(old[0], 6), old[1]))
            ):
                best[j] = (float(sec), boundary, metres, r)
    adjacent = _adjacent(index, graph, x)
    return {
        index.jurisdiction_ids[j]: (s, m, j in adjacent, b, index.reach_ids[r])
        for j, (s, b, m, r) in best.items()
    }


def random_reaches(rng: np.random.Generator, n: int, *, divergence: float = 0.15) -> list[R]:
    """A random DAG: reach i flows to one or two higher-numbered reaches (or is an outlet)."""
    counties = ["A", "B", "C", "D", "E"]
    out: list[R] = []
    for i in range(n):
        down: list[str] = []
        if i < n - 1 and rng.random() < 0.85:
            down.append(f"r{rng.integers(i + 1, n)}")
            if i < n - 2 and rng.random() < divergence:
                extra = f"r{rng.integers(i + 1, n)}"
                if extra not in down:
                    down.append(extra)
        jur = counties[min(i * len(counties) // n + int(rng.integers(0, 2)), 4)]
        co = [str(rng.choice(counties))] if rng.random() < 0.1 else []
        co = [c for c in co if c != jur]
        velocity = float(rng.uniform(0.2, 2.0)) if rng.random() < 0.5 else float("nan")
        out.append(R(f"r{i}", down, float(rng.uniform(100, 5000)), jur, co, velocity))
    return out

"""Turning arcs digitized in any direction into reaches digitized in flow direction.

The arcs and their end nodes form an undirected graph. In each connected part, flow runs
toward its outlet(s): every arc is directed from its end farther from the outlet (by
shortest path length along the arcs) to its nearer end. Parallel arcs joining the same two
nodes (braids around an island) thus get the same direction, and both are kept.

Which node is the outlet: the node nearest each ``--outlet-at`` point, for the parts that
contain one. A part without one gets the rule "trust the digitizers most": among its leaf
nodes (degree 1; only those the digitized arcs already flow into, when there are any), the
one whose choice reverses the least total length of arcs; ties go to the lowest node number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from basins.crs import LONLAT, geodesic_lengths_m, local_metric_crs
from basins.topology import IntArray, cluster_points, endpoints_m, single_lines
from basins.validate import ValidationReport

DEFAULT_OUTLET_SEARCH_M = 10_000.0


@dataclass(frozen=True, slots=True)
class Orientation:
    """Per arc: whether it was flipped, and its from/to node labels after flipping."""

    flipped: np.ndarray[Any, np.dtype[np.bool_]]
    from_nodes: IntArray
    to_nodes: IntArray
    outlets: tuple[int, ...]


def node_labels(
    lines_lonlat: Any,
    *,
    tolerance_m: float,
    from_field: Sequence[Any] | None = None,
    to_field: Sequence[Any] | None = None,
) -> tuple[IntArray, IntArray, np.ndarray[Any, Any]]:
    """(from, to) node labels and each node's position in metres.

    Node ids from the data (FNODE_/TNODE_) are used as they are when given, otherwise end
    points within the tolerance are one node.
    """
    first, last = endpoints_m(lines_lonlat)
    if from_field is not None and to_field is not None:
        codes, _ = pd.factorize(pd.Series([*map(str, from_field), *map(str, to_field)]))
        labels = np.asarray(codes, dtype=np.int64)
    else:
        labels = cluster_points(np.vstack([first, last]), tolerance_m=tolerance_m)
    count = len(first)
    positions = np.zeros((int(labels.max()) + 1 if count else 0, 2))
    positions[labels[count:]] = last
    positions[labels[:count]] = first
    return labels[:count], labels[count:], positions


def orient_arcs(
    lines_lonlat: Any,
    *,
    ids: Sequence[str],
    outlets_lonlat: Sequence[tuple[float, float]] = (),
    tolerance_m: float = 1.0,
    outlet_search_m: float = DEFAULT_OUTLET_SEARCH_M,
    from_field: Sequence[Any] | None = None,
    to_field: Sequence[Any] | None = None,
    report: ValidationReport | None = None,
) -> Orientation:
    """Decide the flow direction of every arc (see the module docstring for the rule)."""
    lines = single_lines(lines_lonlat)
    from_nodes, to_nodes, positions = node_labels(
        lines, tolerance_m=tolerance_m, from_field=from_field, to_field=to_field
    )
    lengths = geodesic_lengths_m(lines)
    graph = nx.MultiGraph()
    for arc, (u, v) in enumerate(zip(from_nodes.tolist(), to_nodes.tolist(), strict=True)):
        graph.add_edge(u, v, key=arc, weight=float(lengths[arc]), source=u)
    metric = local_metric_crs(shapely.total_bounds(lines))  # the CRS endpoints_m used
    given = _outlet_nodes(
        outlets_lonlat,
        positions=positions,
        metric=metric,
        graph=graph,
        search_m=outlet_search_m,
        report=report,
    )
    flipped = np.zeros(len(lines), dtype=bool)
    chosen: list[int] = []
    for component in sorted(nx.connected_components(graph), key=min):
        part = graph.subgraph(component)
        outlets = sorted(n for n in given if n in component) or [_voted_outlet(part)]
        chosen.extend(outlets)
        distance = nx.multi_source_dijkstra_path_length(part, set(outlets), weight="weight")
        for _u, _v, arc in part.edges(keys=True):
            flipped[arc] = distance[from_nodes[arc]] < distance[to_nodes[arc]]
    new_from = np.where(flipped, to_nodes, from_nodes)
    new_to = np.where(flipped, from_nodes, to_nodes)
    return Orientation(flipped, new_from, new_to, tuple(chosen))


def _outlet_nodes(
    outlets_lonlat: Sequence[tuple[float, float]],
    *,
    positions: np.ndarray[Any, Any],
    metric: CRS,
    graph: nx.MultiGraph,
    search_m: float,
    report: ValidationReport | None,
) -> set[int]:
    if not outlets_lonlat or len(positions) == 0:
        return set()
    nodes = np.array(sorted(graph.nodes), dtype=np.int64)
    tree = shapely.STRtree(shapely.points(positions[nodes]))
    found: set[int] = set()
    project = Transformer.from_crs(LONLAT, metric, always_xy=True)
    for lon, lat in outlets_lonlat:
        x, y = project.transform(lon, lat)
        nearest, distance = tree.query_nearest(shapely.Point(x, y), return_distance=True)
        if len(nearest) and distance[0] <= search_m:
            found.add(int(nodes[nearest[0]]))
        elif report is not None:
            report.add(
                "outlet_not_found",
                layer="reaches",
                feature_id=f"{lon},{lat}",
                message=(
                    f"出口点 {search_m / 1000:g} 公里内没有河段端点 / "
                    f"no reach end within {search_m / 1000:g} km of outlet {lon},{lat}"
                ),
            )
    return found


def _voted_outlet(part: nx.MultiGraph) -> int:
    """The leaf whose choice as outlet reverses the least digitized length (see module doc)."""
    leaves = sorted(n for n in part.nodes if part.degree(n) == 1)
    if not leaves:
        return int(min(part.nodes))
    sinks = [n for n in leaves if next(iter(part.edges(n, data=True)))[2]["source"] != n]
    candidates = sinks or leaves
    best: tuple[float, int] | None = None
    for leaf in candidates:
        distance = nx.single_source_dijkstra_path_length(part, leaf, weight="weight")
        cost = 0.0
        for u, v, data in part.edges(data=True):
            src = data["source"]
            dst = v if src == u else u
            if distance[src] < distance[dst]:
                cost += data["weight"]
        if best is None or (cost, leaf) < best:
            best = (cost, leaf)
    assert best is not None
    return best[1]


def reverse_flipped(geometries: Any, flipped: np.ndarray[Any, np.dtype[np.bool_]]) -> Any:
    """The geometries with every flipped line reversed (vertex order), others untouched."""
    lines = single_lines(geometries)
    out = lines.copy()
    out[flipped] = shapely.reverse(lines[flipped])
    return out

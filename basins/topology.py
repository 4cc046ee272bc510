"""Which reach flows into which: from attributes, node ids, or geometry alone.

Every source of topology ends as the same thing: a list of links ``(from_id, to_id)``.
A reach may have several downstream links (a divergence), so the network is a DAG, not
always a tree. Geometry alone works on node clusters: every reach end point is snapped to
its neighbours within a tolerance in metres (an STRtree query, not a pairwise scan), and
reach A flows into reach B when A's last vertex and B's first vertex fall in one cluster,
exactly as NHDPlus links A -> B when A.ToNode == B.FromNode.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from basins.crs import LONLAT, local_metric_crs

Link = tuple[str, str]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
DEFAULT_SNAP_TOLERANCE_M = 1.0


def single_lines(geometries: Any) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Each geometry as one LineString: multi-part lines are merged, or else chained in order.

    Chaining keeps the first vertex of the first part and the last of the last part, which
    is what flow direction is read from.
    """
    geoms = np.asarray(geometries, dtype=object).copy()
    multi = shapely.get_type_id(geoms) == shapely.GeometryType.MULTILINESTRING.value
    for position in np.flatnonzero(multi):
        merged = shapely.line_merge(geoms[position], directed=True)
        if merged.geom_type != "LineString":
            coords = np.concatenate([np.asarray(p.coords) for p in geoms[position].geoms])
            merged = shapely.LineString(coords)
        geoms[position] = merged
    return geoms


def endpoints_m(
    lines_lonlat: Any,
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]]]:
    """First and last vertices of lon/lat lines, in a local metric CRS (metres)."""
    lines = single_lines(lines_lonlat)
    first = shapely.get_coordinates(shapely.get_point(lines, 0))
    last = shapely.get_coordinates(shapely.get_point(lines, -1))
    metric = local_metric_crs(shapely.total_bounds(lines))
    project = Transformer.from_crs(LONLAT, metric, always_xy=True)
    fx, fy = project.transform(first[:, 0], first[:, 1])
    lx, ly = project.transform(last[:, 0], last[:, 1])
    return np.column_stack([fx, fy]), np.column_stack([lx, ly])


def cluster_points(points: np.ndarray[Any, Any], *, tolerance_m: float) -> IntArray:
    """A cluster label per point; points within ``tolerance_m`` (transitively) share one."""
    count = len(points)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    geoms = shapely.points(points)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    parent = np.arange(count)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for a, b in zip(left[left < right].tolist(), right[left < right].tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(i) for i in range(count)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def endpoint_nodes(lines_lonlat: Any, *, tolerance_m: float) -> tuple[IntArray, IntArray]:
    """Node labels (from_node, to_node) per line: end points snapped within the tolerance."""
    first, last = endpoints_m(lines_lonlat)
    labels = cluster_points(np.vstack([first, last]), tolerance_m=tolerance_m)
    return labels[: len(first)], labels[len(first) :]


def links_from_nodes(ids: Sequence[str], from_nodes: Any, to_nodes: Any) -> list[Link]:
    """A -> B wherever A's to-node is B's from-node (divergences give several links)."""
    frame = pd.DataFrame(
        {"id": list(ids), "from_node": list(from_nodes), "to_node": list(to_nodes)}
    )
    joined = frame[["id", "to_node"]].merge(
        frame[["id", "from_node"]], left_on="to_node", right_on="from_node", suffixes=("", "_dn")
    )
    joined = joined[joined["id"] != joined["id_dn"]]
    return _sorted_links(zip(joined["id"], joined["id_dn"], strict=True))


def links_from_geometry(
    ids: Sequence[str], lines_lonlat: Any, *, tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M
) -> list[Link]:
    """Links read from digitized direction alone (last vertex meets a first vertex)."""
    from_nodes, to_nodes = endpoint_nodes(lines_lonlat, tolerance_m=tolerance_m)
    return links_from_nodes(ids, from_nodes, to_nodes)


def links_from_downstream(ids: Sequence[str], downstream: Iterable[Any]) -> list[Link]:
    """Links from a column of comma-joined downstream ids ("" or null at an outlet)."""
    links: list[Link] = []
    for reach_id, value in zip(ids, downstream, strict=True):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        for raw in str(value).replace(";", ",").split(","):
            target = raw.strip()
            if target.endswith(".0") and target[:-2].isdigit():
                target = target[:-2]
            if target:
                links.append((str(reach_id), target))
    return _sorted_links(links)


def links_from_next_down(ids: Sequence[str], next_down: Iterable[Any]) -> list[Link]:
    """HydroRIVERS-style NEXT_DOWN: the one downstream id, 0 at an outlet."""
    from basins.frames import id_strings

    targets = id_strings(list(next_down))
    return _sorted_links(
        (str(i), t) for i, t in zip(ids, targets, strict=True) if t not in {"", "0"}
    )


def _sorted_links(links: Iterable[tuple[Any, Any]]) -> list[Link]:
    return sorted({(str(a), str(b)) for a, b in links})


def downstream_strings(ids: Sequence[str], links: Iterable[Link]) -> list[str]:
    """The ``downstream`` column: each reach's downstream ids, comma-joined, sorted."""
    targets: dict[str, list[str]] = {str(i): [] for i in ids}
    for a, b in sorted(set(links)):
        targets.setdefault(a, []).append(b)
    return [",".join(targets[str(i)]) for i in ids]


def link_graph(ids: Sequence[str], links: Iterable[Link]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(str(i) for i in ids)
    graph.add_edges_from(links)
    return graph


def find_cycles(ids: Sequence[str], links: Iterable[Link]) -> list[list[str]]:
    """Each strongly connected group of reaches that flows back into itself."""
    graph = link_graph(ids, links)
    groups = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    groups += [[a] for a, b in graph.edges if a == b]
    return sorted(groups)

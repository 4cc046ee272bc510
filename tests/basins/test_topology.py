"""Links from attributes, node ids and geometry; divergences are kept."""

from __future__ import annotations

import numpy as np
import shapely

from basins.topology import (
    downstream_strings,
    endpoint_nodes,
    find_cycles,
    links_from_downstream,
    links_from_geometry,
    links_from_next_down,
    links_from_nodes,
    single_lines,
)
from tests.basins.builders import reaches_gdf

# a -> b, b splits into c and d (divergence), both rejoin in e
DIVERGING = {
    "a": [(110.0, 35.0), (110.01, 35.0)],
    "b": [(110.01, 35.0), (110.02, 35.0)],
    "c": [(110.02, 35.0), (110.03, 35.005), (110.04, 35.0)],
    "d": [(110.02, 35.0), (110.03, 34.995), (110.04, 35.0)],
    "e": [(110.04, 35.0), (110.05, 35.0)],
}
EXPECTED = [("a", "b"), ("b", "c"), ("b", "d"), ("c", "e"), ("d", "e")]


def test_geometry_links_keep_divergences() -> None:
    layer = reaches_gdf(DIVERGING)
    assert links_from_geometry(list(DIVERGING), layer.geometry.values) == EXPECTED


def test_geometry_links_snap_within_tolerance_only() -> None:
    gap = {"a": [(110.0, 35.0), (110.01, 35.0)], "b": [(110.01001, 35.0), (110.02, 35.0)]}
    layer = reaches_gdf(gap)  # 0.00001 deg of longitude at 35N is about 0.9 m
    assert links_from_geometry(list(gap), layer.geometry.values, tolerance_m=0.5) == []
    assert links_from_geometry(list(gap), layer.geometry.values, tolerance_m=2.0) == [("a", "b")]


def test_node_attribute_and_next_down_links_agree() -> None:
    layer = reaches_gdf(DIVERGING)
    from_nodes, to_nodes = endpoint_nodes(layer.geometry.values, tolerance_m=1.0)
    ids = list(DIVERGING)
    assert links_from_nodes(ids, from_nodes, to_nodes) == EXPECTED
    column = downstream_strings(ids, EXPECTED)
    assert column == ["b", "c,d", "e", "e", ""]
    assert links_from_downstream(ids, column) == EXPECTED
    assert links_from_next_down(["1", "2", "3"], [2, 3, 0]) == [("1", "2"), ("2", "3")]
    assert links_from_downstream(["1", "2"], [2.0, np.nan]) == [("1", "2")]


def test_cycles_are_found() -> None:
    assert find_cycles(["a", "b", "c"], [("a", "b"), ("b", "a"), ("b", "c")]) == [["a", "b"]]
    assert find_cycles(["a", "b"], EXPECTED[:1]) == []


def test_multipart_lines_read_first_and_last_vertex() -> None:
    multi = shapely.MultiLineString([[(0, 0), (1, 0)], [(1, 0), (2, 0)]])
    gapped = shapely.MultiLineString([[(0, 0), (1, 0)], [(1.5, 0), (2, 0)]])
    lines = single_lines([multi, gapped])
    assert [line.geom_type for line in lines] == ["LineString", "LineString"]
    assert lines[0].coords[0] == (0.0, 0.0) and lines[1].coords[-1] == (2.0, 0.0)

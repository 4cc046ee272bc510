"""Orientation of arcs digitized against the flow, braids included."""

from __future__ import annotations

import numpy as np

from basins.orient import orient_arcs, reverse_flipped
from basins.topology import links_from_geometry, links_from_nodes
from tests.basins.builders import reaches_gdf

# source (0,0) -> outlet (0.04,0); arcs 2 and the braid arc 3b are digitized backwards,
# 3a and 3b join the same two nodes (an island), a tributary t joins at (0.02, 0).
ARCS = {
    "1": [(110.00, 35.0), (110.01, 35.0)],
    "2": [(110.02, 35.0), (110.01, 35.0)],
    "3a": [(110.02, 35.0), (110.025, 35.003), (110.03, 35.0)],
    "3b": [(110.03, 35.0), (110.025, 34.997), (110.02, 35.0)],
    "4": [(110.03, 35.0), (110.04, 35.0)],
    "t": [(110.02, 35.02), (110.02, 35.0)],
}
FLOW = {("1", "2"), ("2", "3a"), ("2", "3b"), ("t", "3a"), ("t", "3b"), ("3a", "4"), ("3b", "4")}


def _orient(**kwargs: object) -> tuple[list[str], np.ndarray, set[tuple[str, str]]]:
    layer = reaches_gdf(ARCS)
    ids = list(ARCS)
    orientation = orient_arcs(layer.geometry.values, ids=ids, **kwargs)  # type: ignore[arg-type]
    lines = reverse_flipped(layer.geometry.values, orientation.flipped)
    links = set(links_from_geometry(ids, lines))
    assert links == set(links_from_nodes(ids, orientation.from_nodes, orientation.to_nodes))
    return ids, orientation.flipped, links


def test_reversed_arcs_and_braids_follow_the_given_outlet() -> None:
    ids, flipped, links = _orient(outlets_lonlat=[(110.04, 35.0)])
    assert dict(zip(ids, flipped.tolist(), strict=True)) == {
        "1": False,
        "2": True,
        "3a": False,
        "3b": True,
        "4": False,
        "t": False,
    }
    assert links == FLOW


def test_outlet_by_vote_when_none_is_given() -> None:
    # most length already runs toward (110.04, 35.0), so that leaf is the outlet
    _, _, links = _orient()
    assert links == FLOW


def test_outlet_at_the_other_end_reverses_everything_else() -> None:
    _, flipped, links = _orient(outlets_lonlat=[(110.0, 35.0)])
    assert {(b, a) for a, b in FLOW if "t" not in (a, b)} <= links
    assert ("t", "2") in links  # the tributary still flows into the node it joins
    assert flipped.tolist() == [True, False, True, False, True, False]


def test_arc_node_fields_are_used_when_given() -> None:
    layer = reaches_gdf(ARCS)
    orientation = orient_arcs(
        layer.geometry.values,
        ids=list(ARCS),
        from_field=[1, 3, 3, 4, 4, 6],
        to_field=[2, 2, 4, 3, 5, 3],
        outlets_lonlat=[(110.04, 35.0)],
    )
    assert orientation.flipped.tolist() == [False, True, False, True, False, False]

"""Splitting reaches by jurisdiction: crossings, boundary reaches, zigzags, enclaves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basins.build import BuildOptions, build_network
from basins.segments import Piece, SegmentRules, segment_reach
from tests.basins.builders import reaches_gdf, square_jurisdictions

# two counties side by side, the border on longitude 110.5
COUNTIES = square_jurisdictions(
    {"140001": (110.0, 35.0, 110.5, 35.5), "140002": (110.5, 35.0, 111.0, 35.5)},
    names={"140001": "甲县", "140002": "乙县"},
)


def _build(lines: dict[str, list[tuple[float, float]]], counties=COUNTIES, **columns):  # type: ignore[no-untyped-def]
    network = build_network(reaches_gdf(lines, **columns), counties, options=BuildOptions())
    return network.reaches.set_index("reach_id")


def test_simple_crossing() -> None:
    r = _build({"x": [(110.2, 35.2), (110.8, 35.3)]})
    assert r["jurisdiction"].tolist() == ["140001", "140002"]
    assert r.index.tolist() == ["x-1", "x-2"]
    assert r.loc["x-1", "downstream"] == "x-2" and r.loc["x-2", "downstream"] == ""
    assert r.loc["x-1"].geometry.coords[-1][0] == pytest.approx(110.5, abs=1e-6)


def test_reach_along_the_border_is_one_boundary_reach() -> None:
    # runs 20 km north, 300 m east of the border, after entering from the west
    r = _build({"b": [(110.45, 35.1), (110.5035, 35.12), (110.5035, 35.3)]})
    assert len(r) == 1
    assert r["jurisdiction"].iloc[0] == "140001"  # lower id administers
    assert r["co_jurisdictions"].iloc[0] == "140002"


def test_zigzag_along_the_border_does_not_flip_flop() -> None:
    lat = np.linspace(35.05, 35.45, 41)
    lon = 110.5 + np.where(np.arange(41) % 2 == 0, -0.004, 0.004)  # +-360 m every 1.1 km
    r = _build({"z": [*zip(lon.tolist(), lat.tolist(), strict=True)]})
    assert len(r) == 1
    assert (r["jurisdiction"].iloc[0], r["co_jurisdictions"].iloc[0]) == ("140001", "140002")


def test_brief_visit_across_the_border_is_merged_as_a_sliver() -> None:
    # dips 400 m into the other county for ~600 m, far shorter than a piece
    r = _build(
        {
            "s": [
                (110.3, 35.2),
                (110.497, 35.2),
                (110.504, 35.2027),
                (110.497, 35.2054),
                (110.3, 35.21),
            ]
        }
    )
    assert r["jurisdiction"].tolist() == ["140001"]


def test_enclave_wins_over_its_host_and_records_it() -> None:
    counties = square_jurisdictions(
        {"652323": (86.0, 44.0, 87.0, 45.0), "ZD01": (86.4, 44.4, 86.6, 44.6)},
        names={"652323": "呼图壁县", "ZD01": "某工业园区"},
        kind=["county", "park"],
    )
    r = _build({"h": [(86.1, 44.5), (86.9, 44.5)]}, counties, river=["呼图壁河"])
    assert r["jurisdiction"].tolist() == ["652323", "ZD01", "652323"]
    assert r["host"].tolist() == ["", "652323", ""]
    assert r["co_jurisdictions"].tolist() == ["", "", ""]
    assert r.loc["h-2"].geometry.coords[0][0] == pytest.approx(86.4, abs=1e-6)


def test_upstream_reaches_point_to_the_first_piece() -> None:
    r = _build(
        {
            "u": [(110.1, 35.4), (110.2, 35.2)],
            "x": [(110.2, 35.2), (110.8, 35.3)],
            "d": [(110.8, 35.3), (110.9, 35.4)],
        }
    )
    assert r.loc["u", "downstream"] == "x-1"
    assert r.loc["x-2", "downstream"] == "d"


RULES = SegmentRules(boundary_tolerance_m=1500, boundary_min_m=6000, min_piece_m=1000)


def test_segments_long_boundary_river_changes_banks() -> None:
    # 40 km along a border, the far bank changes from B to C halfway
    positions = [float(p) for p in range(0, 40_001, 500)]
    near = [frozenset({"A", "B"}) if p < 20_000 else frozenset({"A", "C"}) for p in positions]
    pieces = segment_reach(positions, ["A"] * len(positions), near, length_m=40_000, rules=RULES)
    assert [p.banks for p in pieces] == [("A", "B"), ("A", "C")]
    assert pieces[0].end_m == pytest.approx(20_000, abs=500)


def test_segments_short_border_touch_keeps_one_side() -> None:
    positions = [float(p) for p in range(0, 10_001, 500)]
    near = [frozenset({"A", "B"}) if 4000 <= p <= 6000 else frozenset({"A"}) for p in positions]
    primary = ["B" if p == 5000 else "A" for p in positions]
    pieces = segment_reach(positions, primary, near, length_m=10_000, rules=RULES)
    assert pieces == [Piece(0.0, 10_000.0, ("A",))]


def test_xpcc_city_beside_a_county_shares_a_border_without_flip_flop() -> None:
    # 石河子市-like: an XPCC city cut out of the counties (not drawn on top), the river
    # zigzagging along the border between it and the county
    units = square_jurisdictions(
        {"652324": (85.5, 44.0, 86.0, 44.6), "659001": (86.0, 44.0, 86.5, 44.6)},
        names={"652324": "玛纳斯县", "659001": "石河子市"},
        kind=["county", "xpcc_city"],
    )
    lat = np.linspace(44.1, 44.5, 41)
    lon = 86.0 + np.where(np.arange(41) % 2 == 0, -0.006, 0.006)
    r = _build({"m": [*zip(lon.tolist(), lat.tolist(), strict=True)]}, units)
    assert len(r) == 1
    assert (r["jurisdiction"].iloc[0], r["co_jurisdictions"].iloc[0]) == ("652324", "659001")
    assert r["host"].iloc[0] == ""


def test_segments_short_fringe_joins_the_boundary_piece() -> None:
    # 2 km in B, then 10 km along the A|B border, then 10 km in C: the 2 km are the border
    # band's fringe and join the boundary piece
    positions = [float(p) for p in range(0, 22_001, 250)]
    near = [
        frozenset({"B"}) if p < 2000 else frozenset({"A", "B"}) if p <= 12_000 else frozenset({"C"})
        for p in positions
    ]
    primary = ["B" if p < 2000 else "C" if p > 12_000 else "A" for p in positions]
    pieces = segment_reach(positions, primary, near, length_m=22_000, rules=RULES)
    assert [p.banks for p in pieces] == [("A", "B"), ("C",)]
    assert pieces[0].start_m == 0.0


def test_cuts_lie_on_the_enclave_edge_both_ways() -> None:
    counties = square_jurisdictions(
        {"652323": (86.0, 44.0, 87.0, 45.0), "ZD01": (86.4037, 44.4, 86.6011, 44.6)},
        kind=["county", "park"],
    )
    r = _build({"h": [(86.1, 44.5), (86.9, 44.5)]}, counties)
    assert r.loc["h-2"].geometry.coords[0][0] == pytest.approx(86.4037, abs=1e-6)
    assert r.loc["h-3"].geometry.coords[0][0] == pytest.approx(86.6011, abs=1e-6)


@given(
    sides=st.lists(st.sampled_from("ABC"), min_size=2, max_size=120),
    border=st.lists(st.booleans(), min_size=2, max_size=120),
    step=st.sampled_from([100.0, 250.0, 500.0]),
)
@settings(max_examples=200, deadline=None)
def test_segments_always_tile_the_reach_without_slivers(
    sides: list[str], border: list[bool], step: float
) -> None:
    count = min(len(sides), len(border))
    positions = [i * step for i in range(count)]
    length = positions[-1]
    near = [
        frozenset({s, "B" if s != "B" else "A"}) if b else frozenset({s})
        for s, b in zip(sides[:count], border[:count], strict=True)
    ]
    pieces = segment_reach(positions, sides[:count], near, length_m=length, rules=RULES)
    assert pieces[0].start_m == 0.0 and pieces[-1].end_m == pytest.approx(length)
    for a, b in itertools.pairwise(pieces):
        assert a.end_m == b.start_m and a.banks != b.banks
    if len(pieces) > 1:
        assert all(p.length_m >= RULES.min_piece_m for p in pieces)
    assert all(p.banks == tuple(sorted(p.banks)) or not p.boundary for p in pieces)

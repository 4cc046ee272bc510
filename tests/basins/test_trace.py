"""Tracing in both directions on hand-made networks, and against networkx on random DAGs."""

from __future__ import annotations

import dataclasses
import itertools
import math
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basins.index import NetworkIndex
from basins.model import Direction, TraceEntry
from basins.trace import UnknownReachError, trace
from tests.basins.trace_support import R, build, hierarchy, random_reaches, reference

# A main stem a1 a2 | b1 b2 | c1 | d1 | e1, a tributary t1 (F) -> t2 (A) -> a2, and a divergence
# at c1 whose second branch x1 (X) rejoins at e1. Every reach 1 km at 1 m/s (1000 s).
# b1's other bank is G, b2's other bank is C. D is in another prefecture, E in another province.
HIER = hierarchy(
    {
        "A": ("P1", "S1"),
        "B": ("P1", "S1"),
        "C": ("P1", "S1"),
        "F": ("P1", "S1"),
        "G": ("P1", "S1"),
        "X": ("P1", "S1"),
        "D": ("P2", "S1"),
        "E": ("P3", "S2"),
    }
)


def stem() -> list[R]:
    def r(rid: str, down: list[str], jur: str, co: list[str] | None = None, km: float = 1) -> R:
        return R(rid, down, km * 1000, jur, co or [], velocity_ms=1.0)

    return [
        r("t1", ["t2"], "F"),
        r("t2", ["a2"], "A"),
        r("a1", ["a2"], "A"),
        r("a2", ["b1"], "A"),
        r("b1", ["b2"], "B", ["G"]),
        r("b2", ["c1"], "B", ["C"]),
        r("c1", ["d1", "x1"], "C"),
        r("d1", ["e1"], "D"),
        r("x1", ["e1"], "X", km=3),
        r("e1", [], "E"),
    ]


def by_id(entries: list[TraceEntry]) -> dict[str, TraceEntry]:
    return {e.jurisdiction_id: e for e in entries}


def test_downstream_lists_jurisdictions_in_order_of_arrival() -> None:
    entries = trace(build(stem()), "a1", direction=Direction.DOWN, hierarchy=HIER)
    assert [e.jurisdiction_id for e in entries] == ["B", "G", "C", "D", "X", "E"]
    got = by_id(entries)
    assert got["B"].distance_km == pytest.approx(1.0)
    assert got["B"].eta_hours == pytest.approx(1000 / 3600)
    assert got["B"].first_reach == "b1"
    assert got["B"].path == ("a1", "a2", "b1")
    assert got["C"].first_reach == "b2"
    assert got["C"].boundary
    assert got["C"].distance_km == pytest.approx(2.0)
    assert not got["B"].boundary
    assert got["E"].distance_km == pytest.approx(5.0)  # via d1, not the 3 km branch x1
    assert got["E"].path == ("a1", "a2", "b1", "b2", "c1", "d1", "e1")
    assert got["X"].path == ("a1", "a2", "b1", "b2", "c1", "x1")
    assert not got["E"].eta_estimated


def test_adjacent_is_the_first_foreign_jurisdiction_on_each_path() -> None:
    entries = by_id(trace(build(stem()), "a1", direction=Direction.DOWN, hierarchy=HIER))
    assert {j for j, e in entries.items() if e.adjacent} == {"B", "G"}


def test_other_bank_of_the_origin_reach_is_entered_at_distance_zero() -> None:
    entries = by_id(trace(build(stem()), "b1", direction=Direction.DOWN, hierarchy=HIER))
    assert entries["G"].distance_km == 0
    assert entries["G"].eta_hours == 0
    assert entries["G"].boundary and entries["G"].adjacent
    assert entries["G"].path == ("b1",)
    assert "B" not in entries


def test_other_prefecture_and_province_flags() -> None:
    entries = by_id(trace(build(stem()), "a1", direction=Direction.DOWN, hierarchy=HIER))
    assert not entries["B"].other_prefecture and not entries["B"].other_province
    assert entries["D"].other_prefecture and not entries["D"].other_province
    assert entries["E"].other_prefecture and entries["E"].other_province
    assert entries["E"].name == "E县"


def test_unknown_jurisdiction_in_hierarchy_counts_as_not_different() -> None:
    reaches = [R("a", ["b"], 1000, "A"), R("b", [], 1000, "Q")]
    (entry,) = trace(build(reaches), "a", direction=Direction.DOWN, hierarchy=HIER)
    assert entry.jurisdiction_id == "Q" and entry.name == "Q"
    assert not entry.other_prefecture and not entry.other_province


def test_horizon_in_km_and_hours() -> None:
    index = build(stem())
    near = trace(index, "a1", direction=Direction.DOWN, hierarchy=HIER, max_km=2.5)
    assert [e.jurisdiction_id for e in near] == ["B", "G", "C"]
    soon = trace(index, "a1", direction=Direction.DOWN, hierarchy=HIER, max_hours=1500 / 3600)
    assert [e.jurisdiction_id for e in soon] == ["B", "G"]
    both = trace(index, "a1", direction=Direction.DOWN, hierarchy=HIER, max_km=9, max_hours=1.2)
    assert [e.jurisdiction_id for e in both] == ["B", "G", "C", "D", "X"]


def test_keep_adjacent_keeps_the_first_foreign_jurisdiction_beyond_the_horizon() -> None:
    index = build(stem())
    assert trace(index, "a1", direction=Direction.DOWN, hierarchy=HIER, max_km=0.5) == []
    kept = trace(
        index, "a1", direction=Direction.DOWN, hierarchy=HIER, max_km=0.5, keep_adjacent=True
    )
    assert [e.jurisdiction_id for e in kept] == ["B", "G"]
    assert kept[0].distance_km == pytest.approx(1.0)


def test_origin_offset_moves_the_spill_point_up_the_reach() -> None:
    index = build(stem())
    down = by_id(trace(index, "a1", direction=Direction.DOWN, hierarchy=HIER, origin_offset_m=400))
    assert down["B"].distance_km == pytest.approx(1.4)
    up = by_id(trace(index, "c1", direction=Direction.UP, hierarchy=HIER, origin_offset_m=400))
    assert up["B"].distance_km == pytest.approx(0.6)
    with pytest.raises(ValueError, match="origin_offset_m"):
        trace(index, "a1", direction=Direction.DOWN, hierarchy=HIER, origin_offset_m=-1)


def test_upstream_covers_every_tributary() -> None:
    entries = trace(build(stem()), "c1", direction=Direction.UP, hierarchy=HIER)
    got = by_id(entries)
    assert [e.jurisdiction_id for e in entries] == ["B", "G", "A", "F"]
    assert got["B"].distance_km == 0 and got["B"].first_reach == "b2" and got["B"].adjacent
    assert got["A"].first_reach == "a2" and got["A"].distance_km == pytest.approx(2.0)
    assert got["F"].first_reach == "t1" and got["F"].distance_km == pytest.approx(4.0)
    assert got["F"].path == ("c1", "b2", "b1", "a2", "t2", "t1")
    assert not got["A"].adjacent and not got["F"].adjacent
    assert got["G"].boundary


def test_upstream_through_the_other_branch_of_a_divergence() -> None:
    entries = by_id(trace(build(stem()), "e1", direction=Direction.UP, hierarchy=HIER))
    assert entries["X"].first_reach == "x1" and entries["X"].distance_km == 0
    assert entries["C"].first_reach == "c1"
    assert entries["C"].distance_km == pytest.approx(1.0)  # through d1, the shorter branch
    assert entries["D"].adjacent and entries["X"].adjacent and not entries["C"].adjacent
    assert entries["F"].path[-3:] == ("a2", "t2", "t1")


def test_upstream_horizon_and_keep_adjacent() -> None:
    index = build(stem())
    near = trace(index, "c1", direction=Direction.UP, hierarchy=HIER, max_km=2)
    assert [e.jurisdiction_id for e in near] == ["B", "G", "A"]
    kept = trace(
        index, "c1", direction=Direction.UP, hierarchy=HIER, max_hours=0, keep_adjacent=True
    )
    assert [e.jurisdiction_id for e in kept] == ["B"]


def test_estimated_when_a_reach_on_the_path_has_no_measured_velocity() -> None:
    reaches = [
        R("a", ["b"], 1000, "A", velocity_ms=1.0),
        R("b", ["c"], 1000, "B"),
        R("c", [], 1000, "C", velocity_ms=1.0),
    ]
    got = by_id(trace(build(reaches), "a", direction=Direction.DOWN, hierarchy=HIER))
    assert not got["B"].eta_estimated
    assert got["C"].eta_estimated
    assert got["C"].eta_hours == pytest.approx((1000 / 0.5) / 3600)  # river default 0.5 m/s


def test_unknown_reach_names_the_id() -> None:
    with pytest.raises(UnknownReachError, match="nope") as caught:
        trace(build(stem()), "nope", direction=Direction.DOWN, hierarchy=HIER)
    assert isinstance(caught.value, KeyError)
    assert "unknown reach" in str(caught.value)


def test_negative_horizon_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_km"):
        trace(build(stem()), "a1", direction=Direction.DOWN, hierarchy=HIER, max_km=-1)


@pytest.mark.parametrize(("origin", "direction"), [("a1", Direction.DOWN), ("e1", Direction.UP)])
def test_lazy_paths_behave_as_plain_entries(origin: str, direction: Direction) -> None:
    """Paths are spelled out on first read; the entries still compare, hash, print, copy and
    pickle as plain TraceEntry objects with those paths."""
    index = build(stem())
    entries = trace(index, origin, direction=direction, hierarchy=HIER)
    bare = trace(index, origin, direction=direction, hierarchy=HIER, paths=False)
    plain = [
        TraceEntry(**{f.name: getattr(e, f.name) for f in dataclasses.fields(e)})
        for e in trace(index, origin, direction=direction, hierarchy=HIER)
    ]
    assert all(type(e) is TraceEntry for e in plain + bare)
    backwards = trace(index, origin, direction=direction, hierarchy=HIER)
    assert [e.path for e in reversed(backwards)] == [e.path for e in reversed(plain)]
    assert all(isinstance(e.path, tuple) and e.path for e in plain)
    assert entries == plain and plain == entries
    assert [hash(e) for e in entries] == [hash(e) for e in plain]
    assert [repr(e) for e in entries] == [repr(e) for e in plain]
    assert [e.as_json() for e in entries] == [e.as_json() for e in plain]
    assert pickle.loads(pickle.dumps(entries)) == plain
    assert [dataclasses.replace(e, path=()) for e in entries] == bare
    assert [dataclasses.replace(e, eta_hours=1.0) for e in entries] == [
        dataclasses.replace(e, eta_hours=1.0) for e in plain
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entries[0].path = ()  # type: ignore[misc]


def _check_path(index: NetworkIndex, entry: TraceEntry, origin: str, direction: Direction) -> None:
    """The path runs from the origin along real edges to a reach carrying the jurisdiction."""
    path = [index.position[r] for r in entry.path]
    assert entry.path[0] == origin and entry.path[-1] == entry.first_reach
    for a, b in itertools.pairwise(path):
        step = index.downstream_of(a) if direction is Direction.DOWN else index.upstream_of(a)
        assert b in step.tolist()
    last = path[-1]
    carried = {int(index.jurisdiction[last]), *index.co_of(last).tolist()}
    assert index.jurisdiction_ids.index(entry.jurisdiction_id) in carried


def _compare(
    entries: list[TraceEntry], expected: dict[str, tuple[float, float, bool, bool, str]]
) -> None:
    assert {e.jurisdiction_id for e in entries} == set(expected)
    keys = [(round(e.eta_hours * 3600, 6), round(e.distance_km * 1000, 3)) for e in entries]
    assert keys == sorted(keys)
    for e in entries:
        seconds, metres, adjacent, boundary, first = expected[e.jurisdiction_id]
        assert math.isclose(e.eta_hours * 3600, seconds, rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(e.distance_km * 1000, metres, rel_tol=1e-9, abs_tol=1e-6)
        assert e.adjacent == adjacent, e
        assert e.boundary == boundary, e
        if seconds > 0 and first != e.first_reach:
            assert e.first_reach in e.path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 40),
    direction=st.sampled_from(list(Direction)),
    offset=st.one_of(st.none(), st.floats(0, 6000)),
    hours=st.one_of(st.none(), st.floats(0, 5)),
    keep=st.booleans(),
)
def test_trace_equals_networkx_reference_on_random_dags(  # noqa: PLR0917
    seed: int, n: int, direction: Direction, offset: float | None, hours: float | None, keep: bool
) -> None:
    rng = np.random.default_rng(seed)
    reaches = random_reaches(rng, n)
    index = build(reaches)
    origin = f"r{rng.integers(0, n)}"
    expected = reference(index, origin, direction, offset)
    if hours is not None:
        expected = {
            j: v for j, v in expected.items() if v[0] <= hours * 3600 + 1e-9 or (keep and v[2])
        }
    entries = trace(
        index,
        origin,
        direction=direction,
        hierarchy=HIER,
        origin_offset_m=offset,
        max_hours=hours,
        keep_adjacent=keep,
    )
    _compare(entries, expected)
    for entry in entries:
        _check_path(index, entry, origin, direction)

"""The compact index: tree intervals, cumulative sums, event jumps and build validation."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basins.index import IndexBuildError, NetworkIndex, csr_from_lists, transpose
from basins.index_build import BANKS, EST, EVENT_ROW, FORK, HOP_EST
from tests.basins.trace_support import R, build, hierarchy, index_via_network, random_reaches


def _primary_tree(index: NetworkIndex) -> nx.DiGraph:
    tree = nx.DiGraph()
    tree.add_nodes_from(range(index.size))
    for v in range(index.size):
        if index.parent[v] >= 0:
            tree.add_edge(int(index.parent[v]), v)
    return tree


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_pre_post_interval_is_the_primary_subtree(seed: int, n: int) -> None:
    index = build(random_reaches(np.random.default_rng(seed), n))
    tree = _primary_tree(index)
    assert sorted(index.pre.tolist()) == list(range(n))
    for v in range(n):
        inside = {u for u in range(n) if index.pre[v] <= index.pre[u] < index.post[v]}
        assert inside == nx.descendants(tree, v) | {v}


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_cumulative_sums_and_next_stop(seed: int, n: int) -> None:
    index = build(random_reaches(np.random.default_rng(seed), n))
    for v in range(n):
        chain, u = [], int(index.parent[v])
        while u >= 0:
            chain.append(u)
            u = int(index.parent[u])
        assert index.cum_m[v] == pytest.approx(sum(index.length_m[c] for c in chain))
        assert index.cum_est[v] == sum(int(index.estimated[c]) for c in chain)
        stops = [
            c
            for c in chain
            if index.jurisdiction[c] != index.jurisdiction[v]
            or len(index.co_of(c))
            or len(index.downstream_of(c)) > 1
        ]
        assert index.next_stop[v] == (stops[0] if stops else -1)
        exits = [
            c
            for c in chain
            if index.parent[c] >= 0 and index.jurisdiction[index.parent[c]] != index.jurisdiction[c]
        ]
        assert index.exit_anc[v] == (exits[0] if exits else -1)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_event_rows_repeat_the_events(seed: int, n: int) -> None:
    """The packed rows a downstream walk reads say what the Event tuples say."""
    index = build(random_reaches(np.random.default_rng(seed), n))
    rows = index.event_rows
    assert rows.readonly and len(rows) == EVENT_ROW.size * len(index.events)
    assert list(index.event_id) == sorted(index.events)  # ids follow reach order
    for reach, event in index.events.items():
        k = index.event_id[reach]
        time_s, length_m, ds, dm, flags, nxt, at, admin = EVENT_ROW.unpack_from(
            rows, EVENT_ROW.size * k
        )
        assert (at, admin, time_s, length_m) == (
            reach,
            event.entered[0][0],
            event.time_s,
            event.length_m,
        )
        assert bool(flags & EST) == event.estimated
        assert bool(flags & BANKS) == (len(event.entered) > 1)
        assert bool(flags & FORK) == (len(event.hops) > 1)
        if len(event.hops) == 1:
            w, hop_s, hop_m, hop_est = event.hops[0]
            assert (nxt, ds, dm, bool(flags & HOP_EST)) == (
                index.event_id[w],
                hop_s,
                hop_m,
                hop_est,
            )
        else:
            assert nxt == -1


def test_marked_reaches_are_exits_boundaries_and_divergences() -> None:
    index = build(
        [
            R("a", ["b"], 1, "A"),
            R("b", ["c", "d"], 1, "A"),
            R("c", ["e"], 1, "A", co=["Z"]),
            R("d", ["e"], 1, "A"),
            R("e", [], 1, "B"),
        ]
    )
    marked = {index.reach_ids[i] for i in index.marked}
    assert marked == {"b", "c", "d"}  # b diverges, c has another bank, c and d leave A
    assert np.all(np.diff(index.marked_pre) > 0)
    assert [index.reach_ids[i] for i in index.secondary_dst] == ["d"]


def test_csr_helpers_round_trip() -> None:
    ptr, idx = csr_from_lists([[1, 2], [2], []])
    assert ptr.tolist() == [0, 2, 3, 3] and idx.tolist() == [1, 2, 2]
    uptr, uidx = transpose(ptr, idx, 3)
    assert uptr.tolist() == [0, 0, 1, 3] and uidx.tolist() == [0, 0, 1]


def test_cycle_is_rejected_with_the_reaches_named() -> None:
    with pytest.raises(IndexBuildError, match="cycle") as caught:
        build([R("a", ["b"], 1, "A"), R("b", ["c"], 1, "A"), R("c", ["a"], 1, "A")])
    assert "a" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(IndexBuildError) as caught:
        NetworkIndex.from_arrays(
            ["a", "a"],
            down_ptr=[0, 1, 1],
            down_idx=[0],
            length_m=[1.0, -2.0],
            velocity_ms=[1.0, 1.0],
            discharge_m3s=[1.0, 1.0],
            kind=["river", "river"],
            jurisdiction_ids=["A"],
            jurisdiction=[0, 3],
        )
    problems = caught.value.problems
    assert len(problems) == 4
    assert any("duplicate" in p for p in problems)
    assert any("itself" in p for p in problems)
    assert any("length_m" in p for p in problems)
    assert any("jurisdiction code" in p for p in problems)


def test_index_from_network_matches_index_from_arrays() -> None:
    reaches = random_reaches(np.random.default_rng(7), 30)
    via_network = index_via_network(reaches, hierarchy({}))
    direct = build(reaches)
    assert via_network.reach_ids == direct.reach_ids
    assert via_network.jurisdiction_ids == direct.jurisdiction_ids
    for name in ("down_idx", "parent", "pre", "post", "cum_m", "cum_s", "next_stop", "co_idx"):
        assert np.array_equal(getattr(via_network, name), getattr(direct, name)), name
    assert via_network.geometry is not None and len(via_network.geometry) == 30


def test_index_from_network_names_unknown_downstream_reaches() -> None:
    with pytest.raises(IndexBuildError, match="ghost") as caught:
        index_via_network([R("a", ["ghost"], 1, "A"), R("b", ["spook"], 1, "A")], hierarchy({}))
    assert len(caught.value.problems) == 2


def test_empty_network_builds() -> None:
    index = build([])
    assert index.size == 0


def test_repeated_downstream_id_is_one_link() -> None:
    index = index_via_network([R("a", ["b", "b"], 1, "A"), R("b", [], 1, "B")], hierarchy({}))
    assert index.downstream_of(0).tolist() == [1]
    assert len(index.secondary_src) == 0

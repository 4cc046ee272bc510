"""route() on the synthetic river with fixed clocks: exact recipients, roles and order."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from basins.model import Direction, TraceEntry
from notifier.enums import Grade, NoticeRole, ReportDirection
from notifier.routing.policy import Policy, ProvincePolicy, load_policy
from notifier.routing.route import NoticeDecision, copy_target, route
from notifier.topology import BasinsTopology
from tests.notifier import synthetic
from tests.notifier.synthetic import NOW

R = NoticeRole


@pytest.fixture(scope="module")
def topo() -> BasinsTopology:
    return BasinsTopology(synthetic.network())


def _route(
    topo: BasinsTopology,
    reach: str,
    direction: ReportDirection,
    *,
    policy: Policy | None = None,
    grade: Grade = Grade.IV,
) -> list[NoticeDecision]:
    info = topo.reach(reach)
    assert info is not None
    down = topo.trace(reach, direction=Direction.DOWN)
    up = topo.trace(reach, direction=Direction.UP)
    return route(
        info.jurisdiction_id,
        direction=direction,
        downstream=down,
        upstream=up,
        hierarchy=topo.hierarchy,
        policy=policy or load_policy(),
        grade=grade,
        now=NOW,
        other_banks=info.co_jurisdictions,
        origin_reach=reach,
    )


def _pairs(decisions: list[NoticeDecision]) -> list[tuple[str, NoticeRole]]:
    return [(d.jurisdiction_id, d.role) for d in decisions]


def test_source_notifies_downstream_by_arrival_then_copies(topo: BasinsTopology) -> None:
    got = _route(topo, "r2", ReportDirection.SOURCE)
    assert _pairs(got) == [
        ("A2", R.DOWNSTREAM),
        ("B1", R.DOWNSTREAM),
        ("C1", R.BOUNDARY),
        ("C2", R.DOWNSTREAM),
        ("A", R.SUPERVISOR_COPY),  # the origin's prefecture, always
        ("B", R.SUPERVISOR_COPY),  # B1 lies in another prefecture
        ("P", R.PROVINCIAL_COPY),  # a province boundary is crossed at r5 ...
        ("C", R.ADJACENT_PREFECTURE),  # ... so the downstream province's prefecture is told
    ]


def test_observed_downstream_notifies_upstream_neighbours(topo: BasinsTopology) -> None:
    got = _route(topo, "r4", ReportDirection.OBSERVED_DOWNSTREAM)
    assert _pairs(got) == [
        ("A2", R.UPSTREAM),
        ("A1", R.UPSTREAM),
        ("A3", R.UPSTREAM),
        ("B", R.SUPERVISOR_COPY),
        ("A", R.SUPERVISOR_COPY),
    ]


def test_both_directions_and_boundary_origin(topo: BasinsTopology) -> None:
    got = _route(topo, "r5", ReportDirection.BOTH)
    pairs = _pairs(got)
    assert pairs[0] == ("C1", R.BOUNDARY)  # the other bank of the origin reach, at distance 0
    assert got[0].eta_hours == 0
    assert ("C2", R.DOWNSTREAM) in pairs and ("A2", R.UPSTREAM) in pairs
    assert len({j for j, _ in pairs}) == len(pairs)


def test_horizon_limits_further_jurisdictions(topo: BasinsTopology) -> None:
    short = dataclasses.replace(load_policy(), max_hours=1.0, max_km=1.0)
    got = _pairs(_route(topo, "r2", ReportDirection.SOURCE, policy=short))
    # A2 is the first foreign jurisdiction on the path: always; B1 and beyond are out of range.
    assert got == [("A2", R.DOWNSTREAM), ("A", R.SUPERVISOR_COPY)]


def test_province_policy_reports_upward_at_once(topo: BasinsTopology) -> None:
    base = load_policy()
    shanxi_like = dataclasses.replace(
        base, provinces={**base.provinces, "P": ProvincePolicy(report_to_province=True)}
    )
    short = dataclasses.replace(shanxi_like, max_hours=1.0, max_km=1.0)
    got = _pairs(_route(topo, "r2", ReportDirection.SOURCE, policy=short))
    assert got == [("A2", R.DOWNSTREAM), ("A", R.SUPERVISOR_COPY), ("P", R.PROVINCIAL_COPY)]


def test_deadlines_by_grade_and_before_arrival(topo: BasinsTopology) -> None:
    minor = {d.jurisdiction_id: d for d in _route(topo, "r2", ReportDirection.SOURCE)}
    major = {
        d.jurisdiction_id: d for d in _route(topo, "r2", ReportDirection.SOURCE, grade=Grade.I)
    }
    assert minor["A"].ack_deadline == NOW + timedelta(minutes=60)
    assert major["A"].ack_deadline == NOW + timedelta(minutes=30)
    # A2 is reached at once: the floor of 10 minutes applies.
    assert minor["A2"].ack_deadline == NOW + timedelta(minutes=10)
    # B1 at 2.78 h: the grade's 60 minutes come first.
    assert minor["B1"].ack_deadline == NOW + timedelta(minutes=60)
    assert minor["B1"].eta_at == NOW + timedelta(hours=10_000 / 3600)


def test_arrival_cuts_the_deadline() -> None:
    entry = TraceEntry(
        jurisdiction_id="B1",
        name="B1县",
        kind=synthetic_kind(),
        first_reach="r4",
        distance_km=1.8,
        eta_hours=0.5,
        eta_estimated=True,
        adjacent=True,
        boundary=False,
        other_prefecture=True,
        other_province=False,
    )
    hierarchy = synthetic.network().hierarchy
    got = route(
        "A2",
        direction=ReportDirection.SOURCE,
        downstream=[entry],
        upstream=[],
        hierarchy=hierarchy,
        policy=load_policy(),
        grade=Grade.IV,
        now=NOW,
    )
    b1 = next(d for d in got if d.jurisdiction_id == "B1")
    # 30 minutes to arrival minus a 30-minute margin: the 10-minute floor.
    assert b1.ack_deadline == NOW + timedelta(minutes=10)
    entry2 = dataclasses.replace(entry, eta_hours=1.0)
    got2 = route(
        "A2",
        direction=ReportDirection.SOURCE,
        downstream=[entry2],
        upstream=[],
        hierarchy=hierarchy,
        policy=load_policy(),
        grade=Grade.IV,
        now=NOW,
    )
    assert got2[0].ack_deadline == NOW + timedelta(minutes=30)


def synthetic_kind():  # type: ignore[no-untyped-def]
    from basins.model import JurisdictionKind

    return JurisdictionKind.COUNTY


def test_copy_target_of_xpcc_unit_is_its_division() -> None:
    hierarchy = synthetic.network().hierarchy
    assert copy_target(hierarchy, "X1") == "XD"
    assert copy_target(hierarchy, "A1") == "A"
    assert copy_target(hierarchy, "A") == "P"
    assert copy_target(hierarchy, "P") is None


def test_strongest_role_wins() -> None:
    """A county that is both downstream and boundary bank gets one boundary notice; a
    prefecture that is both a supervisor copy and an adjacent prefecture gets the latter."""
    from basins.model import JurisdictionKind

    hierarchy = synthetic.network().hierarchy
    base = dict(
        name="",
        kind=JurisdictionKind.COUNTY,
        distance_km=5.0,
        eta_estimated=False,
        adjacent=True,
        other_prefecture=False,
        other_province=False,
    )
    entries = [
        TraceEntry(jurisdiction_id="A2", first_reach="r3", eta_hours=1.0, boundary=False, **base),  # type: ignore[arg-type]
        TraceEntry(jurisdiction_id="A2", first_reach="r5", eta_hours=2.0, boundary=True, **base),  # type: ignore[arg-type]
    ]
    got = route(
        "A1",
        direction=ReportDirection.SOURCE,
        downstream=entries,
        upstream=[],
        hierarchy=hierarchy,
        policy=load_policy(),
        grade=Grade.IV,
        now=NOW,
    )
    assert _pairs(got) == [("A2", R.BOUNDARY), ("A", R.SUPERVISOR_COPY)]

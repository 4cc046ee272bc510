"""Property tests of routing on random river networks (real basins index and trace)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basins.index import NetworkIndex, csr_from_lists
from basins.model import Direction, Hierarchy, Jurisdiction, JurisdictionKind, TraceEntry
from basins.trace import trace
from notifier.enums import Grade, NoticeRole, ReportDirection
from notifier.routing.policy import load_policy
from notifier.routing.route import NoticeDecision, copy_target, route
from tests.notifier.synthetic import NOW

POLICY = load_policy()
COUNTIES = [f"K{i}" for i in range(8)]
PRIMARY = {NoticeRole.DOWNSTREAM, NoticeRole.UPSTREAM, NoticeRole.BOUNDARY}


def _hierarchy(prefecture_of: list[int], province_of: list[int]) -> Hierarchy:
    members = {
        f"V{v}": Jurisdiction(f"V{v}", f"省{v}", JurisdictionKind.PROVINCE, None) for v in range(2)
    }
    for f in range(4):
        members[f"F{f}"] = Jurisdiction(
            f"F{f}", f"市{f}", JurisdictionKind.PREFECTURE, f"V{province_of[f]}"
        )
    for k, county in enumerate(COUNTIES):
        members[county] = Jurisdiction(
            county, county, JurisdictionKind.COUNTY, f"F{prefecture_of[k]}"
        )
    return Hierarchy(members)


@dataclass(frozen=True)
class RandomNet:
    index: NetworkIndex
    hierarchy: Hierarchy
    down: list[list[int]]
    admin: list[str]
    co: list[list[str]]


@st.composite
def networks(draw: st.DrawFn) -> RandomNet:
    n = draw(st.integers(2, 30))
    down: list[list[int]] = [[]]
    for i in range(1, n):
        first = draw(st.integers(0, i - 1))
        targets = [first]
        if i > 2 and draw(st.integers(0, 9)) == 0:  # occasional divergence
            second = draw(st.integers(0, i - 1))
            if second != first:
                targets.append(second)
        down.append(targets)
    admin = [COUNTIES[draw(st.integers(0, len(COUNTIES) - 1))] for _ in range(n)]
    co = [
        [c]
        if (c := COUNTIES[draw(st.integers(0, 7))]) != admin[i]
        and draw(st.booleans())
        and draw(st.integers(0, 3)) == 0
        else []
        for i in range(n)
    ]
    lengths = draw(st.lists(st.floats(500, 60_000), min_size=n, max_size=n))
    speeds = draw(st.lists(st.floats(0.05, 3.0), min_size=n, max_size=n))
    table = sorted(set(admin).union(*co))
    code = {j: i for i, j in enumerate(table)}
    dptr, didx = csr_from_lists(down)
    cptr, cidx = csr_from_lists([[code[c] for c in row] for row in co])
    index = NetworkIndex.from_arrays(
        [f"r{i}" for i in range(n)],
        down_ptr=dptr,
        down_idx=didx,
        length_m=lengths,
        velocity_ms=speeds,
        discharge_m3s=np.full(n, np.nan),
        kind=np.array(["river"] * n),
        jurisdiction_ids=table,
        jurisdiction=[code[a] for a in admin],
        co_ptr=cptr,
        co_idx=cidx,
    )
    pref = draw(st.lists(st.integers(0, 3), min_size=8, max_size=8))
    prov = draw(st.lists(st.integers(0, 1), min_size=4, max_size=4))
    return RandomNet(index, _hierarchy(pref, prov), down, admin, co)


def _reachable(net: RandomNet, origin: int, *, downstream: bool) -> set[str]:
    """Jurisdictions (either bank) of every reach the water can reach, or come from."""
    edges: dict[int, list[int]] = {i: [] for i in range(len(net.down))}
    for u, targets in enumerate(net.down):
        for v in targets:
            (edges[u] if downstream else edges[v]).append(v if downstream else u)
    seen, stack = {origin}, [origin]
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return {j for r in seen for j in [net.admin[r], *net.co[r]]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    net=networks(),
    pick=st.integers(0, 10_000),
    direction=st.sampled_from(list(ReportDirection)),
    grade=st.sampled_from(list(Grade)),
)
def test_route_properties(
    net: RandomNet, pick: int, direction: ReportDirection, grade: Grade
) -> None:
    origin_reach = pick % len(net.down)
    origin = net.admin[origin_reach]
    rid = f"r{origin_reach}"
    down = trace(
        net.index, rid, direction=Direction.DOWN, hierarchy=net.hierarchy, keep_adjacent=True
    )
    up = trace(net.index, rid, direction=Direction.UP, hierarchy=net.hierarchy, keep_adjacent=True)
    decisions = route(
        origin,
        direction=direction,
        downstream=down,
        upstream=up,
        hierarchy=net.hierarchy,
        policy=POLICY,
        grade=grade,
        now=NOW,
        other_banks=net.co[origin_reach],
        origin_reach=rid,
    )
    recipients = [d.jurisdiction_id for d in decisions]

    # No bureau gets two notices for one incident, and the origin none.
    assert len(recipients) == len(set(recipients))
    assert origin not in recipients
    _check_walk_direction(net, origin_reach, direction, decisions)
    _check_always_notified(
        net, origin_reach, direction=direction, down=down, up=up, recipients=recipients
    )
    # The origin's supervisor is always copied.
    assert copy_target(net.hierarchy, origin) in recipients
    _check_deadlines(decisions, grade)


def _check_walk_direction(
    net: RandomNet,
    origin_reach: int,
    direction: ReportDirection,
    decisions: list[NoticeDecision],
) -> None:
    """Every river recipient is reached by the walk in the right direction."""
    allowed: set[str] = set()
    if direction in (ReportDirection.SOURCE, ReportDirection.BOTH):
        allowed |= _reachable(net, origin_reach, downstream=True)
    if direction in (ReportDirection.OBSERVED_DOWNSTREAM, ReportDirection.BOTH):
        allowed |= _reachable(net, origin_reach, downstream=False)
    for d in decisions:
        if d.role in PRIMARY:
            assert d.jurisdiction_id in allowed, d
        if d.role is NoticeRole.UPSTREAM:
            assert direction is not ReportDirection.SOURCE
        if d.role is NoticeRole.DOWNSTREAM:
            assert direction is not ReportDirection.OBSERVED_DOWNSTREAM


def _check_always_notified(
    net: RandomNet,
    origin_reach: int,
    *,
    direction: ReportDirection,
    down: list[TraceEntry],
    up: list[TraceEntry],
    recipients: list[str],
) -> None:
    """The other bank of the origin reach and the first foreign jurisdiction on every path."""
    origin = net.admin[origin_reach]
    expected = {bank for bank in net.co[origin_reach] if bank != origin}
    if direction is not ReportDirection.OBSERVED_DOWNSTREAM:
        expected |= {e.jurisdiction_id for e in down if e.adjacent}
    if direction is not ReportDirection.SOURCE:
        expected |= {e.jurisdiction_id for e in up if e.adjacent}
    assert expected - {origin} <= set(recipients)


def _check_deadlines(decisions: list[NoticeDecision], grade: Grade) -> None:
    """No deadline later than arrival minus the margin (beyond the floor), nor the grade's."""
    margin = timedelta(minutes=POLICY.arrival_margin_minutes)
    floor = NOW + timedelta(minutes=POLICY.minimum_minutes)
    by_grade = max(NOW + timedelta(minutes=POLICY.ack_minutes[grade]), floor)
    for d in decisions:
        assert floor <= d.ack_deadline <= by_grade
        if d.eta_hours is not None:
            latest = NOW + timedelta(hours=d.eta_hours) - margin
            assert d.ack_deadline <= max(latest, floor)

"""Traces on the network the project ships (data/): 汾河 to the 黄河, and the 昌吉 rivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from basins.index import NetworkIndex, index_from_network
from basins.model import Direction, JurisdictionKind, Network, TraceEntry
from basins.trace import trace

SHANXI, SHAANXI, HENAN = "140000", "610000", "410000"
TAIYUAN, CHANGJI_CITY, HUTUBI, WUJIAQU = "140100", "652301", "652323", "659004"
URUMQI = "650100"


@pytest.fixture(scope="module")
def shipped(data_dir: Path) -> tuple[Network, NetworkIndex]:
    if not (data_dir / "reaches.geojson").is_file():
        pytest.skip(f"shipped network not built yet: {data_dir / 'reaches.geojson'} is absent")
    from basins.io import read_network

    network = read_network(data_dir)
    return network, index_from_network(network)


def _flow_order(network: Network, start: str) -> list[str]:
    """Reach ids from ``start`` following the first downstream link to the outlet."""
    downstream = dict(zip(network.reaches["reach_id"], network.reaches["downstream"], strict=True))
    out = [start]
    while downstream[out[-1]]:
        out.append(str(downstream[out[-1]]).split(",")[0])
    return out


def _rows(network: Network, river: str) -> list[tuple[str, str, str]]:
    reaches = network.reaches[network.reaches["river"] == river]
    return list(
        zip(reaches["reach_id"], reaches["jurisdiction"], reaches["co_jurisdictions"], strict=True)
    )


def _ids(entries: list[TraceEntry]) -> list[str]:
    return [e.jurisdiction_id for e in entries]


def test_fenhe_from_taiyuan_to_the_yellow_river_and_across_the_province_line(
    shipped: tuple[Network, NetworkIndex],
) -> None:
    network, index = shipped
    hierarchy = network.hierarchy
    in_taiyuan = [
        rid for rid, jid, _ in _rows(network, "汾河") if hierarchy.prefecture_of(jid) == TAIYUAN
    ]
    assert in_taiyuan, "no 汾河 reach in 太原"
    chain = _flow_order(network, in_taiyuan[0])
    origin = [rid for rid in chain if rid in in_taiyuan][-1]  # where the 汾河 leaves 太原
    entries = trace(index, origin, direction=Direction.DOWN, hierarchy=hierarchy)
    got = _ids(entries)
    assert [e.eta_hours for e in entries] == sorted(e.eta_hours for e in entries)
    # the counties administering the river below the origin come in flow order
    admin = network.reaches.set_index("reach_id")["jurisdiction"]
    home = str(admin[origin])
    expected: list[str] = []
    for rid in chain[chain.index(origin) + 1 :]:
        jid = str(admin[rid])
        if jid != home and jid not in expected:
            expected.append(jid)
    positions = [got.index(j) for j in expected]
    assert positions == sorted(positions)
    assert any(rid.startswith("huanghe") for rid in (e.first_reach for e in entries))
    provinces = {e.jurisdiction_id: hierarchy.province_of(e.jurisdiction_id) for e in entries}
    assert SHAANXI in provinces.values() and HENAN in provinces.values()
    for e in entries:
        assert e.other_province == (provinces[e.jurisdiction_id] != SHANXI), e
        assert e.other_prefecture == (hierarchy.prefecture_of(e.jurisdiction_id) != TAIYUAN), e
    yellow_river = [e for e in entries if provinces[e.jurisdiction_id] in (SHAANXI, HENAN)]
    assert all(e.boundary for e in yellow_river)  # the other bank of the 黄河
    assert entries[0].adjacent


def test_hutubi_reaches_its_downstream_neighbours(shipped: tuple[Network, NetworkIndex]) -> None:
    network, index = shipped
    rows = [(rid, jid) for rid, jid, _ in _rows(network, "呼图壁河") if jid == HUTUBI]
    assert rows
    origin = rows[0][0]
    chain = _flow_order(network, origin)
    admin = network.reaches.set_index("reach_id")["jurisdiction"]
    below = {str(admin[r]) for r in chain[1:]} - {HUTUBI}
    assert below, "呼图壁河 has no other jurisdiction below 呼图壁县"
    entries = trace(index, origin, direction=Direction.DOWN, hierarchy=network.hierarchy)
    assert below <= set(_ids(entries))
    assert entries[0].adjacent and entries[0].jurisdiction_id in below


def test_urumqi_river_reaches_wujiaqu(shipped: tuple[Network, NetworkIndex]) -> None:
    network, index = shipped
    hierarchy = network.hierarchy
    rows = [
        rid
        for rid, jid, _ in _rows(network, "乌鲁木齐河")
        if hierarchy.prefecture_of(jid) == URUMQI
    ]
    assert rows
    entries = trace(index, rows[0], direction=Direction.DOWN, hierarchy=hierarchy)
    by_id = {e.jurisdiction_id: e for e in entries}
    assert WUJIAQU in by_id
    assert by_id[WUJIAQU].kind is JurisdictionKind.XPCC_CITY
    assert by_id[WUJIAQU].distance_km > 0
    assert by_id[WUJIAQU].path[0] == rows[0]


def test_toutun_river_reports_both_banks(shipped: tuple[Network, NetworkIndex]) -> None:
    network, index = shipped
    hierarchy = network.hierarchy
    rows = _rows(network, "头屯河")
    boundary = [
        (rid, jid)
        for rid, jid, co in rows
        if hierarchy.prefecture_of(jid) == URUMQI and CHANGJI_CITY in str(co).split(",")
    ]
    assert boundary, "no 头屯河 reach between 乌鲁木齐 and 昌吉市"
    origin, district = boundary[0]
    down = {
        e.jurisdiction_id: e
        for e in trace(index, origin, direction=Direction.DOWN, hierarchy=hierarchy)
    }
    assert down[CHANGJI_CITY].boundary and down[CHANGJI_CITY].distance_km == 0
    assert down[CHANGJI_CITY].adjacent
    outlet = _flow_order(network, origin)[-1]
    up = trace(index, outlet, direction=Direction.UP, hierarchy=hierarchy)
    banks = {e.jurisdiction_id for e in up} | {
        str(network.reaches.set_index("reach_id")["jurisdiction"][outlet])
    }
    assert CHANGJI_CITY in banks
    assert any(hierarchy.prefecture_of(j) == URUMQI for j in banks)
    assert district in banks

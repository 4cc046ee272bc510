"""build_network end to end on small in-memory layers."""

from __future__ import annotations

import pytest

from basins.build import BuildOptions, build_network
from basins.io import read_network, write_network
from basins.validate import NetworkValidationError
from tests.basins.builders import reaches_gdf, square_jurisdictions

COUNTIES = square_jurisdictions(
    {"140001": (110.0, 35.0, 110.5, 35.5), "140002": (110.5, 35.0, 111.0, 35.5)},
    names={"140001": "甲县", "140002": "乙县"},
    parent=["140000", "140000"],
)


def test_simple_crossing_is_split_in_two_with_chained_links(tmp_path) -> None:
    reaches = reaches_gdf(
        {
            "up": [(110.1, 35.3), (110.2, 35.25)],
            "main": [(110.2, 35.25), (110.8, 35.25)],
            "trib": [(110.9, 35.4), (110.8, 35.25)],
            "down": [(110.8, 35.25), (110.9, 35.1)],
        },
        river=["汾河", "汾河", "支流", "汾河"],
    )
    network = build_network(reaches, COUNTIES, options=BuildOptions(basin="fenhe"))
    r = network.reaches.set_index("reach_id")
    assert list(r.index) == ["up", "main-1", "main-2", "trib", "down"]
    assert r.loc["up", "downstream"] == "main-1"
    assert r.loc["main-1", "downstream"] == "main-2"
    assert r.loc["main-2", "downstream"] == "down"
    assert r.loc["trib", "downstream"] == "down"
    assert r.loc["main-1", "jurisdiction"] == "140001"
    assert r.loc["main-2", "jurisdiction"] == "140002"
    assert (r["co_jurisdictions"] == "").all()
    assert (r["basin"] == "fenhe").all()
    cut = r.loc["main-1"].geometry.coords[-1]
    assert cut == pytest.approx((110.5, 35.25), abs=1e-6)
    assert r.loc["main-2"].geometry.coords[0] == cut
    # both pieces measured in metres, together as long as the whole (~54.6 km at 35.25N)
    assert r.loc["main-1", "length_m"] + r.loc["main-2", "length_m"] == pytest.approx(
        54_600, rel=0.01
    )
    names = set(network.stations["name"])
    assert "汾河·乙县入境断面" in names and "汾河·甲县源头断面" in names
    assert network.stations["mn"].str.fullmatch(r"[0-9A-F]{24}").all()
    write_network(network, tmp_path)
    assert read_network(tmp_path).reaches["reach_id"].tolist() == list(r.index)


def test_nothing_is_built_when_a_problem_is_fatal() -> None:
    reaches = reaches_gdf(
        {"a": [(110.1, 35.3), (110.2, 35.3)], "a ": [(110.2, 35.3), (110.3, 35.3)]},
    )
    reaches["reach_id"] = ["a", "a"]
    with pytest.raises(NetworkValidationError) as caught:
        build_network(reaches, COUNTIES)
    assert "duplicate_id" in caught.value.report.codes()


def test_next_down_and_downstream_columns_are_read(tmp_path) -> None:
    lines = {
        "1": [(110.1, 35.3), (110.2, 35.25)],
        "2": [(110.2, 35.25), (110.3, 35.25)],
        "3": [(110.3, 35.25), (110.4, 35.25)],
    }
    hydrorivers = reaches_gdf(lines).rename(columns={"reach_id": "HYRIV_ID"})
    hydrorivers["HYRIV_ID"] = [1, 2, 3]
    hydrorivers["NEXT_DOWN"] = [2, 3, 0]
    network = build_network(hydrorivers, COUNTIES)
    assert network.reaches["downstream"].tolist() == ["2", "3", ""]
    given = reaches_gdf(lines, downstream=["2", "3", None], velocity_ms=[0.4, None, 1.0])
    network = build_network(given, COUNTIES)
    assert network.reaches["downstream"].tolist() == ["2", "3", ""]
    assert network.reaches["velocity_ms"].isna().tolist() == [False, True, False]
    assert network.reaches["target_class"].tolist() == [3, 3, 3]


def test_fenhe_from_unoriented_ngcc_arcs(ngcc_arcs, county_subset) -> None:
    from basins.io import read_layer

    arcs = read_layer(ngcc_arcs, crs="EPSG:4326")
    fenhe = arcs[arcs["NAME"] == "汾河"]
    counties = read_layer(county_subset)
    shanxi = counties[counties["province_adcode"].astype(str) == "140000"]
    network = build_network(
        fenhe, shanxi, options=BuildOptions(reach_id_field="HYD2_4M_", basin="fenhe")
    )
    r = network.reaches
    assert set(r["river"]) == {"汾河"}
    outlets = r[r["downstream"] == ""]
    assert len(outlets) == 1  # flows to 河津 on the 黄河, whatever way the arcs were drawn
    assert outlets.iloc[0]["jurisdiction"] == "140882"
    assert outlets.geometry.iloc[0].coords[-1][1] < 35.7
    # the braid near 娄烦 is kept: one reach with two downstream reaches, both rejoining
    assert (r["downstream"].str.count(",") == 1).sum() == 1
    # main stem is ~700 km at 1:4M and crosses many counties
    assert 550_000 < r["length_m"].sum() < 800_000
    names = set(network.stations["name"])
    assert "汾河·介休市入境断面" in names
    owners = set(r["jurisdiction"]) | {c for s in r["co_jurisdictions"] for c in s.split(",") if c}
    assert len(owners) >= 20


def test_station_codes_are_stable_and_boundary_sections_named_for_both_banks() -> None:
    from basins.stations import device_code

    assert device_code("ST-1") == device_code("ST-1") != device_code("ST-2")
    assert len(device_code("ST-1")) == 24 and device_code("ST-1").isupper()
    along = reaches_gdf(
        {"b": [(110.45, 35.1), (110.5035, 35.12), (110.5035, 35.3)]}, river=["黄河"]
    )
    network = build_network(along, COUNTIES)
    assert set(network.stations["name"]) == {"黄河·甲县、乙县源头断面", "黄河·甲县、乙县出口断面"}
    entering = reaches_gdf(
        {
            "u": [(110.3, 35.1), (110.45, 35.1)],
            "b": [(110.45, 35.1), (110.5035, 35.12), (110.5035, 35.3)],
        },
        river=["黄河", "黄河"],
    )
    names = set(build_network(entering, COUNTIES).stations["name"])
    assert names == {"黄河·甲县源头断面", "黄河·甲县、乙县界河断面", "黄河·甲县、乙县出口断面"}

"""The data the project ships (data/): present, well-formed, consistent, reproducible.

Most checks read only data/. The reproducibility checks rebuild data/ from ../shared/data
into a temporary directory and skip where that reference data is absent.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from basins.io import read_network
from basins.model import (
    JURISDICTION_COLUMNS,
    REACH_COLUMNS,
    STATION_COLUMNS,
    JurisdictionKind,
    Network,
)

ROOT = Path(__file__).resolve().parent.parent
XPCC_KINDS = {"xpcc", "xpcc_division", "xpcc_city", "xpcc_regiment"}
RESERVED_DOMAIN = re.compile(
    r"@([a-z0-9-]+\.)*([a-z0-9-]+\.(example|test|invalid|localhost)|example\.(com|net|org))$"
)
SOURCE_REACH_COLUMNS = (
    "reach_id",
    "river",
    "basin",
    "kind",
    "target_class",
    "velocity_ms",
    "discharge_m3s",
    "approximate",
    "downstream",
)
SOURCE_JURISDICTION_COLUMNS = (*JURISDICTION_COLUMNS, "name_en", "bureau_en")
BUREAU_COLUMNS = (
    "jurisdiction_id",
    "bureau",
    "bureau_en",
    "email",
    "webhook_url",
    "webhook_format",
    "duty_name",
    "duty_phone",
)


@pytest.fixture(scope="module")
def network(data_dir: Path) -> Network:
    return read_network(data_dir)


@pytest.fixture(scope="module")
def bureaus(data_dir: Path) -> list[dict[str, str]]:
    with (data_dir / "bureaus.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _ids(value: str) -> list[str]:
    return [v for v in str(value or "").split(",") if v]


def _banks(reach: pd.Series) -> list[str]:
    return [str(reach["jurisdiction"]), *_ids(reach["co_jurisdictions"])]


def _walk(reaches: gpd.GeoDataFrame, river: str) -> Iterator[pd.Series]:
    """The reaches of a river in flow order, from its source down (following the first link)."""
    by_id = {
        str(r): row for r, (_, row) in zip(reaches["reach_id"], reaches.iterrows(), strict=True)
    }
    fed = {d for value in reaches["downstream"] for d in _ids(value)}
    sources = [r for r, row in by_id.items() if row["river"] == river and r not in fed]
    assert len(sources) == 1, f"{river}: expected one source, got {sources}"
    current: str | None = sources[0]
    while current is not None and by_id[current]["river"] == river:
        row = by_id[current]
        yield row
        following = _ids(row["downstream"])
        current = following[0] if following else None


# --- shipped files -----------------------------------------------------------------------


def test_every_layer_reads_back_with_the_documented_columns(network: Network) -> None:
    assert list(network.reaches.columns) == [*REACH_COLUMNS, "geometry"]
    assert list(network.jurisdictions.columns) == [*JURISDICTION_COLUMNS, "geometry"]
    assert list(network.stations.columns) == [*STATION_COLUMNS, "geometry"]
    assert len(network.reaches) > 50 and len(network.stations) > 50
    assert set(network.reaches["basin"]) == {"changji", "fenhe"}
    assert network.reaches["target_class"].between(1, 5).all()
    assert (network.reaches["length_m"] > 0).all()


def test_source_layers_have_the_documented_columns(data_dir: Path) -> None:
    jurisdictions = gpd.read_file(data_dir / "sources" / "jurisdictions.geojson")
    assert set(SOURCE_JURISDICTION_COLUMNS) <= set(jurisdictions.columns)
    for basin in ("fenhe", "changji"):
        reaches = gpd.read_file(data_dir / "sources" / f"reaches_{basin}.geojson")
        assert set(SOURCE_REACH_COLUMNS) <= set(reaches.columns)
        assert set(reaches["basin"]) == {basin}
    schematic = gpd.read_file(data_dir / "sources" / "reaches_changji.geojson")
    assert schematic["approximate"].all()
    ids = set(schematic["reach_id"])
    assert {d for d in schematic["downstream"] if d} <= ids


def test_tables_have_the_documented_columns(data_dir: Path, bureaus: list[dict[str, str]]) -> None:
    assert tuple(bureaus[0]) == BUREAU_COLUMNS
    codes = pd.read_csv(data_dir / "standards" / "hj212_codes.csv", dtype=str)
    assert list(codes.columns) == ["code", "name_zh", "name_en", "default_unit"]
    assert codes["code"].str.fullmatch(r"w\d{5}").all()
    limits = pd.read_csv(data_dir / "standards" / "gb3838_2002_limits.csv", dtype=str)
    assert {"item_zh", "hj212_2017_code", "class_I", "class_V"} <= set(limits.columns)
    # every HJ 212 code the limits table uses is in the code table
    assert set(limits["hj212_2017_code"].dropna()) <= set(codes["code"])


def test_jurisdictions_file_stays_small_and_polygons_are_valid(
    data_dir: Path, network: Network
) -> None:
    assert (data_dir / "jurisdictions.geojson").stat().st_size < 3_000_000
    drawn = network.jurisdictions[network.jurisdictions.geometry.notna()]
    assert shapely.is_valid(drawn.geometry.values).all()


# --- hierarchy ------------------------------------------------------------------------------


def test_every_reach_and_station_names_known_jurisdictions(network: Network) -> None:
    known = set(network.jurisdictions["jurisdiction_id"])
    for _, reach in network.reaches.iterrows():
        assert set(_banks(reach)) <= known, reach["reach_id"]
        assert not reach["host"] or reach["host"] in known
    assert set(network.stations["jurisdiction"]) <= known
    assert set(network.stations["reach_id"]) <= set(network.reaches["reach_id"])


def test_every_parent_and_host_exists_and_enclaves_lie_inside(network: Network) -> None:
    table = network.jurisdictions.set_index("jurisdiction_id")
    for jid, row in table.iterrows():
        assert not row["parent"] or row["parent"] in table.index, jid
        if row["host"]:
            host = table.loc[row["host"], "geometry"]
            assert host.contains(row["geometry"]), f"{jid} not inside {row['host']}"
            assert row["approximate"], jid
    provinces = {j for j in table.index if table.loc[j, "kind"] in ("province", "xpcc")}
    for jid in table.index:
        top = [jid, *network.hierarchy.ancestors(jid)][-1]
        assert top in provinces, f"{jid} does not end at a province"


def test_xpcc_units_are_not_under_the_prefecture(network: Network) -> None:
    kinds = dict(
        zip(network.jurisdictions["jurisdiction_id"], network.jurisdictions["kind"], strict=True)
    )
    xpcc = [j for j, k in kinds.items() if k in XPCC_KINDS]
    assert {"659001", "659004", "660600", "660800", "660000"} <= set(xpcc)
    assert sum(kinds[j] == JurisdictionKind.XPCC_REGIMENT for j in xpcc) >= 3
    for jid in xpcc:
        assert "652300" not in network.hierarchy.ancestors(jid), jid
        assert network.hierarchy.province_of(jid) == "660000", jid


def test_parks_and_counties_of_the_changji_notice_are_present(network: Network) -> None:
    table = network.jurisdictions.set_index("jurisdiction_id")
    parks = table[table["kind"] == "park"]
    assert set(parks["name"]) == {
        "新疆准东经济技术开发区",
        "昌吉国家农业科技园区",
        "昌吉国家高新技术开发区",
    }
    assert (parks["parent"] == "652300").all()
    assert table.loc["652323", "bureau"] == "昌吉州生态环境局呼图壁县分局"
    assert table.loc["140781", "bureau"] == "晋中市生态环境局介休分局"
    assert table.loc["140000", "bureau"] == "山西省生态环境厅"


# --- rivers -----------------------------------------------------------------------------------


def test_toutun_river_is_a_boundary_between_changji_and_urumqi(network: Network) -> None:
    reaches = network.reaches[network.reaches["river"] == "头屯河"]
    urumqi = {"650106", "650121"}
    boundary = [set(_banks(r)) for _, r in reaches.iterrows() if r["co_jurisdictions"]]
    assert any("652301" in banks and banks & urumqi for banks in boundary)


def test_huanghe_is_a_boundary_with_shaanxi_and_henan(network: Network) -> None:
    reaches = network.reaches[network.reaches["river"] == "黄河"]
    assert (reaches["co_jurisdictions"] != "").all()
    provinces = [
        {network.hierarchy.province_of(j) for j in _banks(r)} for _, r in reaches.iterrows()
    ]
    assert all("140000" in p for p in provinces)
    assert any("610000" in p for p in provinces)
    assert any("410000" in p for p in provinces)


def test_fenhe_flows_through_its_prefectures_in_order(network: Network) -> None:
    order: list[str] = []
    for reach in _walk(network.reaches, "汾河"):
        for jid in _banks(reach):
            prefecture = network.hierarchy.prefecture_of(jid)
            if prefecture and prefecture not in order:
                order.append(prefecture)
    wanted = ["140100", "140700", "141100", "141000", "140800"]  # 太原 晋中 吕梁 临汾 运城
    assert [p for p in order if p in wanted] == wanted
    last = list(_walk(network.reaches, "汾河"))[-1]
    assert network.reaches.set_index("reach_id").loc[_ids(last["downstream"])[0], "river"] == "黄河"


def test_huanghe_ends_at_sanmenxia(network: Network) -> None:
    reaches = network.reaches[network.reaches["river"] == "黄河"]
    outlets = reaches[reaches["downstream"] == ""]
    assert len(outlets) == 1
    end = shapely.get_point(outlets.geometry.iloc[0], -1)
    assert end.distance(shapely.Point(111.345, 34.83)) < 0.05


def test_schematic_rivers_are_marked_approximate(network: Network) -> None:
    changji = network.reaches[network.reaches["basin"] == "changji"]
    assert changji["approximate"].all()
    assert {"玛纳斯河", "呼图壁河", "三屯河", "头屯河", "乌鲁木齐河", "三工河"} <= set(
        changji["river"]
    )
    regiments = {"660601", "660602", "660801", "660802", "660803"}
    assert regiments <= set(changji["jurisdiction"])


def test_a_station_where_a_river_enters_a_jurisdiction(network: Network) -> None:
    reaches = network.reaches.set_index("reach_id")
    stations = set(network.stations["reach_id"])
    for rid, reach in reaches.iterrows():
        for down in _ids(reach["downstream"]):
            if set(_banks(reaches.loc[down])) != set(_banks(reach)):
                assert down in stations, f"no station where {rid} flows into {down}"
    assert network.stations["station_id"].is_unique
    assert network.stations["mn"].str.fullmatch(r"[0-9A-F]{24}").all()


# --- bureaus and README ---------------------------------------------------------------------


def test_every_bureau_row_names_a_jurisdiction_with_that_bureau(
    network: Network, bureaus: list[dict[str, str]]
) -> None:
    table = network.jurisdictions.set_index("jurisdiction_id")
    listed = [row["jurisdiction_id"] for row in bureaus]
    assert len(listed) == len(set(listed))
    for row in bureaus:
        assert row["jurisdiction_id"] in table.index
        assert row["bureau"] == table.loc[row["jurisdiction_id"], "bureau"]
        assert row["webhook_format"] in ("", "generic", "wecom", "dingtalk")
    with_bureau = set(table.index[table["bureau"] != ""])
    assert with_bureau == set(listed)


def test_every_contact_is_an_example(bureaus: list[dict[str, str]]) -> None:
    for row in bureaus:
        for email in row["email"].split(";"):
            assert RESERVED_DOMAIN.search(email.strip().lower()), email
        if row["webhook_url"]:
            host = re.match(r"https?://([^/]+)/", row["webhook_url"])
            assert host and host.group(1).endswith(".example"), row["webhook_url"]
        assert re.fullmatch(r"0\d{2,3}-0000\d{3}", row["duty_phone"]), row["duty_phone"]


def test_readme_mentions_every_file_and_chosen_code(data_dir: Path, network: Network) -> None:
    readme = (data_dir / "README.md").read_text(encoding="utf-8")
    for path in data_dir.rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert path.relative_to(data_dir).as_posix() in readme, path
    table = network.jurisdictions
    chosen = table[
        table["kind"].isin(["park", *XPCC_KINDS])
        & ~table["jurisdiction_id"].isin(["659001", "659004"])
    ]
    for jid in chosen["jurisdiction_id"]:
        assert jid in readme, jid


# --- reproducible from ../shared/data ---------------------------------------------------------


@pytest.fixture(scope="module")
def rebuilt(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_data.py"),
            "--shared",
            str(shared_data),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    return out


def test_data_is_reproducible_from_shared(rebuilt: Path, data_dir: Path) -> None:
    """Fails when data/ is stale (the build or its inputs changed): run `make data`."""
    shipped, again = read_network(data_dir), read_network(rebuilt)
    for layer in ("reaches", "jurisdictions", "stations"):
        a, b = getattr(shipped, layer), getattr(again, layer)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        same = a.geometry.geom_equals_exact(b.geometry, tolerance=1e-6)
        assert (same | (a.geometry.isna() & b.geometry.isna())).all(), layer
    for name in ("bureaus.csv", "standards/gb3838_2002_limits.csv", "standards/hj212_codes.csv"):
        assert (rebuilt / name).read_bytes() == (data_dir / name).read_bytes(), name


def test_standards_are_copied_unchanged(shared_data: Path, data_dir: Path) -> None:
    original = shared_data / "standards" / "gb3838_2002_limits.csv"
    assert (data_dir / "standards" / "gb3838_2002_limits.csv").read_bytes() == original.read_bytes()


def test_build_refuses_a_missing_reference_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_data.py"),
            "--shared",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "reference data not found" in result.stderr
    assert not (tmp_path / "out").exists()

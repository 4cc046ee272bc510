"""The jurisdictions source layer: real county polygons, the hierarchy above them, drawn units.

Counties come from the TianDiTu 2023 national county file. They are simplified as one
coverage (shared borders stay shared, no gaps or slivers appear) and every polygon is checked
for validity afterwards. Prefectures, provinces and XPCC divisions carry no geometry: their
members cover them. Bureau names follow the notices (昌吉州生态环境局呼图壁县分局,
晋中市生态环境局介休分局, 山西省生态环境厅).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from data_enclaves import DRAWN, XPCC_CITIES, XPCC_LINE, Unit
from data_names import english_name

COUNTY_FILE = Path("boundaries") / "cn_county_tianditu_2023.gpkg"
SIMPLIFY_DEG = 0.001  # ~100 m
ENCLAVE_MARGIN_DEG = 0.002  # drawn units stay ~200 m inside their host

#: Which counties: whole provinces, whole prefectures, and single county-level units.
PROVINCES = ("140000",)
PREFECTURES = ("652300", "650100", "610500", "411200")
SINGLE_UNITS = ("654203", "654226", "659001", "659004")

PROVINCE_BUREAUS = {
    "140000": ("山西省生态环境厅", "Shanxi Provincial Department of Ecology and Environment"),
    "610000": ("陕西省生态环境厅", "Shaanxi Provincial Department of Ecology and Environment"),
    "410000": ("河南省生态环境厅", "Henan Provincial Department of Ecology and Environment"),
    "650000": (
        "新疆维吾尔自治区生态环境厅",
        "Department of Ecology and Environment of Xinjiang Uygur Autonomous Region",
    ),
}
#: Prefecture names as their bureaus use them (昌吉州, not 昌吉回族自治州).
PREFECTURE_SHORT = {"652300": ("昌吉州", "Changji Prefecture")}

OUTPUT_COLUMNS = (
    "jurisdiction_id",
    "name",
    "name_en",
    "kind",
    "parent",
    "host",
    "approximate",
    "bureau",
    "bureau_en",
)


def read_counties(shared: Path) -> gpd.GeoDataFrame:
    """The selected county-level units of the national file (EPSG:4326, ids as text)."""
    counties = gpd.read_file(shared / COUNTY_FILE)
    wanted = (
        counties["province_adcode"].isin(PROVINCES)
        | counties["city_adcode"].isin(PREFECTURES)
        | counties["district_adcode"].isin(SINGLE_UNITS)
    )
    selected = counties[wanted].sort_values("district_adcode").reset_index(drop=True)
    invalid = selected.loc[~selected.is_valid, "district_adcode"].tolist()
    if invalid:
        raise ValueError(f"无效的县级多边形 / invalid county polygons: {invalid}")
    return selected.to_crs("EPSG:4326")


def simplify_coverage(geometries: Any) -> Any:
    """Simplify the counties together so that neighbours keep one shared border."""
    simplified = shapely.coverage_simplify(geometries, SIMPLIFY_DEG)
    bad = [i for i, ok in enumerate(shapely.is_valid(simplified)) if not ok]
    if bad or not shapely.coverage_is_valid(simplified):
        raise ValueError(f"简化后多边形无效 / simplification broke polygons at rows {bad}")
    return shapely.force_2d(simplified)


def _county_short(name: str, short_name: str, prefecture: str) -> str:
    """The county as its sub-bureau is named: full name in Xinjiang, suffix dropped elsewhere."""
    if prefecture.startswith("65"):
        return short_name or name
    if len(name) >= 3 and name[-1] in "县市区":
        return name[:-1]
    return name


def _prefecture_label(code: str, name: str) -> tuple[str, str]:
    return PREFECTURE_SHORT.get(code, (name, english_name(code, name)))


def _county_rows(counties: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for county in counties.itertuples(index=False):
        code = str(county.district_adcode)
        name_en = english_name(code, str(county.district_name))
        if code in XPCC_CITIES:
            division, bureau, bureau_en = XPCC_CITIES[code]
            rows.append(
                _row(
                    code,
                    name=str(county.district_name),
                    name_en=name_en,
                    kind="xpcc_city",
                    parent=division,
                    bureau=bureau,
                    bureau_en=bureau_en,
                    geometry=county.geometry,
                )
            )
            continue
        pref = str(county.city_adcode)
        pref_zh, pref_en = _prefecture_label(pref, str(county.city_name))
        short = _county_short(str(county.district_name), str(county.short_name), pref)
        rows.append(
            _row(
                code,
                name=str(county.district_name),
                name_en=name_en,
                kind="county",
                parent=pref,
                bureau=f"{pref_zh}生态环境局{short}分局",
                bureau_en=f"{name_en} Branch, {pref_en} Ecology and Environment Bureau",
                geometry=county.geometry,
            )
        )
    return rows


def _upper_rows(counties: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Prefectures and provinces named by the selected counties (no geometry of their own)."""
    rows: list[dict[str, Any]] = []
    civil = counties[~counties["district_adcode"].isin(list(XPCC_CITIES))]
    prefectures = civil.drop_duplicates("city_adcode")
    for pref in prefectures.itertuples(index=False):
        code = str(pref.city_adcode)
        pref_zh, pref_en = _prefecture_label(code, str(pref.city_name))
        rows.append(
            _row(
                code,
                name=str(pref.city_name),
                name_en=english_name(code, str(pref.city_name)),
                kind="prefecture",
                parent=str(pref.province_adcode),
                bureau=f"{pref_zh}生态环境局",
                bureau_en=f"{pref_en} Ecology and Environment Bureau",
            )
        )
    for prov in civil.drop_duplicates("province_adcode").itertuples(index=False):
        code = str(prov.province_adcode)
        bureau, bureau_en = PROVINCE_BUREAUS[code]
        rows.append(
            _row(
                code,
                name=str(prov.province_name),
                name_en=english_name(code, str(prov.province_name)),
                kind="province",
                parent="",
                bureau=bureau,
                bureau_en=bureau_en,
            )
        )
    return rows


def _row(
    jid: str,
    *,
    name: str,
    name_en: str,
    kind: str,
    parent: str,
    bureau: str,
    bureau_en: str,
    host: str = "",
    approximate: bool = False,
    geometry: Any = None,
) -> dict[str, Any]:
    return {
        "jurisdiction_id": jid,
        "name": name,
        "name_en": name_en,
        "kind": kind,
        "parent": parent,
        "host": host,
        "approximate": approximate,
        "bureau": bureau,
        "bureau_en": bureau_en,
        "geometry": geometry,
    }


def _drawn_geometry(unit: Unit, hosts: dict[str, Any]) -> Any:
    """The hand-drawn outline cut to the inside of its host, so it never leaves it."""
    host = hosts[unit.host]
    inner = shapely.buffer(host, -ENCLAVE_MARGIN_DEG)
    shape = shapely.Polygon(unit.outline).intersection(inner)
    parts = [p for p in shapely.get_parts(shape) if p.geom_type == "Polygon"]
    if not parts:
        raise ValueError(
            f"{unit.jurisdiction_id} {unit.name}: 轮廓不在宿主内 / outline outside host"
        )
    biggest = max(parts, key=lambda p: p.area)
    return shapely.set_precision(biggest, 1e-6)


def _unit_rows(hosts: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        _row(
            u.jurisdiction_id,
            name=u.name,
            name_en=u.name_en,
            kind=u.kind,
            parent=u.parent,
            bureau=u.bureau,
            bureau_en=u.bureau_en,
        )
        for u in XPCC_LINE
    ]
    for unit in DRAWN:
        rows.append(
            _row(
                unit.jurisdiction_id,
                name=unit.name,
                name_en=unit.name_en,
                kind=unit.kind,
                parent=unit.parent,
                bureau=unit.bureau,
                bureau_en=unit.bureau_en,
                host=unit.host,
                approximate=True,
                geometry=_drawn_geometry(unit, hosts),
            )
        )
    return rows


def build_jurisdictions(shared: Path) -> gpd.GeoDataFrame:
    """Every jurisdiction data/ ships, with bureau names, in EPSG:4326."""
    counties = read_counties(shared)
    counties["geometry"] = simplify_coverage(counties.geometry.values)
    county_rows = _county_rows(counties)
    hosts = {row["jurisdiction_id"]: row["geometry"] for row in county_rows}
    rows = [*_upper_rows(counties), *county_rows, *_unit_rows(hosts)]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs="EPSG:4326")
    frame["geometry"] = [
        None if g is None else shapely.MultiPolygon(list(shapely.get_parts(g)))
        for g in frame.geometry
    ]
    check_jurisdictions(frame)
    return frame[[*OUTPUT_COLUMNS, "geometry"]]


def check_jurisdictions(frame: gpd.GeoDataFrame) -> None:
    """Unique ids, existing parents and hosts, enclaves inside hosts, valid polygons."""
    problems: list[str] = []
    ids = set(frame["jurisdiction_id"])
    if len(ids) != len(frame):
        dup = frame.loc[frame["jurisdiction_id"].duplicated(), "jurisdiction_id"].tolist()
        problems.append(f"重复编号 / duplicate ids {dup}")
    geometry = dict(zip(frame["jurisdiction_id"], frame.geometry, strict=True))
    for row in frame.itertuples(index=False):
        jid = row.jurisdiction_id
        if row.parent and row.parent not in ids:
            problems.append(f"{jid}: 上级不存在 / parent {row.parent} missing")
        if row.host and (row.host not in ids or not geometry[row.host].contains(row.geometry)):
            problems.append(f"{jid}: 不在宿主 {row.host} 内 / not inside host")
        if row.geometry is not None and not row.geometry.is_valid:
            problems.append(f"{jid}: 多边形无效 / invalid polygon")
    if problems:
        raise ValueError("; ".join(problems))

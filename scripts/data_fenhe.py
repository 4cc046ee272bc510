"""The 汾河 basin source: the NGCC 1:4M main stem, and the 黄河 from its mouth to 三门峡.

The 汾河 arcs are kept as the NGCC drew them (not digitized in flow direction; the build
orients them from the outlet). The two shores of 汾河水库, which NGCC draws as a pair of arcs
between the same two nodes, become one reservoir reach. The 黄河 below the 汾河 mouth is a
double-line river in NGCC (both banks, kilometres apart in the wide 小北干流 bed); the
province border of the TianDiTu county file follows its channel, so the stretch is taken
from that border: the 黄河 there is the Shanxi/Shaanxi, then Shanxi/Henan, boundary river by
construction. The 汾河's last arc is extended from the NGCC mouth node to that line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from data_lines import REACH_SOURCE_COLUMNS, chain, shared_border, stretch
from shapely.geometry import LineString, Point

RIVER_FILE = Path("rivers") / "ngcc4m_hyd2_4l.shp"
FENHE = "汾河"
HUANGHE = "黄河"
MOUTH = (110.67719, 35.53251)  # NGCC node where the 汾河 meets the 黄河's left bank
SANMENXIA_DAM = (111.3453, 34.8297)  # 三门峡大坝, the outlet of the stretch
RESERVOIR_KEEP = 1101  # NGCC HYD2_4M_ of the 汾河水库 shore kept as the reservoir reach
RESERVOIR_DROP = 1100  # the other shore (same two nodes)
HUANGHE_ID = "huanghe-fenhe-sanmenxia"

#: GB 3838 target class per NGCC arc (HYD2_4M_), upstream to downstream: II in the
#: headwaters (宁武, 静乐) and at 汾河水库, III from the reservoir to 太原, IV through the
#: 太原-晋中 plain, V from the 灵石 gorge through 临汾 and 运城 to the mouth.
TARGET_CLASS = {
    1065: 2,
    1091: 2,
    1095: 2,
    RESERVOIR_KEEP: 2,
    1105: 3,
    1125: 4,
    1137: 4,
    1141: 5,
    1147: 5,
    1170: 5,
    1201: 5,
    1203: 5,
}
HUANGHE_CLASS = 3
#: Order of magnitude of the 黄河's mean flow at 潼关 (about 3e10 m3 a year in recent
#: decades); used only to estimate travel time where no velocity is measured.
HUANGHE_DISCHARGE_M3S = 1000.0
SHANXI = "140000"
OTHER_BANK = ("610000", "410000")


def read_rivers(shared: Path) -> gpd.GeoDataFrame:
    """The NGCC level-3 river layer: no .prj (lon/lat degrees) and GBK text."""
    rivers = gpd.read_file(shared / RIVER_FILE, encoding="gbk")
    return rivers.set_crs("EPSG:4326", allow_override=True)


def _province_border(jurisdictions: gpd.GeoDataFrame) -> LineString:
    counties = jurisdictions[jurisdictions["kind"] == "county"]
    province = counties["parent"].map(
        dict(zip(jurisdictions["jurisdiction_id"], jurisdictions["parent"], strict=True))
    )
    shanxi = counties[province == SHANXI].union_all()
    other = counties[province.isin(OTHER_BANK)].union_all()
    return shared_border(shanxi, other, near=(MOUTH, SANMENXIA_DAM))


def huanghe_line(jurisdictions: gpd.GeoDataFrame) -> LineString:
    """The 黄河 from the point of the border nearest the 汾河 mouth down to 三门峡."""
    return stretch(_province_border(jurisdictions), MOUTH, SANMENXIA_DAM)


def _fenhe_arcs(rivers: gpd.GeoDataFrame, river_start: tuple[float, float]) -> list[dict[str, Any]]:
    arcs = rivers[(rivers["NAME"] == FENHE) & (rivers["HYD2_4M_"] != RESERVOIR_DROP)]
    rows: list[dict[str, Any]] = []
    for arc in arcs.itertuples(index=False):
        number = int(arc.HYD2_4M_)
        if number not in TARGET_CLASS:
            raise ValueError(f"汾河出现未知弧段 / unknown 汾河 arc HYD2_4M_={number}")
        line: LineString = arc.geometry
        coords = [(x, y) for x, y, *_ in line.coords]
        if Point(coords[0]).distance(Point(MOUTH)) < 1e-4:
            line = chain([river_start], line)
        elif Point(coords[-1]).distance(Point(MOUTH)) < 1e-4:
            line = chain(line, [river_start])
        rows.append(
            _reach(
                f"fenhe-ngcc{number}",
                FENHE,
                "reservoir" if number == RESERVOIR_KEEP else "river",
                TARGET_CLASS[number],
                line,
                source=f"NGCC 1:4M hyd2 HYD2_4M_={number}",
            )
        )
    return rows


def _reach(
    reach_id: str,
    river: str,
    kind: str,
    target_class: int,
    geometry: LineString,
    *,
    source: str,
    discharge: float = np.nan,
    downstream: str = "",
    approximate: bool = False,
    basin: str = "fenhe",
) -> dict[str, Any]:
    return {
        "reach_id": reach_id,
        "river": river,
        "basin": basin,
        "kind": kind,
        "target_class": target_class,
        "velocity_ms": np.nan,
        "discharge_m3s": discharge,
        "approximate": approximate,
        "downstream": downstream,
        "source": source,
        "geometry": geometry,
    }


def fenhe_reaches(shared: Path, jurisdictions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 汾河 arcs (raw direction) and the 黄河 stretch (in flow direction)."""
    huanghe = huanghe_line(jurisdictions)
    start = (huanghe.coords[0][0], huanghe.coords[0][1])
    rows = _fenhe_arcs(read_rivers(shared), start)
    rows.append(
        _reach(
            HUANGHE_ID,
            HUANGHE,
            "river",
            HUANGHE_CLASS,
            huanghe,
            source="TianDiTu 2023 province border 山西|陕西,河南 (follows the river)",
            discharge=HUANGHE_DISCHARGE_M3S,
        )
    )
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs="EPSG:4326")
    return frame[[*REACH_SOURCE_COLUMNS, "geometry"]]

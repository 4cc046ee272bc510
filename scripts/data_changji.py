"""Schematic rivers of 昌吉州: no public line data exists for them, so they are drawn.

Every course runs in flow order, from the Tianshan in the south to the desert, lakes or
reservoirs in the north, through the real towns and past the real reservoirs, with a few
vertices each (``approximate`` true). Where a river is a county border (玛纳斯河 between
玛纳斯县 and 沙湾市/石河子市, 头屯河 between 昌吉市 and 乌鲁木齐), its course is taken from
that shared border itself, so it is a boundary reach by construction. Consecutive reaches
share their end vertex and name their downstream reach explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from data_lines import REACH_SOURCE_COLUMNS, chain, shared_border, stretch
from shapely.geometry import LineString

Coords = list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Border:
    """A course along the border of two jurisdictions, between two points near it."""

    first: str
    second: str
    start: tuple[float, float]
    end: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Course:
    reach_id: str
    river: str
    kind: str
    target_class: int
    parts: tuple[Border | Coords, ...]
    downstream: str = ""
    discharge_m3s: float = np.nan


MANAS, HUTUBI, SANTUN, TOUTUN, URUMQI, SANGONG = (
    "玛纳斯河",
    "呼图壁河",
    "三屯河",
    "头屯河",
    "乌鲁木齐河",
    "三工河",
)

#: Mean discharge (m3/s) from the commonly cited mean annual runoff at the mountain outlet
#: (玛纳斯河 肯斯瓦特 ~1.28e9 m3, 呼图壁河 石门 ~4.7e8 m3, 乌鲁木齐河 英雄桥 ~2.4e8 m3),
#: rounded; indicative only, for travel-time estimates.
COURSES: tuple[Course, ...] = (
    # 玛纳斯河: the border of 沙湾市 and 玛纳斯县 from the mountains, past 石河子市 (XPCC) on
    # the west bank, the 莫索湾 regiments (147团, 148团) on the east bank, then into the
    # north of 玛纳斯县 (149团) and 和布克赛尔县 to 玛纳斯湖.
    Course(
        "mns-1",
        MANAS,
        "river",
        2,
        (Border("654203", "652324", (85.594, 43.528), (86.094, 44.124)),),
        "mns-2",
        40.0,
    ),
    Course(
        "mns-2",
        MANAS,
        "river",
        3,
        (Border("659001", "652324", (86.094, 44.124), (86.121, 44.45)),),
        "mns-3",
        40.0,
    ),
    Course(
        "mns-3",
        MANAS,
        "river",
        3,
        (Border("654203", "652324", (86.121, 44.45), (85.785, 44.921)),),
        "mns-4",
        40.0,
    ),
    Course(
        "mns-4",
        MANAS,
        "river",
        4,
        (
            [
                (85.785, 44.921),
                (85.76, 45.02),
                (85.74, 45.12),
                (85.72, 45.22),
                (85.71, 45.36),
                (85.75, 45.50),
                (85.84, 45.64),
            ],
        ),
        "mns-5",
        40.0,
    ),
    Course("mns-5", MANAS, "lake", 4, ([(85.84, 45.64), (85.90, 45.73), (85.96, 45.80)],)),
    # 呼图壁河: through 呼图壁县, past the county town and 大海子水库, then the 6th division's
    # 芳草湖农场 and 新湖农场, dying out at the desert edge.
    Course(
        "htb-1",
        HUTUBI,
        "river",
        2,
        ([(86.30, 43.50), (86.42, 43.65), (86.55, 43.80), (86.68, 43.93), (86.85, 44.03)],),
        "htb-2",
        15.0,
    ),
    Course(
        "htb-2",
        HUTUBI,
        "river",
        3,
        ([(86.85, 44.03), (86.90, 44.10), (86.93, 44.20), (86.94, 44.30)],),
        "htb-3",
        15.0,
    ),
    Course("htb-3", HUTUBI, "reservoir", 3, ([(86.94, 44.30), (86.95, 44.36)],), "htb-4", 15.0),
    Course(
        "htb-4",
        HUTUBI,
        "river",
        4,
        (
            [
                (86.95, 44.36),
                (86.94, 44.50),
                (86.92, 44.62),
                (86.88, 44.78),
                (86.85, 44.92),
                (86.83, 45.02),
            ],
        ),
    ),
    # 三屯河: from the mountains through the west of the city of 昌吉 and its parks.
    Course(
        "stn-1",
        SANTUN,
        "river",
        2,
        ([(86.88, 43.45), (87.02, 43.62), (87.15, 43.78), (87.22, 43.92)],),
        "stn-2",
    ),
    Course(
        "stn-2",
        SANTUN,
        "river",
        3,
        (
            [
                (87.22, 43.92),
                (87.27, 44.00),
                (87.29, 44.05),
                (87.27, 44.12),
                (87.25, 44.25),
                (87.23, 44.40),
            ],
        ),
    ),
    # 头屯河: the border of 昌吉市 with 乌鲁木齐县, then with 头屯河区, then into 昌吉市.
    Course(
        "ttr-1",
        TOUTUN,
        "river",
        2,
        (Border("652301", "650121", (86.798, 43.111), (87.256, 43.778)),),
        "ttr-2",
    ),
    Course(
        "ttr-2",
        TOUTUN,
        "river",
        3,
        (Border("652301", "650106", (87.256, 43.778), (87.418, 44.055)),),
        "ttr-3",
    ),
    Course("ttr-3", TOUTUN, "river", 4, ([(87.418, 44.055), (87.42, 44.12), (87.43, 44.20)],)),
    # 乌鲁木齐河: from the glaciers of 乌鲁木齐县, 乌拉泊水库, through the city and 米东区 to
    # 五家渠市 (6th division), ending in 猛进水库 (青格达湖).
    Course(
        "wlmq-1",
        URUMQI,
        "river",
        2,
        ([(86.82, 43.12), (87.00, 43.28), (87.25, 43.42), (87.45, 43.55), (87.56, 43.64)],),
        "wlmq-2",
        7.5,
    ),
    Course("wlmq-2", URUMQI, "reservoir", 2, ([(87.56, 43.64), (87.60, 43.68)],), "wlmq-3", 7.5),
    Course(
        "wlmq-3",
        URUMQI,
        "river",
        4,
        (
            [
                (87.60, 43.68),
                (87.60, 43.75),
                (87.59, 43.82),
                (87.58, 43.90),
                (87.58, 43.98),
                (87.56, 44.06),
                (87.55, 44.15),
                (87.55, 44.24),
            ],
        ),
        "wlmq-4",
        7.5,
    ),
    Course("wlmq-4", URUMQI, "reservoir", 4, ([(87.55, 44.24), (87.55, 44.30)],)),
    # 三工河: from 天池 down past the city of 阜康 into the desert.
    Course(
        "sgh-1", SANGONG, "river", 2, ([(88.13, 43.88), (88.12, 43.98), (88.10, 44.08)],), "sgh-2"
    ),
    Course(
        "sgh-2",
        SANGONG,
        "river",
        3,
        ([(88.10, 44.08), (88.08, 44.18), (88.07, 44.30), (88.06, 44.45)],),
    ),
)

RESERVOIR_NAMES = {"htb-3": "大海子水库", "wlmq-2": "乌拉泊水库", "wlmq-4": "猛进水库"}


def _line(course: Course, polygons: dict[str, Any]) -> LineString:
    pieces: list[LineString | Coords] = []
    for part in course.parts:
        if isinstance(part, Border):
            border = shared_border(
                polygons[part.first], polygons[part.second], near=(part.start, part.end)
            )
            pieces.append(stretch(border, part.start, part.end))
        else:
            pieces.append(part)
    return chain(*pieces)


def _joined(lines: dict[str, LineString]) -> dict[str, LineString]:
    """Each reach ends exactly where its downstream reach starts (border stretches snap)."""
    joined = dict(lines)
    for course in COURSES:
        if course.downstream:
            start = joined[course.downstream].coords[0]
            coords = list(joined[course.reach_id].coords)
            coords[-1] = start
            joined[course.reach_id] = LineString(coords)
    return joined


def _source(course: Course) -> str:
    borders = [f"{p.first}|{p.second}" for p in course.parts if isinstance(p, Border)]
    if borders:
        return "schematic: along the county border " + ", ".join(borders)
    return "schematic: drawn by hand" + (
        f" ({RESERVOIR_NAMES[course.reach_id]})" if course.reach_id in RESERVOIR_NAMES else ""
    )


def changji_reaches(jurisdictions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The schematic reaches, in flow direction, with explicit downstream ids."""
    polygons = dict(zip(jurisdictions["jurisdiction_id"], jurisdictions.geometry, strict=True))
    lines = _joined({c.reach_id: _line(c, polygons) for c in COURSES})
    rows = [
        {
            "reach_id": c.reach_id,
            "river": c.river,
            "basin": "changji",
            "kind": c.kind,
            "target_class": c.target_class,
            "velocity_ms": np.nan,
            "discharge_m3s": c.discharge_m3s,
            "approximate": True,
            "downstream": c.downstream,
            "source": _source(c),
            "geometry": lines[c.reach_id],
        }
        for c in COURSES
    ]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs="EPSG:4326")
    return frame[[*REACH_SOURCE_COLUMNS, "geometry"]]

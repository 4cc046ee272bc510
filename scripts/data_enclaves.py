"""Jurisdictions with no public polygon: industrial parks and XPCC (兵团) units.

The parks (园区) of the Changji notice and the XPCC regiments/farms (团场, 农场) on the lower
rivers have no boundary in any public source, so they are drawn here as rough outlines near
where they really are and clipped to the inside of their host county (``approximate`` true).
The XPCC line (兵团 -> 师 -> 师市/团场) stands apart from the prefecture: its units are never
children of 652300. Codes that are not administrative codes are chosen so they cannot collide
with one (documented in data/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

XPCC_ID = "660000"
DIVISION_6 = "660600"
DIVISION_8 = "660800"
PREFECTURE_CHANGJI = "652300"


@dataclass(frozen=True, slots=True)
class Unit:
    """A jurisdiction that is not a polygon of the county file."""

    jurisdiction_id: str
    name: str
    name_en: str
    kind: str
    parent: str
    bureau: str
    bureau_en: str
    host: str = ""
    outline: tuple[tuple[float, float], ...] = ()  # lon/lat ring, drawn by hand


#: Units without a geometry of their own (their members cover them).
XPCC_LINE: tuple[Unit, ...] = (
    Unit(
        XPCC_ID,
        "新疆生产建设兵团",
        "Xinjiang Production and Construction Corps",
        "xpcc",
        "",
        "兵团生态环境局",
        "XPCC Ecology and Environment Bureau",
    ),
    Unit(
        DIVISION_6,
        "第六师",
        "6th Division (XPCC)",
        "xpcc_division",
        XPCC_ID,
        "第六师生态环境局",
        "6th Division Ecology and Environment Bureau",
    ),
    Unit(
        DIVISION_8,
        "第八师",
        "8th Division (XPCC)",
        "xpcc_division",
        XPCC_ID,
        "第八师生态环境局",
        "8th Division Ecology and Environment Bureau",
    ),
)

#: XPCC cities that do have a county-file polygon: code -> (division, bureau, bureau_en).
XPCC_CITIES: dict[str, tuple[str, str, str]] = {
    "659001": (
        DIVISION_8,
        "第八师石河子市生态环境局",
        "8th Division Shihezi City Ecology and Environment Bureau",
    ),
    "659004": (
        DIVISION_6,
        "第六师五家渠市生态环境局",
        "6th Division Wujiaqu City Ecology and Environment Bureau",
    ),
}


def _park(pid: str, name: str, name_en: str, host: str, outline: list[tuple[float, float]]) -> Unit:
    return Unit(
        pid,
        name,
        name_en,
        "park",
        PREFECTURE_CHANGJI,
        f"{name}环保局",
        f"Environmental Protection Bureau of {name_en}",
        host,
        tuple(outline),
    )


def _regiment(
    rid: str,
    *,
    name: str,
    name_en: str,
    division: str,
    host: str,
    outline: list[tuple[float, float]],
) -> Unit:
    division_zh = "第六师" if division == DIVISION_6 else "第八师"
    division_en = "6th" if division == DIVISION_6 else "8th"
    return Unit(
        rid,
        name,
        name_en,
        "xpcc_regiment",
        division,
        f"{division_zh}{name}环境保护办公室",
        f"Environmental Protection Office of {name_en}, {division_en} Division",
        host,
        tuple(outline),
    )


def _box(west: float, south: float, east: float, north: float) -> list[tuple[float, float]]:
    return [(west, south), (east, south), (east, north), (west, north)]


#: Drawn units, each clipped to the inside of its host when the layer is built.
DRAWN: tuple[Unit, ...] = (
    # 准东: the 五彩湾 area in the north of 吉木萨尔县 (the zone also reaches into 奇台县).
    _park(
        "652300P1",
        "新疆准东经济技术开发区",
        "Xinjiang Zhundong Economic and Technological Development Zone",
        "652327",
        [(88.72, 44.70), (89.30, 44.70), (89.30, 44.97), (88.95, 45.00), (88.72, 44.92)],
    ),
    # North of 昌吉市 (六工), on the lower 三屯河.
    _park(
        "652300P2",
        "昌吉国家农业科技园区",
        "Changji National Agricultural Science and Technology Park",
        "652301",
        _box(87.20, 44.09, 87.31, 44.17),
    ),
    # Beside the city of 昌吉, astride the 三屯河 just below the town.
    _park(
        "652300P3",
        "昌吉国家高新技术开发区",
        "Changji National High-tech Industrial Development Zone",
        "652301",
        _box(87.25, 44.02, 87.34, 44.075),
    ),
    # 6th division farms on the lower 呼图壁河, inside 呼图壁县.
    _regiment(
        "660601",
        name="芳草湖农场",
        name_en="Fangcaohu Farm",
        division=DIVISION_6,
        host="652323",
        outline=[(86.84, 44.44), (87.03, 44.44), (87.03, 44.66), (86.86, 44.67)],
    ),
    _regiment(
        "660602",
        name="新湖农场",
        name_en="Xinhu Farm",
        division=DIVISION_6,
        host="652323",
        outline=[(86.76, 44.72), (86.96, 44.72), (86.95, 44.93), (86.77, 44.93)],
    ),
    # 8th division regiments on the lower 玛纳斯河 where it leaves the county border and
    # runs through the north of 玛纳斯县 toward 和布克赛尔县 (placed schematically, in flow
    # order 147团, 148团, 149团; the real 莫索湾 farms lie further east).
    _regiment(
        "660801",
        name="147团",
        name_en="147th Regiment",
        division=DIVISION_8,
        host="652324",
        outline=_box(85.66, 44.93, 86.00, 45.06),
    ),
    _regiment(
        "660802",
        name="148团",
        name_en="148th Regiment",
        division=DIVISION_8,
        host="652324",
        outline=_box(85.66, 45.06, 85.95, 45.19),
    ),
    _regiment(
        "660803",
        name="149团",
        name_en="149th Regiment",
        division=DIVISION_8,
        host="652324",
        outline=_box(85.66, 45.19, 85.92, 45.33),
    ),
)

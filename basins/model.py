"""The river network's vocabulary, shared by every stage from loading to tracing.

A network is three GeoDataFrames (reaches, jurisdictions, stations) held together with the
jurisdiction hierarchy. The column names below are the on-disk format of ``data/`` as well as
the in-memory one, so that a network written by ``write_network`` reads back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd


class JurisdictionKind(StrEnum):
    """Administrative level of a jurisdiction; XPCC (兵团) units form a line of their own."""

    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"  # counties, districts and county-level cities
    PARK = "park"  # industrial parks with their own environmental bureau (园区环保局)
    XPCC = "xpcc"  # 新疆生产建设兵团 itself
    XPCC_DIVISION = "xpcc_division"  # 师
    XPCC_CITY = "xpcc_city"  # 师市合一 cities such as 五家渠市
    XPCC_REGIMENT = "xpcc_regiment"  # 团场, 农场


#: Kinds that stand at prefecture level when deciding "another prefecture".
PREFECTURE_LEVEL = frozenset({JurisdictionKind.PREFECTURE, JurisdictionKind.XPCC_DIVISION})
#: Kinds that stand at province level when deciding "another province".
PROVINCE_LEVEL = frozenset({JurisdictionKind.PROVINCE, JurisdictionKind.XPCC})
#: Kinds drawn inside a host polygon; they win over the host when a reach crosses them.
ENCLAVE_KINDS = frozenset(
    {JurisdictionKind.PARK, JurisdictionKind.XPCC_CITY, JurisdictionKind.XPCC_REGIMENT}
)


class ReachKind(StrEnum):
    RIVER = "river"
    CANAL = "canal"
    RESERVOIR = "reservoir"
    LAKE = "lake"


class Direction(StrEnum):
    DOWN = "down"
    UP = "up"


# Column names of the reaches layer (data/reaches.geojson).
REACH_COLUMNS: tuple[str, ...] = (
    "reach_id",  # str, unique
    "river",  # str, river name (汾河)
    "basin",  # str, basin key ("changji", "fenhe")
    "downstream",  # str: downstream reach ids joined by "," ("" at an outlet); several = divergence
    "length_m",  # float, metres, computed in a projected CRS
    "velocity_ms",  # float or NaN: measured mean velocity
    "discharge_m3s",  # float or NaN: mean discharge, used to estimate velocity
    "kind",  # ReachKind
    "target_class",  # int 1..5: GB 3838-2002 class the reach must meet
    "jurisdiction",  # str: administering jurisdiction_id
    "co_jurisdictions",  # str: other bank(s) of a boundary reach, ids joined by "," or ""
    "host",  # str: host jurisdiction when `jurisdiction` is an enclave, else ""
    "approximate",  # bool: drawn by hand (schematic course)
)

# Column names of the jurisdictions layer (data/jurisdictions.geojson). Geometry may be None
# for prefecture, province and XPCC division entries whose members cover them.
JURISDICTION_COLUMNS: tuple[str, ...] = (
    "jurisdiction_id",  # str: administrative code where one exists (652323), else documented code
    "name",  # str: 呼图壁县
    "kind",  # JurisdictionKind
    "parent",  # str or "": supervising jurisdiction
    "host",  # str or "": for enclaves, the jurisdiction they are drawn inside
    "approximate",  # bool
    "bureau",  # str: the bureau's name as the notices use it (昌吉州生态环境局呼图壁县分局)
)

# Column names of the stations layer (data/stations.geojson), point geometry.
STATION_COLUMNS: tuple[str, ...] = (
    "station_id",
    "name",
    "reach_id",
    "jurisdiction",
    "mn",  # HJ 212 device code (24 hex chars)
)


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    jurisdiction_id: str
    name: str
    kind: JurisdictionKind
    parent: str | None
    host: str | None = None
    approximate: bool = False
    bureau: str = ""


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """The supervision tree; answers "which prefecture / province is this in" without geometry."""

    jurisdictions: dict[str, Jurisdiction]

    def ancestors(self, jurisdiction_id: str) -> list[str]:
        """The chain of parents, nearest first (not including the jurisdiction itself)."""
        chain: list[str] = []
        seen = {jurisdiction_id}
        current = self.jurisdictions[jurisdiction_id].parent
        while current is not None and current not in seen and current in self.jurisdictions:
            chain.append(current)
            seen.add(current)
            current = self.jurisdictions[current].parent
        return chain

    def _level(self, jurisdiction_id: str, kinds: frozenset[JurisdictionKind]) -> str | None:
        for jid in [jurisdiction_id, *self.ancestors(jurisdiction_id)]:
            if self.jurisdictions[jid].kind in kinds:
                return jid
        return None

    def prefecture_of(self, jurisdiction_id: str) -> str | None:
        """The prefecture or XPCC division a jurisdiction belongs to."""
        return self._level(jurisdiction_id, PREFECTURE_LEVEL)

    def province_of(self, jurisdiction_id: str) -> str | None:
        """The province, or the XPCC itself for units on the XPCC line."""
        return self._level(jurisdiction_id, PROVINCE_LEVEL)

    def supervisor_of(self, jurisdiction_id: str) -> str | None:
        return self.jurisdictions[jurisdiction_id].parent


@dataclass(frozen=True, slots=True)
class Network:
    """A loaded, validated network: the three layers in EPSG:4326 plus the hierarchy."""

    reaches: gpd.GeoDataFrame
    jurisdictions: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    hierarchy: Hierarchy


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One jurisdiction a trace enters, in order of first entry (by estimated arrival).

    ``eta_hours`` is always an estimate unless every reach on the path has a measured velocity;
    ``eta_estimated`` says which. ``boundary`` marks the other bank of a boundary reach on the
    path (the origin's own reach included: that bank is reached at distance 0).
    """

    jurisdiction_id: str
    name: str
    kind: JurisdictionKind
    first_reach: str
    distance_km: float
    eta_hours: float
    eta_estimated: bool
    adjacent: bool
    boundary: bool
    other_prefecture: bool
    other_province: bool
    path: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, object]:
        return {
            "jurisdiction_id": self.jurisdiction_id,
            "name": self.name,
            "kind": str(self.kind),
            "first_reach": self.first_reach,
            "distance_km": round(self.distance_km, 3),
            "eta_hours": round(self.eta_hours, 3),
            "eta_estimated": self.eta_estimated,
            "adjacent": self.adjacent,
            "boundary": self.boundary,
            "other_prefecture": self.other_prefecture,
            "other_province": self.other_province,
            "path": list(self.path),
        }

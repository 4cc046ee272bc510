"""The river network as the engine sees it: reach facts, snapping a point, tracing.

Built once at the edge (CLI, server) from a loaded :class:`basins.model.Network` and passed to
the use cases; the engine never reads files itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from basins.model import Direction, Hierarchy, Network, TraceEntry

LAKE_KINDS = frozenset({"lake", "reservoir"})


class SnapError(ValueError):
    """A point too far from every reach."""


@dataclass(frozen=True, slots=True)
class ReachInfo:
    reach_id: str
    river: str
    jurisdiction_id: str
    target_class: int
    kind: str
    co_jurisdictions: tuple[str, ...] = ()  # the other bank(s) of a boundary reach

    @property
    def waterbody(self) -> str:
        """GB 3838-2002 distinguishes rivers from lakes and reservoirs (total phosphorus)."""
        return "lake_reservoir" if self.kind in LAKE_KINDS else "river"


@dataclass(frozen=True, slots=True)
class Snap:
    reach_id: str
    distance_m: float


class Topology(Protocol):
    @property
    def hierarchy(self) -> Hierarchy: ...

    def reach(self, reach_id: str) -> ReachInfo | None: ...

    def snap(self, lon: float, lat: float, *, limit_m: float) -> Snap: ...

    def trace(self, reach_id: str, *, direction: Direction) -> list[TraceEntry]: ...


class BasinsTopology:
    """The Topology of a loaded network, tracing with :func:`basins.trace.trace`.

    Traces run without limits (``keep_adjacent``): the routing policy applies the horizon,
    so that a policy change needs no change here.
    """

    def __init__(self, network: Network) -> None:
        from shapely import STRtree

        from basins.index import index_from_network

        self._network = network
        self._index = index_from_network(network)
        reaches = network.reaches
        self._reaches: dict[str, ReachInfo] = {}
        for row in reaches.itertuples(index=False):
            rid = str(row.reach_id)
            self._reaches[rid] = ReachInfo(
                reach_id=rid,
                river=str(row.river),
                jurisdiction_id=str(row.jurisdiction),
                target_class=int(row.target_class) if _finite(row.target_class) else 3,
                kind=str(row.kind),
                co_jurisdictions=tuple(
                    j.strip() for j in str(row.co_jurisdictions or "").split(",") if j.strip()
                ),
            )
        self._ids = [str(r) for r in reaches["reach_id"]]
        self._geoms = reaches.geometry.to_numpy()
        self._tree = STRtree(self._geoms)

    @property
    def hierarchy(self) -> Hierarchy:
        return self._network.hierarchy

    @property
    def network(self) -> Network:
        return self._network

    def reach(self, reach_id: str) -> ReachInfo | None:
        return self._reaches.get(reach_id)

    def snap(self, lon: float, lat: float, *, limit_m: float) -> Snap:
        """The nearest reach by geodesic distance (metres in a projection centred on the
        point), refused beyond ``limit_m``."""
        import numpy as np
        from pyproj import Transformer
        from shapely import Point, distance, transform

        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise SnapError(f"坐标超出范围 / coordinates out of range: {lon}, {lat}")
        margin = limit_m / 111_000.0
        box = Point(lon, lat).buffer(margin / max(math.cos(math.radians(lat)), 0.1))
        candidates = self._tree.query(box)
        if len(candidates) == 0:
            raise SnapError(_too_far(lon, lat, limit_m))
        aeqd = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs"
        forward = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True).transform

        def project(xy: Any) -> Any:
            return np.column_stack(forward(xy[:, 0], xy[:, 1]))

        origin = Point(0.0, 0.0)
        best = min(
            (float(distance(transform(self._geoms[i], project), origin)), self._ids[i])
            for i in candidates
        )
        if best[0] > limit_m:
            raise SnapError(_too_far(lon, lat, limit_m))
        return Snap(reach_id=best[1], distance_m=best[0])

    def trace(self, reach_id: str, *, direction: Direction) -> list[TraceEntry]:
        from basins.trace import trace

        return trace(
            self._index,
            reach_id,
            direction=direction,
            hierarchy=self.hierarchy,
            keep_adjacent=True,
        )


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _too_far(lon: float, lat: float, limit_m: float) -> str:
    return (
        f"坐标 {lon:.6f},{lat:.6f} 距最近河段超过 {limit_m:.0f} 米 / "
        f"point is more than {limit_m:.0f} m from any reach"
    )

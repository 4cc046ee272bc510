"""Snapping a reported location (lon, lat) to the nearest reach.

Candidates come from an STRtree over the reach lines in EPSG:4326, filtered by a box a little
larger than the distance limit; exact distances are then taken in an azimuthal equidistant
projection centred on the point, which is true to the metre at these distances anywhere.
Reach lines are drawn from their upstream to their downstream end (the ``data/`` convention),
so the offset to the downstream end is the length left after the projected point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely import STRtree
from shapely.geometry import Point

from basins.index import NetworkIndex
from basins.model import Network

_METRES_PER_DEGREE = 111_000.0  # a little under the true ~111.3 km, so the box is generous


@dataclass(frozen=True, slots=True)
class Snap:
    reach_id: str
    distance_m: float
    offset_m_to_downstream_end: float


class SnapTooFarError(ValueError):
    """No reach lies within the limit; says which is nearest and how far it is."""

    def __init__(
        self, lon: float, lat: float, *, nearest: str | None, distance_m: float, limit_m: float
    ) -> None:
        self.nearest, self.distance_m, self.limit_m = nearest, distance_m, limit_m
        if nearest is None:
            text = f"河网中没有河段 the network has no reaches to snap ({lon}, {lat}) to"
        else:
            text = (
                f"点 ({lon:.6f}, {lat:.6f}) 距最近河段 {nearest} {distance_m / 1000:.2f} 公里，"
                f"超过上限 {limit_m / 1000:.2f} 公里 / the nearest reach {nearest} is "
                f"{distance_m / 1000:.2f} km away, beyond the {limit_m / 1000:.2f} km limit"
            )
        super().__init__(text)


class Snapper:
    """An STRtree over the reach lines, built once and reused for many points."""

    def __init__(self, reach_ids: list[str], geometry: Any, length_m: Any) -> None:
        self.reach_ids = reach_ids
        self.geometry = np.asarray(geometry, dtype=object)
        self.length_m = np.asarray(length_m, dtype=np.float64)
        self.tree = STRtree(self.geometry)

    @staticmethod
    def of(source: Network | NetworkIndex | Snapper) -> Snapper:
        if isinstance(source, Snapper):
            return source
        if isinstance(source, NetworkIndex):
            if source.geometry is None:
                raise ValueError(
                    "该索引没有河段几何 the index has no reach geometry: build it with "
                    "index_from_network to snap points"
                )
            return Snapper(source.reach_ids, source.geometry, source.length_m)
        reaches = source.reaches
        return Snapper(
            [str(r) for r in reaches["reach_id"]],
            reaches.geometry.to_numpy(),
            reaches["length_m"].to_numpy(dtype=np.float64),
        )

    def snap(self, lon: float, lat: float, *, max_distance_m: float) -> Snap:
        _check_point(lon, lat, max_distance_m)
        point = Point(lon, lat)
        pad_lat = max_distance_m / _METRES_PER_DEGREE
        pad_lon = pad_lat / max(math.cos(math.radians(min(abs(lat), 89.0))), 1e-6)
        box = shapely.box(lon - pad_lon, lat - pad_lat, lon + pad_lon, lat + pad_lat)
        candidates = self.tree.query(box)
        to_local = _local(lon, lat)
        if len(candidates):
            lines = shapely.transform(self.geometry[candidates], to_local)
            distances = shapely.distance(lines, Point(0.0, 0.0))
            best = int(np.argmin(distances))
            if distances[best] <= max_distance_m:
                return self._snap(int(candidates[best]), float(distances[best]), lines[best])
        nearest = self.tree.query_nearest(point)
        if not len(nearest):
            raise SnapTooFarError(
                lon, lat, nearest=None, distance_m=math.inf, limit_m=max_distance_m
            )
        k = int(nearest[0])
        far = shapely.distance(shapely.transform(self.geometry[k], to_local), Point(0.0, 0.0))
        raise SnapTooFarError(
            lon, lat, nearest=self.reach_ids[k], distance_m=float(far), limit_m=max_distance_m
        )

    def _snap(self, k: int, distance: float, line: Any) -> Snap:
        along = float(line.project(Point(0.0, 0.0)))
        total = float(line.length)
        left = (total - along) / total if total > 0 else 0.0
        length = float(self.length_m[k]) if np.isfinite(self.length_m[k]) else total
        return Snap(self.reach_ids[k], distance, max(0.0, min(length, left * length)))


def _check_point(lon: float, lat: float, max_distance_m: float) -> None:
    problems = []
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        problems.append(f"经度无效 longitude must be within -180..180, got {lon}")
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        problems.append(f"纬度无效 latitude must be within -90..90, got {lat}")
    if not (math.isfinite(max_distance_m) and max_distance_m > 0):
        problems.append(f"距离上限须为正数 max_distance_m must be > 0, got {max_distance_m}")
    if problems:
        raise ValueError("; ".join(problems))


def _local(lon: float, lat: float) -> Any:
    """Vectorized lon/lat -> metres in an azimuthal equidistant projection centred on the point."""
    transformer = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m", always_xy=True
    )

    def project(coords: Any) -> Any:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return project


def snap_point(
    source: Network | NetworkIndex | Snapper, lon: float, lat: float, *, max_distance_m: float
) -> Snap:
    """The nearest reach to (lon, lat) within ``max_distance_m`` metres, or SnapTooFarError.

    For many points build a :class:`Snapper` once (``Snapper.of(network)``) and pass it here.
    """
    return Snapper.of(source).snap(lon, lat, max_distance_m=max_distance_m)

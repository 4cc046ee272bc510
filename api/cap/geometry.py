"""Shapes as CAP polygons: "lat,lon lat,lon ..." closed rings of at least four points.

CAP has no holes, no multipolygons and no lines, and receiving systems choke on rings of
thousands of vertices, so each part becomes its simplified outer ring, the largest parts first,
and a river path becomes a band a few hundred metres wide around it.
"""

from __future__ import annotations

import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

MAX_VERTICES = 100  # per ring
MAX_PARTS = 10  # polygons per area
PATH_HALF_WIDTH_M = 500.0
DECIMALS = 5  # about a metre


def cap_polygons(
    geometry: BaseGeometry | None,
    *,
    max_vertices: int = MAX_VERTICES,
    max_parts: int = MAX_PARTS,
    path_half_width_m: float = PATH_HALF_WIDTH_M,
) -> list[str]:
    """The CAP polygon strings of a lon/lat geometry, largest part first."""
    if geometry is None or geometry.is_empty:
        return []
    if geometry.geom_type in ("LineString", "MultiLineString", "Point", "MultiPoint"):
        geometry = widen(geometry, half_width_m=path_half_width_m)
    parts = _polygon_parts(geometry)
    parts.sort(key=lambda part: part.area, reverse=True)
    rings = []
    for part in parts:
        ring = _format_ring(_simplified(part, max_vertices))
        if ring is not None:
            rings.append(ring)
        if len(rings) == max_parts:
            break
    return rings


def widen(geometry: BaseGeometry, *, half_width_m: float) -> BaseGeometry:
    """A band around lines (or a disc around points) in metres, via a local equidistant CRS."""
    centre = geometry.centroid
    local = CRS.from_proj4(f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m")
    forward = Transformer.from_crs("EPSG:4326", local, always_xy=True)
    back = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    projected = shapely.transform(geometry, forward.transform, interleaved=False)
    band = projected.buffer(half_width_m, quad_segs=4)
    result: BaseGeometry = shapely.transform(band, back.transform, interleaved=False)
    return result


def _polygon_parts(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    if hasattr(geometry, "geoms"):  # collections
        return [p for g in geometry.geoms for p in _polygon_parts(g)]
    return []


def _simplified(polygon: Polygon, max_vertices: int) -> Polygon:
    """The outer ring, simplified until it has at most ``max_vertices`` points."""
    shell = Polygon(polygon.exterior)
    if len(shell.exterior.coords) <= max_vertices:
        return shell
    minx, miny, maxx, maxy = shell.bounds
    tolerance = max(maxx - minx, maxy - miny) / 1000
    for _ in range(30):
        candidate = shell.simplify(tolerance, preserve_topology=True)
        if isinstance(candidate, Polygon) and len(candidate.exterior.coords) <= max_vertices:
            return candidate
        tolerance *= 1.6
    hull = shell.minimum_rotated_rectangle
    return hull if isinstance(hull, Polygon) else shell.envelope


def _format_ring(polygon: Polygon) -> str | None:
    points = [(round(y, DECIMALS), round(x, DECIMALS)) for x, y in polygon.exterior.coords]
    deduped = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if deduped[0] != deduped[-1]:
        deduped.append(deduped[0])
    if len(set(deduped)) < 3:  # collapsed by rounding: not a ring any more
        return None
    return " ".join(f"{lat:.{DECIMALS}f},{lon:.{DECIMALS}f}" for lat, lon in deduped)

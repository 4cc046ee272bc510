"""Coordinate reference systems: deciding what a layer is in, and measuring it in metres.

Lengths are geodesic (pyproj.Geod on the WGS84 ellipsoid, after transforming to EPSG:4326),
so they are the same whatever CRS a layer arrives in (EPSG:4326, 4490, 4269, an untagged
Albers ...) and need no choice of a local projection. Distances used as tolerances (snapping
endpoints, boundary buffers) use a local azimuthal equidistant projection centred on the data,
which keeps metres honest over a basin-sized area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Geod
from pyproj.exceptions import CRSError

from basins.validate import ValidationReport

if TYPE_CHECKING:
    import geopandas as gpd

LONLAT = CRS.from_epsg(4326)
_GEOD = Geod(ellps="WGS84")


def resolve_crs(
    layer_crs: Any, override: Any, *, layer: str, report: ValidationReport
) -> CRS | None:
    """The CRS a layer's coordinates are in: ``override`` when given, else the file's own.

    A layer without one is a problem, not a guess: degrees and metres look alike to a parser.
    """
    candidate = override if override is not None else layer_crs
    if candidate is None:
        report.add(
            "crs_missing",
            layer=layer,
            message=(
                "图层没有坐标参考系（缺少 .prj），请用 --crs 指定，例如 EPSG:4326 / "
                "layer has no CRS (no .prj); pass --crs, e.g. EPSG:4326"
            ),
        )
        return None
    try:
        crs = CRS.from_user_input(candidate)
    except CRSError as exc:
        report.add(
            "crs_unknown",
            layer=layer,
            message=f"无法识别的坐标参考系 {candidate!r} / unknown CRS {candidate!r}: {exc}",
        )
        return None
    if not (crs.is_geographic or crs.is_projected):
        report.add(
            "crs_unknown",
            layer=layer,
            message=(
                f"坐标参考系既非地理也非投影坐标系: {crs.name} / "
                f"CRS is neither geographic nor projected: {crs.name}"
            ),
        )
        return None
    return crs


def check_lonlat_bounds(gdf: gpd.GeoDataFrame, *, layer: str, report: ValidationReport) -> None:
    """Catch metres read as degrees (a projected layer tagged or assumed geographic)."""
    if gdf.empty or gdf.crs is None or not CRS(gdf.crs).is_geographic:
        return
    minx, miny, maxx, maxy = gdf.total_bounds
    if np.isfinite(minx) and (minx < -180.5 or maxx > 360.5 or miny < -90.5 or maxy > 90.5):
        report.add(
            "crs_mismatch",
            layer=layer,
            message=(
                f"坐标超出经纬度范围 ({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f})，"
                "坐标系可能有误 / coordinates are outside longitude/latitude range; wrong CRS?"
            ),
        )


def to_lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 (the on-disk CRS of data/)."""
    if gdf.crs is not None and CRS(gdf.crs).equals(LONLAT, ignore_axis_order=True):
        return gdf.set_crs(LONLAT, allow_override=True)
    return gdf.to_crs(LONLAT)


def geodesic_lengths_m(geometries: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Ellipsoidal length in metres of each lon/lat (EPSG:4326) line, vectorized.

    Every segment of every line goes through one ``Geod.inv`` call, then is summed per line.
    """
    geoms = np.asarray(geometries, dtype=object)
    lengths = np.zeros(len(geoms), dtype=np.float64)
    if len(geoms) == 0:
        return lengths
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        return lengths
    same = coord_part[1:] == coord_part[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    _, _, dist = _GEOD.inv(start[:, 0], start[:, 1], end[:, 0], end[:, 1])
    owner = part_owner[coord_part[:-1][same]]
    np.add.at(lengths, owner, np.asarray(dist, dtype=np.float64))
    return lengths


def local_metric_crs(bounds: Any) -> CRS:
    """An azimuthal equidistant CRS centred on lon/lat bounds, for tolerances in metres."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    lon = (minx + maxx) / 2 if np.isfinite(minx) else 0.0
    lat = (miny + maxy) / 2 if np.isfinite(miny) else 0.0
    return CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"
    )

"""Small in-memory layers for tests: a few reaches and square jurisdictions in EPSG:4326.

Reused by other test modules; keep the signatures stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from shapely.geometry import LineString, box

Coords = Sequence[tuple[float, float]]


def reaches_gdf(
    lines: dict[str, Coords], *, crs: Any = "EPSG:4326", **columns: Sequence[Any]
) -> gpd.GeoDataFrame:
    """Reaches keyed by id; extra columns given as lists in the same order as ``lines``."""
    data: dict[str, Any] = {"reach_id": list(lines), **{k: list(v) for k, v in columns.items()}}
    return gpd.GeoDataFrame(data, geometry=[LineString(c) for c in lines.values()], crs=crs)


def square_jurisdictions(
    squares: dict[str, tuple[float, float, float, float]],
    *,
    names: dict[str, str] | None = None,
    crs: Any = "EPSG:4326",
    **columns: Sequence[Any],
) -> gpd.GeoDataFrame:
    """Jurisdictions as boxes (minx, miny, maxx, maxy) keyed by id."""
    ids = list(squares)
    data: dict[str, Any] = {
        "jurisdiction_id": ids,
        "name": [(names or {}).get(i, f"{i}县") for i in ids],
        **{k: list(v) for k, v in columns.items()},
    }
    return gpd.GeoDataFrame(data, geometry=[box(*b) for b in squares.values()], crs=crs)


def write_layer(gdf: gpd.GeoDataFrame, path: Path, **options: Any) -> Path:
    """Write with pyogrio (driver from the suffix); returns the path."""
    pyogrio.write_dataframe(gdf, path, **options)
    return path

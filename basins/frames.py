"""The three layers with the columns and dtypes of basins.model, whatever produced them.

Both the reader and the builder pass their frames through here, so that a network built in
memory and the same network read back from disk compare equal column by column.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basins.model import (
    JURISDICTION_COLUMNS,
    REACH_COLUMNS,
    STATION_COLUMNS,
    Hierarchy,
    Jurisdiction,
    JurisdictionKind,
)

_REACH_FLOATS = ("length_m", "velocity_ms", "discharge_m3s")
_REACH_DEFAULTS: dict[str, Any] = {"kind": "river", "target_class": 3, "approximate": False}
_JURISDICTION_DEFAULTS: dict[str, Any] = {"kind": "county", "approximate": False}
COORDINATE_DECIMALS = 6


def _id_string(value: Any) -> str:
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value).strip()


def id_strings(values: Any) -> pd.Series:
    """Ids as strings: integers stay integers ("8893864", not "8893864.0"); nulls become ""."""
    series = pd.Series(values)
    return series.map(_id_string).astype(object)


def _text(frame: pd.DataFrame, column: str, default: str = "") -> pd.Series:
    if column not in frame:
        return pd.Series([default] * len(frame), index=frame.index, dtype=object)
    return id_strings(frame[column]).replace("", default).astype(object)


def _bool(frame: pd.DataFrame, column: str, default: bool) -> pd.Series:
    if column not in frame:
        return pd.Series(default, index=frame.index, dtype=bool)
    raw = frame[column]
    if raw.dtype == bool:
        return raw.astype(bool)
    truthy = {"1", "true", "yes", "y", "t", "是"}
    return raw.map(
        lambda v: (
            default
            if v is None or (isinstance(v, float) and np.isnan(v))
            else (str(v).strip().lower() in truthy)
        )
    ).astype(bool)


def _float(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=np.float64)
    return pd.to_numeric(frame[column], errors="coerce").astype(np.float64)


def round_coordinates(geometries: Any) -> Any:
    """Coordinates rounded to 1e-6 degree (~0.1 m), the precision data/ is written at."""
    return shapely.transform(
        np.asarray(geometries, dtype=object), lambda xy: np.round(xy, COORDINATE_DECIMALS)
    )


def _finish(frame: pd.DataFrame, data: dict[str, pd.Series], crs: Any) -> gpd.GeoDataFrame:
    geometry = frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else None
    out = gpd.GeoDataFrame(
        pd.DataFrame(data).reset_index(drop=True),
        geometry=gpd.GeoSeries(
            np.asarray(geometry, dtype=object) if geometry is not None else [None] * len(frame),
            crs=crs,
        ).values,
        crs=crs,
    )
    return out


def reach_frame(frame: pd.DataFrame, crs: Any = "EPSG:4326") -> gpd.GeoDataFrame:
    """Reaches with exactly REACH_COLUMNS + geometry, in their documented dtypes."""
    data: dict[str, pd.Series] = {}
    for column in REACH_COLUMNS:
        if column in _REACH_FLOATS:
            data[column] = _float(frame, column)
        elif column == "target_class":
            tc = pd.to_numeric(frame[column], errors="coerce") if column in frame else None
            data[column] = (pd.Series(3, index=frame.index) if tc is None else tc.fillna(3)).astype(
                np.int64
            )
        elif column == "approximate":
            data[column] = _bool(frame, column, False)
        else:
            data[column] = _text(frame, column, str(_REACH_DEFAULTS.get(column, "")))
    return _finish(frame, data, crs)


def jurisdiction_frame(frame: pd.DataFrame, crs: Any = "EPSG:4326") -> gpd.GeoDataFrame:
    data: dict[str, pd.Series] = {}
    for column in JURISDICTION_COLUMNS:
        if column == "approximate":
            data[column] = _bool(frame, column, False)
        else:
            data[column] = _text(frame, column, str(_JURISDICTION_DEFAULTS.get(column, "")))
    return _finish(frame, data, crs)


def station_frame(frame: pd.DataFrame, crs: Any = "EPSG:4326") -> gpd.GeoDataFrame:
    data = {column: _text(frame, column) for column in STATION_COLUMNS}
    return _finish(frame, data, crs)


def hierarchy_from(jurisdictions: pd.DataFrame) -> Hierarchy:
    """The supervision tree from a jurisdiction frame (kinds must already be valid)."""
    members: dict[str, Jurisdiction] = {}
    for row in jurisdictions.itertuples(index=False):
        members[str(row.jurisdiction_id)] = Jurisdiction(
            jurisdiction_id=str(row.jurisdiction_id),
            name=str(row.name),
            kind=JurisdictionKind(str(row.kind)),
            parent=str(row.parent) or None,
            host=str(row.host) or None,
            approximate=bool(row.approximate),
            bureau=str(row.bureau),
        )
    return Hierarchy(members)

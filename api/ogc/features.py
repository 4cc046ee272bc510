"""GeoDataFrames as OGC API - Features collections: query parsing, filtering, GeoJSON.

Pure functions of (frame, query); the router adds links. Geometries are served as stored
(EPSG:4326, lon/lat order, which is CRS84 as RFC 7946 wants).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from shapely.geometry import box, mapping

if TYPE_CHECKING:
    import geopandas as gpd

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WORLD = (-180.0, -90.0, 180.0, 90.0)
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

Bbox = tuple[float, float, float, float]
Interval = tuple[datetime | None, datetime | None]


class QueryError(ValueError):
    """A query parameter with a bad value; the router answers 400 with ``parameter`` named."""

    def __init__(self, parameter: str, zh: str, en: str) -> None:
        super().__init__(f"{parameter}: {en}")
        self.parameter = parameter
        self.description = f"参数 {parameter} 无效：{zh} · invalid {parameter}: {en}"


@dataclass(frozen=True, slots=True)
class Collection:
    """One collection: where its frame comes from and which column holds the feature id."""

    id: str
    title: str
    description: str
    id_column: str
    frame: Callable[[], gpd.GeoDataFrame]
    time_column: str | None = None


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: Bbox | None = None
    interval: Interval | None = None


def parse_items_query(params: Mapping[str, str]) -> ItemsQuery:
    """Read limit, offset, bbox and datetime; a limit above the maximum is served as the maximum."""
    limit = _integer(params, "limit", DEFAULT_LIMIT, minimum=1)
    offset = _integer(params, "offset", 0, minimum=0)
    bbox = parse_bbox(params["bbox"]) if "bbox" in params else None
    interval = parse_datetime(params["datetime"]) if "datetime" in params else None
    return ItemsQuery(min(limit, MAX_LIMIT), offset, bbox, interval)


def _integer(params: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    stripped = text.strip()
    if not stripped.isdigit() or len(stripped) > 12:
        raise QueryError(name, f"{text[:20]!r} 不是整数", f"{text[:20]!r} is not an integer")
    value = int(stripped)
    if value < minimum:
        raise QueryError(name, f"不能小于 {minimum}", f"must be at least {minimum}")
    return value


def parse_bbox(text: str) -> Bbox:
    """``minlon,minlat,maxlon,maxlat`` in CRS84; minlon > maxlon crosses the antimeridian."""
    parts = text.split(",")
    if len(parts) != 4:
        raise QueryError(
            "bbox", f"需要 4 个数，得到 {len(parts)} 个", f"needs 4 numbers, got {len(parts)}"
        )
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise QueryError("bbox", "含有非数字", "holds something that is not a number") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise QueryError("bbox", "含有非有限数", "holds a non-finite number")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise QueryError(
            "bbox",
            "经度须在 -180..180，纬度在 -90..90 且下边界不大于上边界",
            "longitudes must lie in -180..180, latitudes in -90..90 with min <= max",
        )
    return minx, miny, maxx, maxy


def parse_datetime(text: str) -> Interval:
    """An RFC 3339 instant, a date, or an interval ``start/end`` with ``..`` for open ends."""
    parts = text.split("/")
    if len(parts) > 2:
        raise QueryError("datetime", "不是时刻或区间", "is neither an instant nor an interval")
    if len(parts) == 1:
        start, end = _moment(parts[0], end=False), _moment(parts[0], end=True)
        if start is None:
            raise QueryError("datetime", "不能是 ..", "cannot be .. alone")
        return start, end
    start, end = _moment(parts[0], end=False), _moment(parts[1], end=True)
    if start is not None and end is not None and start > end:
        raise QueryError("datetime", "开始晚于结束", "starts after it ends")
    return start, end


def _moment(text: str, *, end: bool) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            "datetime", f"{text[:40]!r} 不是 RFC 3339 时间", f"{text[:40]!r} is not RFC 3339"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def select(
    frame: gpd.GeoDataFrame, collection: Collection, query: ItemsQuery
) -> np.ndarray[Any, Any]:
    """Positions of the features matching bbox and datetime, in the frame's order."""
    positions = np.arange(len(frame))
    if query.bbox is not None:
        positions = _in_bbox(frame, query.bbox)
    if query.interval is not None and collection.time_column in frame.columns:
        times = pd.to_datetime(frame[collection.time_column], utc=True, errors="coerce")
        start, end = query.interval
        keep = times.notna()
        if start is not None:
            keep &= times >= start
        if end is not None:
            keep &= times <= end
        positions = positions[keep.to_numpy()[positions]]
    return positions


def _in_bbox(frame: gpd.GeoDataFrame, bbox: Bbox) -> np.ndarray[Any, Any]:
    minx, miny, maxx, maxy = bbox
    boxes = (
        [box(minx, miny, maxx, maxy)]
        if minx <= maxx
        else [box(minx, miny, 180, maxy), box(-180, miny, maxx, maxy)]
    )
    hits = [frame.sindex.query(b, predicate="intersects") for b in boxes]
    return np.unique(np.concatenate(hits)) if hits else np.arange(0)


def extent(frame: gpd.GeoDataFrame, collection: Collection) -> dict[str, Any]:
    """The collection's spatial extent (CRS84) and temporal extent (null ends where unknown)."""
    geometries = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    bounds = tuple(float(v) for v in geometries.total_bounds) if len(geometries) else WORLD
    interval: list[str | None] = [None, None]
    if collection.time_column in frame.columns:
        times = pd.to_datetime(frame[collection.time_column], utc=True, errors="coerce").dropna()
        if len(times):
            interval = [rfc3339(times.min()), rfc3339(times.max())]
    return {
        "spatial": {"bbox": [list(bounds)], "crs": CRS84},
        "temporal": {
            "interval": [interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def features(
    frame: gpd.GeoDataFrame, positions: np.ndarray[Any, Any], collection: Collection
) -> list[dict[str, Any]]:
    """Rows as GeoJSON Features; the id column is both the feature id and a property."""
    page = frame.iloc[positions]
    geometry_name = page.geometry.name
    columns = [str(c) for c in page.columns if c != geometry_name]
    records = page[columns].to_dict("records")
    result = []
    for record, geometry in zip(records, page.geometry.array, strict=True):
        has_geometry = geometry is not None and not geometry.is_empty
        result.append(
            {
                "type": "Feature",
                "id": str(record[collection.id_column]),
                "geometry": mapping(geometry) if has_geometry else None,
                "properties": {key: json_value(value) for key, value in record.items()},
            }
        )
    return result


def feature(frame: gpd.GeoDataFrame, position: int, collection: Collection) -> dict[str, Any]:
    return features(frame, np.array([position]), collection)[0]


def find(frame: gpd.GeoDataFrame, collection: Collection, fid: str) -> int | None:
    """The position of the feature with id ``fid``, if any."""
    matches = np.flatnonzero(frame[collection.id_column].astype(str).to_numpy() == fid)
    return int(matches[0]) if len(matches) else None


def json_value(value: Any) -> Any:
    """A cell as plain JSON: NaN and NaT become null, numpy scalars Python ones, times RFC 3339."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, datetime):
        return rfc3339(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, str | bool | int | float):
        return value
    return str(value)

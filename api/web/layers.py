"""Map layers for the browser: the network as GeoJSON, simplified and rounded for one zoom level.

The map draws every reach and jurisdiction at once (no tiles), so what crosses the wire must be
no finer than a screen pixel: at zoom ``z`` a pixel spans ``360 / (256 * 2**z)`` degrees, we
simplify to half of that and round coordinates to a tenth of it. Each (layer, zoom) answer is
built once and kept, because the network does not change while the server runs.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely

if TYPE_CHECKING:
    import geopandas as gpd

    from basins.model import Network

LayerName = Literal["reaches", "jurisdictions", "stations"]
LAYERS: tuple[LayerName, ...] = ("reaches", "jurisdictions", "stations")
MIN_ZOOM = 3
MAX_ZOOM = 14
MAX_DECIMALS = 6

#: Names of the basins the shipped network knows (key in the reaches' ``basin`` column).
BASIN_NAMES: dict[str, tuple[str, str]] = {
    "changji": ("昌吉州", "Changji"),
    "fenhe": ("汾河", "Fen River"),
}

_PROPERTIES: dict[LayerName, tuple[str, ...]] = {
    "reaches": ("reach_id", "river", "basin", "kind", "jurisdiction", "co_jurisdictions"),
    "jurisdictions": ("jurisdiction_id", "name", "kind", "parent", "host", "bureau"),
    "stations": ("station_id", "name", "reach_id", "jurisdiction"),
}


def tolerance_for_zoom(zoom: int) -> float:
    """Half a screen pixel at ``zoom``, in degrees (Web Mercator tiles of 256 px)."""
    return 0.5 * 360.0 / (256.0 * 2.0**zoom)


def decimals_for_zoom(zoom: int) -> int:
    """Decimal places that keep rounding below a tenth of a pixel at ``zoom``."""
    return min(MAX_DECIMALS, max(0, math.ceil(-math.log10(tolerance_for_zoom(zoom) / 5.0))))


def clamp_zoom(zoom: int) -> int:
    return min(MAX_ZOOM, max(MIN_ZOOM, zoom))


def _plain(value: Any) -> Any:
    """JSON-safe scalar: NaN and None become None, numpy scalars become Python ones."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _simplified(frame: gpd.GeoDataFrame, zoom: int) -> np.ndarray[Any, Any]:
    """Douglas-Peucker at half a pixel, then rounding. Polygons keep their topology (a ring
    must not collapse or cross itself); lines and points need no such care, and skipping it
    is what makes 10,000 reaches quick."""
    geometries = np.asarray(frame.geometry.values, dtype=object)
    present = ~shapely.is_missing(geometries)
    out = np.full(len(geometries), None, dtype=object)
    if not present.any():
        return out
    kept = geometries[present]
    types = shapely.get_type_id(kept)
    polygons = (types == 3) | (types == 6)
    lines = (types == 1) | (types == 5)
    tolerance = tolerance_for_zoom(zoom)
    simple = kept.copy()
    if polygons.any():
        simple[polygons] = shapely.simplify(kept[polygons], tolerance, preserve_topology=True)
    if lines.any():
        simple[lines] = shapely.simplify(kept[lines], tolerance, preserve_topology=False)
    decimals = decimals_for_zoom(zoom)
    out[present] = shapely.transform(simple, lambda xy: np.round(xy, decimals))
    return out


def layer_geojson(frame: gpd.GeoDataFrame, *, layer: LayerName, zoom: int) -> bytes:
    """The layer as an RFC 7946 FeatureCollection for ``zoom``; features without geometry
    (prefectures and provinces, drawn by their members) are left out.

    Geometries are serialised by shapely in one vectorised call and spliced in as text: for
    10,000 reaches that is several times faster than building and dumping dictionaries."""
    zoom = clamp_zoom(zoom)
    columns = [c for c in _PROPERTIES[layer] if c in frame.columns]
    geometries = _simplified(frame, zoom)
    keep = np.array([g is not None and not shapely.is_empty(g) for g in geometries], dtype=bool)
    texts = shapely.to_geojson(geometries[keep]) if keep.any() else []
    records = frame.loc[keep, columns].to_dict("records")
    pieces = []
    for text, record in zip(texts, records, strict=True):
        properties = {k: _plain(v) for k, v in record.items()}
        head = {"type": "Feature", "id": str(record[columns[0]]), "properties": properties}
        pieces.append(_dumps(head)[:-1] + ',"geometry":' + str(text) + "}")
    body = f'{{"type":"FeatureCollection","zoom":{zoom},"features":[{",".join(pieces)}]}}'
    return body.encode()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def basins_summary(network: Network) -> list[dict[str, Any]]:
    """Each basin's key, names, rivers and bounding box [west, south, east, north]."""
    reaches = network.reaches
    out: list[dict[str, Any]] = []
    for key in sorted(set(reaches["basin"])):
        part = reaches[reaches["basin"] == key]
        west, south, east, north = (round(float(v), 4) for v in part.total_bounds)
        zh, en = BASIN_NAMES.get(key, (key, key))
        out.append(
            {
                "key": key,
                "name_zh": zh,
                "name_en": en,
                "rivers": sorted(set(part["river"])),
                "bbox": [west, south, east, north],
                "reaches": len(part),
            }
        )
    return out


@dataclass
class LayerStore:
    """Keeps the network ``load`` returns the first time, and each (layer, zoom) answer."""

    _network: Network | None = None
    _answers: dict[tuple[str, int], bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def network(self, load: Callable[[], Network]) -> Network:
        if self._network is None:
            network = load()
            with self._lock:
                if self._network is None:
                    self._network = network
        return self._network

    def geojson(self, layer: LayerName, *, zoom: int, load: Callable[[], Network]) -> bytes:
        key = (layer, clamp_zoom(zoom))
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None:
            return cached
        network = self.network(load)
        frame: gpd.GeoDataFrame = getattr(network, layer)
        body = layer_geojson(frame, layer=layer, zoom=key[1])
        with self._lock:
            self._answers[key] = body
        return body

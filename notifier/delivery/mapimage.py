"""A small PNG map for the email: the origin, the path the water takes, the recipient's area.

Drawn with Pillow from lon/lat geometries in a local equirectangular projection (longitude
scaled by the cosine of the mid latitude): exact enough at the scale of a few counties, and no
tile server or GIS stack is needed to send a notice. Labels are ASCII only, so the image does
not depend on a CJK font being installed; the Chinese names are in the text beside it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator

from PIL import Image, ImageDraw, ImageFont

from notifier.delivery.context import MapGeometry

WIDTH, HEIGHT = 480, 320
MARGIN = 24
BACKGROUND = (246, 248, 250)
AREA_FILL = (253, 226, 196)
AREA_LINE = (214, 120, 40)
PATH_LINE = (30, 100, 200)
ORIGIN = (200, 30, 30)
INK = (40, 40, 40)

Coords = list[tuple[float, float]]


def _parts(geometry: object) -> Iterator[object]:
    """Single geometries out of Multi* and collections (shapely 2 exposes ``.geoms``)."""
    inner = getattr(geometry, "geoms", None)
    if inner is None:
        yield geometry
        return
    for part in inner:
        yield from _parts(part)


def _rings(geometry: object) -> Iterator[tuple[Coords, list[Coords]]]:
    for part in _parts(geometry):
        if getattr(part, "geom_type", "") == "Polygon":
            exterior = list(part.exterior.coords)  # type: ignore[attr-defined]
            holes = [list(r.coords) for r in part.interiors]  # type: ignore[attr-defined]
            yield exterior, holes


def _lines(geometry: object) -> Iterator[Coords]:
    for part in _parts(geometry):
        kind = getattr(part, "geom_type", "")
        if kind in ("LineString", "LinearRing"):
            yield list(part.coords)  # type: ignore[attr-defined]
        elif kind == "Polygon":
            yield list(part.exterior.coords)  # type: ignore[attr-defined]


class _Frame:
    """Lon/lat -> pixel, fitted to the bounds with a margin and equal scale in km on both axes."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        minx, miny, maxx, maxy = bounds
        self.kx = math.cos(math.radians((miny + maxy) / 2))
        span_x = max((maxx - minx) * self.kx, 1e-3)
        span_y = max(maxy - miny, 1e-3)
        self.scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
        self.cx = (minx + maxx) / 2
        self.cy = (miny + maxy) / 2

    def __call__(self, coords: Iterable[tuple[float, ...]]) -> list[tuple[float, float]]:
        return [
            (
                WIDTH / 2 + (c[0] - self.cx) * self.kx * self.scale,
                HEIGHT / 2 - (c[1] - self.cy) * self.scale,
            )
            for c in coords
        ]

    def km_per_px(self) -> float:
        return 111.32 / self.scale


def _bounds(map_geometry: MapGeometry) -> tuple[float, float, float, float]:
    geometries = [map_geometry.origin, *map_geometry.path]
    if map_geometry.recipient_area is not None:
        geometries.append(map_geometry.recipient_area)
    boxes = [g.bounds for g in geometries if not g.is_empty]
    minx = min(b[0] for b in boxes)
    miny = min(b[1] for b in boxes)
    maxx = max(b[2] for b in boxes)
    maxy = max(b[3] for b in boxes)
    pad = 0.01  # at least ~1 km around a lone point
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def _scale_bar(draw: ImageDraw.ImageDraw, frame: _Frame) -> None:
    target_km = frame.km_per_px() * 100
    magnitude = 10 ** math.floor(math.log10(target_km))
    nice = max(s for s in (1, 2, 5, 10) if s * magnitude <= target_km) * magnitude
    length = nice / frame.km_per_px()
    x0, y0 = MARGIN, HEIGHT - 12
    draw.line([(x0, y0), (x0 + length, y0)], fill=INK, width=2)
    label = f"{nice:g} km"
    draw.text((x0 + length + 6, y0 - 7), label, fill=INK, font=ImageFont.load_default())


def _legend(draw: ImageDraw.ImageDraw) -> None:
    font = ImageFont.load_default()
    x, y = WIDTH - 110, 8
    draw.ellipse([x, y + 2, x + 8, y + 10], fill=ORIGIN)
    draw.text((x + 14, y), "origin", fill=INK, font=font)
    draw.line([(x, y + 22), (x + 8, y + 22)], fill=PATH_LINE, width=3)
    draw.text((x + 14, y + 16), "flow path", fill=INK, font=font)
    draw.rectangle([x, y + 34, x + 8, y + 42], fill=AREA_FILL, outline=AREA_LINE)
    draw.text((x + 14, y + 32), "your area", fill=INK, font=font)


def render_map_png(map_geometry: MapGeometry) -> bytes:
    """A WIDTH x HEIGHT PNG; deterministic for the same geometries."""
    frame = _Frame(_bounds(map_geometry))
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    if map_geometry.recipient_area is not None:
        for exterior, holes in _rings(map_geometry.recipient_area):
            draw.polygon(frame(exterior), fill=AREA_FILL, outline=AREA_LINE)
            for hole in holes:
                draw.polygon(frame(hole), fill=BACKGROUND, outline=AREA_LINE)
    for geometry in map_geometry.path:
        for line in _lines(geometry):
            draw.line(frame(line), fill=PATH_LINE, width=3, joint="curve")
    ox, oy = frame([(map_geometry.origin.centroid.x, map_geometry.origin.centroid.y)])[0]
    draw.ellipse([ox - 6, oy - 6, ox + 6, oy + 6], fill=ORIGIN, outline=(255, 255, 255))
    draw.text((8, 6), "N ^", fill=INK, font=ImageFont.load_default())
    _scale_bar(draw, frame)
    _legend(draw)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()

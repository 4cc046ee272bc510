"""A small PNG map for the email: the origin, the path the water takes, the recipient's area.

Drawn with Pillow from lon/lat geometries in a local equirectangular projection (longitude
scaled by the cosine of the mid latitude): exact enough at the scale of a few counties, and no
tile server or GIS stack is needed to send a notice. Labels are ASCII only, so the image does
not depend on a CJK font being installed; the Chinese names are in the text beside it.

The image is drawn in palette mode with the handful of colours below: PNG then compresses
one byte per pixel instead of three, which makes a map about five times cheaper to encode
(every notice carries its own, so this is on the delivery worker's hot path; see
docs/PERFORMANCE.md) and smaller too.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont

from notifier.delivery.context import MapGeometry

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

WIDTH, HEIGHT = 480, 320
MARGIN = 24
BACKGROUND = (246, 248, 250)
AREA_FILL = (253, 226, 196)
AREA_LINE = (214, 120, 40)
PATH_LINE = (30, 100, 200)
ORIGIN = (200, 30, 30)
INK = (40, 40, 40)
WHITE = (255, 255, 255)
#: Every colour the map uses; drawing takes their palette indexes.
PALETTE = (BACKGROUND, AREA_FILL, AREA_LINE, PATH_LINE, ORIGIN, INK, WHITE)

Coords = np.ndarray[Any, np.dtype[np.float64]]  # (n, 2) lon/lat


def _parts(geometry: object) -> Iterator[object]:
    """Single geometries out of Multi* and collections (shapely 2 exposes ``.geoms``)."""
    inner = getattr(geometry, "geoms", None)
    if inner is None:
        yield geometry
        return
    for part in inner:
        yield from _parts(part)


def _xy(geometry: object) -> Coords:
    return np.asarray(shapely.get_coordinates(geometry), dtype=np.float64)


def _rings(geometry: object) -> Iterator[tuple[Coords, list[Coords]]]:
    for part in _parts(geometry):
        if getattr(part, "geom_type", "") == "Polygon":
            exterior = _xy(part.exterior)  # type: ignore[attr-defined]
            holes = [_xy(r) for r in part.interiors]  # type: ignore[attr-defined]
            yield exterior, holes


def _lines(geometry: object) -> Iterator[Coords]:
    for part in _parts(geometry):
        kind = getattr(part, "geom_type", "")
        if kind in ("LineString", "LinearRing"):
            yield _xy(part)
        elif kind == "Polygon":
            yield _xy(part.exterior)  # type: ignore[attr-defined]


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

    def __call__(self, coords: Coords) -> list[float]:
        """Pixel coordinates, flat (x0, y0, x1, y1, ...) as Pillow takes them."""
        xy = np.empty_like(coords, dtype=np.float64)
        xy[:, 0] = WIDTH / 2 + (coords[:, 0] - self.cx) * self.kx * self.scale
        xy[:, 1] = HEIGHT / 2 - (coords[:, 1] - self.cy) * self.scale
        return xy.ravel().tolist()

    def degrees_per_px(self) -> float:
        """Half a pixel in degrees: geometries are simplified to this before drawing (a
        county border has hundreds of vertices, most of them in the same pixel)."""
        return 0.5 / self.scale

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


def _ink(colour: tuple[int, int, int]) -> int:
    return PALETTE.index(colour)


@cache
def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font (loading it decodes an embedded font file: done once)."""
    return ImageFont.load_default()


def _new_image(width: int, height: int) -> Image.Image:
    image = Image.new("P", (width, height), _ink(BACKGROUND))
    image.putpalette([channel for colour in PALETTE for channel in colour])
    return image


def _draw(image: Image.Image) -> ImageDraw.ImageDraw:
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: a palette image has no in-between colours
    return draw


@cache
def _label(text: str) -> Image.Image:
    """A text on the background, rendered once and pasted (text rendering is the slow part)."""
    font = _font()
    _, _, right, bottom = font.getbbox(text)
    image = _new_image(int(right) + 2, int(bottom) + 2)
    _draw(image).text((0, 0), text, fill=_ink(INK), font=font)
    return image


@cache
def _legend() -> Image.Image:
    """The legend box of the top right corner, drawn once."""
    image = _new_image(104, 48)
    draw = _draw(image)
    font, ink = _font(), _ink(INK)
    draw.ellipse([2, 4, 10, 12], fill=_ink(ORIGIN))
    draw.text((16, 2), "origin", fill=ink, font=font)
    draw.line([(2, 24), (10, 24)], fill=_ink(PATH_LINE), width=3)
    draw.text((16, 18), "flow path", fill=ink, font=font)
    draw.rectangle([2, 36, 10, 44], fill=_ink(AREA_FILL), outline=_ink(AREA_LINE))
    draw.text((16, 34), "your area", fill=ink, font=font)
    return image


def _scale_bar(image: Image.Image, draw: ImageDraw.ImageDraw, frame: _Frame) -> None:
    target_km = frame.km_per_px() * 100
    magnitude = 10 ** math.floor(math.log10(target_km))
    nice = max(s for s in (1, 2, 5, 10) if s * magnitude <= target_km) * magnitude
    length = nice / frame.km_per_px()
    x0, y0 = MARGIN, HEIGHT - 12
    draw.line([(x0, y0), (x0 + length, y0)], fill=_ink(INK), width=2)
    image.paste(_label(f"{nice:g} km"), (round(x0 + length + 6), y0 - 7))


def _draw_path(draw: ImageDraw.ImageDraw, frame: _Frame, path: tuple[BaseGeometry, ...]) -> None:
    """Every reach of the path, its coordinates converted in one go."""
    lines = [line for geometry in path for line in _parts(geometry)]
    if not lines:
        return
    coords, index = shapely.get_coordinates(lines, return_index=True)
    pixels = np.asarray(frame(coords)).reshape(-1, 2)
    for part in np.split(pixels, np.flatnonzero(np.diff(index)) + 1):
        if len(part) > 1:
            draw.line(part.ravel().tolist(), fill=_ink(PATH_LINE), width=3, joint="curve")


def render_map_png(map_geometry: MapGeometry) -> bytes:
    """A WIDTH x HEIGHT PNG; deterministic for the same geometries."""
    frame = _Frame(_bounds(map_geometry))
    image = _new_image(WIDTH, HEIGHT)
    draw = _draw(image)
    if map_geometry.recipient_area is not None:
        tolerance = frame.degrees_per_px()
        area = shapely.simplify(map_geometry.recipient_area, tolerance, preserve_topology=True)
        for exterior, holes in _rings(area):
            draw.polygon(frame(exterior), fill=_ink(AREA_FILL), outline=_ink(AREA_LINE))
            for hole in holes:
                draw.polygon(frame(hole), fill=_ink(BACKGROUND), outline=_ink(AREA_LINE))
    _draw_path(draw, frame, map_geometry.path)
    centre = map_geometry.origin.centroid
    ox, oy = frame(np.array([[centre.x, centre.y]]))
    draw.ellipse([ox - 6, oy - 6, ox + 6, oy + 6], fill=_ink(ORIGIN), outline=_ink(WHITE))
    image.paste(_label("N ^"), (8, 6))
    _scale_bar(image, draw, frame)
    image.paste(_legend(), (WIDTH - 112, 6))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3)  # level 6 costs twice as much
    return buffer.getvalue()

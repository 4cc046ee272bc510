"""A small PNG map for the email: the origin, the path the water takes, the recipient's area.

Drawn with Pillow from lon/lat geometries in a local equirectangular projection (longitude
scaled by the cosine of the mid latitude): exact enough at the scale of a few counties, and no
tile server or GIS stack is needed to send a notice. Labels are ASCII only, so the image does
not depend on a CJK font being installed; the Chinese names are in the text beside it.

The image is drawn in palette mode with the handful of colours below: PNG then compresses
half a byte per pixel instead of three bytes, which makes a map many times cheaper to encode
(every notice carries its own, so this is on the delivery worker's hot path; see
docs/PERFORMANCE.md) and smaller too.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
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
MIN_SPAN = 0.1  # degrees, about 10 km
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

    def visible(self) -> tuple[float, float, float, float]:
        """The lon/lat box the image shows (wider than the fitted bounds on one axis)."""
        half_x = WIDTH / 2 / (self.kx * self.scale)
        half_y = HEIGHT / 2 / self.scale
        return self.cx - half_x, self.cy - half_y, self.cx + half_x, self.cy + half_y

    def km_per_px(self) -> float:
        return 111.32 / self.scale


def _bounds(geometries: list[BaseGeometry]) -> tuple[float, float, float, float]:
    boxes = [g.bounds for g in geometries if not g.is_empty]
    minx = min(b[0] for b in boxes)
    miny = min(b[1] for b in boxes)
    maxx = max(b[2] for b in boxes)
    maxy = max(b[3] for b in boxes)
    # At least MIN_SPAN degrees across: a short path alone would fill the map with the
    # recipient's area and show nothing around it.
    pad_x = max(0.01, (MIN_SPAN - (maxx - minx)) / 2)
    pad_y = max(0.01, (MIN_SPAN - (maxy - miny)) / 2)
    return minx - pad_x, miny - pad_y, maxx + pad_x, maxy + pad_y


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


def _scale_bar(
    image: Image.Image, draw: ImageDraw.ImageDraw, frame: _Frame
) -> tuple[int, int, int, int]:
    target_km = frame.km_per_px() * 100
    magnitude = 10 ** math.floor(math.log10(target_km))
    nice = max(s for s in (1, 2, 5, 10) if s * magnitude <= target_km) * magnitude
    length = nice / frame.km_per_px()
    x0, y0 = MARGIN, HEIGHT - 12
    draw.line([(x0, y0), (x0 + length, y0)], fill=_ink(INK), width=2)
    return _paste(image, _label(f"{nice:g} km"), (round(x0 + length + 6), y0 - 7))


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


@dataclass(frozen=True, slots=True)
class _Base:
    """Everything of one incident's map except the recipient's area: the frame, a layer with
    the path, origin, labels and legend, and the mask of the pixels that layer covers."""

    origin: BaseGeometry
    path: tuple[BaseGeometry, ...]
    frame: _Frame
    layer: Image.Image
    mask: Image.Image

    def shows(self, area: BaseGeometry) -> bool:
        """Whether the area is at least partly inside the frame."""
        minx, miny, maxx, maxy = (float(v) for v in area.bounds)
        left, bottom, right, top = self.frame.visible()
        return minx <= right and maxx >= left and miny <= top and maxy >= bottom


def _base(
    origin: BaseGeometry, path: tuple[BaseGeometry, ...], *, fit: list[BaseGeometry]
) -> _Base:
    frame = _Frame(_bounds([origin, *path, *fit]))
    layer = _new_image(WIDTH, HEIGHT)
    draw = _draw(layer)
    _draw_path(draw, frame, path)
    centre = origin.centroid
    ox, oy = frame(np.array([[centre.x, centre.y]]))
    draw.ellipse([ox - 6, oy - 6, ox + 6, oy + 6], fill=_ink(ORIGIN), outline=_ink(WHITE))
    boxes = [_paste(layer, _label("N ^"), (8, 6)), _scale_bar(layer, draw, frame)]
    boxes.append(_paste(layer, _legend(), (WIDTH - 112, 6)))
    ink = np.asarray(layer) != _ink(BACKGROUND)
    for left, top, right, bottom in boxes:  # labels and legend stay on their own background
        ink[top:bottom, left:right] = True
    mask = Image.fromarray(ink.astype(np.uint8) * 255, "L")
    return _Base(origin, path, frame, layer, mask)


def _paste(
    image: Image.Image, piece: Image.Image, at: tuple[int, int]
) -> tuple[int, int, int, int]:
    image.paste(piece, at)
    return at[0], at[1], at[0] + piece.width, at[1] + piece.height


def _draw_area(image: Image.Image, frame: _Frame, area: BaseGeometry) -> None:
    draw = _draw(image)
    for exterior, holes in _rings(area):
        draw.polygon(frame(exterior), fill=_ink(AREA_FILL), outline=_ink(AREA_LINE))
        for hole in holes:
            draw.polygon(frame(hole), fill=_ink(BACKGROUND), outline=_ink(AREA_LINE))


def _encode(image: Image.Image) -> bytes:
    """The image as a 4-bit palette PNG (it has fewer than 16 colours).

    The four chunks are written here, with zlib's run-length strategy: Pillow's PNG encoder
    took twice as long for the same image (0.34 against 0.15 ms), and every notice carries its
    own map. Pillow reads the result back pixel for pixel (tests/notifier/delivery)."""
    width, height = image.size
    packed = np.frombuffer(image.tobytes("raw", "P;4"), dtype=np.uint8).reshape(height, -1)
    rows = np.zeros((height, packed.shape[1] + 1), dtype=np.uint8)  # filter byte 0: none
    rows[:, 1:] = packed
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = deflate.compress(rows.tobytes()) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 4, 3, 0, 0, 0)  # 4 bits, palette colour
    palette = bytes(channel for colour in PALETTE for channel in colour)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", data),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


class MapPainter:
    """Draws maps, keeping what recipients of one incident share.

    The frame is fitted to the origin and the path, so every recipient of an incident gets
    the same frame and the same base layer; only the recipient's area is drawn for each, under
    the base layer. The area's outline is simplified to half a pixel once per scale (areas
    recur across incidents). An area entirely outside that frame gets a frame of its own.
    """

    def __init__(self, *, max_bases: int = 64, max_areas: int = 512) -> None:
        self.max_bases, self.max_areas = max_bases, max_areas
        self.bases: dict[Hashable, _Base] = {}
        self.areas: dict[tuple[int, float], tuple[BaseGeometry, BaseGeometry]] = {}

    def png(self, geometry: MapGeometry, *, key: Hashable = None) -> bytes:
        """A WIDTH x HEIGHT PNG; deterministic for the same geometries. ``key`` names the
        incident: maps with the same key share a base while origin and path are unchanged."""
        base = self._base(geometry, key)
        area = geometry.recipient_area
        if area is not None and not area.is_empty and not base.shows(area):
            base = _base(geometry.origin, geometry.path, fit=[area])
        image = _new_image(WIDTH, HEIGHT)
        if area is not None and not area.is_empty:
            _draw_area(image, base.frame, self._simplified(area, base.frame))
        image.paste(base.layer, (0, 0), base.mask)
        return _encode(image)

    def _base(self, geometry: MapGeometry, key: Hashable) -> _Base:
        cached = self.bases.get(key) if key is not None else None
        if cached is not None and cached.path == geometry.path and cached.origin == geometry.origin:
            return cached
        base = _base(geometry.origin, geometry.path, fit=[])
        if key is not None:
            if len(self.bases) >= self.max_bases:
                self.bases.pop(next(iter(self.bases)))
            self.bases[key] = base
        return base

    def _simplified(self, area: BaseGeometry, frame: _Frame) -> BaseGeometry:
        # Tolerances are rounded down to a power of two, so nearby scales share an outline.
        tolerance = 2.0 ** math.floor(math.log2(frame.degrees_per_px()))
        cache_key = (id(area), tolerance)
        hit = self.areas.get(cache_key)
        if hit is not None and hit[0] is area:
            return hit[1]
        simplified = shapely.simplify(area, tolerance, preserve_topology=True)
        if len(self.areas) >= self.max_areas:
            self.areas.pop(next(iter(self.areas)))
        self.areas[cache_key] = (area, simplified)
        return simplified


def render_map_png(map_geometry: MapGeometry) -> bytes:
    """One map, nothing kept (previews, tests; the delivery worker keeps a MapPainter)."""
    return MapPainter().png(map_geometry)

"""Line helpers for the river sources: shared borders and stretches between two points."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import LineString, Point
from shapely.ops import substring

REACH_SOURCE_COLUMNS = (
    "reach_id",
    "river",
    "basin",
    "kind",
    "target_class",
    "velocity_ms",
    "discharge_m3s",
    "approximate",
    "downstream",
    "source",
)


def shared_border(
    first: Any, second: Any, *, near: tuple[tuple[float, float], ...] = ()
) -> LineString:
    """The border two polygon sets share, as one line.

    A border in several pieces gives the piece nearest the ``near`` points (the longest
    when none are given).
    """
    common = shapely.intersection(shapely.boundary(first), shapely.boundary(second))
    merged = shapely.line_merge(common)
    parts = [p for p in shapely.get_parts(merged) if p.geom_type == "LineString"]
    if not parts:
        raise ValueError("两区域没有共同边界 / the two areas share no border")
    if near:
        return min(parts, key=lambda p: sum(p.distance(Point(xy)) for xy in near))
    return max(parts, key=lambda p: p.length)


def stretch(line: LineString, start: tuple[float, float], end: tuple[float, float]) -> LineString:
    """The part of ``line`` between the points nearest ``start`` and ``end``, start first.

    The stretch keeps the line's own vertices, so a river drawn from a border lies exactly on
    that border; the result runs from ``start`` toward ``end`` whatever the line's direction.
    """
    a = line.project(Point(start))
    b = line.project(Point(end))
    piece = substring(line, min(a, b), max(a, b))
    if a > b:
        piece = piece.reverse()
    if piece.geom_type != "LineString" or piece.length == 0:
        raise ValueError(f"空的河段 / empty stretch between {start} and {end}")
    return piece


def chain(*parts: LineString | list[tuple[float, float]]) -> LineString:
    """Lines and vertex lists joined end to start into one line, duplicate joints dropped."""
    coords: list[tuple[float, float]] = []
    for part in parts:
        points = (
            [(x, y) for x, y, *_ in part.coords]
            if isinstance(part, LineString)
            else [(x, y) for x, y in part]
        )
        for point in points:
            if not coords or coords[-1] != point:
                coords.append(point)
    return LineString(coords)

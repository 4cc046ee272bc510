"""Positions along a line measured in metres, mapped onto its lon/lat vertices.

A line and its projection have the same vertices, so a point at a given distance along the
projected line lies on the same segment, at the same fraction of it, of the lon/lat line.
Cutting there keeps every original vertex and keeps straight lon/lat segments straight.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class Measured:
    """One line in lon/lat with the cumulative metric distance at each vertex."""

    def __init__(self, line_lonlat: Any, line_m: Any) -> None:
        self.lonlat: FloatArray = np.asarray(line_lonlat.coords, dtype=np.float64)[:, :2]
        metric = np.asarray(line_m.coords, dtype=np.float64)[:, :2]
        steps = np.hypot(*np.diff(metric, axis=0).T)
        self.distance: FloatArray = np.concatenate([[0.0], np.cumsum(steps)])

    @property
    def length_m(self) -> float:
        return float(self.distance[-1])

    def point_at(self, position_m: float) -> FloatArray:
        d = self.distance
        if position_m <= 0:
            return np.array(self.lonlat[0], dtype=np.float64)
        if position_m >= d[-1]:
            return np.array(self.lonlat[-1], dtype=np.float64)
        k = int(np.searchsorted(d, position_m, side="right")) - 1
        span = d[k + 1] - d[k]
        t = 0.0 if span == 0 else (position_m - d[k]) / span
        point = self.lonlat[k] + t * (self.lonlat[k + 1] - self.lonlat[k])
        return np.asarray(point, dtype=np.float64)

    def piece(self, start_m: float, end_m: float) -> shapely.LineString:
        """The stretch [start_m, end_m] in lon/lat, original vertices kept."""
        inner = self.lonlat[(self.distance > start_m) & (self.distance < end_m)]
        return shapely.LineString(np.vstack([self.point_at(start_m), inner, self.point_at(end_m)]))

    def position_of(self, point_lonlat: Any) -> float:
        """Metric position of a lon/lat point lying on (or next to) the line."""
        xy = np.asarray(shapely.get_coordinates(point_lonlat)[0])
        a, b = self.lonlat[:-1], self.lonlat[1:]
        ab = b - a
        denom = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", xy - a, ab) / np.where(denom == 0, 1, denom), 0, 1)
        gap = np.hypot(*(a + t[:, None] * ab - xy).T)
        k = int(np.argmin(gap))
        return float(self.distance[k] + t[k] * (self.distance[k + 1] - self.distance[k]))

"""Splitting reaches where they cross a jurisdiction boundary.

Every reach is sampled at most every ``sample_step_m`` metres (all reaches at once, with
vectorized shapely 2 calls against an STRtree of the polygons, in a local metric CRS). Each
sample gets the jurisdiction it lies in and the same-level jurisdictions within the boundary
tolerance; basins.segments turns those into pieces. Enclaves (ENCLAVE_KINDS: parks, XPCC
cities and regiments drawn inside a host county) win over any other polygon and never form a
boundary reach with their host; their pieces record the host. An XPCC city drawn beside the
counties (石河子市 is cut out of them, not drawn on top) has no host and shares borders with
its neighbours like any county. Cuts between two plain pieces
are moved to where the line actually crosses the polygon boundary.

Pieces get ids ``ID-1``, ``ID-2`` ... in flow order (a reach that stays whole keeps its id):
each piece flows into the next, the last inherits the reach's downstream links, and reaches
upstream point to the first piece.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basins.crs import LONLAT, geodesic_lengths_m, local_metric_crs
from basins.measure import Measured
from basins.model import ENCLAVE_KINDS, PREFECTURE_LEVEL, PROVINCE_LEVEL
from basins.segments import Piece, SegmentRules, segment_reach
from basins.validate import Severity, ValidationReport

_ENCLAVE = {str(k) for k in ENCLAVE_KINDS}
_COARSE = {str(k): 2 for k in PREFECTURE_LEVEL} | {str(k): 3 for k in PROVINCE_LEVEL}


@dataclass(frozen=True, slots=True)
class SplitOptions:
    boundary_tolerance_m: float = 1500.0
    boundary_min_m: float = 6000.0
    boundary_share: float = 0.5
    min_piece_m: float = 1000.0
    sample_step_m: float = 200.0

    def rules(self) -> SegmentRules:
        return SegmentRules(
            self.boundary_tolerance_m, self.boundary_min_m, self.boundary_share, self.min_piece_m
        )


def _rank(kind: str) -> int:
    """Finer polygons win: enclaves 0, counties (and others) 1, prefectures 2, provinces 3."""
    return 0 if kind in _ENCLAVE else _COARSE.get(kind, 1)


@dataclass(slots=True)
class _Samples:
    reach: np.ndarray[Any, Any]
    position: np.ndarray[Any, Any]
    primary: list[str]
    near: list[frozenset[str]]


def _sample_points(
    lines_m: np.ndarray[Any, Any], step_m: float
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(reach index, position in metres, point) of samples, at least 9 per reach."""
    lengths = shapely.length(lines_m)
    counts = np.maximum(np.ceil(lengths / step_m).astype(np.int64) + 1, 9)
    reach = np.repeat(np.arange(len(lines_m)), counts)
    offsets = np.arange(len(reach)) - np.repeat(np.cumsum(counts) - counts, counts)
    position = offsets / np.repeat(counts - 1, counts) * lengths[reach]
    return reach, position, shapely.line_interpolate_point(lines_m[reach], position)


def _pairs(found: np.ndarray[Any, Any]) -> pd.DataFrame:
    return pd.DataFrame({"point": found[0], "poly": found[1]})


def _level(rank: Any) -> Any:
    """Enclaves and counties compete for one border; coarser polygons only among themselves."""
    return np.maximum(rank, 1)


def _sample(
    lines_m: np.ndarray[Any, Any],
    polygons: gpd.GeoDataFrame,
    options: SplitOptions,
    hosts: dict[str, str],
) -> _Samples:
    reach, position, points = _sample_points(lines_m, options.sample_step_m)
    ids = polygons["jurisdiction_id"].to_numpy()
    ranks = polygons["kind"].map(_rank).to_numpy()
    tree = shapely.STRtree(np.asarray(polygons.geometry.values, dtype=object))
    primary = np.full(len(points), "", dtype=object)
    primary_rank = np.full(len(points), 9)
    inside = _pairs(tree.query(points, predicate="intersects"))
    outside = np.setdiff1d(np.arange(len(points)), inside["point"].to_numpy())
    if len(outside):  # just off the edge (within the tolerance): take the nearest polygon
        nearest = tree.query_nearest(points[outside], max_distance=options.boundary_tolerance_m)
        inside = pd.concat(
            [inside, pd.DataFrame({"point": outside[nearest[0]], "poly": nearest[1]})]
        )
    if not inside.empty:
        inside["rank"], inside["id"] = ranks[inside["poly"]], ids[inside["poly"]]
        first = inside.sort_values(["point", "rank", "id"]).drop_duplicates("point")
        primary[first["point"]] = first["id"].to_numpy()
        primary_rank[first["point"]] = first["rank"].to_numpy()
    dist = options.boundary_tolerance_m
    nearby = _pairs(tree.query(points, predicate="dwithin", distance=dist))
    same_level = _level(ranks[nearby["poly"]]) == _level(primary_rank[nearby["point"]])
    near_sets: list[set[str]] = [{p} if p else set() for p in primary.tolist()]
    for point, poly in zip(nearby["point"][same_level], nearby["poly"][same_level], strict=True):
        here, other = str(primary[point]), str(ids[poly])
        if hosts.get(here) != other and hosts.get(other) != here:  # never enclave vs host
            near_sets[point].add(other)
    return _Samples(reach, position, [str(p) for p in primary], [frozenset(n) for n in near_sets])


def split_reaches(
    reaches: gpd.GeoDataFrame,
    jurisdictions: gpd.GeoDataFrame,
    *,
    options: SplitOptions | None = None,
    report: ValidationReport | None = None,
    progress: bool = False,
) -> gpd.GeoDataFrame:
    """Reaches (EPSG:4326, flow-digitized, with ``downstream``) cut so each piece has one
    administering jurisdiction; adds jurisdiction, co_jurisdictions, host, length_m."""
    options = options or SplitOptions()
    report = report if report is not None else ValidationReport()
    metric = local_metric_crs(reaches.total_bounds)
    lines_m = np.asarray(reaches.to_crs(metric).geometry.values, dtype=object)
    lines_ll = np.asarray(reaches.geometry.values, dtype=object)
    drawn = jurisdictions[jurisdictions.geometry.notna()].reset_index(drop=True)
    polygons = drawn.to_crs(metric)
    hosts = _enclave_hosts(polygons)
    samples = _sample(lines_m, polygons, options, hosts)
    by_id = dict(zip(drawn["jurisdiction_id"], drawn.geometry.values, strict=True))
    bounds = np.searchsorted(samples.reach, np.arange(len(lines_m) + 1))
    measured = [Measured(ll, m) for ll, m in zip(lines_ll, lines_m, strict=True)]
    plan: list[list[Piece]] = [
        _pieces_of(
            index,
            reaches,
            samples=samples,
            span=(bounds[index], bounds[index + 1]),
            line=measured[index],
            by_id=by_id,
            options=options,
            report=report,
        )
        for index in _progress(range(len(lines_m)), progress, "切分 / splitting")
    ]
    return _assemble(reaches, plan, measured, hosts)


def _assemble(
    reaches: gpd.GeoDataFrame,
    plan: list[list[Piece]],
    measured: list[Measured],
    hosts: dict[str, str],
) -> gpd.GeoDataFrame:
    """The pieces as reach rows with ids and downstream links rewired."""
    first_piece = {
        str(reaches["reach_id"].iloc[index]): _piece_id(reaches, index, 0, pieces)
        for index, pieces in enumerate(plan)
    }
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for index, pieces in enumerate(plan):
        for number, piece in enumerate(pieces):
            rows.append(
                _piece_row(
                    reaches,
                    index,
                    number=number,
                    pieces=pieces,
                    first_piece=first_piece,
                    hosts=hosts,
                )
            )
            geoms.append(measured[index].piece(piece.start_m, piece.end_m))
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs=LONLAT)
    out["length_m"] = geodesic_lengths_m(out.geometry.values)
    return out


def _progress(items: Iterable[int], enabled: bool, label: str) -> Iterable[int]:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="reach")


def _pieces_of(
    index: int,
    reaches: gpd.GeoDataFrame,
    *,
    samples: _Samples,
    span: tuple[int, int],
    line: Measured,
    by_id: dict[str, Any],
    options: SplitOptions,
    report: ValidationReport,
) -> list[Piece]:
    reach_id = str(reaches["reach_id"].iloc[index])
    lo, hi = span
    primary = samples.primary[lo:hi]
    if not any(primary):
        report.add(
            "reach_outside",
            layer="reaches",
            feature_id=reach_id,
            message="河段不在任何行政区内 / reach lies outside every jurisdiction",
        )
        return [Piece(0.0, line.length_m, ("",))]
    if not all(primary):
        report.add(
            "reach_partly_outside",
            layer="reaches",
            feature_id=reach_id,
            severity=Severity.WARNING,
            message="河段部分在所有行政区之外，已并入相邻段 / part of the reach lies outside "
            "every jurisdiction; joined to the neighbouring piece",
        )
        primary = _fill_gaps(primary)
    near = [
        n if p == q else frozenset({q})
        for n, p, q in zip(samples.near[lo:hi], samples.primary[lo:hi], primary, strict=True)
    ]
    pieces = segment_reach(
        samples.position[lo:hi].tolist(),
        primary,
        near,
        length_m=line.length_m,
        rules=options.rules(),
    )
    return _snap_cuts(pieces, line, by_id, options.sample_step_m)


def _fill_gaps(primary: list[str]) -> list[str]:
    filled = pd.Series([p or None for p in primary]).ffill().bfill()
    return [str(p) for p in filled]


def _snap_cuts(
    pieces: list[Piece], line: Measured, by_id: dict[str, Any], step_m: float
) -> list[Piece]:
    """Move each cut between two plain pieces onto the polygon boundary the line crosses."""
    out = list(pieces)
    for i in range(1, len(out)):
        before, after = out[i - 1], out[i]
        if before.boundary or after.boundary:
            continue
        cut = before.end_m
        # either side's outline: an enclave's edge is not part of its host's outline
        outlines = [
            by_id[p.jurisdiction].boundary for p in (before, after) if p.jurisdiction in by_id
        ]
        crossings = shapely.get_parts(
            shapely.intersection(shapely.LineString(line.lonlat), shapely.union_all(outlines))
        )
        positions = [line.position_of(p) for p in crossings if p.geom_type == "Point"]
        positions = [
            p for p in positions if abs(p - cut) <= step_m and before.start_m < p < after.end_m
        ]
        if positions:
            best = min(positions, key=lambda p: abs(p - cut))
            out[i - 1] = Piece(before.start_m, best, before.banks)
            out[i] = Piece(best, after.end_m, after.banks)
    return out


def _enclave_hosts(polygons: gpd.GeoDataFrame) -> dict[str, str]:
    """Host of each enclave: its ``host`` column, else the county its inner point lies in."""
    hosts: dict[str, str] = {}
    ranks = polygons["kind"].map(_rank)
    others = polygons[ranks == 1]
    tree = shapely.STRtree(np.asarray(others.geometry.values, dtype=object))
    for row in polygons[ranks == 0].itertuples(index=False):
        given = str(getattr(row, "host", "") or "")
        if given:
            hosts[str(row.jurisdiction_id)] = given
            continue
        hit = tree.query(shapely.point_on_surface(row.geometry), predicate="intersects")
        found = sorted(str(others["jurisdiction_id"].iloc[h]) for h in hit)
        hosts[str(row.jurisdiction_id)] = found[0] if found else ""
    return hosts


def _piece_id(reaches: gpd.GeoDataFrame, index: int, number: int, pieces: list[Piece]) -> str:
    reach_id = str(reaches["reach_id"].iloc[index])
    return reach_id if len(pieces) == 1 else f"{reach_id}-{number + 1}"


def _piece_row(
    reaches: gpd.GeoDataFrame,
    index: int,
    *,
    number: int,
    pieces: list[Piece],
    first_piece: dict[str, str],
    hosts: dict[str, str],
) -> dict[str, Any]:
    row = {k: v for k, v in reaches.iloc[index].items() if k != reaches.geometry.name}
    piece = pieces[number]
    if number + 1 < len(pieces):
        downstream = _piece_id(reaches, index, number + 1, pieces)
    else:
        targets = [t for t in str(row.get("downstream", "") or "").split(",") if t]
        downstream = ",".join(first_piece.get(t, t) for t in targets)
    row.update(
        reach_id=_piece_id(reaches, index, number, pieces),
        downstream=downstream,
        jurisdiction=piece.jurisdiction,
        co_jurisdictions=",".join(piece.co_jurisdictions),
        host=hosts.get(piece.jurisdiction, ""),
    )
    return row

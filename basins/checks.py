"""The individual checks behind network validation; each adds Problems to a report.

Shared by ``build_network`` (on input layers) and ``validate_network`` (on a written
network), so that both find the same things and say them in the same words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from basins.crs import LONLAT, local_metric_crs
from basins.model import JurisdictionKind, Network, ReachKind
from basins.topology import Link, find_cycles, links_from_downstream, single_lines
from basins.validate import Severity, ValidationReport

#: Kinds whose entries may have no polygon (their members cover them).
_MAY_LACK_GEOMETRY = {"province", "prefecture", "xpcc", "xpcc_division"}
OVERLAP_TOLERANCE_M2 = 1_000_000.0  # 1 km²: slivers between neighbouring county polygons


def check_ids(ids: Sequence[str], *, layer: str, report: ValidationReport) -> None:
    for value, count in sorted(Counter(ids).items()):
        if value and count > 1:
            report.add(
                "duplicate_id",
                layer=layer,
                feature_id=value,
                message=f"编号重复 {count} 次 / id appears {count} times",
            )


def check_geometries(
    ids: Sequence[str],
    geometries: Any,
    *,
    layer: str,
    lines: bool,
    report: ValidationReport,
    optional: Sequence[bool] | None = None,
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Missing, empty, wrong-type and invalid geometries; returns which ones are usable."""
    geoms = np.asarray(geometries, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    good = ~missing
    types = {"LineString", "MultiLineString"} if lines else {"Polygon", "MultiPolygon"}
    for i, (fid, geom) in enumerate(zip(ids, geoms, strict=True)):
        if missing[i]:
            if optional is None or not optional[i]:
                report.add(
                    "geometry_missing",
                    layer=layer,
                    feature_id=fid,
                    message="缺少几何 / feature has no geometry",
                )
            continue
        if geom.geom_type not in types:
            report.add(
                "geometry_type",
                layer=layer,
                feature_id=fid,
                message=f"几何类型应为 {'/'.join(sorted(types))} / wrong type {geom.geom_type}",
            )
            good[i] = False
        elif not shapely.is_valid(geom):
            report.add(
                "geometry_invalid",
                layer=layer,
                feature_id=fid,
                message=f"几何无效 / invalid geometry: {shapely.is_valid_reason(geom)}",
            )
            good[i] = False
    return np.asarray(good, dtype=bool)


def check_kinds_and_parents(jurisdictions: gpd.GeoDataFrame, report: ValidationReport) -> None:
    known = {k.value for k in JurisdictionKind}
    ids = set(jurisdictions["jurisdiction_id"])
    for row in jurisdictions.itertuples(index=False):
        jid = str(row.jurisdiction_id)
        if row.kind not in known:
            report.add(
                "kind_unknown",
                layer="jurisdictions",
                feature_id=jid,
                message=f"未知的行政级别 {row.kind!r} / unknown kind {row.kind!r} "
                f"(one of {', '.join(sorted(known))})",
            )
        for column in ("parent", "host"):
            value = str(getattr(row, column))
            if value and value not in ids:
                report.add(
                    f"{column}_unknown",
                    layer="jurisdictions",
                    feature_id=jid,
                    severity=Severity.WARNING,
                    message=f"{column} {value!r} 不在行政区图层中 / is not in the jurisdictions",
                )


def check_overlaps(
    jurisdictions: gpd.GeoDataFrame,
    *,
    report: ValidationReport,
    tolerance_m2: float = OVERLAP_TOLERANCE_M2,
) -> None:
    """Polygons of the same kind must not overlap (beyond slivers); enclaves of another
    kind inside a host are expected."""
    drawn = jurisdictions[jurisdictions.geometry.notna() & jurisdictions.is_valid]
    if len(drawn) < 2:
        return
    metric = drawn.to_crs(local_metric_crs(drawn.total_bounds)).reset_index(drop=True)
    geoms = np.asarray(metric.geometry.values, dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = (left < right) & (metric["kind"].to_numpy()[left] == metric["kind"].to_numpy()[right])
    left, right = left[keep], right[keep]
    areas = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    limit = np.minimum(tolerance_m2, 0.01 * smaller)
    for a, b, area in zip(
        left[areas > limit], right[areas > limit], areas[areas > limit], strict=True
    ):
        ja, jb = metric["jurisdiction_id"].iloc[a], metric["jurisdiction_id"].iloc[b]
        report.add(
            "overlap",
            layer="jurisdictions",
            feature_id=f"{ja}",
            message=f"与同级行政区 {jb} 重叠 {area / 1e6:.2f} 平方公里 / overlaps {jb} "
            f"(same kind) by {area / 1e6:.2f} km²",
        )


def check_links(ids: Sequence[str], links: Sequence[Link], *, report: ValidationReport) -> None:
    """Unknown downstream ids and cycles."""
    known = set(ids)
    for source, target in links:
        if target not in known:
            report.add(
                "downstream_unknown",
                layer="reaches",
                feature_id=source,
                message=f"下游河段 {target} 不存在 / downstream reach {target} does not exist",
            )
    for cycle in find_cycles(ids, [(a, b) for a, b in links if b in known]):
        report.add(
            "cycle",
            layer="reaches",
            feature_id=cycle[0],
            message=f"河段构成环路 / reaches flow in a cycle: {' -> '.join(cycle)}",
        )


def check_dangles(
    ids: Sequence[str],
    lines_lonlat: Any,
    links: Sequence[Link],
    *,
    report: ValidationReport,
    tolerance_m: float,
    search_m: float,
    outlets: Sequence[tuple[float, float]] = (),
    outlet_search_m: float = 10_000.0,
) -> None:
    """Ends that join nothing: near another reach without meeting it, or (when outlets are
    given) away from every outlet."""
    lines = single_lines(lines_lonlat)
    has_down = {a for a, _ in links}
    ends = [i for i, rid in enumerate(ids) if rid not in has_down]
    if not ends or len(lines) == 0:
        return
    metric = local_metric_crs(shapely.total_bounds(lines))
    project = Transformer.from_crs(LONLAT, metric, always_xy=True)
    # densified first (~500 m) so that long straight lon/lat segments do not sag when projected
    dense = shapely.segmentize(lines, 0.005)
    lines_m = shapely.transform(dense, lambda xy: np.column_stack(project.transform(*xy.T)))
    tips = shapely.get_point(lines_m[ends], -1)
    tree = shapely.STRtree(lines_m)
    tip_index, line_index = tree.query(tips, predicate="dwithin", distance=search_m)
    ends_m = shapely.get_point(lines_m, -1)
    starts_m = shapely.get_point(lines_m, 0)
    for t, other in zip(tip_index.tolist(), line_index.tolist(), strict=True):
        own = ends[t]
        tip = tips[t]
        if other == own:
            continue
        if tip.distance(ends_m[other]) <= tolerance_m and ids[other] not in has_down:
            _head_to_head(report, ids[own], ids[other])
            continue
        if min(tip.distance(ends_m[other]), tip.distance(starts_m[other])) <= tolerance_m:
            continue
        gap = tip.distance(lines_m[other])
        message = (
            f"距河段 {ids[other]} {gap:.0f} 米却未相接 / ends {gap:.0f} m from reach "
            f"{ids[other]} without joining it (snap tolerance {tolerance_m:g} m)"
            if gap > tolerance_m
            else f"止于河段 {ids[other]} 中部，请在此处打断该河段 / ends on the middle of reach "
            f"{ids[other]}: split that reach there"
        )
        _dangle(report, ids[own], message)
    if outlets:
        outlet_m = shapely.points(np.column_stack(project.transform(*np.asarray(outlets).T)))
        _away_from_outlets(
            [ids[e] for e in ends], tips, outlet_m, search_m=outlet_search_m, report=report
        )


def _away_from_outlets(
    ids: Sequence[str], tips: Any, outlets_m: Any, *, search_m: float, report: ValidationReport
) -> None:
    for reach_id, tip in zip(ids, tips, strict=True):
        if shapely.distance(outlets_m, tip).min() > search_m:
            _dangle(
                report,
                reach_id,
                "末端不连接任何河段，也不是出口 / end joins no reach and is not at a given outlet",
            )


def _head_to_head(report: ValidationReport, reach_id: str, other: str) -> None:
    if any(p.code == "ends_meet" and other in p.message for p in report):
        return
    report.add(
        "ends_meet",
        layer="reaches",
        feature_id=reach_id,
        severity=Severity.WARNING,
        message=f"与河段 {other} 末端相接而无下游，方向可能画反（可用 --outlet-at 定向） / "
        f"ends where reach {other} ends, with nothing downstream: digitized against the flow? "
        "(orient with --outlet-at)",
    )


def _dangle(report: ValidationReport, reach_id: str, message: str) -> None:
    if any(p.code == "dangling" and p.feature_id == reach_id for p in report):
        return
    report.add("dangling", layer="reaches", feature_id=reach_id, message=message)


def validate_network(
    network: Network, *, snap_tolerance_m: float = 1.0, dangle_search_m: float = 250.0
) -> ValidationReport:
    """Every problem in a written network (the same checks build_network runs on input)."""
    report = ValidationReport()
    reaches, areas, stations = network.reaches, network.jurisdictions, network.stations
    ids = [str(i) for i in reaches["reach_id"]]
    check_ids(ids, layer="reaches", report=report)
    usable = check_geometries(
        ids, reaches.geometry.values, layer="reaches", lines=True, report=report
    )
    area_ids = [str(i) for i in areas["jurisdiction_id"]]
    check_ids(area_ids, layer="jurisdictions", report=report)
    check_geometries(
        area_ids,
        areas.geometry.values,
        layer="jurisdictions",
        lines=False,
        report=report,
        optional=[k in _MAY_LACK_GEOMETRY for k in areas["kind"]],
    )
    check_kinds_and_parents(areas, report)
    check_overlaps(areas, report=report)
    check_reach_attributes(reaches, report)
    links = links_from_downstream(ids, reaches["downstream"])
    check_links(ids, links, report=report)
    if usable.all():
        check_dangles(
            ids,
            reaches.geometry.values,
            links,
            report=report,
            tolerance_m=snap_tolerance_m,
            search_m=dangle_search_m,
        )
    known = set(area_ids)
    for rid, owner, co, host in zip(
        ids, reaches["jurisdiction"], reaches["co_jurisdictions"], reaches["host"], strict=True
    ):
        for jid in [str(owner), *str(co).split(","), str(host)]:
            if (jid and jid not in known) or not str(owner):
                report.add(
                    "jurisdiction_unknown",
                    layer="reaches",
                    feature_id=rid,
                    message=f"行政区 {jid!r} 不存在 / unknown jurisdiction {jid!r}",
                )
                break
    _check_stations(stations, set(ids), report)
    return report


def _check_stations(
    stations: gpd.GeoDataFrame, reach_ids: set[str], report: ValidationReport
) -> None:
    check_ids([str(s) for s in stations["station_id"]], layer="stations", report=report)
    for sid, rid, mn in zip(
        stations["station_id"], stations["reach_id"], stations["mn"], strict=True
    ):
        if str(rid) not in reach_ids:
            report.add(
                "reach_unknown",
                layer="stations",
                feature_id=str(sid),
                message=f"断面所在河段 {rid} 不存在 / station's reach {rid} does not exist",
            )
        if not re.fullmatch(r"[0-9A-F]{24}", str(mn)):
            report.add(
                "mn_invalid",
                layer="stations",
                feature_id=str(sid),
                message=f"设备编码 MN 应为 24 位十六进制 / MN {mn!r} is not 24 hex digits",
            )


def check_reach_attributes(reaches: pd.DataFrame, report: ValidationReport) -> None:
    """Reach kind and GB 3838 target class (I..V) where the input carries them."""
    kinds = {k.value for k in ReachKind}
    ids = [str(i) for i in reaches["reach_id"]]
    if "kind" in reaches.columns:
        for rid, kind in zip(ids, reaches["kind"], strict=True):
            if not pd.isna(kind) and str(kind) not in kinds:
                report.add(
                    "reach_kind_unknown",
                    layer="reaches",
                    feature_id=rid,
                    message=f"未知的河段类型 {kind!r} / unknown reach kind {kind!r} "
                    f"(one of {', '.join(sorted(kinds))})",
                )
    if "target_class" in reaches.columns:
        classes = pd.to_numeric(reaches["target_class"], errors="coerce")
        for rid, raw, value in zip(ids, reaches["target_class"], classes, strict=True):
            if not pd.isna(raw) and (pd.isna(value) or value not in {1, 2, 3, 4, 5}):
                report.add(
                    "target_class_invalid",
                    layer="reaches",
                    feature_id=rid,
                    message=f"水质目标应为 1-5 类 / target_class must be 1..5, got {raw!r}",
                )

"""Monitoring sections placed where rivers enter a jurisdiction.

A section (断面) stands at the start of every reach whose administering banks differ from
those of every reach flowing into it (a river entering a new jurisdiction, or a boundary
stretch beginning), at each source, and at each outlet. The HJ 212 device code (MN) is the
first 24 hex digits of SHA-256 of the station id, upper case: stable across rebuilds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from basins.crs import LONLAT, local_metric_crs, to_lonlat
from basins.frames import station_frame
from basins.topology import links_from_downstream
from basins.validate import ValidationReport


def device_code(station_id: str) -> str:
    """24 upper-case hex characters, deterministic from the station id."""
    return hashlib.sha256(station_id.encode("utf-8")).hexdigest()[:24].upper()


def _banks(row: Mapping[str, object]) -> frozenset[str]:
    co = [c for c in str(row.get("co_jurisdictions", "") or "").split(",") if c]
    return frozenset([str(row["jurisdiction"]), *co])


def stations_at_boundaries(
    reaches: gpd.GeoDataFrame,
    *,
    jurisdiction_names: Mapping[str, str],
    outlets: bool = True,
) -> gpd.GeoDataFrame:
    """A station at every jurisdiction entry, every source and (optionally) every outlet."""
    ids = [str(r) for r in reaches["reach_id"]]
    links = links_from_downstream(ids, reaches["downstream"].fillna(""))
    rows = reaches.to_crs(LONLAT).reset_index(drop=True)
    by_id = {rid: rows.iloc[i] for i, rid in enumerate(ids)}
    upstream: dict[str, list[str]] = {rid: [] for rid in ids}
    for source, target in links:
        upstream.setdefault(target, []).append(source)
    records: list[dict[str, str]] = []
    points: list[shapely.Point] = []
    for rid in ids:
        row = by_id[rid]
        banks = _banks(row)
        above = [by_id[u] for u in upstream.get(rid, []) if u in by_id]
        if above and all(_banks(u) == banks for u in above):
            continue
        label = "源头断面" if not above else ("界河断面" if len(banks) > 1 else "入境断面")
        records.append(_record(f"ST-{rid}", row, label, jurisdiction_names))
        points.append(shapely.get_point(row.geometry, 0))
    if outlets:
        for rid in ids:
            row = by_id[rid]
            if not str(row.get("downstream", "") or ""):
                records.append(_record(f"ST-{rid}-OUT", row, "出口断面", jurisdiction_names))
                points.append(shapely.get_point(row.geometry, -1))
    frame = gpd.GeoDataFrame(records, geometry=points, crs=LONLAT)
    return station_frame(frame)


def _record(
    station_id: str, row: Mapping[str, object], label: str, names: Mapping[str, str]
) -> dict[str, str]:
    jurisdiction = str(row["jurisdiction"])
    river = str(row.get("river", "") or "") or f"河段{row['reach_id']}"
    place = (
        "、".join(
            names.get(j, j) for j in sorted(_banks(row), key=lambda j: (j != jurisdiction, j))
        )
        if len(_banks(row)) > 1  # a boundary reach: named for both banks
        else names.get(jurisdiction, jurisdiction)
    )
    return {
        "station_id": station_id,
        "name": f"{river}·{place}{label}",
        "reach_id": str(row["reach_id"]),
        "jurisdiction": jurisdiction,
        "mn": device_code(station_id),
    }


def stations_from_points(
    points: gpd.GeoDataFrame,
    reaches: gpd.GeoDataFrame,
    *,
    id_field: str = "station_id",
    name_field: str = "name",
    max_distance_m: float = 2000.0,
    report: ValidationReport,
) -> gpd.GeoDataFrame:
    """Given stations placed on their nearest reach (within ``max_distance_m``).

    Their MN is kept when it is 24 hex digits, else derived from the station id.
    """
    for wanted in (id_field, name_field):
        if wanted not in points.columns:
            report.add(
                "id_field_missing",
                layer="stations",
                message=f"断面图层缺少字段 {wanted!r} / stations lack field {wanted!r}",
            )
            return station_frame(gpd.GeoDataFrame(geometry=[], crs=LONLAT))
    here = to_lonlat(points).reset_index(drop=True)
    metric = local_metric_crs(reaches.total_bounds)
    lines = np.asarray(reaches.to_crs(metric).geometry.values, dtype=object)
    spots = np.asarray(here.to_crs(metric).geometry.values, dtype=object)
    found, distance = shapely.STRtree(lines).query_nearest(spots, return_distance=True)
    nearest = dict(
        zip(found[0].tolist(), zip(found[1].tolist(), distance.tolist(), strict=True), strict=False)
    )
    records: list[dict[str, str]] = []
    geoms: list[Any] = []
    for i, row in enumerate(here.to_dict("records")):
        sid = str(row[id_field])
        hit = nearest.get(i)
        if hit is None or hit[1] > max_distance_m:
            report.add(
                "station_off_network",
                layer="stations",
                feature_id=sid,
                message=f"{max_distance_m:g} 米内没有河段 / no reach within {max_distance_m:g} m",
            )
            continue
        reach = reaches.iloc[hit[0]]
        given = str(row.get("mn", "") or "").upper()
        records.append(
            {
                "station_id": sid,
                "name": str(row[name_field]),
                "reach_id": str(reach["reach_id"]),
                "jurisdiction": str(reach["jurisdiction"]),
                "mn": given if re.fullmatch(r"[0-9A-F]{24}", given) else device_code(sid),
            }
        )
        geoms.append(row["geometry"])
    return station_frame(gpd.GeoDataFrame(records, geometry=geoms, crs=LONLAT))

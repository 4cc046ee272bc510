"""Monitoring sections placed where rivers enter a jurisdiction.

A section (断面) stands at the start of every reach whose administering banks differ from
those of every reach flowing into it (a river entering a new jurisdiction, or a boundary
stretch beginning), at each source, and at each outlet. The HJ 212 device code (MN) is the
first 24 hex digits of SHA-256 of the station id, upper case: stable across rebuilds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import geopandas as gpd
import shapely

from basins.crs import LONLAT
from basins.frames import station_frame
from basins.topology import links_from_downstream


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
        "".join(names.get(j, j) for j in sorted(_banks(row), key=lambda j: (j != jurisdiction, j)))
        if label == "界河断面"
        else names.get(jurisdiction, jurisdiction)
    )
    return {
        "station_id": station_id,
        "name": f"{river}·{place}{label}",
        "reach_id": str(row["reach_id"]),
        "jurisdiction": jurisdiction,
        "mn": device_code(station_id),
    }

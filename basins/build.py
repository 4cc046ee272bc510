"""Building a network from anyone's layers: check, link, orient, split, place stations.

Nothing is built when any problem is fatal: every check runs first and all problems are
raised together as one NetworkValidationError.

Topology (``BuildOptions.topology``): ``attributes`` reads, in this order of preference, a
``downstream`` column (comma-joined ids), NHDPlus ``FromNode``/``ToNode``, HydroRIVERS
``NEXT_DOWN`` (0 at an outlet), or ArcInfo arc-node ``FNODE_``/``TNODE_`` (which carries no
flow direction, so the arcs are oriented from the outlets, see basins.orient); ``geometry``
links a reach's last vertex to the first vertices within ``snap_tolerance_m``; ``auto`` uses
attributes when one of those column sets is present, else geometry. With ``geometry``, arcs
are oriented first when outlets are given (or ``orient="always"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import pandas as pd
import shapely

from basins.checks import (
    check_dangles,
    check_geometries,
    check_ids,
    check_kinds_and_parents,
    check_links,
    check_overlaps,
    check_reach_attributes,
)
from basins.crs import check_lonlat_bounds, to_lonlat
from basins.frames import (
    hierarchy_from,
    id_strings,
    jurisdiction_frame,
    reach_frame,
    round_coordinates,
)
from basins.model import Network
from basins.orient import orient_arcs, reverse_flipped
from basins.split import SplitOptions, split_reaches
from basins.stations import stations_at_boundaries, stations_from_points
from basins.topology import (
    Link,
    downstream_strings,
    links_from_downstream,
    links_from_geometry,
    links_from_next_down,
    links_from_nodes,
    single_lines,
)
from basins.validate import ValidationReport

Topology = Literal["auto", "attributes", "geometry"]
_REACH_ID_FIELDS = ("reach_id", "COMID", "HYRIV_ID", "id", "ID")
_JURISDICTION_ID_FIELDS = ("jurisdiction_id", "district_adcode", "adcode", "code", "id")
_JURISDICTION_NAME_FIELDS = ("name", "district_name", "short_name", "NAME")
_RIVER_FIELDS = ("river", "NAME", "name", "GNIS_NAME", "gnis_name")
_PASS_THROUGH = ("basin", "kind", "target_class", "velocity_ms", "discharge_m3s", "approximate")


@dataclass(frozen=True, slots=True)
class BuildOptions:
    reach_id_field: str | None = None  # default: the first of _REACH_ID_FIELDS present
    jurisdiction_id_field: str | None = None
    jurisdiction_name_field: str | None = None
    river_field: str | None = None
    basin: str = ""  # basin key for reaches without a ``basin`` column
    topology: Topology = "auto"
    orient: Literal["auto", "always", "never"] = "auto"
    outlets: tuple[tuple[float, float], ...] = ()  # lon, lat
    snap_tolerance_m: float = 1.0
    outlet_search_m: float = 10_000.0
    dangle_search_m: float = 250.0
    split: SplitOptions = field(default_factory=SplitOptions)
    stations: bool = True  # place stations at jurisdiction entries, sources and outlets
    given_stations: gpd.GeoDataFrame | None = None  # or take these points instead
    station_id_field: str = "station_id"
    station_name_field: str = "name"
    station_search_m: float = 2000.0


def build_network(
    reaches: gpd.GeoDataFrame,
    jurisdictions: gpd.GeoDataFrame,
    *,
    options: BuildOptions | None = None,
    progress: bool = False,
    report: ValidationReport | None = None,
) -> Network:
    """A validated Network from raw reach lines and jurisdiction polygons (any CRS).

    Warnings are added to ``report`` when one is given; fatal problems are always raised,
    all together, before anything is built.
    """
    options = options or BuildOptions()
    report = report if report is not None else ValidationReport()
    lines = _prepare_reaches(reaches, options, report)
    areas = _prepare_jurisdictions(jurisdictions, options, report)
    if lines is not None and report.ok:
        lines = _link(lines, options, report)
    report.raise_if_fatal()
    assert lines is not None and areas is not None
    pieces = split_reaches(lines, areas, options=options.split, report=report, progress=progress)
    report.raise_if_fatal()
    reach_layer = reach_frame(pieces)
    reach_layer["geometry"] = round_coordinates(reach_layer.geometry.values)
    stations = _stations(reach_layer, areas, options, report)
    report.raise_if_fatal()
    return Network(reach_layer, areas, stations, hierarchy_from(areas))


def reach_links(
    reaches: gpd.GeoDataFrame,
    *,
    options: BuildOptions | None = None,
    report: ValidationReport | None = None,
) -> list[Link]:
    """The links build_network would derive (after orienting, where it orients).

    Warnings go to ``report`` when one is given; fatal problems are raised either way.
    """
    options = options or BuildOptions()
    report = report if report is not None else ValidationReport()
    lines = _prepare_reaches(reaches, options, report)
    if lines is not None and report.ok:
        lines = _link(lines, options, report)
    report.raise_if_fatal()
    assert lines is not None
    return links_from_downstream(lines["reach_id"].tolist(), lines["downstream"])


def _stations(
    reaches: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    options: BuildOptions,
    report: ValidationReport,
) -> gpd.GeoDataFrame:
    if options.given_stations is not None:
        return stations_from_points(
            options.given_stations,
            reaches,
            id_field=options.station_id_field,
            name_field=options.station_name_field,
            max_distance_m=options.station_search_m,
            report=report,
        )
    names = dict(zip(areas["jurisdiction_id"], areas["name"], strict=True))
    stations = stations_at_boundaries(reaches, jurisdiction_names=names)
    return stations if options.stations else stations.iloc[0:0]


def _field(frame: pd.DataFrame, given: str | None, candidates: tuple[str, ...]) -> str | None:
    if given is not None:
        return given
    return next((c for c in candidates if c in frame.columns), None)


def _has_crs(frame: gpd.GeoDataFrame, layer: str, report: ValidationReport) -> bool:
    if frame.crs is None:
        report.add(
            "crs_missing",
            layer=layer,
            message="图层没有坐标参考系，请用 --crs 指定 / layer has no CRS; pass --crs",
        )
        return False
    check_lonlat_bounds(frame, layer=layer, report=report)
    return True


def _prepare_reaches(
    raw: gpd.GeoDataFrame, options: BuildOptions, report: ValidationReport
) -> gpd.GeoDataFrame | None:
    id_field = _field(raw, options.reach_id_field, _REACH_ID_FIELDS)
    if id_field is not None and id_field not in raw.columns:
        report.add(
            "id_field_missing", layer="reaches", message=f"没有编号字段 / no field {id_field!r}"
        )
        return None
    ids = id_strings(raw[id_field]).tolist() if id_field else [str(i + 1) for i in range(len(raw))]
    if raw.empty:
        report.add("layer_empty", layer="reaches", message="河段图层为空 / no reaches")
        return None
    check_ids(ids, layer="reaches", report=report)
    usable = check_geometries(ids, raw.geometry.values, layer="reaches", lines=True, report=report)
    if not _has_crs(raw, "reaches", report) or not usable.all():
        return None
    frame = to_lonlat(raw).reset_index(drop=True)
    out = gpd.GeoDataFrame(
        {"reach_id": ids},
        geometry=single_lines(shapely.force_2d(frame.geometry.values)),
        crs=frame.crs,
    )
    river = _field(frame, options.river_field, _RIVER_FIELDS)
    out["river"] = id_strings(frame[river]).tolist() if river else ""
    for column in _PASS_THROUGH:
        if column in frame.columns:
            out[column] = frame[column].to_numpy()
    check_reach_attributes(out, report)
    if "basin" not in out.columns:
        out["basin"] = options.basin
    for column in ("downstream", "FromNode", "ToNode", "NEXT_DOWN", "FNODE_", "TNODE_"):
        if column in frame.columns:
            out[f"_src_{column}"] = frame[column].to_numpy()
    return out


def _prepare_jurisdictions(
    raw: gpd.GeoDataFrame, options: BuildOptions, report: ValidationReport
) -> gpd.GeoDataFrame | None:
    id_field = _field(raw, options.jurisdiction_id_field, _JURISDICTION_ID_FIELDS)
    name_field = _field(raw, options.jurisdiction_name_field, _JURISDICTION_NAME_FIELDS)
    for wanted, label in ((id_field, "编号 / id"), (name_field, "名称 / name")):
        if wanted is None or wanted not in raw.columns:
            report.add(
                "id_field_missing",
                layer="jurisdictions",
                message=f"行政区图层缺少{label}字段 {wanted or ''} / jurisdictions lack a field",
            )
            return None
    assert id_field is not None and name_field is not None
    table = pd.DataFrame({c: raw[c] for c in raw.columns if c != raw.geometry.name})
    table["jurisdiction_id"] = id_strings(raw[id_field]).to_numpy()
    table["name"] = id_strings(raw[name_field]).to_numpy()
    ids = table["jurisdiction_id"].tolist()
    if raw.empty:
        report.add("layer_empty", layer="jurisdictions", message="行政区图层为空 / no features")
        return None
    check_ids(ids, layer="jurisdictions", report=report)
    kinds = id_strings(raw["kind"]) if "kind" in raw.columns else pd.Series(["county"] * len(raw))
    optional = [k in {"province", "prefecture", "xpcc", "xpcc_division"} for k in kinds]
    check_geometries(
        ids,
        raw.geometry.values,
        layer="jurisdictions",
        lines=False,
        report=report,
        optional=optional,
    )
    if not _has_crs(raw, "jurisdictions", report):
        return None
    frame = jurisdiction_frame(gpd.GeoDataFrame(table, geometry=raw.geometry.values, crs=raw.crs))
    frame = to_lonlat(frame)
    check_kinds_and_parents(frame, report)
    check_overlaps(frame, report=report)
    return frame


def _link(
    lines: gpd.GeoDataFrame, options: BuildOptions, report: ValidationReport
) -> gpd.GeoDataFrame:
    """Orient where needed, derive links, check them; sets ``downstream``."""
    ids = lines["reach_id"].tolist()
    cols = set(lines.columns)
    mode = options.topology
    use_attributes = mode == "attributes" or (
        mode == "auto"
        and any(f"_src_{c}" in cols for c in ("downstream", "FromNode", "NEXT_DOWN", "FNODE_"))
    )
    links: list[Link]
    if use_attributes and "_src_downstream" in cols:
        links = links_from_downstream(ids, lines["_src_downstream"])
    elif use_attributes and {"_src_FromNode", "_src_ToNode"} <= cols:
        links = links_from_nodes(ids, lines["_src_FromNode"], lines["_src_ToNode"])
    elif use_attributes and "_src_NEXT_DOWN" in cols:
        links = links_from_next_down(ids, lines["_src_NEXT_DOWN"])
    elif use_attributes and {"_src_FNODE_", "_src_TNODE_"} <= cols:
        links = _oriented_links(lines, options, report, nodes=True)
    elif use_attributes:
        report.add(
            "topology_missing",
            layer="reaches",
            message="没有可用的拓扑字段 (downstream, FromNode/ToNode, NEXT_DOWN, FNODE_/TNODE_)，"
            "请用 --topology geometry / no topology columns; use --topology geometry",
        )
        return lines
    elif options.orient == "always" or (options.orient == "auto" and options.outlets):
        links = _oriented_links(lines, options, report, nodes=False)
    else:
        links = links_from_geometry(
            ids, lines.geometry.values, tolerance_m=options.snap_tolerance_m
        )
    check_links(ids, links, report=report)
    check_dangles(
        ids,
        lines.geometry.values,
        links,
        report=report,
        tolerance_m=options.snap_tolerance_m,
        search_m=options.dangle_search_m,
        outlets=options.outlets,
        outlet_search_m=options.outlet_search_m,
    )
    lines = lines.drop(columns=[c for c in lines.columns if str(c).startswith("_src_")])
    lines["downstream"] = downstream_strings(ids, links)
    return lines


def _oriented_links(
    lines: gpd.GeoDataFrame, options: BuildOptions, report: ValidationReport, *, nodes: bool
) -> list[Link]:
    """Orient the arcs (reversing geometry in place) and link them by their new nodes."""
    ids = lines["reach_id"].tolist()
    orientation = orient_arcs(
        lines.geometry.values,
        ids=ids,
        outlets_lonlat=options.outlets,
        tolerance_m=options.snap_tolerance_m,
        outlet_search_m=options.outlet_search_m,
        from_field=lines["_src_FNODE_"].tolist() if nodes else None,
        to_field=lines["_src_TNODE_"].tolist() if nodes else None,
        report=report,
    )
    lines["geometry"] = reverse_flipped(lines.geometry.values, orientation.flipped)
    return links_from_nodes(ids, orientation.from_nodes, orientation.to_nodes)

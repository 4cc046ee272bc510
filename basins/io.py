"""Reading and writing networks (data/*.geojson) and reading anyone's input layers.

The on-disk network is three RFC 7946 GeoJSON files in EPSG:4326 with coordinates rounded
to 1e-6 degree; ``downstream`` and ``co_jurisdictions`` are comma-joined id strings both on
disk and in memory. Input layers (GeoJSON, GeoPackage, Shapefile) are read with pyogrio;
a shapefile's ``.cpg`` decides its text encoding unless ``encoding=`` says otherwise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from shapely.errors import GEOSException

from basins.crs import check_lonlat_bounds, resolve_crs, to_lonlat
from basins.frames import (
    hierarchy_from,
    id_strings,
    jurisdiction_frame,
    reach_frame,
    round_coordinates,
    station_frame,
)
from basins.model import JurisdictionKind, Network
from basins.validate import Severity, ValidationReport

REACHES_FILE = "reaches.geojson"
JURISDICTIONS_FILE = "jurisdictions.geojson"
STATIONS_FILE = "stations.geojson"
_GEOJSON_OPTIONS = {"COORDINATE_PRECISION": 6, "RFC7946": "YES", "WRITE_NAME": "NO"}


def read_layer(
    path: Path | str,
    *,
    crs: Any = None,
    encoding: str | None = None,
    id_field: str | None = None,
    layer: str | None = None,
    report: ValidationReport | None = None,
) -> gpd.GeoDataFrame:
    """One input layer with its CRS settled and, if ``id_field`` is given, ids as strings.

    ``crs`` states the CRS the coordinates are in (it overrides the file's own, and is
    required when the file has none). Problems go to ``report`` when one is given, for the
    caller to raise together with others; otherwise they are raised here at once.
    """
    path = Path(path)
    name = layer or path.stem
    own = report if report is not None else ValidationReport()
    gdf = _read_file(path, encoding=encoding, layer=name, report=own)
    if gdf is not None:
        resolved = resolve_crs(gdf.crs, crs, layer=name, report=own)
        if resolved is not None:
            gdf = gdf.set_crs(resolved, allow_override=True)
            check_lonlat_bounds(gdf, layer=name, report=own)
        if id_field is not None:
            _settle_ids(gdf, id_field, layer=name, report=own)
    if report is None:
        own.raise_if_fatal()
    return gdf if gdf is not None else gpd.GeoDataFrame(geometry=[])


def _read_file(
    path: Path, *, encoding: str | None, layer: str, report: ValidationReport
) -> gpd.GeoDataFrame | None:
    if not path.exists():
        report.add("file_missing", layer=layer, message=f"文件不存在 / file not found: {path}")
        return None
    options: dict[str, Any] = {"encoding": encoding} if encoding else {}
    try:
        gdf = pyogrio.read_dataframe(path, **options)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        OSError,
        GEOSException,  # a geometry GEOS cannot build, e.g. a polygon ring that is not closed
    ) as exc:
        report.add(
            "file_unreadable",
            layer=layer,
            message=f"无法读取文件 / cannot read {path}: {exc}",
        )
        return None
    except UnicodeDecodeError as exc:
        report.add(
            "encoding",
            layer=layer,
            message=f"文字编码错误，请用 --encoding 指定 / wrong text encoding in {path}: {exc}",
        )
        return None
    if encoding is None and path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
        _warn_if_gbk(gdf, layer=layer, report=report)
    if not isinstance(gdf, gpd.GeoDataFrame):
        report.add("no_geometry", layer=layer, message=f"文件没有几何 / no geometry in {path}")
        return None
    return gdf


def _looks_like_gbk(text: str) -> bool:
    """Text read as Latin-1 that is really GBK: re-encoded, it decodes to CJK."""
    if not any("\x80" <= ch <= "\xff" for ch in text):
        return False
    try:
        decoded = text.encode("latin-1").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return any("\u4e00" <= ch <= "\u9fff" for ch in decoded)


def _warn_if_gbk(frame: Any, *, layer: str, report: ValidationReport) -> None:
    """A shapefile without .cpg is read as Latin-1; say so when the text is evidently GBK."""
    texts = [str(c) for c in frame.columns]
    for column in frame.columns:
        if column != getattr(frame, "_geometry_column_name", None):
            texts.extend(v for v in frame[column].head(200).tolist() if isinstance(v, str))
    if any(_looks_like_gbk(t) for t in texts):
        report.add(
            "encoding_guess",
            layer=layer,
            severity=Severity.WARNING,
            message="缺少 .cpg，属性文字似为 GBK 编码，请用 --encoding GBK / no .cpg and the "
            "text looks like GBK read as Latin-1: pass --encoding GBK",
        )


def _settle_ids(
    gdf: gpd.GeoDataFrame, id_field: str, *, layer: str, report: ValidationReport
) -> None:
    if id_field not in gdf.columns:
        fields = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        report.add(
            "id_field_missing",
            layer=layer,
            message=f"没有编号字段 {id_field!r}（现有: {fields}） / no id field {id_field!r}",
        )
        return
    gdf[id_field] = id_strings(gdf[id_field]).values
    for position in gdf.index[gdf[id_field] == ""]:
        report.add(
            "id_missing",
            layer=layer,
            feature_id=f"#{position}",
            message=f"要素缺少编号 / feature has no {id_field}",
        )


def read_network(directory: Path | str) -> Network:
    """The network stored in ``directory`` (reaches, jurisdictions, stations .geojson)."""
    directory = Path(directory)
    report = ValidationReport()
    frames = {}
    for name, builder in (
        (REACHES_FILE, reach_frame),
        (JURISDICTIONS_FILE, jurisdiction_frame),
        (STATIONS_FILE, station_frame),
    ):
        raw = _read_file(directory / name, encoding=None, layer=name, report=report)
        if raw is not None:
            raw = raw if raw.crs is not None else raw.set_crs("EPSG:4326")
            frames[name] = builder(to_lonlat(raw) if len(raw) else raw)
    if report.ok:
        _check_kinds(frames[JURISDICTIONS_FILE], report)
    report.raise_if_fatal()
    reaches = frames[REACHES_FILE]
    reaches["geometry"] = round_coordinates(reaches.geometry.values)
    jurisdictions = frames[JURISDICTIONS_FILE]
    return Network(
        reaches=reaches,
        jurisdictions=jurisdictions,
        stations=frames[STATIONS_FILE],
        hierarchy=hierarchy_from(jurisdictions),
    )


def _check_kinds(jurisdictions: gpd.GeoDataFrame, report: ValidationReport) -> None:
    known = {kind.value for kind in JurisdictionKind}
    for jid, kind in zip(jurisdictions["jurisdiction_id"], jurisdictions["kind"], strict=True):
        if kind not in known:
            report.add(
                "kind_unknown",
                layer=JURISDICTIONS_FILE,
                feature_id=jid,
                message=f"未知的行政级别 {kind!r} / unknown jurisdiction kind {kind!r}",
            )


def write_network(network: Network, directory: Path | str) -> None:
    """Write the three layers; each file is replaced whole, never left half-written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame, geometry_type in (
        (REACHES_FILE, reach_frame(network.reaches), "LineString"),
        (JURISDICTIONS_FILE, jurisdiction_frame(network.jurisdictions), "MultiPolygon"),
        (STATIONS_FILE, station_frame(network.stations), "Point"),
    ):
        _write_geojson(frame, directory / name, geometry_type)


def _write_geojson(frame: gpd.GeoDataFrame, target: Path, geometry_type: str) -> None:
    frame = to_lonlat(frame) if frame.crs is not None else frame.set_crs("EPSG:4326")
    frame = frame.copy()
    frame["geometry"] = round_coordinates(frame.geometry.values)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=".geojson", dir=target.parent
    )
    os.close(handle)
    os.unlink(temporary)
    try:
        pyogrio.write_dataframe(
            frame,
            temporary,
            driver="GeoJSON",
            geometry_type=geometry_type if frame.empty else None,
            layer_options=_GEOJSON_OPTIONS,
        )
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)

"""`rivernotify network`: build a network from anyone's layers, list its links, validate it.

    rivernotify network build --reaches FILE --jurisdictions FILE --out DIR [options]
    rivernotify network edges --reaches FILE [--topology geometry] > links.csv
    rivernotify network validate [--network DIR]

Problems in the input are printed one per line (Chinese, then English) with a summary, and
the command exits 1; nothing is written then.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.cli.errors import UserError

if TYPE_CHECKING:  # the geo stack loads only when a network command runs
    from basins.build import BuildOptions
    from basins.validate import ValidationReport

DEFAULT_NETWORK_DIR = Path(__file__).resolve().parents[2] / "data"


def _outlet(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"出口应写作 经度,纬度 / outlet must be LON,LAT, got {text!r}"
        ) from None
    if not (-180 <= lon <= 360 and -90 <= lat <= 90):
        raise argparse.ArgumentTypeError(f"出口坐标超出范围 / outlet out of range: {text!r}")
    return lon, lat


def _reach_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reaches", type=Path, required=True, help="河段线图层 / reach lines")
    parser.add_argument("--reach-id-field", help="河段编号字段 / reach id field")
    parser.add_argument("--river-field", help="河流名称字段 / river name field")
    parser.add_argument("--crs", help="无 .prj 时的坐标系，如 EPSG:4326 / CRS of files without one")
    parser.add_argument("--encoding", help="属性文字编码，如 GBK / attribute text encoding")
    parser.add_argument(
        "--topology",
        choices=("auto", "attributes", "geometry"),
        default="auto",
        help="拓扑来源 / where links come from (default: auto)",
    )
    parser.add_argument(
        "--outlet-at",
        type=_outlet,
        action="append",
        default=[],
        metavar="LON,LAT",
        help="出口位置，可重复 / an outlet (repeatable); arcs are oriented toward it",
    )
    parser.add_argument(
        "--snap-tolerance-m",
        type=float,
        default=1.0,
        help="端点吸附容差（米） / end points this close are one node (metres)",
    )


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "network", help="河网构建与校验 / build and validate the river network"
    )
    actions = parser.add_subparsers(dest="network_command", required=True, metavar="ACTION")

    build = actions.add_parser("build", help="由河段与行政区图层构建河网 / build a network")
    _reach_arguments(build)
    build.add_argument("--jurisdictions", type=Path, required=True, help="行政区面图层")
    build.add_argument("--jurisdiction-id-field", help="行政区编号字段 / jurisdiction id field")
    build.add_argument("--jurisdiction-name-field", help="行政区名称字段 / name field")
    build.add_argument("--basin", default="", help="流域代码 / basin key, e.g. fenhe")
    build.add_argument(
        "--boundary-tolerance-m",
        type=float,
        default=1500.0,
        help="界河判定距离（米） / distance to a border that makes a boundary reach",
    )
    build.add_argument(
        "--min-piece-m",
        type=float,
        default=1000.0,
        help="最短切分段（米） / shorter pieces merge into a neighbour",
    )
    build.add_argument(
        "--stations", type=Path, help="已有断面点图层（默认在各入境处自动布设） / given stations"
    )
    build.add_argument("--station-id-field", default="station_id", help="断面编号字段")
    build.add_argument("--station-name-field", default="name", help="断面名称字段")
    build.add_argument("--out", type=Path, required=True, help="输出目录 / output directory")
    build.set_defaults(handler=_build)

    edges = actions.add_parser("edges", help="输出河段连接 CSV / print links as CSV")
    _reach_arguments(edges)
    edges.set_defaults(handler=_edges)

    validate = actions.add_parser("validate", help="校验河网 / validate a network directory")
    validate.add_argument(
        "--network",
        type=Path,
        default=DEFAULT_NETWORK_DIR,
        help=f"河网目录 / network directory (default {DEFAULT_NETWORK_DIR})",
    )
    validate.set_defaults(handler=_validate)


def _options(args: argparse.Namespace) -> BuildOptions:
    from basins.build import BuildOptions
    from basins.split import SplitOptions

    split = SplitOptions(
        boundary_tolerance_m=getattr(args, "boundary_tolerance_m", 1500.0),
        min_piece_m=getattr(args, "min_piece_m", 1000.0),
    )
    return BuildOptions(
        reach_id_field=args.reach_id_field,
        jurisdiction_id_field=getattr(args, "jurisdiction_id_field", None),
        jurisdiction_name_field=getattr(args, "jurisdiction_name_field", None),
        river_field=args.river_field,
        basin=getattr(args, "basin", ""),
        topology=args.topology,
        outlets=tuple(args.outlet_at),
        snap_tolerance_m=args.snap_tolerance_m,
        split=split,
    )


def _print_report(report: ValidationReport) -> int:
    print(report.render(), file=sys.stderr)
    return 0 if report.ok else 1


def _build(args: argparse.Namespace) -> int:
    from basins.build import build_network
    from basins.io import read_layer, write_network
    from basins.validate import NetworkValidationError, ValidationReport

    report = ValidationReport()
    reaches = read_layer(
        args.reaches, crs=args.crs, encoding=args.encoding, layer="reaches", report=report
    )
    areas = read_layer(
        args.jurisdictions,
        crs=args.crs,
        encoding=args.encoding,
        layer="jurisdictions",
        report=report,
    )
    stations = None
    if args.stations is not None:
        stations = read_layer(
            args.stations, crs=args.crs, encoding=args.encoding, layer="stations", report=report
        )
    if not report.ok:
        return _print_report(report)
    options = replace(
        _options(args),
        given_stations=stations,
        station_id_field=args.station_id_field,
        station_name_field=args.station_name_field,
    )
    try:
        network = build_network(
            reaches, areas, options=options, progress=sys.stderr.isatty(), report=report
        )
    except NetworkValidationError as exc:
        return _print_report(exc.report)
    if report.problems:
        _print_report(report)
    try:
        write_network(network, args.out)
    except OSError as exc:
        raise UserError(f"无法写入 {args.out} / cannot write {args.out}: {exc}") from exc
    print(
        f"已生成 {len(network.reaches)} 个河段、{len(network.jurisdictions)} 个行政区、"
        f"{len(network.stations)} 个断面 → {args.out} / built {len(network.reaches)} reaches, "
        f"{len(network.jurisdictions)} jurisdictions, {len(network.stations)} stations"
    )
    return 0


def _edges(args: argparse.Namespace) -> int:
    from basins.build import reach_links
    from basins.io import read_layer
    from basins.validate import NetworkValidationError, ValidationReport

    report = ValidationReport()
    reaches = read_layer(
        args.reaches, crs=args.crs, encoding=args.encoding, layer="reaches", report=report
    )
    if not report.ok:
        return _print_report(report)
    try:
        links = reach_links(reaches, options=_options(args), report=report)
    except NetworkValidationError as exc:
        return _print_report(exc.report)
    if report.problems:
        _print_report(report)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["from_id", "to_id"])
    writer.writerows(links)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from basins.checks import validate_network
    from basins.io import read_network
    from basins.validate import NetworkValidationError

    if not args.network.is_dir():
        raise UserError(f"河网目录不存在 / network directory not found: {args.network}")
    try:
        network = read_network(args.network)
    except NetworkValidationError as exc:
        return _print_report(exc.report)
    report = validate_network(network)
    print(report.render())
    return 0 if report.ok else 1

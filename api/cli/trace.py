"""`rivernotify trace`: which jurisdictions lie downstream (or upstream) of a reach or a point.

    rivernotify trace REACH_ID --direction down [--max-km N] [--max-hours H] [--json]
    rivernotify trace --at LON,LAT --direction up [--network DIR] [--snap-m M]

Without ``--json`` a table (Chinese, then English headings); with it a JSON array, one object
per jurisdiction in order of first entry (``TraceEntry.as_json()``). Arrival times are
estimates unless every reach on the way has a measured velocity (marked ``~``).
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path
from typing import Any

from api.cli.errors import UserError
from basins.model import Direction, Network, TraceEntry

DEFAULT_NETWORK_DIR = Path(__file__).resolve().parents[2] / "data"
DEFAULT_SNAP_M = 5000.0


def _point(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"位置应写作 经度,纬度 / --at must be LON,LAT, got {text!r}"
        ) from None
    return lon, lat


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"须为非负数 / must be a number >= 0, got {text!r}")
    return value


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "trace",
        help="追踪上下游管辖单位 / list the jurisdictions downstream or upstream",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("reach_id", nargs="?", help="起点河段编号 / origin reach id")
    parser.add_argument(
        "--at", type=_point, metavar="LON,LAT", help="起点位置（吸附到最近河段）/ origin point"
    )
    parser.add_argument(
        "--network",
        type=Path,
        default=DEFAULT_NETWORK_DIR,
        help=f"河网目录 / network directory (default: {DEFAULT_NETWORK_DIR})",
    )
    parser.add_argument(
        "--direction",
        choices=[d.value for d in Direction],
        required=True,
        help="down 下游 / up 上游",
    )
    parser.add_argument("--max-km", type=_non_negative, help="距离上限 / distance horizon, km")
    parser.add_argument("--max-hours", type=_non_negative, help="时间上限 / time horizon, h")
    parser.add_argument(
        "--snap-m",
        type=_non_negative,
        default=DEFAULT_SNAP_M,
        help=f"--at 吸附距离上限 / how far --at may lie from a reach, m ({DEFAULT_SNAP_M:g})",
    )
    parser.add_argument("--json", action="store_true", help="输出 JSON / print JSON")
    parser.set_defaults(handler=run)


def _load(directory: Path) -> Network:
    from basins.io import read_network
    from basins.validate import NetworkValidationError

    if not directory.is_dir():
        raise UserError(f"河网目录不存在 / network directory not found: {directory}")
    try:
        return read_network(directory)
    except (NetworkValidationError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"无法读取河网 / cannot read the network in {directory}: {first}") from None


def run(args: argparse.Namespace) -> int:
    from basins.index import index_from_network
    from basins.snap import SnapTooFarError, snap_point
    from basins.trace import UnknownReachError, trace

    if (args.reach_id is None) == (args.at is None):
        raise UserError("请给出河段编号或 --at 之一 / give either a REACH_ID or --at LON,LAT")
    network = _load(args.network)
    index = index_from_network(network)
    offset = None
    reach_id = args.reach_id
    if args.at is not None:
        try:
            snap = snap_point(index, *args.at, max_distance_m=args.snap_m)
        except (SnapTooFarError, ValueError) as exc:
            raise UserError(str(exc)) from None
        reach_id, offset = snap.reach_id, snap.offset_m_to_downstream_end
    try:
        entries = trace(
            index,
            reach_id,
            direction=Direction(args.direction),
            hierarchy=network.hierarchy,
            max_km=args.max_km,
            max_hours=args.max_hours,
            origin_offset_m=offset,
        )
    except UnknownReachError as exc:
        raise UserError(f"{exc} (network {args.network})") from None
    if args.json:
        print(json.dumps([e.as_json() for e in entries], ensure_ascii=False, indent=2))
    else:
        print(_heading(network, reach_id, Direction(args.direction)))
        print(_table(entries))
    return 0


def _heading(network: Network, reach_id: str, direction: Direction) -> str:
    reaches = network.reaches
    row = reaches[reaches["reach_id"] == reach_id].iloc[0]
    jid = str(row["jurisdiction"])
    known = network.hierarchy.jurisdictions.get(jid)
    where = f"{known.name} {jid}" if known else jid
    way = "下游 downstream" if direction is Direction.DOWN else "上游 upstream"
    return f"{row['river']} 河段 reach {reach_id}（{where}）→ {way}"


HEADINGS = (
    "#",
    "管辖单位 jurisdiction",
    "首个河段 first reach",
    "距离 km",
    "到达 h",
    "相邻 adj.",
    "对岸 bank",
    "跨市 pref.",
    "跨省 prov.",
)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def _table(entries: list[TraceEntry]) -> str:
    if not entries:
        return "（范围内没有其他管辖单位 / no other jurisdiction within the horizon）"
    mark = {True: "是 yes", False: ""}
    rows = [
        (
            str(k),
            f"{e.name} {e.jurisdiction_id}",
            e.first_reach,
            f"{e.distance_km:.1f}",
            ("~" if e.eta_estimated else "") + f"{e.eta_hours:.1f}",
            mark[e.adjacent],
            mark[e.boundary],
            mark[e.other_prefecture],
            mark[e.other_province],
        )
        for k, e in enumerate(entries, start=1)
    ]
    widths = [max(_width(r[i]) for r in [HEADINGS, *rows]) for i in range(len(HEADINGS))]
    numeric = {0, 3, 4}
    lines = [
        "  ".join(
            _pad(cell, w, right=i in numeric)
            for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in [HEADINGS, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("~ 为估算 / estimated arrival (no measured velocity on the way)")
    return "\n".join(lines)

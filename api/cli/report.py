"""`rivernotify report`: submit a report from the command line and show the notices."""

from __future__ import annotations

import argparse
import json
import os
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.cli.errors import UserError
from notifier.enums import ReportDirection
from notifier.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
_PARAM = re.compile(
    r"^(?P<code>[A-Za-z0-9]+)=(?P<value>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)"
    r"(?P<unit>\S*)$"
)


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "report", help="提交监测报告 / submit a report and print the notices"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--reach", metavar="ID", help="河段编号 / reach id")
    where.add_argument("--at", metavar="LON,LAT", help="经纬度, 就近吸附到河段 / snapped")
    where.add_argument("--station", metavar="ID", help="站点编号 / station id")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="CODE=VALUE[UNIT]",
        help="HJ 212 参数, 如 w21003=3.2 或 w20111=1.5ug/L / a measurement",
    )
    parser.add_argument(
        "--direction",
        choices=[d.value for d in ReportDirection],
        default="source",
        help="source: 污染在此并向下游; observed_downstream: 在此发现, 来源在上游; both",
    )
    parser.add_argument(
        "--declare",
        action="store_true",
        help="无超标也宣布事件 / declare an incident without an exceedance",
    )
    parser.add_argument("--drill", action="store_true", help="演练 / an exercise")
    parser.add_argument(
        "--observed-at",
        metavar="ISO8601",
        help="观测时间 (默认现在; 无时区按北京时间) / default now",
    )
    parser.add_argument("--reporter", default=None, help="报告人 / reporter (default cli:$USER)")
    parser.add_argument("--note", default="", help="说明 / free text")
    parser.add_argument("--json", action="store_true", help="JSON 输出 / print JSON")
    parser.set_defaults(handler=_report)


def _location(args: argparse.Namespace) -> dict[str, Any]:
    if args.at is None:
        return {"reach_id": args.reach, "station_id": args.station}
    try:
        lon_text, lat_text = args.at.split(",")
        return {"lon": float(lon_text), "lat": float(lat_text)}
    except ValueError as exc:
        raise UserError(
            f"--at 须为 LON,LAT, 如 87.1,44.2 / --at must be LON,LAT: {args.at!r}"
        ) from exc


def _observed_at(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"--observed-at 时间格式无效 / invalid ISO 8601 time: {text!r}") from exc
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


def parse_params(texts: list[str], *, default_units: dict[str, str]) -> list[Any]:
    """``CODE=VALUE[UNIT]`` into measurements; every bad one reported at once."""
    from notifier.evaluation.evaluate import Measurement

    found, bad = [], []
    for text in texts:
        match = _PARAM.match(text.strip())
        if match is None:
            bad.append(text)
            continue
        code = match["code"].lower()
        unit = match["unit"] or default_units.get(code, "mg/L")
        found.append(Measurement(code=code, value=float(match["value"]), unit=unit, flag="N"))
    if bad:
        raise UserError(
            "参数格式应为 CODE=VALUE[UNIT], 如 w21003=3.2 / --param must be CODE=VALUE[UNIT]: "
            + ", ".join(repr(b) for b in bad)
        )
    return found


def _default_units(ctx: Any) -> dict[str, str]:
    units = {key[0]: limit.unit for key, limit in ctx.standards.limits.items()}
    return {code: ("" if unit == "dimensionless" else unit) for code, unit in units.items()}


def _report(args: argparse.Namespace) -> int:
    from notifier.context import context_from_settings
    from notifier.db import engine_from_settings, session_factory, transaction
    from notifier.incidents.schemas import EngineError, ReportInput
    from notifier.incidents.service import submit_report

    settings = Settings()
    now = datetime.now(UTC)
    location = _location(args)
    observed_at = _observed_at(args.observed_at, now)
    try:
        ctx = context_from_settings(settings)
    except (ValueError, OSError) as exc:
        raise UserError(f"无法读取河网数据 / cannot load the network: {exc}") from exc
    measurements = parse_params(args.param, default_units=_default_units(ctx))
    engine = engine_from_settings(settings)
    try:
        _require_schema(engine)
        data = ReportInput(
            measurements=tuple(measurements),
            reporter=args.reporter or f"cli:{os.environ.get('USER', 'unknown')}",
            observed_at=observed_at,
            direction=ReportDirection(args.direction),
            note=args.note,
            declared_incident=args.declare or args.drill,
            exercise=args.drill,
            **location,
        )
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        with transaction(session_factory(writer)) as session:
            result = submit_report(session, data, ctx=ctx, now=now)
    except EngineError as exc:
        raise UserError("报告未受理 / report refused: " + "; ".join(exc.problems)) from exc
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_text(result)
    return 0


def _require_schema(engine: Any) -> None:
    from notifier.migrate import current_revision, head_revision

    if current_revision(engine) != head_revision(engine):
        raise UserError(
            "数据库未初始化或未迁移, 请先运行 rivernotify db upgrade / "
            "database not at head: run `rivernotify db upgrade` first"
        )


def _print_text(result: Any) -> None:
    if result.incident_id is None:
        print(
            f"报告 #{result.report_id} 已保存, 未超标, 未立案 / report stored: no exceedance, "
            "no incident"
        )
        return
    state = "新立案 opened" if result.opened else "并入已有事件 joined"
    print(f"事件 incident #{result.incident_id} ({state}); 报告 report #{result.report_id}")
    print(f"通报 notices ({len(result.notices)}):")
    for n in result.notices:
        eta = "—" if n.eta_hours is None else f"{n.eta_hours:.1f} h"
        km = "—" if n.distance_km is None else f"{n.distance_km:.1f} km"
        deadline = n.ack_deadline.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
        new = "*" if n.id in result.new_notice_ids else " "
        print(
            f" {new}#{n.id:<5} {n.jurisdiction_id:<10} {n.bureau}  [{n.role.value}] "
            f"{km} {eta}  确认时限 ack by {deadline} (北京时间)  {n.status.value}"
        )

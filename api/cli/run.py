"""``rivernotify run``: what ``make run`` starts.

It first proves the shipped network is sound (load, validate, summarise, one example trace), so
that a newcomer sees at once what the product knows, and then starts the service on the
embedded defaults (SQLite under var/, the embedded SMTP sink, the shipped data).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from api.cli.errors import UserError
from basins.index import index_from_network
from basins.model import Direction, Network
from basins.trace import trace
from basins.validate import NetworkValidationError
from notifier.settings import Settings

#: The example trace: the 汾河 leaving 太原 (source in 小店区), down to the 黄河.
EXAMPLE_RIVER = "汾河"
EXAMPLE_PREFECTURE = "140100"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "run",
        help="检查内置河网并启动服务 · check the shipped network and start the service",
    )
    parser.add_argument("--network", type=Path, default=None, help="network directory (data/)")
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="只检查河网，不启动服务 · check the network and exit",
    )
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    directory = args.network or settings.network_dir
    network = load_checked(directory)
    print(network_summary(network))
    print(example_trace(network))
    if args.check_only:
        return 0
    if settings.mode == "development":
        print(ensure_demo_accounts(settings))
    return _serve(settings, host=args.host, port=args.port)


def load_checked(directory: Path) -> Network:
    """The network in ``directory``, or a UserError carrying the whole validation report."""
    from basins.io import read_network

    try:
        return read_network(directory)
    except NetworkValidationError as exc:
        raise UserError(f"河网数据有误 / the network in {directory} is invalid:\n{exc}") from exc
    except FileNotFoundError as exc:
        raise UserError(f"找不到河网数据 / network files not found: {exc}") from exc


def network_summary(network: Network) -> str:
    """Counts per basin and per jurisdiction kind: what the service will route over."""
    reaches = network.reaches
    lines = ["河网 · river network"]
    for basin, group in reaches.groupby("basin", sort=True):
        rivers = ", ".join(sorted(str(r) for r in group["river"].unique() if r))
        boundary = int((group["co_jurisdictions"] != "").sum())
        lines.append(
            f"  {basin}: {len(group)} 河段 reaches, {group['length_m'].sum() / 1000:.0f} km, "
            f"{boundary} 界河段 boundary reaches; {rivers}"
        )
    kinds = network.jurisdictions["kind"].value_counts().sort_index()
    lines.append(
        "  辖区 jurisdictions: " + ", ".join(f"{kind} {count}" for kind, count in kinds.items())
    )
    lines.append(f"  监测断面 stations: {len(network.stations)}")
    return "\n".join(lines)


def example_trace(network: Network) -> str:
    """A downstream trace from the last 汾河 reach in 太原 (where the river leaves the city)."""
    hierarchy = network.hierarchy
    reaches = network.reaches
    prefecture = dict(
        zip(
            reaches["reach_id"].astype(str),
            (hierarchy.prefecture_of(str(j)) for j in reaches["jurisdiction"]),
            strict=True,
        )
    )
    candidates = [
        str(row.reach_id)
        for row in reaches.itertuples()
        if row.river == EXAMPLE_RIVER
        and prefecture[str(row.reach_id)] == EXAMPLE_PREFECTURE
        and any(
            prefecture.get(down) != EXAMPLE_PREFECTURE for down in str(row.downstream).split(",")
        )
    ]
    if not candidates:
        return "（无示例追踪 · no example trace: no 汾河 reach in 太原）"
    origin = candidates[0]
    entries = trace(
        index_from_network(network),
        origin,
        direction=Direction.DOWN,
        hierarchy=hierarchy,
        max_hours=48,
        keep_adjacent=True,
    )
    lines = [f"示例追踪 example trace: {EXAMPLE_RIVER} {origin} 向下游 downstream (48 h)"]
    for entry in entries:
        flags = "".join(
            mark
            for mark, on in (
                (" 相邻adjacent", entry.adjacent),
                (" 界河boundary", entry.boundary),
                (" 跨市other-prefecture", entry.other_prefecture),
                (" 跨省other-province", entry.other_province),
            )
            if on
        )
        lines.append(
            f"  {entry.distance_km + 0.0:7.1f} km  ~{entry.eta_hours + 0.0:5.1f} h  "
            f"{entry.jurisdiction_id:<9} {entry.name}{flags}"
        )
    return "\n".join(lines)


#: Accounts that let a newcomer walk the whole flow after `make run` (development mode only):
#: a source on the 呼图壁河 notifies 芳草湖农场; one on the 汾河 in 太原 notifies 祁县.
DEMO_PASSWORD = "rivernotify-demo"
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("changji", "652300", "supervisor"),
    ("hutubi", "652323", "bureau"),
    ("fangcaohu", "660601", "bureau"),
    ("shanxi", "140000", "supervisor"),
    ("qixian", "140727", "bureau"),
    ("admin", "652300", "admin"),
)


def ensure_demo_accounts(settings: Settings) -> str:
    """Create the demo accounts that are missing; never in production mode."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from notifier.accounts.models import User
    from notifier.accounts.service import add_user
    from notifier.db import engine_from_settings, session_factory

    engine = engine_from_settings(settings)
    try:
        factory = session_factory(engine.execution_options(sqlite_begin="IMMEDIATE"))
        with factory() as session, session.begin():
            existing = set(session.scalars(select(User.username)))
            for username, jurisdiction_id, role in DEMO_ACCOUNTS:
                if username not in existing:
                    add_user(
                        session,
                        username=username,
                        password=DEMO_PASSWORD,
                        jurisdiction_id=jurisdiction_id,
                        role=role,
                        actor="make-run-demo",
                        now=datetime.now(UTC),
                    )
    finally:
        engine.dispose()
    names = ", ".join(f"{u} ({r} {j})" for u, j, r in DEMO_ACCOUNTS)
    return f"演示账号 demo accounts (password {DEMO_PASSWORD!r}, development mode only): {names}"


def _serve(settings: Settings, *, host: str | None, port: int | None) -> int:
    import logging

    from api.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    where = f"http://{host or settings.host}:{port or settings.port}"
    print(f"打开 open {where}/  (通报地图 map: {where}/map, API: {where}/docs)", flush=True)

    code: int = serve(settings, host=host, port=port)
    return code

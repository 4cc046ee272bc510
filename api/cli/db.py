"""`rivernotify db upgrade | check | current`: the schema through Alembic, then the seed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from api.cli.errors import UserError
from notifier.db import engine_from_settings, session_factory, transaction
from notifier.settings import Settings


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "db", help="数据库迁移与初始化 / database schema and seed"
    )
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = sub.add_parser(
        "upgrade", help="迁移到最新并写入生态环境局与站点 / migrate to head and seed bureaus"
    )
    upgrade.add_argument(
        "--no-seed", action="store_true", help="只迁移, 不写入 / migrate only, no seed"
    )
    upgrade.set_defaults(handler=_upgrade)
    check = sub.add_parser("check", help="模型与数据库是否一致 / do models and database agree")
    check.set_defaults(handler=_check)
    current = sub.add_parser("current", help="当前版本 / current revision")
    current.set_defaults(handler=_current)
    from api.cli import backup

    backup.add_actions(sub)


def _upgrade(args: argparse.Namespace) -> int:
    from notifier.migrate import current_revision, upgrade

    settings = Settings()
    engine = engine_from_settings(settings)
    try:
        upgrade(engine)
        print(
            f"数据库已迁移到 {current_revision(engine)} / database at revision "
            f"{current_revision(engine)}: {_safe_url(settings)}"
        )
        if not args.no_seed:
            _seed(settings, engine)
    except SQLAlchemyError as exc:
        raise UserError(
            f"数据库错误 / database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()
    return 0


def _seed(settings: Settings, engine: Any) -> None:
    from basins.io import read_network
    from notifier.bureaus.service import ContactsFileError
    from notifier.seed import contacts_in, seed_network

    if not (settings.network_dir / "reaches.geojson").is_file():
        print(f"未找到河网数据, 跳过初始化 / no network in {settings.network_dir}: seed skipped")
        return
    try:
        network = read_network(settings.network_dir)
        contacts = contacts_in(settings.network_dir)
    except (ContactsFileError, ValueError, OSError) as exc:
        raise UserError(f"无法读取河网数据 / cannot read network data: {exc}") from exc
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    with transaction(session_factory(writer)) as session:
        result = seed_network(session, network=network, contacts=contacts, now=datetime.now(UTC))
    print(
        f"生态环境局: 新增 {len(result.bureaus.created)}, 更新 {len(result.bureaus.updated)}, "
        f"未变 {result.bureaus.unchanged}; 站点变更 {result.stations_changed} / bureaus: "
        f"{len(result.bureaus.created)} created, {len(result.bureaus.updated)} updated, "
        f"{result.bureaus.unchanged} unchanged; stations changed: {result.stations_changed}"
    )


def _check(args: argparse.Namespace) -> int:
    from notifier.migrate import schema_diff

    engine = engine_from_settings(Settings())
    try:
        diff = schema_diff(engine)
    finally:
        engine.dispose()
    if diff:
        for item in diff:
            print(item)
        raise UserError("模型与数据库不一致 / models and database differ (see above)")
    print("一致 / models and database agree")
    return 0


def _current(args: argparse.Namespace) -> int:
    from notifier.migrate import current_revision, head_revision

    engine = engine_from_settings(Settings())
    try:
        print(f"current={current_revision(engine)} head={head_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)

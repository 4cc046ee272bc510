"""`rivernotify user add` and `rivernotify station add`: credentials for people and stations.

    echo 'PASSWORD' | rivernotify user add --username zhang --bureau 652323 --role bureau
    rivernotify station add STATION_ID        # prints the new key once

The password is read from stdin (first line), never from the command line, so that it stays
out of the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from api.cli.errors import UserError
from notifier.accounts.roles import Role
from notifier.settings import Settings


def register(commands: Any) -> None:
    user = commands.add_parser(
        "user", help="用户管理 / manage people's accounts", description="用户管理 / accounts"
    )
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_commands.add_parser(
        "add",
        help="新建用户（密码从标准输入读取）/ add an account (password from stdin)",
    )
    add.add_argument("--username", required=True, help="登录名 / sign-in name")
    add.add_argument(
        "--bureau", required=True, metavar="JURISDICTION_ID", help="所属单位（辖区编码）/ bureau"
    )
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--name", default="", help="姓名 / display name")
    add.set_defaults(handler=_add_user)

    station = commands.add_parser(
        "station", help="站点密钥 / station API keys", description="站点密钥 / station API keys"
    )
    station_commands = station.add_subparsers(
        dest="station_command", required=True, metavar="ACTION"
    )
    key = station_commands.add_parser(
        "add",
        help="为站点签发 API 密钥（只显示一次）/ issue a station's API key (shown once)",
    )
    key.add_argument("station_id")
    key.set_defaults(handler=_add_station)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("密码 / password: ")
        if getpass.getpass("再输一次 / again: ") != first:
            raise UserError("两次输入的密码不一致 / the passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise UserError("标准输入中没有密码 / no password on stdin")
    return line.rstrip("\r\n")


def _sessions(settings: Settings) -> Any:
    from notifier.db import engine_from_settings, session_factory
    from notifier.migrate import current_revision, head_revision

    engine = engine_from_settings(settings)
    try:
        current, head = current_revision(engine), head_revision(engine)
    except Exception as exc:
        raise UserError(f"无法连接数据库 / cannot open the database: {exc}") from None
    if current != head:
        raise UserError(
            f"数据库未升级 / database is at revision {current}, not {head}: "
            "run `rivernotify db upgrade`"
        )
    # Take SQLite's write lock up front: a running server writes too, and a read transaction
    # that later wants to write would fail at once ("database is locked").
    return engine, session_factory(engine.execution_options(sqlite_begin="IMMEDIATE"))


def _add_user(args: argparse.Namespace) -> int:
    from notifier.accounts.service import add_user
    from notifier.incidents.schemas import EngineError

    password = _read_password()
    engine, factory = _sessions(Settings())
    try:
        with factory() as session, session.begin():
            user = add_user(
                session,
                username=args.username,
                password=password,
                jurisdiction_id=args.bureau,
                role=args.role,
                actor="cli",
                now=datetime.now(UTC),
                display_name=args.name,
            )
            summary = f"{user.username} ({user.role.value}, {user.jurisdiction_id})"
    except EngineError as exc:
        raise UserError("; ".join(exc.problems)) from None
    finally:
        engine.dispose()
    print(f"已添加用户 / added user {summary}")
    return 0


def _add_station(args: argparse.Namespace) -> int:
    from notifier.stations.service import issue_api_key

    engine, factory = _sessions(Settings())
    try:
        with factory() as session, session.begin():
            key = issue_api_key(
                session, station_id=args.station_id, actor="cli", now=datetime.now(UTC)
            )
    except LookupError as exc:
        raise UserError(str(exc.args[0]) if exc.args else str(exc)) from None
    finally:
        engine.dispose()
    print(key)
    print(
        f"站点 {args.station_id} 的密钥只显示这一次，旧密钥已失效 / the key of station "
        f"{args.station_id} is shown this once; any earlier key no longer works",
        file=sys.stderr,
    )
    return 0

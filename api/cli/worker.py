"""`rivernotify worker`: run the delivery worker (as many processes as you like).

    rivernotify worker [--once] [--webhook-secret URL]

Settings come from RIVERNOTIFY_* (database, SMTP, timeouts). Several workers may share one
PostgreSQL database; each message is claimed by one of them at a time. SIGTERM or Ctrl-C
stops the worker after the round in progress.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
from typing import Any

from api.cli.errors import UserError
from notifier.db import engine_from_settings
from notifier.delivery.build import render_options
from notifier.delivery.maps import network_maps
from notifier.delivery.webhook import derive_webhook_secret
from notifier.delivery.worker import DueHook, Worker, engine_due_hook, run_worker
from notifier.settings import Settings

log = logging.getLogger("rivernotify.worker")


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "worker",
        help="运行投递进程 / run the delivery worker",
        description="发送待投递的通报邮件和 Webhook / send pending notices by email and webhook",
    )
    parser.add_argument(
        "--once", action="store_true", help="只处理一轮后退出 / one round, then exit"
    )
    parser.add_argument(
        "--webhook-secret",
        metavar="URL",
        help="打印该 Webhook 地址的签名密钥后退出 / print the signing secret for URL and exit",
    )
    parser.set_defaults(handler=_run)


def due_hook(settings: Settings) -> DueHook:
    from notifier.routing.policy import PolicyError

    try:
        return engine_due_hook(settings)
    except PolicyError as exc:
        raise UserError(str(exc)) from None


def _check_schema(settings: Settings) -> None:
    from notifier.migrate import current_revision, head_revision

    engine = engine_from_settings(settings)
    try:
        current, head = current_revision(engine), head_revision(engine)
    except Exception as exc:
        raise UserError(f"无法连接数据库 / cannot open the database: {exc}") from None
    finally:
        engine.dispose()
    if current != head:
        raise UserError(
            f"数据库未升级到最新版本 / database is at revision {current}, not {head}: "
            "run `rivernotify db upgrade`"
        )


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    if args.webhook_secret:
        secret = derive_webhook_secret(settings.secret_key.get_secret_value(), args.webhook_secret)
        print(secret.decode())
        return 0
    _check_schema(settings)
    if settings.smtp_host is None:
        log.warning(
            "未配置 SMTP 服务器，邮件将保持待发 / no SMTP host configured "
            "(RIVERNOTIFY_SMTP_HOST): emails stay pending; webhooks are sent"
        )
    if args.once:
        return asyncio.run(_once(settings))
    asyncio.run(_forever(settings))
    return 0


async def _once(settings: Settings) -> int:
    engine = engine_from_settings(settings)
    try:
        geometry = network_maps(settings)
        options = render_options(settings, geometry=geometry)
        summary = await Worker(engine, settings, options).tick()
    finally:
        engine.dispose()
    print(summary or "nothing due")
    return 0


async def _forever(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    due = due_hook(settings)
    geometry = await asyncio.to_thread(network_maps, settings)
    gc.collect()  # the maps live as long as the process: out of the collector's way
    gc.freeze()
    await run_worker(settings, stop_event=stop, due=due, geometry=geometry)

"""`rivernotify serve [--host H] [--port P] [--hj212-port Q] [--no-worker]`: API, worker, HJ 212
listener. With ``--no-worker`` the delivery worker is left to `rivernotify worker` processes
(API and delivery then each get a process, and a core, of their own).

Settings come from the environment (RIVERNOTIFY_DATABASE_URL, RIVERNOTIFY_SMTP_HOST,
RIVERNOTIFY_SMTP_PORT, RIVERNOTIFY_SECRET_KEY, RIVERNOTIFY_PUBLIC_URL, RIVERNOTIFY_MODE ...);
the options override host and ports. Without RIVERNOTIFY_SMTP_HOST mail goes to the embedded
sink (files in var/mail/).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from api.cli.errors import UserError
from notifier.settings import Settings


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="运行服务（API、投递、HJ 212）/ run the server (API, delivery, HJ 212)",
        description="运行 HTTP API、投递进程和 HJ 212 监听 / run the HTTP API, the delivery "
        "worker and the HJ 212 listener",
    )
    parser.add_argument("--host", help="监听地址 / address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP 端口 / HTTP port (default 8000)")
    parser.add_argument(
        "--hj212-port", type=int, help="HJ 212 TCP 端口 / HJ 212 TCP port (default 9212)"
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="不在本进程投递（另行运行 rivernotify worker）/ no delivery worker in this process "
        "(run `rivernotify worker` beside it)",
    )
    parser.set_defaults(handler=_run)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings()
    update: dict[str, object] = {}
    for name in ("host", "port", "hj212_port"):
        value = getattr(args, name, None)
        if value is not None:
            if name != "host" and not 0 <= int(value) <= 65535:
                raise UserError(f"端口无效 / invalid port {value}")
            update[name] = value
    return settings.model_copy(update=update) if update else settings


def _run(args: argparse.Namespace) -> int:
    from api.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    settings = settings_from(args)
    return serve(settings, worker=not args.no_worker)

"""`rivernotify db backup FILE` and `rivernotify db restore FILE` (actions of the `db` group).

The database is the one in RIVERNOTIFY_DATABASE_URL. Restore replaces everything in it: stop
the service and the workers first (a SQLite restore under a running writer would interleave).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from api.cli.errors import UserError
from notifier.settings import Settings


def add_actions(sub: Any) -> None:
    """Add ``backup`` and ``restore`` to the ``db`` group's sub-parsers."""
    backup = sub.add_parser("backup", help="在线备份数据库 / back the database up online")
    backup.add_argument("file", type=Path, help="备份文件 / where to write the backup")
    backup.add_argument(
        "--force", action="store_true", help="覆盖已有文件 / overwrite an existing file"
    )
    backup.set_defaults(handler=_backup)
    restore = sub.add_parser(
        "restore", help="从备份恢复 (替换全部数据) / restore from a backup (replaces everything)"
    )
    restore.add_argument("file", type=Path, help="备份文件 / the backup to restore")
    restore.set_defaults(handler=_restore)


def _backup(args: argparse.Namespace) -> int:
    from notifier.backup import BackupError, backup_database

    try:
        result = backup_database(Settings().database_url, args.file, overwrite=args.force)
    except BackupError as exc:
        raise UserError(str(exc)) from None
    print(f"已备份 / backed up ({result.backend}, {result.size_bytes} bytes): {result.path}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from notifier.backup import BackupError, restore_database

    try:
        result = restore_database(Settings().database_url, args.file)
    except BackupError as exc:
        raise UserError(str(exc)) from None
    print(f"已恢复 / restored ({result.backend}) from {result.path}")
    return 0

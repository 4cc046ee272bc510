"""Backup and restore of the whole database, online.

SQLite uses its online backup API (``sqlite3.Connection.backup``): pages are copied from a
consistent snapshot while the service keeps running, WAL included, so the copy is never a torn
file the way ``cp`` of a live database can be. The copy is written beside the target and
renamed into place, so a failure never leaves half a backup under the target's name.

PostgreSQL uses ``pg_dump`` (custom format) and ``pg_restore --clean --single-transaction``:
a failed restore rolls back and leaves the database as it was. The client tools are looked up
on PATH, then under /usr/lib/postgresql/*/bin (newest first).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
TOOL_TIMEOUT_S = 3600


class BackupError(Exception):
    """A backup or restore that could not be done (one bilingual line for the user)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size_bytes: int
    backend: str


def backup_database(url: str, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Write a complete copy of the database at ``url`` to ``target``."""
    parsed = make_url(url)
    target = Path(target)
    if target.exists() and not overwrite:
        raise BackupError(f"目标文件已存在 / {target} already exists (refusing to overwrite)")
    if not target.parent.is_dir():
        raise BackupError(f"目录不存在 / directory {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    try:
        if parsed.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_path(parsed), partial)
        elif parsed.get_backend_name() == "postgresql":
            _run_tool("pg_dump", ["--format=custom", "--no-owner", f"--file={partial}"], parsed)
        else:
            raise BackupError(f"不支持的数据库 / unsupported database: {parsed.get_backend_name()}")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupResult(target, target.stat().st_size, parsed.get_backend_name())


def restore_database(url: str, source: Path) -> BackupResult:
    """Replace the contents of the database at ``url`` by the backup in ``source``.

    The backup's kind is checked against the database's before anything is touched."""
    parsed = make_url(url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"备份文件不存在 / backup file {source} not found")
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"不是 SQLite 备份 / {source} is not an SQLite backup")
        _check_sqlite(source)
        _sqlite_copy(source, _sqlite_path(parsed))
    elif backend == "postgresql":
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"不是 pg_dump 备份 / {source} is not a pg_dump (custom) backup")
        options = ["--clean", "--if-exists", "--no-owner", "--single-transaction"]
        _run_tool("pg_restore", [*options, str(source)], parsed)
    else:
        raise BackupError(f"不支持的数据库 / unsupported database: {backend}")
    return BackupResult(source, source.stat().st_size, backend)


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"只能备份文件数据库 / not a database file: {database!r}")
    return Path(database)


def _check_sqlite(path: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            verdict = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"备份文件已损坏 / {path} is damaged: {exc}") from None
    if not verdict or verdict[0] != "ok":
        raise BackupError(f"备份文件已损坏 / {path} is damaged: {verdict}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with the online backup API; the source may be in use by other connections."""
    if not source.is_file():
        raise BackupError(f"数据库文件不存在 / database file {source} not found")
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
            contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
        ):
            src.backup(dst, pages=1024)
    except sqlite3.Error as exc:
        raise BackupError(
            f"SQLite 备份失败 / SQLite copy {source} -> {target} failed: {exc}"
        ) from None


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_tool(name: str) -> Path:
    """The path of a PostgreSQL client tool (PATH first, then the Debian layout)."""
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        raise BackupError(
            f"未找到 {name}，请安装 PostgreSQL 客户端 / {name} not found: install the PostgreSQL "
            "client tools (postgresql-client)"
        )
    return Path(candidates[0])


def _run_tool(name: str, args: list[str], url: URL) -> None:
    """Run a client tool against ``url``; the password goes through the environment, never
    the command line (where ``ps`` would show it)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    command = [str(pg_tool(name)), *args, f"--dbname={conninfo}"]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=TOOL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{name} 运行失败 / {name} failed: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{name} 失败 / {name} failed: {detail[-1] if detail else result}")

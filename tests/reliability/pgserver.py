"""A PostgreSQL server of the test's own, which the test may stop and start (the session's
shared server must stay up for everybody else)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fixtures.postgres import _bin_dir, _free_port, _run


class OwnPostgres:
    def __init__(
        self, bin_dir: Path, base: Path, *, initdb_args: tuple[str, ...] = (), options: str = ""
    ) -> None:
        self.bin_dir = bin_dir
        self.initdb_args = initdb_args
        self.options = options
        self.base = base
        self.data = base / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        sockets = self.base / "sock"
        sockets.mkdir()
        if self.as_root:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(sockets, "postgres", "postgres")
        _run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--locale=C", "--no-sync", *self.initdb_args],
            as_postgres=self.as_root,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base / 'sock'} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=on -c full_page_writes=off " + self.options
        )
        _run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
             "-l", str(self.base / "log"), "-w", "-t", "60", "start"],
            as_postgres=self.as_root,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        _run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            as_postgres=self.as_root,
        )

    def psql(self, statement: str, *, database: str = "postgres") -> None:
        """One statement through ``psql`` (as the server's user), failing loudly."""
        _run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
             "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", statement],
            as_postgres=self.as_root,
        )  # fmt: skip


@contextmanager
def own_postgres(*, initdb_args: tuple[str, ...] = (), options: str = "") -> Iterator[OwnPostgres]:
    """A server of the test's own; ``initdb_args`` and ``options`` (``-c name=value ...``)
    are added to initdb's and the server's command lines."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server not installed (run `make system-deps`)")
    base = Path(tempfile.mkdtemp(prefix="rivernotify-pg-own-"))
    server = OwnPostgres(bin_dir, base, initdb_args=initdb_args, options=options)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # already stopped
            server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)

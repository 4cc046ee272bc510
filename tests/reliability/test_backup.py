"""`rivernotify db backup` / `db restore`: a round trip on SQLite and PostgreSQL through the
command line, with the service's rows (an incident, its notice, outbox messages)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api.cli import main
from notifier.outbox.models import OutboxMessage
from tests.notifier.delivery.seed import add_outbox, seed_incident


def _cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return main(list(argv))


def _outbox_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxMessage.message_id).order_by(OutboxMessage.id)))


def test_backup_then_restore_gives_back_exactly_what_was_backed_up(
    db: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeded = seed_incident(db)
    before = add_outbox(db, seeded, count=200)
    file = tmp_path / "backup.bin"

    started = time.perf_counter()
    assert _cli(db, monkeypatch, "db", "backup", str(file)) == 0
    backup_s = time.perf_counter() - started
    assert file.stat().st_size > 0
    assert "backed up" in capsys.readouterr().out

    # Life goes on after the backup: more messages, one deleted.
    add_outbox(db, seeded, count=50, start=1000)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM outbox_messages WHERE message_id = :m"), {"m": before[0]})
    assert len(_outbox_ids(db)) == 249

    db.dispose()  # restore replaces the database: nobody else may hold it
    started = time.perf_counter()
    assert _cli(db, monkeypatch, "db", "restore", str(file)) == 0
    restore_s = time.perf_counter() - started
    assert _outbox_ids(db) == before
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    print(
        f"FIGURE backup {db.dialect.name}: 200 rows, {file.stat().st_size} bytes, "
        f"backup {backup_s * 1000:.0f} ms, restore {restore_s * 1000:.0f} ms"
    )


def test_sqlite_backup_is_online_while_a_writer_holds_a_transaction(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The online backup API copies a consistent snapshot: what a writer has not committed is
    not in the copy, and the writer is not disturbed."""
    import shutil

    from notifier.backup import backup_database
    from notifier.db import engine_from_url

    live = tmp_path / "live.db"
    shutil.copy(sqlite_template, live)
    engine = engine_from_url(f"sqlite:///{live}")
    try:
        seeded = seed_incident(engine)
        add_outbox(engine, seeded, count=10)
        writer = sqlite3.connect(live, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("DELETE FROM outbox_messages")
            backup_database(f"sqlite:///{live}", tmp_path / "copy.db")
            writer.execute("ROLLBACK")
        finally:
            writer.close()
        copy = engine_from_url(f"sqlite:///{tmp_path / 'copy.db'}")
        with Session(copy) as session:
            assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 10
        copy.dispose()
    finally:
        engine.dispose()


def test_refusals_are_one_clear_line(
    db: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    existing = tmp_path / "exists.bin"
    existing.write_bytes(b"x")
    assert _cli(db, monkeypatch, "db", "backup", str(existing)) == 2
    assert "already exists" in capsys.readouterr().err
    assert existing.read_bytes() == b"x"

    assert _cli(db, monkeypatch, "db", "restore", str(tmp_path / "missing.bin")) == 2
    assert "not found" in capsys.readouterr().err

    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"PGDMP" if db.dialect.name == "sqlite" else b"SQLite format 3\x00")
    assert _cli(db, monkeypatch, "db", "restore", str(wrong)) == 2
    err = capsys.readouterr().err
    assert "backup" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_damaged_sqlite_backup_is_refused_and_the_database_untouched(
    sqlite_template: Path, tmp_path: Path
) -> None:
    import shutil

    from notifier.backup import BackupError, restore_database

    live = tmp_path / "live.db"
    shutil.copy(sqlite_template, live)
    damaged = tmp_path / "damaged.db"
    data = bytearray(sqlite_template.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a page of garbage, header intact
    damaged.write_bytes(bytes(data))
    before = live.read_bytes()
    with pytest.raises(BackupError, match="damaged"):
        restore_database(f"sqlite:///{live}", damaged)
    assert live.read_bytes() == before

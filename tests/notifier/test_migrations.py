"""Alembic is the only schema path: an empty database migrates to head and then matches
the models exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError

from notifier.audit.service import record
from notifier.db import engine_from_url, session_factory
from notifier.migrate import current_revision, head_revision, schema_diff, upgrade
from notifier.models import Base


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sub' / 'empty.db'}"
    else:
        url = request.getfixturevalue("postgres_empty_url")
    engine = engine_from_url(url)
    yield engine
    engine.dispose()


def test_empty_database_migrates_to_head_and_matches_models(empty: Engine) -> None:
    assert current_revision(empty) is None
    upgrade(empty)
    assert current_revision(empty) == head_revision(empty)
    assert set(inspect(empty).get_table_names()) >= set(Base.metadata.tables)
    assert schema_diff(empty) == []


def test_upgrade_twice_is_harmless(empty: Engine) -> None:
    upgrade(empty)
    upgrade(empty)
    assert schema_diff(empty) == []


def test_downgrade_to_base_and_up_again(empty: Engine) -> None:
    from alembic import command

    from notifier.migrate import alembic_config

    upgrade(empty)
    command.downgrade(alembic_config(empty), "base")
    assert not set(inspect(empty).get_table_names()) & set(Base.metadata.tables)
    upgrade(empty)
    assert schema_diff(empty) == []


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = engine_from_url(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_audit_rows_cannot_be_updated_or_deleted(db: Engine) -> None:
    factory = session_factory(db)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with factory() as session, session.begin():
        record(session, actor="t", action="x", entity="e", entity_id=1, at=now, after={"a": 1})
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DatabaseError, match="append-only"), db.begin() as conn:
            conn.execute(text(statement))
    with db.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_events")).scalars().all() == ["t"]


def test_datetimes_come_back_aware_utc(db: Engine) -> None:
    from datetime import timedelta, timezone

    from notifier.audit.models import AuditEvent

    factory = session_factory(db)
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 1, 1, 8, 30, tzinfo=shanghai)
    with factory() as session, session.begin():
        record(session, actor="t", action="x", entity="e", entity_id=1, at=at)
    with factory() as session:
        got = session.query(AuditEvent).one().at
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == at
    with factory() as session, pytest.raises(Exception, match="naive"), session.begin():
        record(session, actor="t", action="x", entity="e", entity_id=1, at=datetime(2026, 1, 1))

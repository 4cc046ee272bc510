"""Reliability fixtures: migrated databases on both backends (fresh per test)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from notifier.db import engine_from_url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from notifier.migrate import upgrade

    path = tmp_path_factory.mktemp("reliability-template") / "template.db"
    engine = engine_from_url(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated to head, fresh for each test, on both backends."""
    if request.param == "sqlite":
        target = tmp_path / "db.sqlite"
        shutil.copy(request.getfixturevalue("migrated_sqlite"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = engine_from_url(url)
    try:
        yield engine
    finally:
        engine.dispose()


# The API fixtures (an app on a seeded SQLite database, tokens, the station key of S1).
from tests.api.conftest import (  # noqa: E402, F401
    api_ctx,
    api_settings,
    api_template,
    app,
    client,
    station_key,
    tokens,
)

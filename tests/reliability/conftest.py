"""Reliability fixtures. Migrated databases come from tests/fixtures/databases.py (``db``,
``sqlite_template``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from notifier.db import engine_from_url

# The API fixtures (an app on a seeded SQLite database, tokens). The template and the station
# key are this package's own: tests.api's template issues S1's key into a module global, which a
# second build would overwrite under tests/api's feet.
from tests.api.conftest import (  # noqa: F401
    api_ctx,
    api_settings,
    app,
    client,
    tokens,
)


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.api.conftest import ACCOUNTS
    from tests.reliability.support import seed_api_database

    path = tmp_path_factory.mktemp("reliability-api") / "template.db"
    seed_api_database(f"sqlite:///{path}", usernames=tuple(ACCOUNTS))
    engine = engine_from_url(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def station_key(api_settings: Any) -> str:  # noqa: F811
    """A fresh API key of station S1 in this test's database."""
    from notifier.db import session_factory
    from notifier.stations.service import issue_api_key
    from tests.notifier import synthetic

    engine = engine_from_url(api_settings.database_url)
    try:
        with session_factory(engine)() as session, session.begin():
            key: str = issue_api_key(session, station_id="S1", actor="test", now=synthetic.NOW)
    finally:
        engine.dispose()
    return key

"""Engine fixtures: a migrated database on SQLite and PostgreSQL, a synthetic network."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from notifier.context import EngineContext
from notifier.db import engine_from_url, session_factory
from notifier.evaluation.standards import LIMITS_FILE, read_standards
from notifier.routing.policy import load_policy
from notifier.topology import BasinsTopology
from tests.notifier import synthetic

ROOT = Path(__file__).resolve().parents[2]
SHARED_LIMITS = ROOT.parent / "shared" / "data" / "standards" / "gb3838_2002_limits.csv"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from notifier.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = engine_from_url(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated to head, fresh for each test, on both backends."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = engine_from_url(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def factory(db: Engine) -> sessionmaker[Session]:
    return session_factory(db)


@pytest.fixture(scope="session")
def limits_path() -> Path:
    shipped = ROOT / "data" / LIMITS_FILE
    if shipped.is_file():
        return shipped
    if SHARED_LIMITS.is_file():
        return SHARED_LIMITS
    pytest.skip("GB 3838-2002 limits not found (data/standards or ../shared)")


@pytest.fixture(scope="session")
def synthetic_ctx(limits_path: Path) -> EngineContext:
    return EngineContext(
        topology=BasinsTopology(synthetic.network()),
        policy=load_policy(),
        standards=read_standards(limits_path),
    )


@pytest.fixture
def seeded(factory: sessionmaker[Session], synthetic_ctx: EngineContext) -> sessionmaker[Session]:
    """The synthetic network's bureaus and stations in the database."""
    from notifier.seed import seed_network

    with factory() as session, session.begin():
        seed_network(
            session, network=synthetic.network(), contacts=synthetic.contacts(), now=synthetic.NOW
        )
    return factory

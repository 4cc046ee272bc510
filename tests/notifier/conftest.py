"""Engine fixtures: a migrated database on SQLite and PostgreSQL, a synthetic network."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from notifier.context import EngineContext
from notifier.db import session_factory
from notifier.evaluation.standards import LIMITS_FILE, read_standards
from notifier.routing.policy import load_policy
from notifier.topology import BasinsTopology
from tests.notifier import synthetic

ROOT = Path(__file__).resolve().parents[2]
SHARED_LIMITS = ROOT.parent / "shared" / "data" / "standards" / "gb3838_2002_limits.csv"


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

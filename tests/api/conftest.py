"""API fixtures: an app on a migrated SQLite database seeded with the synthetic network
(tests/notifier/synthetic.py), with one account per role, and a TestClient."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from notifier.context import EngineContext
from notifier.settings import Settings
from tests.fixtures.accounts import add_accounts
from tests.notifier import synthetic

ROOT = Path(__file__).resolve().parents[2]
SHARED_LIMITS = ROOT.parent / "shared" / "data" / "standards" / "gb3838_2002_limits.csv"
SECRET = "test-secret-key-for-the-api-tests-only"
PASSWORD = "correct horse battery"

#: username -> (jurisdiction, role). A and B are prefectures of province P; C of province Q.
ACCOUNTS = {
    "admin": ("P", "admin"),
    "sup_a": ("A", "supervisor"),
    "sup_c": ("C", "supervisor"),
    "sup_p": ("P", "supervisor"),
    "a1": ("A1", "bureau"),
    "b1": ("B1", "bureau"),
    "c2": ("C2", "bureau"),
    "x1": ("X1", "bureau"),
    "sup_xd": ("XD", "supervisor"),  # an XPCC division: nothing on 清水河 is under it
}
#: The key of station S1, issued once in the template (argon2 is slow on purpose).
S1_KEY: dict[str, str] = {}


def seed_synthetic_site(session: Session, *, only: Iterable[str] | None = None) -> None:
    """The synthetic network, its bureaus' contacts and the accounts (or the ``only`` ones)."""
    from notifier.seed import seed_network

    seed_network(
        session, network=synthetic.network(), contacts=synthetic.contacts(), now=synthetic.NOW
    )
    add_accounts(session, ACCOUNTS, password=PASSWORD, now=synthetic.NOW, only=only)


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated to head and seeded with the synthetic network and the accounts."""
    from notifier.db import engine_from_url, session_factory
    from notifier.migrate import upgrade
    from notifier.stations.service import issue_api_key

    path = tmp_path_factory.mktemp("api-template") / "template.db"
    engine = engine_from_url(f"sqlite:///{path}")
    upgrade(engine)
    factory = session_factory(engine)
    with factory() as session, session.begin():
        seed_synthetic_site(session)
        S1_KEY["key"] = issue_api_key(session, station_id="S1", actor="test", now=synthetic.NOW)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def api_ctx() -> EngineContext:
    from notifier.evaluation.standards import LIMITS_FILE, read_standards
    from notifier.routing.policy import load_policy
    from notifier.topology import BasinsTopology

    limits = ROOT / "data" / LIMITS_FILE
    if not limits.is_file():
        limits = SHARED_LIMITS
    if not limits.is_file():
        pytest.skip("GB 3838-2002 limits not found (data/standards or ../shared)")
    return EngineContext(
        topology=BasinsTopology(synthetic.network()),
        policy=load_policy(),
        standards=read_standards(limits),
    )


@pytest.fixture
def api_settings(tmp_path: Path, api_template: Path) -> Settings:
    target = tmp_path / "api.db"
    shutil.copy(api_template, target)
    return Settings(
        database_url=f"sqlite:///{target}",
        secret_key=SecretStr(SECRET),
        public_url="http://testserver",
        network_dir=ROOT / "data",
    )


def build_app(settings: Settings, ctx: EngineContext) -> FastAPI:
    """The app exactly as ``create_app`` builds it, with the synthetic network preset."""
    from api.server import build_app as build

    app = build(settings)
    app.state.services.preset_context = ctx
    return app


@pytest.fixture
def app(api_settings: Settings, api_ctx: EngineContext) -> Iterator[FastAPI]:
    app = build_app(api_settings, api_ctx)
    yield app
    app.state.services.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class Tokens:
    """Bearer headers per username, signed directly (signing in is tested on its own)."""

    app: FastAPI
    cache: dict[str, str]

    def header(self, username: str) -> dict[str, str]:
        from api.auth.tokens import TokenClaims, make_bearer_token
        from notifier.accounts.models import User

        if username not in self.cache:
            with self.app.state.services.sessions() as session:
                user = session.query(User).filter_by(username=username).one()
                claims = TokenClaims(user.id, user.username, user.role.value)
            self.cache[username] = make_bearer_token(claims, secret_key=SECRET)
        return {"Authorization": f"Bearer {self.cache[username]}"}


@pytest.fixture
def tokens(app: FastAPI) -> Tokens:
    return Tokens(app, {})


@pytest.fixture
def station_key(api_template: Path) -> str:
    """The API key of station S1 (on reach r2, jurisdiction A1)."""
    return S1_KEY["key"]

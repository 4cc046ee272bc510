"""The key paths again on PostgreSQL: report, sign-in, acknowledgement, follow-up, stats,
and NUL bytes (which PostgreSQL refuses in text) refused before they reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notifier.context import EngineContext
from notifier.settings import Settings
from tests.api.conftest import PASSWORD, ROOT, SECRET, Tokens, build_app, seed_synthetic_site

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(postgres_url: str, api_ctx: EngineContext) -> Iterator[tuple[TestClient, Tokens]]:
    from notifier.db import engine_from_url, session_factory

    engine = engine_from_url(postgres_url)
    with session_factory(engine)() as session, session.begin():
        seed_synthetic_site(session)
    engine.dispose()
    settings = Settings(
        database_url=postgres_url, secret_key=SecretStr(SECRET), network_dir=ROOT / "data"
    )
    app = build_app(settings, api_ctx)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, Tokens(app, {})
    app.state.services.engine.dispose()


def test_key_paths_on_postgresql(pg_client: tuple[TestClient, Tokens]) -> None:
    client, tokens = pg_client
    report = {
        "reach_id": "r2",
        "observed_at": "2026-05-01T09:30:00+08:00",
        "measurements": [{"code": "w21003", "value": 6.5}],
    }
    opened = client.post("/api/v1/reports", json=report, headers=tokens.header("a1"))
    assert opened.status_code == 201, opened.text
    incident = opened.json()["incident_id"]
    signed = client.post("/api/v1/auth/token", data={"username": "b1", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    [notice] = client.get("/api/v1/notices", headers=bearer).json()["items"]
    assert client.post(f"/api/v1/notices/{notice['id']}/ack", headers=bearer).status_code == 200
    follow = client.post(
        f"/api/v1/incidents/{incident}/follow-ups", json={"text": "续报"}, headers=bearer
    )
    assert follow.status_code == 201
    stats = client.get("/api/v1/stats", headers=tokens.header("admin")).json()
    assert stats["periods"][0]["acknowledged"] == 1
    nul = client.post(
        f"/api/v1/incidents/{incident}/follow-ups", json={"text": "a\u0000b"}, headers=bearer
    )
    assert nul.status_code == 422
    assert client.get("/readyz").status_code == 200

"""schemathesis against the whole app's OpenAPI document, signed in as admin: no server
error and every response as documented.

A short run by default (25 examples per operation); ``RIVERNOTIFY_SCHEMATHESIS_EXAMPLES`` sets
another number for a long run (docs/RELIABILITY.md). Run with ``-s`` to see the tally of
operations, requests and status codes (a ``FIGURE schemathesis`` line)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import positive_data_acceptance

from api.auth.tokens import TokenClaims, make_bearer_token
from notifier.settings import Settings
from tests.api.conftest import ROOT, SECRET, seed_synthetic_site
from tests.notifier import synthetic

EXAMPLES = int(os.environ.get("RIVERNOTIFY_SCHEMATHESIS_EXAMPLES", "25"))
_DB = Path(tempfile.mkdtemp(prefix="rivernotify-openapi-")) / "openapi.db"
# The admin is the first account added (id 1); the token is signed, not signed in for.
ADMIN = {
    "Authorization": "Bearer "
    + make_bearer_token(TokenClaims(1, "admin", "admin"), secret_key=SECRET)
}


def _schema_app() -> FastAPI:
    """The app over a database that the fixture below prepares before the first call."""
    from api.server import build_app

    settings = Settings(
        database_url=f"sqlite:///{_DB}",
        secret_key=SecretStr(SECRET),
        public_url="http://testserver",
        network_dir=ROOT / "data",
    )
    return build_app(settings)


APP = _schema_app()
# schemathesis.pytest.from_fixture fails under this pytest, so the schema is built at import.
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def prepared_database(api_ctx: Any) -> Iterator[None]:
    from notifier.db import engine_from_url, session_factory
    from notifier.evaluation.evaluate import Measurement
    from notifier.incidents.schemas import ReportInput
    from notifier.incidents.service import submit_report
    from notifier.migrate import upgrade

    APP.state.services.preset_context = api_ctx
    engine = engine_from_url(f"sqlite:///{_DB}")
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        seed_synthetic_site(session)
        for reach in ("r2", "r5"):
            submit_report(
                session,
                ReportInput(
                    measurements=(Measurement("w21003", 6.5),),
                    reporter="test",
                    observed_at=synthetic.NOW,
                    reach_id=reach,
                ),
                ctx=api_ctx,
                now=synthetic.NOW,
            )
    engine.dispose()
    yield
    APP.state.services.engine.dispose()
    shutil.rmtree(_DB.parent, ignore_errors=True)


_STATUSES: Counter[int] = Counter()
_OPERATIONS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    """Counts what the run did, so that a long run can report its figures."""
    started = time.monotonic()
    yield
    if not _OPERATIONS:
        return
    server_errors = sum(n for status, n in _STATUSES.items() if status >= 500)
    codes = ", ".join(f"{status}: {n}" for status, n in sorted(_STATUSES.items()))
    sys.stdout.write(
        f"\nFIGURE schemathesis: {EXAMPLES} max examples per operation, "
        f"{len(_OPERATIONS)} operations, {sum(_OPERATIONS.values())} requests, "
        f"{server_errors} x 5xx, {time.monotonic() - started:.0f} s ({codes})\n"
    )


def test_the_document_declares_security_and_errors() -> None:
    document = APP.openapi()
    schemes = document["components"]["securitySchemes"]
    assert {"OAuth2PasswordBearer", "APIKeyHeader"} <= set(schemes)
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/auth/token":
            continue
        for method, operation in operations.items():
            assert operation.get("security"), f"{method.upper()} {path} declares no security"
            assert "scope:" in operation["summary"], f"{method.upper()} {path} states no scope"
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_openapi_conformance(case: Any) -> None:
    """Schema-valid requests may still be refused by the engine's own rules (unknown station,
    a unit that does not convert, a time in the future): 422 is right there, so the check that
    every schema-valid request is accepted is left out. Server errors and responses that
    differ from the document are not."""
    response = case.call(headers=ADMIN)
    _OPERATIONS[case.operation.label] += 1
    _STATUSES[response.status_code] += 1
    case.validate_response(response, headers=ADMIN, excluded_checks=[positive_data_acceptance])

"""Rate limits: the pure token-bucket decision, then sign-in (per username and address) and
report submission (per station key) through the app: 429, Retry-After, the usual error shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.ratelimit import Bucket, RateLimiter, RatePolicy, take
from notifier.context import EngineContext
from notifier.settings import Settings
from tests.api.conftest import PASSWORD, build_app


def test_a_full_bucket_allows_the_burst_then_refuses_until_refilled() -> None:
    policy = RatePolicy(burst=3, per_minute=6)  # one token every 10 s
    bucket: Bucket | None = None
    for _ in range(3):
        decision = take(bucket, policy, 100.0)
        assert decision.allowed
        bucket = decision.bucket
    refused = take(bucket, policy, 100.0)
    assert not refused.allowed and refused.retry_after_s == pytest.approx(10.0)
    assert not take(refused.bucket, policy, 109.0).allowed
    assert take(refused.bucket, policy, 110.0).allowed
    # Never more than the burst, however long the wait.
    rested = take(refused.bucket, policy, 10_000.0).bucket
    assert rested.tokens == pytest.approx(2.0)


def test_a_zero_burst_means_no_limit_and_time_going_back_does_not_refill() -> None:
    assert all(take(None, RatePolicy(0, 0), 0.0).allowed for _ in range(100))
    policy = RatePolicy(1, 60)
    spent = take(None, policy, 50.0).bucket
    assert not take(spent, policy, 10.0).allowed  # a clock step back gives nothing


def test_the_limiter_forgets_the_least_recently_used_keys() -> None:
    limiter = RateLimiter(RatePolicy(1, 1), max_keys=2)
    assert limiter.check("a", now=0).allowed
    assert not limiter.check("a", now=0).allowed
    limiter.check("b", now=0)
    limiter.check("c", now=0)  # "a" is forgotten: it starts full again
    assert limiter.check("a", now=0).allowed


@pytest.fixture
def limited(api_settings: Settings, api_ctx: EngineContext) -> Iterator[TestClient]:
    settings = api_settings.model_copy(
        update={
            "sign_in_burst": 3,
            "sign_in_per_minute": 1.0,
            "report_burst": 3,
            "report_per_minute": 1.0,
        }
    )
    app = build_app(settings, api_ctx)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.services.engine.dispose()


def _assert_429(response: object) -> int:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert "秒后再试" in error["message_zh"] and "try again in" in error["message_en"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


def test_sign_in_is_limited_per_username_and_address(limited: TestClient) -> None:
    def sign_in(username: str, password: str = "wrong") -> int:
        form = {"username": username, "password": password}
        return int(limited.post("/api/v1/auth/token", data=form).status_code)

    assert [sign_in("a1") for _ in range(3)] == [401, 401, 401]
    response = limited.post("/api/v1/auth/token", data={"username": "a1", "password": PASSWORD})
    _assert_429(response)  # even the right password waits: guessing gains nothing
    assert sign_in("A1") == 429  # the same name in other case is the same bucket
    assert sign_in("b1", PASSWORD) == 200  # another account is not held up


def test_reports_are_limited_per_station_key(limited: TestClient, station_key: str) -> None:
    observed = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    body = {
        "station_id": "S1",
        "observed_at": observed,
        "measurements": [{"code": "w21003", "value": 0.2, "unit": "mg/L"}],
    }
    statuses = [
        limited.post("/api/v1/reports", json=body, headers={"X-API-Key": station_key}).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 201]
    _assert_429(limited.post("/api/v1/reports", json=body, headers={"X-API-Key": station_key}))
    # A wrong key is counted on its own bucket, before argon2 runs: guesses are limited too.
    wrong = {"X-API-Key": "guess"}
    assert [limited.post("/api/v1/reports", json=body, headers=wrong).status_code
            for _ in range(4)] == [403, 403, 403, 429]  # fmt: skip

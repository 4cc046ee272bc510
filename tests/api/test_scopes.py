"""Every endpoint against every kind of caller: refused with 401/403 where it must be,
allowed where it should be.

The incident is opened by station S1 on reach r2 (A1, prefecture A, province P) and notifies
A2, B1, C1, C2 and the supervisors; X1 (XPCC city under division XD) and XD are no party.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth.tokens import TokenClaims, make_bearer_token
from notifier.stations.models import Station
from notifier.stations.service import issue_api_key
from tests.api.conftest import SECRET, Tokens
from tests.notifier import synthetic

CALLERS = [
    "anonymous",
    "station_key",
    "expired",
    "forged",
    "bureau_party",  # b1: notified
    "bureau_other",  # x1: not a party
    "supervisor_in",  # sup_a: origin in its subtree
    "supervisor_out",  # sup_xd: nothing in its subtree
    "admin",
]
USERS = {
    "bureau_party": "b1",
    "bureau_other": "x1",
    "supervisor_in": "sup_a",
    "supervisor_out": "sup_xd",
    "admin": "admin",
}

# Who is allowed (the rest is refused: 401 without valid credentials, else 403).
ANY_USER = {"bureau_party", "bureau_other", "supervisor_in", "supervisor_out", "admin"}
PARTIES = {"bureau_party", "supervisor_in", "admin"}
SUPERVISORS_IN = {"supervisor_in", "admin"}

REPORT = {
    "station_id": "S1",
    "observed_at": "2026-05-01T09:30:00+08:00",
    "measurements": [{"code": "w21003", "value": 6.5, "unit": "mg/L", "flag": "N"}],
}

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[str], int]] = [
    # method, path, json body, allowed callers, success status
    ("GET", "/api/v1/incidents", None, ANY_USER, 200),
    ("GET", "/api/v1/incidents/{incident}", None, PARTIES, 200),
    ("POST", "/api/v1/incidents/{incident}/follow-ups", {"text": "续报 / update"}, PARTIES, 201),
    ("POST", "/api/v1/incidents/{incident}/severity", {"grade": "III"}, SUPERVISORS_IN, 200),
    ("POST", "/api/v1/incidents/{incident}/cancel", {"reason": "误报"}, SUPERVISORS_IN, 200),
    ("POST", "/api/v1/incidents/{incident}/close", {}, SUPERVISORS_IN, 200),
    ("GET", "/api/v1/incidents/{incident}/cap", None, PARTIES, 200),
    ("GET", "/api/v1/notices", None, ANY_USER, 200),
    ("POST", "/api/v1/notices/{b1_notice}/ack", {}, {"bureau_party", "admin"}, 200),
    ("GET", "/api/v1/reaches/r2/trace?direction=down", None, ANY_USER, 200),
    ("GET", "/api/v1/stats", None, ANY_USER, 200),
    ("GET", "/api/v1/stats?format=csv", None, ANY_USER, 200),
    ("POST", "/api/v1/drills", {"reach_id": "r2"}, SUPERVISORS_IN, 201),
    ("GET", "/healthz", None, set(CALLERS), 200),
    ("GET", "/readyz", None, set(CALLERS), 200),
    ("GET", "/metrics", None, set(CALLERS), 200),
]


def _headers(caller: str, tokens: Tokens, key: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "station_key":
        return {"X-API-Key": key}
    if caller == "expired":
        stale = make_bearer_token(
            TokenClaims(1, "admin", "admin"), secret_key=SECRET, issued_at=time.time() - 13 * 3600
        )
        return {"Authorization": f"Bearer {stale}"}
    if caller == "forged":
        forged = make_bearer_token(TokenClaims(1, "admin", "admin"), secret_key="not-the-key")
        return {"Authorization": f"Bearer {forged}"}
    return tokens.header(USERS[caller])


@pytest.fixture
def incident(client: TestClient, tokens: Tokens) -> dict[str, Any]:
    answer = client.post("/api/v1/reports", json=REPORT, headers=tokens.header("a1"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "success"),
    ENDPOINTS,
    ids=[f"{m} {p}" for m, p, *_ in ENDPOINTS],
)
def test_endpoint_scope(
    *,
    app: FastAPI,
    client: TestClient,
    tokens: Tokens,
    station_key: str,
    incident: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    allowed: set[str],
    success: int,
    caller: str,
) -> None:
    b1_notice = next(n["id"] for n in incident["notices"] if n["jurisdiction_id"] == "B1")
    url = path.format(incident=incident["incident_id"], b1_notice=b1_notice)
    answer = client.request(method, url, json=body, headers=_headers(caller, tokens, station_key))
    if caller in allowed:
        assert answer.status_code == success, answer.text
    else:
        unauthenticated = caller in ("anonymous", "expired", "forged")
        assert answer.status_code == (401 if unauthenticated else 403), answer.text
        error = answer.json()["error"]
        assert error["message_zh"] and error["message_en"]
        if caller == "expired":
            assert error["code"] == "token_expired"


def test_bureau_sees_only_its_own(
    app: FastAPI, client: TestClient, tokens: Tokens, incident: dict[str, Any]
) -> None:
    mine = client.get("/api/v1/notices", headers=tokens.header("b1")).json()
    assert {n["jurisdiction_id"] for n in mine["items"]} == {"B1"}
    assert client.get("/api/v1/incidents", headers=tokens.header("x1")).json()["total"] == 0
    assert client.get("/api/v1/incidents", headers=tokens.header("sup_xd")).json()["total"] == 0
    supervised = client.get("/api/v1/notices", headers=tokens.header("sup_a")).json()
    assert {n["jurisdiction_id"] for n in supervised["items"]} <= {"A", "A1", "A2", "A3"}
    assert client.get("/api/v1/notices", headers=tokens.header("admin")).json()["total"] == len(
        incident["notices"]
    )


def test_station_key_is_good_for_its_own_station_only(
    app: FastAPI, client: TestClient, station_key: str
) -> None:
    with app.state.services.sessions() as session, session.begin():
        session.add(
            Station(
                station_id="S2",
                name="r4 断面",
                lon=100.35,
                lat=40.0,
                reach_id="r4",
                operator_id="B1",
                thresholds={},
            )
        )
        session.flush()
        other_key = issue_api_key(session, station_id="S2", actor="test", now=synthetic.NOW)
    as_s2 = {**REPORT, "station_id": "S2"}
    assert (
        client.post("/api/v1/reports", json=as_s2, headers={"X-API-Key": station_key}).status_code
        == 403
    )
    assert (
        client.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": other_key}).status_code
        == 403
    )
    by_reach = {k: v for k, v in REPORT.items() if k != "station_id"} | {"reach_id": "r2"}
    refused = client.post("/api/v1/reports", json=by_reach, headers={"X-API-Key": station_key})
    assert refused.status_code == 403
    assert refused.json()["error"]["field"] == "station_id"
    assert (
        client.post("/api/v1/reports", json=as_s2, headers={"X-API-Key": other_key}).status_code
        == 201
    )
    assert (
        client.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": "x" * 300}).status_code
        == 403
    )


def test_supervisor_cannot_ack_a_subordinate_notice(
    client: TestClient, tokens: Tokens, incident: dict[str, Any]
) -> None:
    a2 = next(n["id"] for n in incident["notices"] if n["jurisdiction_id"] == "A2")
    answer = client.post(f"/api/v1/notices/{a2}/ack", json={}, headers=tokens.header("sup_a"))
    assert answer.status_code == 403


def test_disabled_account_loses_access_at_once(
    app: FastAPI, client: TestClient, tokens: Tokens
) -> None:
    from notifier.accounts.models import User

    header = tokens.header("b1")
    assert client.get("/api/v1/notices", headers=header).status_code == 200
    with app.state.services.sessions() as session, session.begin():
        user = session.query(User).filter_by(username="b1").one()
        user.active = False
    assert client.get("/api/v1/notices", headers=header).status_code == 401


def test_sign_in_gives_a_working_token(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/auth/token", data={"username": "b1", "password": "correct horse battery"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer" and body["role"] == "bureau"
    assert body["jurisdiction_id"] == "B1"
    header = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/notices", headers=header).status_code == 200


def test_sign_in_refuses_a_wrong_password(client: TestClient) -> None:
    for username, password in (("b1", "wrong password"), ("nobody", "correct horse battery")):
        answer = client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthenticated"


def test_a_new_key_retires_the_old_one_even_when_remembered(
    app: FastAPI, client: TestClient, station_key: str
) -> None:
    clean = {**REPORT, "measurements": [{"code": "w21003", "value": 0.1}]}
    for _ in range(2):  # the second time the key is remembered
        answer = client.post("/api/v1/reports", json=clean, headers={"X-API-Key": station_key})
        assert answer.status_code == 201
    with app.state.services.sessions() as session, session.begin():
        fresh = issue_api_key(session, station_id="S1", actor="test", now=synthetic.NOW)
    old = client.post("/api/v1/reports", json=clean, headers={"X-API-Key": station_key})
    assert old.status_code == 403
    new = client.post("/api/v1/reports", json=clean, headers={"X-API-Key": fresh})
    assert new.status_code == 201

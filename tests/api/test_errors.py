"""One error shape for every refusal; bounded input; nothing yields a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Tokens

REPORT: dict[str, Any] = {
    "station_id": "S1",
    "observed_at": "2026-05-01T09:30:00+08:00",
    "measurements": [{"code": "w21003", "value": 6.5, "unit": "mg/L", "flag": "N"}],
}


def _error(answer: Any) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"code", "message_zh", "message_en", "field", "details"} <= set(error)
    assert error["message_zh"] and error["message_en"]
    return error


def test_validation_collects_every_problem_with_its_field(
    client: TestClient, tokens: Tokens
) -> None:
    bad = {
        "reach_id": "r2",
        "observed_at": "yesterday",
        "measurements": [{"code": "ammonia", "value": 1.0}],
        "direction": "sideways",
    }
    answer = client.post("/api/v1/reports", json=bad, headers=tokens.header("a1"))
    assert answer.status_code == 422
    error = _error(answer)
    assert error["code"] == "validation_error"
    fields = {d["field"] for d in error["details"]}
    assert {"observed_at", "measurements.0.code", "direction"} <= fields


def test_engine_refusals_list_every_problem(client: TestClient, tokens: Tokens) -> None:
    both = {
        **REPORT,
        "reach_id": "r2",
        "measurements": [{"code": "w21003", "value": 1, "unit": "furlongs"}],
    }
    answer = client.post("/api/v1/reports", json=both, headers=tokens.header("a1"))
    assert answer.status_code == 422
    error = _error(answer)
    assert error["code"] == "rejected"
    assert "exactly one of station" in error["message_en"]


def test_future_and_ancient_times_are_refused(client: TestClient, tokens: Tokens) -> None:
    for when in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00", "2026-05-01T09:30:00"):
        answer = client.post(
            "/api/v1/reports", json={**REPORT, "observed_at": when}, headers=tokens.header("a1")
        )
        assert answer.status_code == 422, (when, answer.text)
        assert _error(answer)["details"][0]["field"] == "observed_at"


@pytest.mark.parametrize("text", ["nul\u0000byte", "lone \ud800 surrogate"])
def test_nul_bytes_and_surrogates_are_refused(
    client: TestClient, tokens: Tokens, text: str
) -> None:
    import json

    raw = json.dumps({**REPORT, "note": text})  # ensure_ascii keeps the escapes
    answer = client.post(
        "/api/v1/reports",
        content=raw,
        headers={**tokens.header("a1"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert _error(answer)["details"][0]["field"] == "note"


def test_nul_in_the_query_string_is_refused(client: TestClient, tokens: Tokens) -> None:
    answer = client.get("/api/v1/reaches/r2%00/trace", headers=tokens.header("a1"))
    assert answer.status_code in (404, 422)
    answer = client.get("/api/v1/incidents?status=open%00", headers=tokens.header("a1"))
    assert answer.status_code == 400
    assert _error(answer)["code"] == "nul_byte"


def test_ids_in_urls_are_digits_and_parameters_come_once(
    client: TestClient, tokens: Tokens
) -> None:
    """Found by the long schemathesis run: lax parsing read "1\u00a0" as incident 1 and let
    the last of two zoom values win."""
    admin = tokens.header("admin")
    for url in ("/api/v1/incidents/1%C2%A0", "/api/v1/incidents/1%20", "/api/v1/incidents/%2B1"):
        answer = client.get(url, headers=admin)
        assert answer.status_code == 422, url
        assert _error(answer)["code"] == "validation_error"
    answer = client.post("/api/v1/notices/1%C2%A0/ack", json={}, headers=admin)
    assert answer.status_code == 422
    assert client.get("/web/api/layers/reaches?zoom=G&zoom=3").status_code == 422
    assert client.get("/web/api/layers/reaches?zoom=3").status_code == 200


def test_oversized_bodies_get_413(client: TestClient, tokens: Tokens) -> None:
    big = {**REPORT, "note": "x" * (300 * 1024)}
    answer = client.post("/api/v1/reports", json=big, headers=tokens.header("a1"))
    assert answer.status_code == 413
    assert _error(answer)["code"] == "body_too_large"

    def chunks() -> Any:  # no Content-Length: the guard counts what arrives
        for _ in range(300):
            yield b"x" * 1024

    answer = client.post(
        "/api/v1/reports",
        content=chunks(),
        headers={**tokens.header("a1"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 413


def test_bounded_strings_and_numbers(client: TestClient, tokens: Tokens) -> None:
    cases = [
        {**REPORT, "note": "x" * 4001},
        {**REPORT, "station_id": "S" * 65},
        {**REPORT, "measurements": [{"code": "w21003", "value": 1e300}]},
        {**REPORT, "measurements": [{"code": "w21003", "value": 1, "flag": "NN"}]},
        {**REPORT, "measurements": [REPORT["measurements"][0]] * 101},
        {**REPORT, "unexpected": 1},
    ]
    for body in cases:
        answer = client.post("/api/v1/reports", json=body, headers=tokens.header("a1"))
        assert answer.status_code == 422, answer.text
        _error(answer)
    for url in (
        "/api/v1/incidents/0",
        "/api/v1/incidents/99999999999999999999",
        "/api/v1/incidents?limit=100000",
        "/api/v1/notices?offset=-1",
        "/api/v1/stats?from=0001-01-01",
    ):
        answer = client.get(url, headers=tokens.header("admin"))
        assert answer.status_code == 422, (url, answer.text)
        _error(answer)


def test_unknown_things_are_404_in_the_same_shape(client: TestClient, tokens: Tokens) -> None:
    for url in ("/api/v1/incidents/12345", "/api/v1/reaches/nope/trace", "/api/v1/nothing"):
        answer = client.get(url, headers=tokens.header("admin"))
        assert answer.status_code == 404
        assert _error(answer)["code"] == "not_found"
    answer = client.post("/api/v1/notices/777/ack", json={}, headers=tokens.header("admin"))
    assert answer.status_code == 404
    answer = client.delete("/api/v1/incidents", headers=tokens.header("admin"))
    assert answer.status_code == 405
    _error(answer)


def test_malformed_json_and_wrong_content_type(client: TestClient, tokens: Tokens) -> None:
    headers = {**tokens.header("a1"), "Content-Type": "application/json"}
    answer = client.post("/api/v1/reports", content=b"{not json", headers=headers)
    assert answer.status_code == 422
    _error(answer)
    answer = client.post("/api/v1/reports", content=b"\xff\xfe\x00", headers=headers)
    assert answer.status_code in (400, 422)
    _error(answer)


def test_closing_twice_is_a_clear_refusal(client: TestClient, tokens: Tokens) -> None:
    opened = client.post("/api/v1/reports", json=REPORT, headers=tokens.header("a1")).json()
    url = f"/api/v1/incidents/{opened['incident_id']}/close"
    assert client.post(url, json={}, headers=tokens.header("admin")).status_code == 200
    again = client.post(url, json={}, headers=tokens.header("admin"))
    assert again.status_code == 422
    assert "closed" in _error(again)["message_en"]

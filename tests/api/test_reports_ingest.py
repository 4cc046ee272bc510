"""POST /reports as the ingest path builds it: the answer encoded without a model per notice
(byte for byte what ``ReportOut`` encodes), and the caller read as plain columns (the same
refusals as every other route's bearer check)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth.tokens import TokenClaims, make_bearer_token
from api.routes.reports import answer_json, result_out
from api.schemas.reports import ReportOut
from notifier.enums import NoticeRole, NoticeStatus
from notifier.incidents.schemas import NoticeView, SubmitResult
from tests.api.conftest import SECRET, Tokens

REPORT: dict[str, Any] = {
    "station_id": "S1",
    "observed_at": "2026-05-01T09:30:00+08:00",
    "measurements": [{"code": "w21003", "value": 6.5, "unit": "mg/L", "flag": "N"}],
}
AT = datetime(2026, 5, 1, 1, 30, 0, 123456, tzinfo=UTC)


def _view(n: int, **changes: Any) -> NoticeView:
    base: dict[str, Any] = dict(
        id=n, jurisdiction_id=f"J{n}", bureau="清水县生态环境局 \"东\"\n", role=NoticeRole.BOUNDARY,
        status=NoticeStatus.PENDING, distance_km=40.70133699576017, eta_hours=22.61185388653343,
        ack_deadline=AT, reason="r", position=n,
    )  # fmt: skip
    return NoticeView(**(base | changes))


@pytest.mark.parametrize(
    "result",
    [
        SubmitResult(1, None, False, False, False),
        SubmitResult(2, 7, True, False, True, [_view(1), _view(2, role=NoticeRole.UPSTREAM)]),
        SubmitResult(3, 7, False, True, True, [
            _view(1, distance_km=None, eta_hours=None, status=NoticeStatus.SENT),
            _view(2, distance_km=0.0, eta_hours=1e-7, ack_deadline=AT.replace(microsecond=0)),
            _view(3, distance_km=12345678.0005, eta_hours=2.0004999,
                  ack_deadline=AT.astimezone(timezone(timedelta(hours=8)))),
        ]),
    ],
)  # fmt: skip
def test_answer_json_is_what_report_out_encodes(result: SubmitResult) -> None:
    assert answer_json(result) == result_out(result).model_dump_json().encode()


def test_posted_answers_are_in_report_out_encoding(client: TestClient, tokens: Tokens) -> None:
    """Opening, joining and clean reports: each answer is ReportOut's own encoding."""
    header = tokens.header("a1")
    clean = {**REPORT, "measurements": [{"code": "w21003", "value": 0.1}]}
    later = {**REPORT, "observed_at": "2026-05-01T10:00:00+08:00"}
    answers = [client.post("/api/v1/reports", json=body, headers=header)
               for body in (REPORT, later, clean)]  # fmt: skip
    assert [a.status_code for a in answers] == [201, 201, 201]
    for answer in answers:
        assert ReportOut.model_validate_json(answer.content).model_dump_json() == answer.text
    opened, joined, quiet = (a.json() for a in answers)
    assert opened["opened"] and joined["joined"] and quiet["incident_id"] is None
    assert joined["notices"] == opened["notices"] and len(opened["notices"]) > 3


def _refusal(client: TestClient, header: dict[str, str]) -> tuple[int, str, str | None]:
    answer = client.post("/api/v1/reports", json=REPORT, headers=header)
    return (
        answer.status_code,
        answer.json()["error"]["code"],
        answer.headers.get("www-authenticate"),
    )


def _elsewhere(client: TestClient, header: dict[str, str]) -> tuple[int, str, str | None]:
    """The same token at a route that uses api.deps' bearer check."""
    answer = client.get("/api/v1/notices", headers=header)
    return (
        answer.status_code,
        answer.json()["error"]["code"],
        answer.headers.get("www-authenticate"),
    )


def test_reports_refuse_the_tokens_every_route_refuses(
    app: FastAPI, client: TestClient, tokens: Tokens
) -> None:
    from notifier.accounts.models import User

    with app.state.services.sessions() as session:
        user = session.query(User).filter_by(username="b1").one()
        claims = TokenClaims(user.id, user.username, user.role.value)
    expired = make_bearer_token(claims, secret_key=SECRET, issued_at=0)
    renamed = make_bearer_token(TokenClaims(claims.user_id, "someone", "admin"), secret_key=SECRET)
    unknown = make_bearer_token(TokenClaims(10**6, "b1", "bureau"), secret_key=SECRET)
    forged = make_bearer_token(claims, secret_key="not the server's secret key at all")
    for token, code in ((expired, "token_expired"), (forged, "token_invalid"), ("x" * 3000,
                        "token_invalid"), (renamed, "unauthenticated"), (unknown,
                        "unauthenticated")):  # fmt: skip
        header = {"Authorization": f"Bearer {token}"}
        refused = _refusal(client, header)
        assert refused[:2] == (401, code) and refused == _elsewhere(client, header)
    header = tokens.header("b1")
    assert client.post("/api/v1/reports", json=REPORT, headers=header).status_code == 201
    with app.state.services.sessions() as session, session.begin():
        session.query(User).filter_by(username="b1").one().active = False
    refused = _refusal(client, header)
    assert refused[:2] == (401, "unauthenticated") and refused == _elsewhere(client, header)


def test_a_signed_in_reporter_is_named_with_their_role(app: FastAPI, tokens: Tokens) -> None:
    from sqlalchemy import select

    from api.routes.reports import bearer_claims, signed_in
    from notifier.accounts.roles import Role

    services = app.state.services
    token = tokens.header("sup_a")["Authorization"].removeprefix("Bearer ")
    with services.sessions() as session:
        caller = signed_in(session, bearer_claims(services, token))
        from notifier.accounts.models import User

        user_id = session.scalar(select(User.id).where(User.username == "sup_a"))
    assert (caller.name, caller.role, caller.jurisdiction_id, caller.user_id) == (
        "sup_a", Role.SUPERVISOR, "A", user_id,
    )  # fmt: skip
    assert isinstance(caller.role, Role)

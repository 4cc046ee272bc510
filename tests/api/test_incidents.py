"""The incident resources end to end on the synthetic network (清水河 r1..r7, see
tests/notifier/synthetic.py): reports, timeline, follow-ups, grade, cancel, close, CAP,
notices, trace preview, drills and statistics."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.cap import check_cap_rules, validate_cap
from api.routes.stats import period_key
from tests.api.conftest import Tokens

REPORT: dict[str, Any] = {
    "station_id": "S1",
    "observed_at": "2026-05-01T09:30:00+08:00",
    "measurements": [{"code": "w21003", "value": 6.5, "unit": "mg/L", "flag": "N"}],
}


def _open(client: TestClient, tokens: Tokens, **changes: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/reports", json={**REPORT, **changes}, headers=tokens.header("a1"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_report_answer_lists_the_notices(client: TestClient, tokens: Tokens) -> None:
    answer = _open(client, tokens)
    assert answer["opened"] and not answer["joined"] and answer["exceeded"]
    first = answer["notices"][0]
    assert set(first) == {
        "id",
        "jurisdiction_id",
        "bureau",
        "role",
        "status",
        "distance_km",
        "eta_hours",
        "ack_deadline",
    }
    assert [n["jurisdiction_id"] for n in answer["notices"][:4]] == ["A2", "B1", "C1", "C2"]
    assert answer["notices"][2]["role"] == "boundary"
    again = _open(client, tokens, observed_at="2026-05-01T10:00:00+08:00")
    assert again["incident_id"] == answer["incident_id"] and again["joined"]


def test_clean_water_opens_nothing(client: TestClient, tokens: Tokens) -> None:
    clean = [{"code": "w21003", "value": 0.1, "unit": "mg/L", "flag": "N"}]
    answer = _open(client, tokens, measurements=clean)
    assert answer["incident_id"] is None and answer["notices"] == [] and not answer["opened"]


def test_a_point_snaps_to_its_reach(client: TestClient, tokens: Tokens) -> None:
    located = {k: v for k, v in REPORT.items() if k != "station_id"} | {"lon": 100.15, "lat": 40.0}
    answer = client.post("/api/v1/reports", json=located, headers=tokens.header("b1"))
    assert answer.status_code == 201, answer.text
    far = located | {"lon": 10.0, "lat": 10.0}
    refused = client.post("/api/v1/reports", json=far, headers=tokens.header("b1"))
    assert refused.status_code == 422
    assert "m from any reach" in refused.json()["error"]["message_en"]


def test_timeline_follow_up_grade_and_close(client: TestClient, tokens: Tokens) -> None:
    incident = _open(client, tokens)["incident_id"]
    url = f"/api/v1/incidents/{incident}"
    follow = client.post(
        f"{url}/follow-ups", json={"text": "水质持续超标"}, headers=tokens.header("b1")
    )
    assert follow.status_code == 201
    graded = client.post(f"{url}/severity", json={"grade": "II"}, headers=tokens.header("sup_a"))
    assert graded.status_code == 200
    body = graded.json()
    assert body["grade"] == "II" and body["proposed_grade"] == "IV"
    assert {c["kind"] for c in body["clocks"]} == {
        "report_upward",
        "public_information",
        "press_conference",
    }
    assert body["follow_ups"][0]["author"] == "b1"
    assert body["follow_ups"][0]["author_jurisdiction_id"] == "B1"
    assert body["reports"][0]["measurements"][0]["code"] == "w21003"
    ack = client.post(
        f"/api/v1/notices/{body['notice_list'][1]['id']}/ack", json={}, headers=tokens.header("b1")
    )
    assert ack.json()["by_name"] == "b1"
    timeline = client.get(url, headers=tokens.header("sup_a")).json()
    assert timeline["acknowledgements"][0]["channel"] == "api"
    closed = client.post(f"{url}/close", json={}, headers=tokens.header("admin")).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    refused = client.post(f"{url}/follow-ups", json={"text": "晚了"}, headers=tokens.header("b1"))
    assert refused.status_code == 422


def test_cancel_withdraws_waiting_notices(client: TestClient, tokens: Tokens) -> None:
    incident = _open(client, tokens)["incident_id"]
    answer = client.post(
        f"/api/v1/incidents/{incident}/cancel",
        json={"reason": "仪器故障误报"},
        headers=tokens.header("sup_a"),
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "cancelled"
    assert {n["status"] for n in body["notice_list"]} == {"cancelled"}
    listed = client.get("/api/v1/incidents?status=cancelled", headers=tokens.header("admin"))
    assert [i["id"] for i in listed.json()["items"]] == [incident]


def test_cap_messages_validate_and_chain(client: TestClient, tokens: Tokens) -> None:
    opened = _open(client, tokens)
    url = f"/api/v1/incidents/{opened['incident_id']}"
    client.post(f"{url}/follow-ups", json={"text": "续报一"}, headers=tokens.header("b1"))
    b1 = next(n["id"] for n in opened["notices"] if n["jurisdiction_id"] == "B1")
    client.post(f"/api/v1/notices/{b1}/ack", json={"note": "收到"}, headers=tokens.header("b1"))
    client.post(f"{url}/cancel", json={"reason": "误报"}, headers=tokens.header("admin"))
    first = client.get(f"{url}/cap?message=1", headers=tokens.header("b1"))
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/xml")
    count = int(first.headers["X-CAP-Messages"])
    assert count == 4  # Alert, Update, Ack, Cancel
    kinds = []
    for number in range(1, count + 1):
        xml = client.get(f"{url}/cap?message={number}", headers=tokens.header("b1")).content
        root = validate_cap(xml)
        assert check_cap_rules(root) == []
        kinds.append(root.findtext("{urn:oasis:names:tc:emergency:cap:1.2}msgType") or "")
    assert sorted(kinds) == ["Ack", "Alert", "Cancel", "Update"]
    latest = client.get(f"{url}/cap", headers=tokens.header("b1")).content
    assert validate_cap(latest) is not None
    assert client.get(f"{url}/cap?message=9", headers=tokens.header("b1")).status_code == 404


def test_drill_is_an_exercise_everywhere(client: TestClient, tokens: Tokens) -> None:
    answer = client.post("/api/v1/drills", json={"reach_id": "r2"}, headers=tokens.header("sup_a"))
    assert answer.status_code == 201, answer.text
    incident = answer.json()["incident_id"]
    detail = client.get(f"/api/v1/incidents/{incident}", headers=tokens.header("admin")).json()
    assert detail["exercise"] is True
    xml = client.get(f"/api/v1/incidents/{incident}/cap", headers=tokens.header("admin")).content
    assert b"<status>Exercise</status>" in xml
    real = client.get("/api/v1/incidents?exercise=false", headers=tokens.header("admin")).json()
    assert real["total"] == 0
    outside = client.post("/api/v1/drills", json={"reach_id": "r2"}, headers=tokens.header("sup_c"))
    assert outside.status_code == 403
    unknown = client.post("/api/v1/drills", json={"reach_id": "zz"}, headers=tokens.header("admin"))
    assert unknown.status_code == 404


def test_trace_preview_both_ways(client: TestClient, tokens: Tokens) -> None:
    down = client.get("/api/v1/reaches/r3/trace", headers=tokens.header("b1")).json()
    assert [e["jurisdiction_id"] for e in down["entries"]][:3] == ["B1", "C1", "C2"]
    assert down["entries"][0]["within_horizon"] is True
    up = client.get("/api/v1/reaches/r3/trace?direction=up", headers=tokens.header("b1")).json()
    assert "A1" in [e["jurisdiction_id"] for e in up["entries"]]
    assert client.get("/api/v1/notices", headers=tokens.header("b1")).json()["total"] == 0


def test_stats_per_month_and_csv(client: TestClient, tokens: Tokens) -> None:
    opened = _open(client, tokens)
    b1 = next(n["id"] for n in opened["notices"] if n["jurisdiction_id"] == "B1")
    client.post(f"/api/v1/notices/{b1}/ack", json={}, headers=tokens.header("b1"))
    stats = client.get("/api/v1/stats", headers=tokens.header("admin")).json()
    assert stats["timezone"] == "Asia/Shanghai"
    [period] = stats["periods"]
    assert period["period"] == period_key(datetime.now(UTC), "month")
    assert period["incidents"] == 1 and period["notices"] == len(opened["notices"])
    row = next(b for b in period["bureaus"] if b["jurisdiction_id"] == "B1")
    assert row["acknowledged"] == 1 and row["median_ack_minutes"] is not None
    own = client.get("/api/v1/stats", headers=tokens.header("b1")).json()["periods"][0]
    assert [b["jurisdiction_id"] for b in own["bureaus"]] == ["B1"]
    text = client.get("/api/v1/stats?format=csv&period=quarter", headers=tokens.header("admin"))
    assert text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.text)))
    assert rows and all(r["period"].count("-Q") == 1 for r in rows)
    later = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    empty = client.get(f"/api/v1/stats?from={later}", headers=tokens.header("admin")).json()
    assert empty["periods"] == []


def test_period_keys_are_in_beijing_time() -> None:
    moment = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)  # 2026-07-01 01:00 in Beijing
    assert period_key(moment, "month") == "2026-07"
    assert period_key(moment, "quarter") == "2026-Q3"
    assert period_key(moment, "half") == "2026-H2"


def test_median_and_p90_minutes() -> None:
    from api.routes.stats import _minutes

    assert _minutes([]) == (None, None)
    assert _minutes([7.0]) == (7.0, 7.0)
    assert _minutes([float(n) for n in range(1, 11)]) == (5.5, 9.1)


def test_reports_arriving_together_are_each_stored_once(client: TestClient, tokens: Tokens) -> None:
    """The ingest path serializes its writers in the process: 12 reports from 6 threads are
    all answered 201, each stored once, and open one incident that the others join."""
    from concurrent.futures import ThreadPoolExecutor

    start = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)

    def post(n: int) -> dict[str, Any]:
        at = (start - timedelta(minutes=n)).isoformat()
        answer = client.post(
            "/api/v1/reports", json={**REPORT, "observed_at": at}, headers=tokens.header("a1")
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, range(12)))
    assert len({a["report_id"] for a in answers}) == 12
    assert len({a["incident_id"] for a in answers}) == 1
    assert sum(a["opened"] for a in answers) == 1
    assert all(a["notices"] == answers[0]["notices"] for a in answers if a["joined"])

"""The README walkthrough on the shipped network: issue a station key with the CLI, submit an
anomaly over HTTP as curl would, sign in as the downstream bureau, acknowledge its notice.

The station is 玛纳斯河·玛纳斯县沙湾市界河断面 (ST-mns-3, 玛纳斯县 652324); 沙湾市 (654203) is
the other bank and so the first bureau told.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest

from api.cli import main
from notifier.settings import Settings
from tests.api.serving import serving

PREFERRED = "ST-mns-3"


def _station(data_dir: Path) -> str:
    """ST-mns-3 while the shipped data has it, else the first station."""
    import json

    features = json.loads((data_dir / "stations.geojson").read_text(encoding="utf-8"))["features"]
    ids = [f["properties"]["station_id"] for f in features]
    return PREFERRED if PREFERRED in ids else ids[0]


def test_readme_walkthrough(
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not (data_dir / "stations.geojson").is_file():
        pytest.skip(f"no shipped network in {data_dir}")
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'rn.db'}")
    monkeypatch.setenv("RIVERNOTIFY_SECRET_KEY", "walkthrough-secret-0123456789abcdef")
    monkeypatch.setenv("RIVERNOTIFY_NETWORK_DIR", str(data_dir))
    monkeypatch.delenv("RIVERNOTIFY_SMTP_HOST", raising=False)

    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    station = _station(data_dir)
    assert main(["station", "add", station]) == 0
    key = capsys.readouterr().out.strip()
    assert len(key) >= 40 and "\n" not in key

    settings = Settings().model_copy(update={"port": 0, "hj212_port": 0})
    with serving(settings, mail_dir=tmp_path / "mail") as running:
        base = f"http://127.0.0.1:{running.http_port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            # curl -X POST $BASE/api/v1/reports -H "X-API-Key: $KEY" -H 'Content-Type: ...'
            answer = http.post(
                "/api/v1/reports",
                headers={"X-API-Key": key, "Content-Type": "application/json"},
                content=(
                    f'{{"station_id":"{station}","observed_at":"2026-11-24T15:30:00+08:00",'
                    '"measurements":[{"code":"w21003","value":6.5,"unit":"mg/L","flag":"N"}],'
                    '"direction":"source","note":"岸边发现排污口"}'
                ),
            )
            assert answer.status_code == 201, answer.text
            report = answer.json()
            assert report["opened"] and report["incident_id"] is not None
            first = report["notices"][0]  # the nearest bureau downstream (or the other bank)
            bureau = first["jurisdiction_id"]
            if station == PREFERRED:
                assert (bureau, first["role"]) == ("654203", "boundary")  # 沙湾市, other bank
            monkeypatch.setattr("sys.stdin", io.StringIO("shawan-duty-2026\n"))
            added = ["user", "add", "--username", "shawan", "--bureau", bureau, "--role", "bureau"]
            assert main(added) == 0

            # curl -X POST $BASE/api/v1/auth/token -d username=shawan -d password=...
            signed = http.post(
                "/api/v1/auth/token", data={"username": "shawan", "password": "shawan-duty-2026"}
            )
            assert signed.status_code == 200, signed.text
            bearer = {"Authorization": f"Bearer {signed.json()['access_token']}"}

            mine = http.get("/api/v1/notices", headers=bearer).json()
            assert [n["id"] for n in mine["items"]] == [first["id"]]

            acked = http.post(
                f"/api/v1/notices/{first['id']}/ack",
                headers={**bearer, "Content-Type": "application/json"},
                content='{"by_name":"值班员 李四","note":"已收到"}',
            )
            assert acked.status_code == 200, acked.text
            assert acked.json()["first"] is True

            timeline = http.get(f"/api/v1/incidents/{report['incident_id']}", headers=bearer)
            assert timeline.status_code == 200
            statuses = {n["jurisdiction_id"]: n["status"] for n in timeline.json()["notice_list"]}
            assert statuses[bureau] == "acknowledged"
            assert timeline.json()["acknowledgements"][0]["by_name"] == "值班员 李四"
            other = next(n for n in report["notices"] if n["jurisdiction_id"] != bureau)
            refused = http.post(f"/api/v1/notices/{other['id']}/ack", headers=bearer)
            assert refused.status_code == 403
        deadline = time.monotonic() + 20
        while not list((tmp_path / "mail").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list((tmp_path / "mail").glob("*.eml")), "the worker delivered no mail to the sink"

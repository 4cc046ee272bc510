"""`rivernotify db upgrade` and `rivernotify report` end to end on a written network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from api.cli import main
from basins.io import write_network
from tests.notifier import synthetic


@pytest.fixture
def env(tmp_path: Path, limits_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    write_network(synthetic.network(), data)
    (data / "standards").mkdir()
    shutil.copy(limits_path, data / "standards" / "gb3838_2002_limits.csv")
    (data / "bureaus.csv").write_text(
        "jurisdiction_id,bureau,bureau_en,email,webhook_url,webhook_format,duty_name,duty_phone\n"
        "A1,,A1 bureau,duty-a1@example.org,,,值班,1\n"
        "B1,,B1 bureau,b1@example.org;b1b@example.org,http://127.0.0.1:9/h,dingtalk,值班,2\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RIVERNOTIFY_NETWORK_DIR", str(data))
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'x.db'}")
    return tmp_path


def test_db_upgrade_creates_and_seeds_idempotently(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "14 created" in out and (env / "var" / "x.db").is_file()
    assert main(["db", "upgrade"]) == 0
    assert "0 created, 0 updated, 14 unchanged" in capsys.readouterr().out
    assert main(["db", "check"]) == 0


def test_report_json_shape(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    capsys.readouterr()
    code = main(
        ["report", "--reach", "r2", "--param", "w21003=4.0", "--param", "w20111=1.5ug/L", "--json"]
    )
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"incident_id", "opened", "notices"} and body["opened"] is True
    assert [n["jurisdiction_id"] for n in body["notices"]][:4] == ["A2", "B1", "C1", "C2"]
    assert set(body["notices"][0]) == {
        "id",
        "jurisdiction_id",
        "bureau",
        "role",
        "status",
        "distance_km",
        "eta_hours",
        "ack_deadline",
    }
    main(["report", "--at", "100.15,40.001", "--param", "w21003=3"])
    text = capsys.readouterr().out
    assert "joined" in text and f"#{body['incident_id']}" in text


def test_report_errors_are_one_clear_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--reach", "r2", "--param", "w21003=4"]) == 2
    assert "db upgrade" in capsys.readouterr().err
    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["report", "--reach", "zz", "--param", "w21003=4", "--param", "w1=x"]) == 2
    err = capsys.readouterr().err
    assert "CODE=VALUE" in err and "Traceback" not in err
    assert main(["report", "--reach", "zz", "--param", "w21003=4"]) == 2
    assert "unknown reach" in capsys.readouterr().err
    assert main(["report", "--at", "100.15", "--param", "w21003=4"]) == 2
    assert "LON,LAT" in capsys.readouterr().err
    assert main(["report", "--at", "120,10", "--param", "w21003=4"]) == 2
    assert "2000 m" in capsys.readouterr().err


def test_clean_report_opens_nothing(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["report", "--station", "S1", "--param", "w21003=0.1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "incident_id": None,
        "opened": False,
        "notices": [],
    }


def test_shipped_network_upgrade_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The product as shipped: data/ seeds every bureau, a 汾河 report routes at once."""
    data = Path(__file__).resolve().parents[2] / "data"
    if not (data / "reaches.geojson").is_file() or not (data / "standards").is_dir():
        pytest.skip("the shipped network data/ is not built yet")
    monkeypatch.delenv("RIVERNOTIFY_NETWORK_DIR", raising=False)
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'r.db'}")
    assert main(["db", "upgrade"]) == 0
    assert "created" in capsys.readouterr().out
    assert main(["report", "--reach", "fenhe-ngcc1137-1", "--param", "w21003=6", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    ids = [n["jurisdiction_id"] for n in body["notices"]]
    assert ids[:3] == ["140121", "140727", "141121"] and "140000" in ids
    first = body["notices"][1]
    assert first["bureau"] == "晋中市生态环境局祁县分局" and first["role"] == "downstream"


@pytest.mark.postgres
def test_db_upgrade_and_report_on_postgresql(
    env: Path,
    postgres_empty_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", postgres_empty_url)
    assert main(["db", "upgrade"]) == 0
    assert "14 created" in capsys.readouterr().out
    assert main(["db", "check"]) == 0
    capsys.readouterr()
    assert main(["report", "--reach", "r5", "--param", "w21003=4", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["notices"][0]["jurisdiction_id"] == "C1"  # the other bank, at once
    assert body["notices"][0]["role"] == "boundary"

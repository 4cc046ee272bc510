"""`rivernotify user add` and `rivernotify station add`: clear one-line errors, the password
from stdin, the key printed once on stdout."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from api.cli import main
from notifier.settings import Settings


@pytest.fixture
def database(api_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    import shutil

    target = tmp_path / "cli.db"
    shutil.copy(api_template, target)
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", f"sqlite:///{target}")
    return Settings()


def test_user_add_reads_the_password_from_stdin(
    database: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifier.accounts.service import authenticate
    from notifier.db import engine_from_settings, session_factory

    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["user", "add", "--username", "zhang", "--bureau", "C2", "--role", "bureau"]) == 0
    assert "zhang" in capsys.readouterr().out
    engine = engine_from_settings(database)
    with session_factory(engine)() as session:
        found = authenticate(session, username="zhang", password="a long password")
    engine.dispose()
    assert found is not None and found.jurisdiction_id == "C2" and found.role == "bureau"


def test_user_add_lists_every_problem_on_one_line(
    database: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code = main(["user", "add", "--username", "a1", "--bureau", "NOPE", "--role", "admin"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "taken" in err and "password must be" in err and "unknown bureau 'NOPE'" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["user", "add", "--username", "li", "--bureau", "C2", "--role", "bureau"]) == 2
    assert "no password on stdin" in capsys.readouterr().err


def test_station_add_prints_the_key_once(
    database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifier.db import engine_from_settings, session_factory
    from notifier.stations.models import Station
    from notifier.stations.service import verify_api_key

    assert main(["station", "add", "S1"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert "shown this once" in out.err
    engine = engine_from_settings(database)
    with session_factory(engine)() as session:
        station = session.get(Station, "S1")
        assert station is not None and verify_api_key(station, key)
        assert key not in (station.api_key_hash or "")
    engine.dispose()
    assert main(["station", "add", "NOPE"]) == 2
    assert "unknown station 'NOPE'" in capsys.readouterr().err


def test_unmigrated_database_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["station", "add", "S1"]) == 2
    assert "rivernotify db upgrade" in capsys.readouterr().err

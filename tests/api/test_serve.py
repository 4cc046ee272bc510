"""`rivernotify serve`: refuses unsafe settings, and once up feeds HJ 212 uploads into the
engine (only flag N may trigger; the rest is stored)."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api.cli import main
from api.hj212.codec import encode_packet
from api.server import ServeError, check_settings, serve_until
from notifier.settings import EXAMPLE_SECRET, Settings
from tests.api.serving import serving


def _station(data_dir: Path) -> tuple[str, str]:
    """(station_id, MN) of the first shipped station with an HJ 212 device code."""
    import json

    features = json.loads((data_dir / "stations.geojson").read_text(encoding="utf-8"))["features"]
    return next(
        (f["properties"]["station_id"], f["properties"]["mn"])
        for f in features
        if f["properties"].get("mn")
    )


def test_production_refuses_the_example_secret() -> None:
    with pytest.raises(ServeError, match="RIVERNOTIFY_SECRET_KEY"):
        check_settings(Settings(mode="production", secret_key=SecretStr(EXAMPLE_SECRET)))
    check_settings(Settings(mode="production", secret_key=SecretStr("a-real-secret-0123456789")))
    check_settings(Settings(mode="development"))


def test_serve_cli_refuses_the_example_secret_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("RIVERNOTIFY_MODE", "production")
    monkeypatch.delenv("RIVERNOTIFY_SECRET_KEY", raising=False)
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert main(["serve", "--port", "0", "--hj212-port", "0"]) == 2
    assert "RIVERNOTIFY_SECRET_KEY" in capsys.readouterr().err


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", port=0, hj212_port=0)
    with pytest.raises(ServeError, match="db upgrade"):
        asyncio.run(serve_until(settings, stop=asyncio.Event(), mail_dir=tmp_path / "mail"))


def _upload(port: int, cp: dict[str, str], *, mn: str) -> bytes:
    packet = encode_packet(
        {
            "QN": "20261124154000000",
            "ST": "21",
            "CN": "2011",
            "PW": "123456",
            "MN": mn,
            "Flag": "5",
        },
        cp={"DataTime": "20261124154000", **cp},
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(packet)
        conn.settimeout(10)
        try:
            return conn.recv(1024)
        except TimeoutError:
            return b""


@pytest.fixture
def served_settings(tmp_path: Path, data_dir: Path) -> Settings:
    return _served(f"sqlite:///{tmp_path / 'rn.db'}", data_dir)


def _served(url: str, data_dir: Path) -> Settings:
    """Settings for a served, seeded database on the shipped network."""
    if not (data_dir / "stations.geojson").is_file():
        pytest.skip(f"no shipped network in {data_dir}")
    from notifier.context import context_from_settings
    from notifier.db import engine_from_url, session_factory
    from notifier.migrate import upgrade
    from notifier.seed import contacts_in, seed_network

    settings = Settings(
        database_url=url,
        network_dir=data_dir,
        secret_key=SecretStr("serve-test-secret-0123456789"),
        port=0,
        hj212_port=0,
    )
    engine = engine_from_url(settings.database_url)
    upgrade(engine)
    network = context_from_settings(settings).topology.network  # type: ignore[attr-defined]
    with session_factory(engine)() as session, session.begin():
        seed_network(session, network=network, contacts=contacts_in(data_dir), now=_now())
    engine.dispose()
    return settings


def _now() -> datetime:
    return datetime.now(UTC)


def test_hj212_uploads_reach_the_engine(
    served_settings: Settings, tmp_path: Path, data_dir: Path
) -> None:
    from notifier.db import engine_from_url, session_factory
    from notifier.reports.models import Report

    station, mn = _station(data_dir)
    with serving(served_settings, mail_dir=tmp_path / "mail") as running:
        port = running.hj212_port
        # Over range (T) and in maintenance (M): stored, never triggers.
        quiet = {"w21003-Rtd": "9.9", "w21003-Flag": "T", "w01009-Rtd": "0.5", "w01009-Flag": "M"}
        assert b"CN=9014" in _upload(port, quiet, mn=mn)
        # Normal data (N) over the limit: opens an incident; w01010 (temperature) has no limit.
        loud = {"w21003-Rtd": "7.2", "w21003-Flag": "N", "w01010-Rtd": "12", "w01010-Flag": "N"}
        assert b"CN=9014" in _upload(port, loud, mn=mn)
        assert _upload(port, loud, mn="000000000000000000000000") == b""  # unknown MN: no reply
        stats = running.app.state.services.extras  # the registry carries the listener's counters
        assert "registry" in stats
    engine = engine_from_url(served_settings.database_url)
    with session_factory(engine)() as session:
        reports = list(session.scalars(select(Report).order_by(Report.id)))
    engine.dispose()
    assert len(reports) == 2
    first, second = reports
    assert first.incident_id is None
    assert first.measurements == [{"code": "w01009", "value": 0.5, "unit": "mg/L", "flag": "M"}]
    assert "w21003=9.9mg/L(T)" in first.note
    assert second.incident_id is not None
    assert [m["code"] for m in second.measurements] == ["w21003"]
    assert "w01010" in second.note
    assert first.reporter == f"hj212:{station}"


def test_serve_without_its_worker_leaves_delivery_to_worker_processes(
    served_settings: Settings, tmp_path: Path, data_dir: Path
) -> None:
    from notifier.db import engine_from_url
    from notifier.outbox.models import OutboxMessage

    _, mn = _station(data_dir)
    with serving(served_settings, mail_dir=tmp_path / "mail", worker=False) as running:
        loud = {"w21003-Rtd": "7.2", "w21003-Flag": "N"}
        assert b"CN=9014" in _upload(running.hj212_port, loud, mn=mn)
        time.sleep(1.5)  # a worker in this process would have sent them by now
    engine = engine_from_url(served_settings.database_url)
    with engine.connect() as connection:
        statuses = set(connection.scalars(select(OutboxMessage.status)))
    engine.dispose()
    assert statuses == {"pending"}


def test_metrics_show_the_listener(
    served_settings: Settings, tmp_path: Path, data_dir: Path
) -> None:
    import httpx

    _, mn = _station(data_dir)
    with serving(served_settings, mail_dir=tmp_path / "mail") as running:
        _upload(running.hj212_port, {"w21003-Rtd": "0.1"}, mn=mn)
        time.sleep(0.2)
        text = httpx.get(f"http://127.0.0.1:{running.http_port}/metrics", timeout=10).text
    assert 'rivernotify_hj212_packets_total{outcome="handled"} 1.0' in text
    assert "rivernotify_http_requests_total" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_command_serves_and_stops_on_sigterm(
    api_template: Path, tmp_path: Path, data_dir: Path
) -> None:
    import os
    import shutil
    import signal
    import subprocess
    import sys

    import httpx

    database = tmp_path / "rn.db"
    shutil.copy(api_template, database)
    port, hj212 = _free_port(), _free_port()
    env = {
        **os.environ,
        "RIVERNOTIFY_DATABASE_URL": f"sqlite:///{database}",
        "RIVERNOTIFY_NETWORK_DIR": str(data_dir),
        "RIVERNOTIFY_SECRET_KEY": "subprocess-secret-0123456789",
    }
    env.pop("RIVERNOTIFY_SMTP_HOST", None)
    script = Path(sys.executable).parent / "rivernotify"
    if not script.is_file():
        pytest.skip(f"console script not installed at {script}")
    command = [str(script), "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--hj212-port", str(hj212)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready:
                break
            time.sleep(0.3)
        assert ready, process.stdout.read().decode() if process.stdout else "no output"
        with socket.create_connection(("127.0.0.1", hj212), timeout=5):
            pass  # the HJ 212 listener is up too
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_answers_once_its_build_process_is_up_and_delivers_through_it(
    served_settings: Settings, tmp_path: Path, data_dir: Path
) -> None:
    """The product's default (one build process beside the worker): when serve says it is
    listening the child has loaded the network, and a report's notices go out with maps."""
    import psutil

    settings = served_settings.model_copy(update={"build_processes": 1})
    _, mn = _station(data_dir)
    mail = tmp_path / "mail"
    with serving(settings, mail_dir=mail) as running:
        children = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(children) == 1
        assert b"CN=9014" in _upload(running.hj212_port, {"w21003-Rtd": "7.2"}, mn=mn)
        deadline = time.monotonic() + 30
        while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        sent = list(mail.glob("*.eml"))
        assert sent and all(b"image/png" in path.read_bytes() for path in sent)
    children[0].wait(timeout=10)  # stopping serve stops its build process


@pytest.mark.postgres
def test_serve_on_postgresql_runs_its_worker_in_a_process_of_its_own(
    postgres_url: str, tmp_path: Path, data_dir: Path
) -> None:
    """The worker's SMTP conversations stay off the API's interpreter lock; NOTIFY wakes it."""
    import psutil

    settings = _served(postgres_url, data_dir).model_copy(update={"build_processes": 1})
    _, mn = _station(data_dir)
    mail = tmp_path / "mail"
    with serving(settings, mail_dir=mail) as running:
        workers = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 1 and workers[0].children()  # the worker, with its build child
        assert b"CN=9014" in _upload(running.hj212_port, {"w21003-Rtd": "7.2"}, mn=mn)
        deadline = time.monotonic() + 30
        while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(mail.glob("*.eml"))
    workers[0].wait(timeout=30)  # stopping serve stops its worker process


def test_bad_settings_in_the_environment_are_named_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    monkeypatch.setenv("RIVERNOTIFY_BUILD_PROCESSES", "-1")
    monkeypatch.setenv("RIVERNOTIFY_WORKER_BATCH", "abc")
    assert main(["worker", "--once"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert "RIVERNOTIFY_BUILD_PROCESSES='-1'" in err and "RIVERNOTIFY_WORKER_BATCH='abc'" in err

"""The end-to-end benchmarks still run at a tiny size (no speed target is asserted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shipped_network() -> None:
    if not (ROOT / "data" / "stations.geojson").is_file():
        pytest.skip("no shipped network in data/")


@pytest.mark.slow  # two processes load the shipped network (~25 s)
@pytest.mark.usefixtures("shipped_network")
def test_report_to_inbox_runs_and_loses_no_email(tmp_path: Path) -> None:
    from bench import Options
    from bench.e2e import run_one, sqlite_database

    with sqlite_database() as url:
        results = run_one(url, 5, enough=1)
    assert set(results) == {"rounds", "flight"}
    for result in results.values():
        assert result.missing == 0 and result.joined == 0
        assert len(result.latencies_ms) == 5 and min(result.latencies_ms) > 0
    assert "e2e" in {name for name, _ in BENCHMARKS}
    assert Options().reports == 200


@pytest.mark.slow  # a server process loads the shipped network (~15 s)
@pytest.mark.usefixtures("shipped_network")
def test_ingest_runs_and_loses_no_request(tmp_path: Path) -> None:
    from bench import Options
    from bench.ingest import run

    section = run(Options(requests=20))
    names = [f.name for f in section.figures]
    assert "ceiling: bare insert per second" in names
    assert any(name.startswith("HJ 212 packets") for name in names)
    assert "not answered with success: 0;" in section.notes[0]
    assert "HJ 212 reports stored 20 of 20" in section.notes[0]


def test_map_data_measures_every_zoom() -> None:
    from bench import Options
    from bench.mapdata import ZOOMS, run

    section = run(Options(map_sizes=(300,)))
    sizes = [f for f in section.figures if f.name.endswith(": size")]
    assert len(sizes) == len(ZOOMS) and all(f.value > 0 and f.ratio for f in sizes)


@pytest.mark.slow  # a PostgreSQL server and two server processes (~20 s)
@pytest.mark.usefixtures("shipped_network")
def test_scale_out_sends_nothing_twice() -> None:
    from bench.scaleout import run_config

    try:
        result, _ = run_config(2, 4, None, enough=1)
    except LookupError as exc:
        pytest.skip(str(exc))
    assert result.duplicates == 0
    assert result.emails == result.expected > 0


@pytest.mark.slow  # the shipped network is loaded twice (~20 s)
@pytest.mark.usefixtures("shipped_network")
def test_delivery_benchmark_sends_every_outbox_row() -> None:
    from bench import Options
    from bench.delivery_bench import run

    section = run(Options(reports=8))
    names = [f.name for f in section.figures]
    assert names[:2] == ["ceiling: bare aiosmtplib, one connection",
                         "delivery worker, outbox to server"]  # fmt: skip
    assert all(f.value > 0 for f in section.figures)
    assert "delivery" in {name for name, _ in BENCHMARKS}

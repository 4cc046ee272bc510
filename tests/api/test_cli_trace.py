"""`rivernotify trace` on the shipped network: table, JSON, points, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main


@pytest.fixture(scope="module")
def network_dir(data_dir: Path) -> Path:
    if not (data_dir / "reaches.geojson").is_file():
        pytest.skip(f"shipped network not built yet: {data_dir / 'reaches.geojson'} is absent")
    return data_dir


def test_json_lists_jurisdictions_in_order_with_the_agreed_fields(
    network_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["trace", "htb-1", "--direction", "down", "--json", "--network", str(network_dir)])
    assert code == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries, "no jurisdiction below htb-1"
    for key in (
        "jurisdiction_id",
        "name",
        "first_reach",
        "distance_km",
        "eta_hours",
        "adjacent",
        "other_prefecture",
        "other_province",
    ):
        assert all(key in e for e in entries), key
    hours = [e["eta_hours"] for e in entries]
    assert hours == sorted(hours)
    assert entries[0]["adjacent"] is True


def test_table_is_readable_and_uses_the_default_network(
    network_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "wlmq-1-1", "--direction", "down", "--max-km", "500"]) == 0
    out = capsys.readouterr().out
    assert "管辖单位 jurisdiction" in out and "五家渠市" in out and "659004" in out
    assert "~" in out  # arrival times are marked as estimates


def test_horizons_shorten_the_list(network_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["trace", "htb-1", "--direction", "down", "--json", "--network", str(network_dir)]
    main(args)
    everything = json.loads(capsys.readouterr().out)
    main([*args, "--max-hours", "0.001"])
    assert json.loads(capsys.readouterr().out) == []
    main([*args, "--max-km", str(everything[0]["distance_km"] + 0.01)])
    assert [e["jurisdiction_id"] for e in json.loads(capsys.readouterr().out)] == [
        everything[0]["jurisdiction_id"]
    ]


def test_point_is_snapped_to_the_nearest_reach(
    network_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from basins.io import read_network

    reaches = read_network(network_dir).reaches.set_index("reach_id")
    middle = reaches.geometry["wlmq-3-4"].interpolate(0.5, normalized=True)
    at = f"{middle.x},{middle.y}"
    assert main(["trace", "--at", at, "--direction", "up", "--json"]) == 0
    via_point = json.loads(capsys.readouterr().out)
    assert main(["trace", "wlmq-3-4", "--direction", "up", "--json"]) == 0
    via_id = json.loads(capsys.readouterr().out)
    assert [e["jurisdiction_id"] for e in via_point] == [e["jurisdiction_id"] for e in via_id]
    assert via_point[-1]["distance_km"] > via_id[-1]["distance_km"]  # half a reach further


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["trace", "no-such-reach", "--direction", "down"], "no-such-reach"),
        (["trace", "--at", "0,0", "--direction", "down"], "km away"),
        (["trace", "--direction", "down"], "REACH_ID"),
        (["trace", "htb-1", "--at", "87,44", "--direction", "down"], "either"),
        (["trace", "htb-1", "--direction", "down", "--network", "/nonexistent"], "not found"),
    ],
)
def test_user_errors_are_one_line_with_exit_2(
    network_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_horizon_is_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["trace", "htb-1", "--direction", "down", "--max-km", "-3"])
    assert caught.value.code == 2
    assert "max-km" in capsys.readouterr().err

"""`rivernotify network build | edges | validate` from real files on disk."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from api.cli import main
from api.cli.network import DEFAULT_NETWORK_DIR
from basins.io import read_network
from tests.basins.builders import reaches_gdf, square_jurisdictions, write_layer

LINES = {
    "1": [(110.2, 35.25), (110.3, 35.25)],
    "2": [(110.4, 35.25), (110.3, 35.25)],  # digitized against the flow
    "3": [(110.4, 35.25), (110.8, 35.25)],
}


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    reaches = reaches_gdf(LINES, crs=None, NAME=["汾河"] * 3)
    counties = square_jurisdictions(
        {"140001": (110.0, 35.0, 110.5, 35.5), "140002": (110.5, 35.0, 111.0, 35.5)},
        names={"140001": "甲县", "140002": "乙县"},
    ).rename(columns={"jurisdiction_id": "adcode", "name": "名称"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        shp = write_layer(reaches, tmp_path / "arcs.shp", encoding="GBK")
    return {"reaches": shp, "counties": write_layer(counties, tmp_path / "counties.gpkg")}


def _build_args(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "network",
        "build",
        "--reaches",
        str(inputs["reaches"]),
        "--jurisdictions",
        str(inputs["counties"]),
        "--jurisdiction-id-field",
        "adcode",
        "--jurisdiction-name-field",
        "名称",
        "--out",
        str(out),
        *extra,
    ]


def test_build_orients_splits_and_writes(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "net"
    argv = _build_args(
        inputs,
        out,
        "--crs",
        "EPSG:4326",
        "--outlet-at",
        "110.8,35.25",
        "--topology",
        "geometry",
        "--basin",
        "fenhe",
    )
    assert main(argv) == 0
    assert "built 4 reaches" in capsys.readouterr().out
    network = read_network(out)
    r = network.reaches.set_index("reach_id")
    assert r["downstream"].to_dict() == {"1": "2", "2": "3-1", "3-1": "3-2", "3-2": ""}
    assert r.loc["2"].geometry.coords[0] == pytest.approx((110.3, 35.25))  # reversed
    assert set(r["river"]) == {"汾河"} and set(r["basin"]) == {"fenhe"}
    assert network.hierarchy.jurisdictions["140002"].name == "乙县"
    assert main(["network", "validate", "--network", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("0 个致命问题")


def test_build_without_crs_reports_and_writes_nothing(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "net"
    assert main(_build_args(inputs, out)) == 1
    err = capsys.readouterr().err
    assert "crs_missing reaches" in err and "--crs" in err
    assert not out.exists()


def test_edges_of_unoriented_arcs(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "network",
        "edges",
        "--reaches",
        str(inputs["reaches"]),
        "--crs",
        "EPSG:4326",
        "--topology",
        "geometry",
    ]
    assert main(argv) == 0  # as digitized: 1 and 2 meet head to head, 2 and 3 tail to tail
    printed = capsys.readouterr()
    assert printed.out.splitlines() == ["from_id,to_id"]
    assert "[warning] ends_meet reaches:1" in printed.err
    assert main([*argv, "--outlet-at", "110.8,35.25"]) == 0
    assert capsys.readouterr().out.splitlines() == ["from_id,to_id", "1,2", "2,3"]


def test_validate_reports_problems_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["network", "validate", "--network", str(tmp_path)]) == 1
    assert "file_missing" in capsys.readouterr().err
    assert main(["network", "validate", "--network", str(tmp_path / "absent")]) == 2


def test_validate_defaults_to_the_shipped_data() -> None:
    assert Path(__file__).resolve().parents[2] / "data" == DEFAULT_NETWORK_DIR
    if not (DEFAULT_NETWORK_DIR / "reaches.geojson").exists():
        pytest.skip("data/ not built yet")
    assert main(["network", "validate"]) in (0, 1)


def test_build_with_given_stations(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    points = gpd.GeoDataFrame(
        {
            "code": ["S1", "S2"],
            "断面": ["汾河·甲县断面", "远处断面"],
            "mn": ["abcdefabcdefabcdefabcdef", ""],
        },
        geometry=[shapely.Point(110.25, 35.2502), shapely.Point(112.0, 36.0)],
        crs="EPSG:4326",
    )
    path = write_layer(points, tmp_path / "stations.geojson")
    argv = _build_args(
        inputs,
        tmp_path / "net",
        "--crs",
        "EPSG:4326",
        "--outlet-at",
        "110.8,35.25",
        "--stations",
        str(path),
        "--station-id-field",
        "code",
        "--station-name-field",
        "断面",
    )
    assert main(argv) == 1
    assert "station_off_network stations:S2" in capsys.readouterr().err
    assert (
        main(
            [
                *argv[:-6],
                "--stations",
                str(write_layer(points.iloc[:1], tmp_path / "s1.gpkg")),
                "--station-id-field",
                "code",
                "--station-name-field",
                "断面",
            ]
        )
        == 0
    )
    stations = read_network(tmp_path / "net").stations
    assert stations[["station_id", "reach_id", "jurisdiction", "mn"]].values.tolist() == [
        ["S1", "1", "140001", "ABCDEFABCDEFABCDEFABCDEF"]
    ]


def test_split_defaults_of_the_cli_match_the_library() -> None:
    from api.cli import build_parser
    from basins.split import SplitOptions

    args = build_parser().parse_args(
        ["network", "build", "--reaches", "r", "--jurisdictions", "j", "--out", "o"]
    )
    assert args.boundary_tolerance_m == SplitOptions().boundary_tolerance_m
    assert args.min_piece_m == SplitOptions().min_piece_m

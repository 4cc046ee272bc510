"""Every validation problem, each from a small bad layer; all are collected and raised once."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from basins.build import BuildOptions, build_network
from basins.checks import check_geometries, validate_network
from basins.io import read_network, write_network
from basins.validate import NetworkValidationError, Problem, Severity, ValidationReport
from tests.basins.builders import reaches_gdf, square_jurisdictions

COUNTIES = square_jurisdictions(
    {"140001": (110.0, 35.0, 110.5, 35.5), "140002": (110.5, 35.0, 111.0, 35.5)}
)
GOOD = {"a": [(110.1, 35.2), (110.2, 35.2)], "b": [(110.2, 35.2), (110.3, 35.2)]}


def _problems(
    reaches: gpd.GeoDataFrame, jurisdictions: gpd.GeoDataFrame = COUNTIES, **options: object
) -> ValidationReport:
    with pytest.raises(NetworkValidationError) as caught:
        build_network(reaches, jurisdictions, options=BuildOptions(**options))  # type: ignore[arg-type]
    report = caught.value.report
    assert all(isinstance(p, Problem) for p in report)
    return report


def test_report_renders_one_line_per_problem_and_a_summary() -> None:
    report = ValidationReport()
    report.add("cycle", layer="reaches", feature_id="a", message="河段构成环路 / cycle")
    report.add(
        "parent_unknown",
        layer="jurisdictions",
        feature_id="1",
        message="父级 / parent",
        severity=Severity.WARNING,
    )
    lines = report.render().splitlines()
    assert lines[0] == "[fatal] cycle reaches:a: 河段构成环路 / cycle"
    assert lines[1].startswith("[warning] parent_unknown jurisdictions:1")
    assert lines[2] == "1 个致命问题, 1 个警告 / 1 fatal problem(s), 1 warning(s)"
    assert not report.ok


def test_missing_and_unknown_crs() -> None:
    assert "crs_missing" in _problems(reaches_gdf(GOOD, crs=None)).codes()
    counties = COUNTIES.set_crs(None, allow_override=True)
    assert "crs_missing" in _problems(reaches_gdf(GOOD), counties).codes()


def test_duplicate_ids_and_invalid_geometry_are_all_reported_together() -> None:
    reaches = reaches_gdf(GOOD)
    reaches["reach_id"] = ["a", "a"]
    bowtie = shapely.Polygon([(110.5, 35.0), (111.0, 35.5), (111.0, 35.0), (110.5, 35.5)])
    counties = COUNTIES.copy()
    counties.loc[1, "geometry"] = bowtie
    report = _problems(reaches, counties)
    assert report.codes() >= {"duplicate_id", "geometry_invalid"}
    assert any("Self-intersection" in p.message for p in report)


def test_the_invalid_tiemenguan_polygon_is_caught(shared_data: Path) -> None:
    layer = pyogrio.read_dataframe(
        shared_data / "boundaries" / "cn_county_tianditu_2023.gpkg",
        where="district_adcode IN ('659006', '659001')",
    )
    report = ValidationReport()
    good = check_geometries(
        layer["district_adcode"].tolist(),
        layer.geometry.values,
        layer="jurisdictions",
        lines=False,
        report=report,
    )
    assert [p.feature_id for p in report] == ["659006"]
    assert report.problems[0].code == "geometry_invalid"
    assert good.tolist() == [v != "659006" for v in layer["district_adcode"]]


def test_unknown_downstream_and_cycles() -> None:
    unknown = reaches_gdf(GOOD, downstream=["b", "zz"])
    assert "downstream_unknown" in _problems(unknown).codes()
    cycle = reaches_gdf(GOOD, downstream=["b", "a"])
    problems = _problems(cycle)
    assert "cycle" in problems.codes()
    assert "a -> b" in " ".join(p.message for p in problems)


def test_dangling_end_near_another_reach() -> None:
    # b ends 100 m short of the middle of c: it joins nothing and is no outlet
    lines = {
        "b": [(110.1, 35.1), (110.2, 35.2 - 0.0009)],
        "c": [(110.1, 35.2), (110.3, 35.2)],
    }
    report = _problems(reaches_gdf(lines))
    assert [p.feature_id for p in report if p.code == "dangling"] == ["b"]
    # with given outlets, an end far from all of them dangles as well
    report = _problems(
        reaches_gdf(GOOD), outlets=((110.9, 35.4),), topology="geometry", orient="never"
    )
    assert [p.feature_id for p in report if p.code == "dangling"] == ["b"]


def test_reach_outside_every_jurisdiction() -> None:
    far = reaches_gdf({"x": [(120.0, 30.0), (120.1, 30.0)]})
    assert _problems(far).codes() == {"reach_outside"}


def test_overlapping_jurisdictions_of_one_kind_but_not_enclaves() -> None:
    overlapping = square_jurisdictions(
        {"1": (110.0, 35.0, 110.5, 35.5), "2": (110.4, 35.0, 111.0, 35.5)}
    )
    assert _problems(reaches_gdf(GOOD), overlapping).codes() == {"overlap"}
    with_park = square_jurisdictions(
        {
            "1": (110.0, 35.0, 110.5, 35.5),
            "2": (110.5, 35.0, 111.0, 35.5),
            "P": (110.15, 35.1, 110.25, 35.3),
        },
        kind=["county", "county", "park"],
    )
    build_network(reaches_gdf(GOOD), with_park)  # no problem raised


def test_validate_network_on_a_written_network(tmp_path: Path) -> None:
    network = build_network(reaches_gdf(GOOD), COUNTIES)
    assert validate_network(network).ok
    write_network(network, tmp_path)
    broken = read_network(tmp_path)
    broken.reaches.loc[0, "downstream"] = "nowhere"
    broken.reaches.loc[1, "jurisdiction"] = "999999"
    broken.stations.loc[0, "mn"] = "xyz"
    codes = validate_network(broken).codes()
    assert codes == {"downstream_unknown", "jurisdiction_unknown", "mn_invalid"}


def test_end_on_the_middle_of_another_reach_and_empty_layers() -> None:
    lines = {"t": [(110.2, 35.1), (110.2, 35.2)], "m": [(110.1, 35.2), (110.3, 35.2)]}
    report = _problems(reaches_gdf(lines))
    assert [p.feature_id for p in report if p.code == "dangling"] == ["t"]
    assert "split that reach" in report.render()
    assert _problems(reaches_gdf({}), COUNTIES.iloc[0:0]).codes() == {"layer_empty"}


def test_reach_kind_and_target_class() -> None:
    reaches = reaches_gdf(GOOD, kind=["river", "stream"], target_class=[3, 7])
    assert _problems(reaches).codes() == {"reach_kind_unknown", "target_class_invalid"}
    fine = reaches_gdf(GOOD, kind=["canal", None], target_class=[2, None])
    network = build_network(fine, COUNTIES)
    assert network.reaches["kind"].tolist() == ["canal", "river"]
    assert network.reaches["target_class"].tolist() == [2, 3]


BAD_FILES: dict[str, tuple[dict[str, object], dict[str, object], list[str]]] = {
    # code: (reach columns, county overrides, extra CLI args)
    "crs_unknown": ({}, {}, ["--crs", "EPSG:0"]),
    "duplicate_id": ({"reach_id": ["a", "a"]}, {}, []),
    "downstream_unknown": ({"downstream": ["b", "zz"]}, {}, []),
    "cycle": ({"downstream": ["b", "a"]}, {}, []),
    "geometry_invalid": (
        {},
        {"geometry": shapely.Polygon([(110.5, 35), (111, 35.5), (111, 35), (110.5, 35.5)])},
        [],
    ),
    "overlap": ({}, {"geometry": shapely.box(110.4, 35.0, 111.0, 35.5)}, []),
    "reach_outside": (
        {"geometry": [shapely.LineString([(120, 30), (120.1, 30)])] * 2, "downstream": ["", ""]},
        {},
        [],
    ),
    "dangling": (
        {
            "geometry": [
                shapely.LineString([(110.1, 35.1), (110.2, 35.1991)]),
                shapely.LineString([(110.1, 35.2), (110.3, 35.2)]),
            ]
        },
        {},
        [],
    ),
}


@pytest.mark.parametrize("code", list(BAD_FILES))
def test_each_problem_from_a_bad_file_and_nothing_is_written(
    code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    reach_columns, county_row, extra = BAD_FILES[code]
    reaches = reaches_gdf(GOOD)
    for column, values in reach_columns.items():
        reaches[column] = values
    counties = COUNTIES.copy()
    for column, value in county_row.items():
        counties.loc[1, column] = value
    reaches.to_file(tmp_path / "reaches.geojson", engine="pyogrio")
    counties = counties.rename(columns={"jurisdiction_id": "adcode"})  # shapefile: 10 chars
    counties.to_file(tmp_path / "counties.shp", engine="pyogrio", encoding="GBK")
    out = tmp_path / "out"
    argv = [
        "network",
        "build",
        "--reaches",
        str(tmp_path / "reaches.geojson"),
        "--jurisdictions",
        str(tmp_path / "counties.shp"),
        "--out",
        str(out),
        *extra,
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"[fatal] {code} " in err, err
    assert "致命问题" in err.splitlines()[-1]
    assert not out.exists()

"""Reading and writing networks and input layers."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from basins.frames import hierarchy_from, jurisdiction_frame, reach_frame, station_frame
from basins.io import read_layer, read_network, write_network
from basins.model import JurisdictionKind, Network
from basins.validate import NetworkValidationError, ValidationReport
from tests.basins.builders import reaches_gdf, square_jurisdictions, write_layer


def _sample_network() -> Network:
    reaches = reach_frame(
        reaches_gdf(
            {"r1": [(112.1234567, 37.5), (112.2, 37.6)], "r2": [(112.2, 37.6), (112.3, 37.7)]},
            downstream=["r2", ""],
            river=["汾河", "汾河"],
            jurisdiction=["140702", "140702"],
            co_jurisdictions=["", "140781,140727"],
            length_m=[1234.5, 2000.0],
            velocity_ms=[0.5, np.nan],
            target_class=[3, 4],
            approximate=[False, True],
        )
    )
    jurisdictions = jurisdiction_frame(
        pd.concat(
            [
                square_jurisdictions(
                    {"140702": (112.0, 37.0, 113.0, 38.0)},
                    names={"140702": "榆次区"},
                    parent=["140700"],
                ),
                gpd.GeoDataFrame(
                    {"jurisdiction_id": ["140700"], "name": ["晋中市"], "kind": ["prefecture"]},
                    geometry=[None],
                    crs="EPSG:4326",
                ),
            ],
            ignore_index=True,
        )
    )
    stations = station_frame(
        gpd.GeoDataFrame(
            {
                "station_id": ["S1"],
                "name": ["汾河·榆次区入境断面"],
                "reach_id": ["r1"],
                "jurisdiction": ["140702"],
                "mn": ["0123456789ABCDEF01234567"],
            },
            geometry=[shapely.Point(112.1234567, 37.5)],
            crs="EPSG:4326",
        )
    )
    return Network(reaches, jurisdictions, stations, hierarchy_from(jurisdictions))


def assert_layers_equal(left: gpd.GeoDataFrame, right: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(
        pd.DataFrame(left.drop(columns="geometry")), pd.DataFrame(right.drop(columns="geometry"))
    )
    a = shapely.normalize(np.asarray(left.geometry.values, dtype=object))
    b = shapely.normalize(np.asarray(right.geometry.values, dtype=object))
    same = shapely.equals_exact(a, b, tolerance=1e-9) | (
        shapely.is_missing(a) & shapely.is_missing(b)
    )
    assert same.all(), (a[~same], b[~same])


def test_network_round_trip_is_equal(tmp_path: Path) -> None:
    network = _sample_network()
    write_network(network, tmp_path)
    once = read_network(tmp_path)
    write_network(once, tmp_path / "again")
    twice = read_network(tmp_path / "again")
    for layer in ("reaches", "jurisdictions", "stations"):
        assert_layers_equal(getattr(once, layer), getattr(twice, layer))
        # attributes survive the first trip exactly; geometry to the 1e-6 degree written
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(network, layer).drop(columns="geometry")),
            pd.DataFrame(getattr(once, layer).drop(columns="geometry")),
        )
    assert once.reaches.geometry.iloc[0].coords[0] == (112.123457, 37.5)
    assert once.hierarchy == network.hierarchy
    assert once.hierarchy.prefecture_of("140702") == "140700"
    assert once.hierarchy.jurisdictions["140700"].kind is JurisdictionKind.PREFECTURE
    assert once.reaches["co_jurisdictions"].iloc[1] == "140781,140727"
    assert once.reaches["approximate"].dtype == bool
    text = (tmp_path / "reaches.geojson").read_text(encoding="utf-8")
    assert "汾河" in text and "112.123457" in text


def test_round_trip_with_no_stations(tmp_path: Path) -> None:
    network = _sample_network()
    empty = Network(
        network.reaches, network.jurisdictions, network.stations.iloc[0:0], network.hierarchy
    )
    write_network(empty, tmp_path)
    back = read_network(tmp_path)
    assert back.stations.empty
    assert list(back.stations.columns) == list(network.stations.columns)


def test_read_network_reports_missing_files_and_unknown_kinds(tmp_path: Path) -> None:
    network = _sample_network()
    bad = network.jurisdictions.copy()
    bad.loc[0, "kind"] = "township"
    write_network(Network(network.reaches, bad, network.stations, network.hierarchy), tmp_path)
    with pytest.raises(NetworkValidationError) as caught:
        read_network(tmp_path)
    assert caught.value.report.codes() == {"kind_unknown"}
    (tmp_path / "stations.geojson").unlink()
    with pytest.raises(NetworkValidationError) as caught:
        read_network(tmp_path)
    assert "file_missing" in caught.value.report.codes()


@pytest.fixture
def gbk_shapefile(tmp_path: Path) -> Path:
    layer = reaches_gdf(
        {"1": [(112.0, 37.0), (112.5, 37.5)], "2": [(112.5, 37.5), (113.0, 37.0)]},
        crs=None,
        NAME=["汾河", "黄河"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no crs": exactly the point
        return write_layer(layer, tmp_path / "arcs.shp", encoding="GBK")


def test_shapefile_without_prj_is_a_problem_not_a_guess(gbk_shapefile: Path) -> None:
    assert not gbk_shapefile.with_suffix(".prj").exists()
    with pytest.raises(NetworkValidationError) as caught:
        read_layer(gbk_shapefile)
    assert caught.value.report.codes() == {"crs_missing"}
    assert "--crs" in str(caught.value)
    report = ValidationReport()
    read_layer(gbk_shapefile, report=report)
    assert report.codes() == {"crs_missing"}


def test_shapefile_with_given_crs_and_cpg(gbk_shapefile: Path) -> None:
    assert gbk_shapefile.with_suffix(".cpg").read_text().strip() == "GBK"
    layer = read_layer(gbk_shapefile, crs="EPSG:4490", id_field="reach_id")
    assert layer.crs.to_epsg() == 4490
    assert layer["NAME"].tolist() == ["汾河", "黄河"]


def test_gbk_without_cpg_needs_encoding(gbk_shapefile: Path) -> None:
    gbk_shapefile.with_suffix(".cpg").unlink()
    report = ValidationReport()
    garbled = read_layer(gbk_shapefile, crs="EPSG:4326", report=report)
    assert garbled["NAME"].tolist() != ["汾河", "黄河"]
    assert report.codes() == {"encoding_guess"} and report.ok
    assert "--encoding GBK" in report.render()
    layer = read_layer(gbk_shapefile, crs="EPSG:4326", encoding="GBK")
    assert layer["NAME"].tolist() == ["汾河", "黄河"]


def test_geopackage_ids_become_strings_and_projected_coordinates_are_kept(tmp_path: Path) -> None:
    layer = reaches_gdf(
        {"a": [(0.0, 0.0), (1000.0, 0.0)], "b": [(1000.0, 0.0), (2000.0, 0.0)]},
        crs="EPSG:32649",
        COMID=[8893864.0, 8893866.0],
    )
    path = write_layer(layer, tmp_path / "layer.gpkg")
    back = read_layer(path, id_field="COMID")
    assert back["COMID"].tolist() == ["8893864", "8893866"]
    assert back.crs.to_epsg() == 32649


def test_geojson_problems_are_collected(tmp_path: Path) -> None:
    layer = reaches_gdf({"a": [(500000.0, 4000000.0), (501000.0, 4000000.0)]}, crs="EPSG:4326")
    path = write_layer(layer, tmp_path / "wrong.geojson")
    report = ValidationReport()
    read_layer(path, id_field="COMID", report=report)
    read_layer(tmp_path / "absent.geojson", report=report)
    read_layer(path, crs="EPSG:99999999", report=report)
    assert report.codes() == {"crs_mismatch", "id_field_missing", "file_missing", "crs_unknown"}
    assert not report.ok
    assert report.render().splitlines()[-1].startswith("4 个致命问题")

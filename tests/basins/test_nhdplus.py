"""Acceptance: links from geometry alone equal NHDPlus's own FromNode/ToNode topology."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from basins.build import BuildOptions, reach_links
from basins.checks import check_dangles
from basins.crs import geodesic_lengths_m, to_lonlat
from basins.io import read_layer
from basins.topology import links_from_nodes
from basins.validate import ValidationReport

SAMPLES = {
    # name: (reaches, reaches with more than one downstream link)
    "walker": (62, 0),
    "new_hope": (746, 85),
    "coastal_example": (572, 7),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_geometry_links_equal_node_links(nhdplus_dir: Path, name: str) -> None:
    layer = read_layer(nhdplus_dir / f"nhdplusv2_{name}.gpkg", id_field="COMID")
    count, divergent = SAMPLES[name]
    assert len(layer) == count
    from_geometry = set(
        reach_links(layer, options=BuildOptions(reach_id_field="COMID", topology="geometry"))
    )
    from_nodes = set(links_from_nodes(layer["COMID"].tolist(), layer["FromNode"], layer["ToNode"]))
    assert from_geometry == from_nodes
    assert sum(1 for n in Counter(a for a, _ in from_geometry).values() if n > 1) == divergent
    # auto picks the attributes and agrees too
    assert set(reach_links(layer, options=BuildOptions(reach_id_field="COMID"))) == from_nodes


@pytest.mark.parametrize("name", list(SAMPLES))
def test_no_dangling_ends_in_the_samples(nhdplus_dir: Path, name: str) -> None:
    layer = to_lonlat(read_layer(nhdplus_dir / f"nhdplusv2_{name}.gpkg", id_field="COMID"))
    ids = layer["COMID"].tolist()
    report = ValidationReport()
    links = links_from_nodes(ids, layer["FromNode"], layer["ToNode"])
    check_dangles(ids, layer.geometry.values, links, report=report, tolerance_m=1.0, search_m=250.0)
    assert report.ok, report.render()


def test_lengths_in_metres_agree_whatever_the_crs(nhdplus_dir: Path) -> None:
    """new_hope arrives in an untagged CONUS Albers; the same lines in EPSG:4326 and 4269
    measure the same, and match NHDPlus LENGTHKM (walker and coastal_example carry
    simplified geometry, so their LENGTHKM is longer than their lines)."""
    albers = read_layer(nhdplus_dir / "nhdplusv2_new_hope.gpkg", id_field="COMID")
    assert albers.crs.to_epsg() is None and albers.crs.is_projected
    lengths = {
        label: geodesic_lengths_m(to_lonlat(layer).geometry.values)
        for label, layer in (
            ("albers", albers),
            ("4326", albers.to_crs("EPSG:4326")),
            ("4269", albers.to_crs("EPSG:4269")),
        )
    }
    for label in ("4326", "4269"):
        np.testing.assert_allclose(lengths[label], lengths["albers"], rtol=0.005)
    expected = albers["LENGTHKM"].to_numpy() * 1000
    assert np.sum(lengths["albers"]) == pytest.approx(np.sum(expected), rel=0.005)
    # and planar metres in the equal-area projection itself are close, as a sanity check
    assert np.sum(albers.length) == pytest.approx(np.sum(expected), rel=0.01)


def test_cli_edges_prints_the_sample_links(
    nhdplus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nhdplus_dir / "nhdplusv2_new_hope.gpkg"
    argv = [
        "network",
        "edges",
        "--reaches",
        str(path),
        "--reach-id-field",
        "COMID",
        "--topology",
        "geometry",
    ]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "from_id,to_id"
    layer = read_layer(path, id_field="COMID")
    expected = set(links_from_nodes(layer["COMID"].tolist(), layer["FromNode"], layer["ToNode"]))
    assert {tuple(line.split(",")) for line in lines[1:]} == expected
    assert len(lines) - 1 == len(expected) == 831

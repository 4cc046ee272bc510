"""Snapping points to reaches: nearest reach, metres, offset to the downstream end, limits."""

from __future__ import annotations

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import LineString

from basins.model import Network
from basins.snap import Snapper, SnapTooFarError, snap_point
from tests.basins.trace_support import R, hierarchy, index_via_network

GEOD = Geod(ellps="WGS84")


def _network() -> Network:
    """Two reaches along the 37.8°N parallel near 太原, drawn west (upstream) to east."""
    lines = [
        LineString([(112.40, 37.80), (112.50, 37.80)]),
        LineString([(112.50, 37.80), (112.60, 37.80)]),
    ]
    lengths = [GEOD.geometry_length(line) for line in lines]
    frame = gpd.GeoDataFrame(
        {
            "reach_id": ["up", "down"],
            "length_m": lengths,
            "geometry": lines,
        },
        geometry="geometry",
        crs="EPSG:4326",
    )
    empty = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    return Network(frame, empty, empty, hierarchy({}))


def test_snaps_to_the_nearest_reach_with_metres_and_offset() -> None:
    network = _network()
    lon, lat = 112.47, 37.801
    snap = snap_point(network, lon, lat, max_distance_m=500)
    assert snap.reach_id == "up"
    _, _, across = GEOD.inv(lon, lat, lon, 37.80)
    assert snap.distance_m == pytest.approx(across, rel=0.01)
    _, _, left = GEOD.inv(lon, 37.80, 112.50, 37.80)
    assert snap.offset_m_to_downstream_end == pytest.approx(left, rel=0.01)


def test_too_far_says_which_reach_is_nearest_and_how_far() -> None:
    with pytest.raises(SnapTooFarError, match="down") as caught:
        snap_point(_network(), 112.58, 37.85, max_distance_m=1000)
    assert caught.value.nearest == "down"
    assert caught.value.distance_m == pytest.approx(5550, rel=0.02)
    assert "5.5" in str(caught.value) and "1.00 km" in str(caught.value)


def test_snapper_reused_and_index_with_geometry() -> None:
    snapper = Snapper.of(_network())
    assert snap_point(snapper, 112.55, 37.80, max_distance_m=10).reach_id == "down"
    index = index_via_network([R("a", [], 900.0, "A")], hierarchy({}))
    snap = snap_point(index, 100.0045, 30.0, max_distance_m=50)
    assert snap.reach_id == "a" and snap.distance_m < 1
    assert snap.offset_m_to_downstream_end == pytest.approx(450, rel=0.02)


def test_bad_coordinates_are_reported_together() -> None:
    with pytest.raises(ValueError, match="longitude") as caught:
        snap_point(_network(), 200.0, 95.0, max_distance_m=-1)
    assert "latitude" in str(caught.value) and "max_distance_m" in str(caught.value)

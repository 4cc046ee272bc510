"""Fixtures for the basins tests: paths into the reference data (skipped where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def nhdplus_dir(shared_data: Path) -> Path:
    return shared_data / "nhdplus"


@pytest.fixture(scope="session")
def ngcc_arcs(shared_data: Path) -> Path:
    """NGCC 1:4M level-2 river arcs (shapefile without .prj, GBK)."""
    return shared_data / "rivers" / "ngcc4m_hyd2_4l.shp"


@pytest.fixture(scope="session")
def county_subset(shared_data: Path) -> Path:
    return shared_data / "boundaries" / "changji_urumqi_xpcc_shanxi_counties.geojson"

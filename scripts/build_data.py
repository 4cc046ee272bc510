"""Rebuild data/ from the reference data in ../shared/data (`make data`).

1. Source layers into data/sources/: jurisdictions (real county polygons, simplified as a
   coverage, plus drawn parks and XPCC units) and reaches (汾河/黄河 from NGCC and the
   province border; schematic 昌吉 rivers).
2. The network: basins.build.build_network orients the arcs from the outlets, splits reaches
   by jurisdiction, finds boundary reaches and places stations; basins.io.write_network
   writes data/reaches.geojson, data/jurisdictions.geojson, data/stations.geojson.
3. Tables: data/bureaus.csv and data/standards/*.

Not needed at run time: the product reads only what this script wrote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # basins, when run as `python scripts/build_data.py`

from data_changji import COURSES, changji_reaches  # noqa: E402
from data_fenhe import SANMENXIA_DAM, fenhe_reaches  # noqa: E402
from data_jurisdictions import build_jurisdictions  # noqa: E402
from data_tables import copy_gb3838, write_bureaus, write_hj212_codes  # noqa: E402

from basins.build import BuildOptions, build_network  # noqa: E402
from basins.io import write_network  # noqa: E402
from basins.model import Network  # noqa: E402
from basins.validate import NetworkValidationError  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared" / "data"
SOURCE_OPTIONS = {"COORDINATE_PRECISION": 6, "RFC7946": "YES", "WRITE_NAME": "NO"}


def write_source(frame: gpd.GeoDataFrame, target: Path) -> None:
    """A source layer as RFC 7946 GeoJSON, replaced whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    pyogrio.write_dataframe(frame, temporary, driver="GeoJSON", layer_options=SOURCE_OPTIONS)
    temporary.replace(target)


def _outlets(reaches: gpd.GeoDataFrame) -> tuple[tuple[float, float], ...]:
    """三门峡 for the 汾河/黄河, and the last vertex of each schematic river's last reach."""
    terminal = {c.reach_id for c in COURSES if not c.downstream}
    ends = [
        (float(g.coords[-1][0]), float(g.coords[-1][1]))
        for rid, g in zip(reaches["reach_id"], reaches.geometry, strict=True)
        if rid in terminal
    ]
    return tuple(ends) if ends else (SANMENXIA_DAM,)


def build_basins(basins: list[gpd.GeoDataFrame], jurisdictions: gpd.GeoDataFrame) -> Network:
    """One network from basins built one at a time.

    Each basin is built on its own so that the build's local metric projection (centred on
    the reaches) is centred on that basin: 汾河 and 昌吉 lie 2,500 km apart, and one
    projection for both would stretch the metre tolerances by about 1% at either end.
    """
    networks = [
        build_network(
            reaches,
            jurisdictions,
            options=BuildOptions(topology="geometry", outlets=_outlets(reaches)),
        )
        for reaches in basins
    ]
    first = networks[0]
    return Network(
        reaches=_stack([n.reaches for n in networks]),
        jurisdictions=first.jurisdictions,
        stations=_stack([n.stations for n in networks]),
        hierarchy=first.hierarchy,
    )


def _stack(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def build(shared: Path, out: Path) -> Network:
    """Write every file of data/ and return the network that was written."""
    jurisdictions = build_jurisdictions(shared)
    fenhe = fenhe_reaches(shared, jurisdictions)
    changji = changji_reaches(jurisdictions)
    sources = out / "sources"
    write_source(jurisdictions, sources / "jurisdictions.geojson")
    write_source(fenhe, sources / "reaches_fenhe.geojson")
    write_source(changji, sources / "reaches_changji.geojson")
    network = build_basins([fenhe, changji], jurisdictions)
    write_network(network, out)
    write_bureaus(jurisdictions, out / "bureaus.csv")
    copy_gb3838(shared, out / "standards" / "gb3838_2002_limits.csv")
    write_hj212_codes(out / "standards" / "hj212_codes.csv")
    return network


def summary(network: Network) -> str:
    reaches = network.reaches
    lines = []
    for basin, group in reaches.groupby("basin"):
        boundary = int((group["co_jurisdictions"] != "").sum())
        stations = network.stations["reach_id"].isin(group["reach_id"]).sum()
        lines.append(
            f"{basin}: {len(group)} reaches ({boundary} boundary), {stations} stations, "
            f"{group['length_m'].sum() / 1000:.0f} km"
        )
    lines.append(f"jurisdictions: {len(network.jurisdictions)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="../shared/data")
    parser.add_argument("--out", type=Path, default=ROOT / "data", help="output directory")
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        print(f"找不到参考数据 / reference data not found: {args.shared}", file=sys.stderr)
        return 2
    try:
        network = build(args.shared, args.out)
    except (NetworkValidationError, ValueError) as exc:
        print(f"数据构建失败 / data build failed: {exc}", file=sys.stderr)
        return 1
    print(summary(network))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

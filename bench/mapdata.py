"""Map data: size and time of the reaches layer per zoom level, for 10^4 and 10^5 reaches.

    python -m bench --only mapdata --map-sizes 10000,100000

The network is the one tests/api/test_web_perf.py generates (wiggly 12-vertex reaches in a
6 x 4 degree box), written as a network directory and read with ``basins.io.read_network``;
the layer comes from the web router's own endpoint ``/web/api/layers/reaches?zoom=Z`` (in
process, through the ASGI stack). "First" is the first request for a zoom (simplified then and
kept), "again" a later one. The baseline is the unsimplified layer (the GeoJSON file itself).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import Figure, Options, Section

ZOOMS = (6, 8, 10, 12, 14)
TIME_TARGET_MS, SIZE_TARGET_MB = 300.0, 5.0
TARGET_SIZE = 10_000


def write_network(directory: Path, reaches: int, *, seed: int) -> Path:
    """The test suite's generated network (its generator, imported), ``reaches`` long."""
    from tests.api.test_web_perf import _feature, _jurisdiction, _reach

    rng = random.Random(seed)
    layers = {
        "reaches": [_reach(i, rng) for i in range(reaches)],
        "jurisdictions": [_jurisdiction(j) for j in range(100)],
        "stations": [
            _feature({"station_id": f"S{k}", "name": f"断面{k}", "reach_id": f"g{k * 20}",
                      "jurisdiction": f"J{k % 100:02d}", "mn": ""},
                     {"type": "Point", "coordinates": [80.1 + (k % 50) * 0.1, 42.1]})
            for k in range(min(500, reaches // 20))
        ],
    }  # fmt: skip
    for name, features in layers.items():
        body = {"type": "FeatureCollection", "features": features}
        (directory / f"{name}.geojson").write_text(json.dumps(body, ensure_ascii=False))
    return directory


def _client(directory: Path) -> Any:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.web import web_router
    from basins.io import read_network
    from notifier.settings import Settings

    network = read_network(directory)
    app = FastAPI()
    settings = Settings(network_dir=directory, database_url=f"sqlite:///{directory / 'x.db'}")
    app.include_router(web_router(settings, network_provider=lambda: network))
    return TestClient(app)


def _get(client: Any, zoom: int) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.get("/web/api/layers/reaches", params={"zoom": zoom})
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed, len(answer.content)


def measure(reaches: int, *, seed: int) -> tuple[int, list[tuple[int, float, float, int]]]:
    """(raw file bytes, [(zoom, first ms, again ms, bytes)])."""
    with tempfile.TemporaryDirectory(prefix="rivernotify-map-") as name:
        directory = write_network(Path(name), reaches, seed=seed)
        raw = (directory / "reaches.geojson").stat().st_size
        rows = []
        with _client(directory) as client:
            for zoom in ZOOMS:
                first, size = _get(client, zoom)
                again = min(_get(client, zoom)[0] for _ in range(3))
                rows.append((zoom, first, again, size))
    return raw, rows


def run(options: Options) -> Section:
    section = Section("map data: reaches layer per zoom (/web/api/layers/reaches)")
    for reaches in options.map_sizes:
        raw, rows = measure(reaches, seed=options.seed)
        checked = reaches == TARGET_SIZE
        for zoom, first, again, size in rows:
            mb = size / 1e6
            label = f"{reaches:,} reaches, zoom {zoom}"
            section.figures += [
                Figure(f"{label}: first request", first, "ms",
                       f"< {TIME_TARGET_MS:g} ms" if checked else "",
                       bool(first < TIME_TARGET_MS) if checked else None),
                Figure(f"{label}: again (kept)", again, "ms"),
                Figure(f"{label}: size", mb, "MB", f"< {SIZE_TARGET_MB:g} MB" if checked else "",
                       bool(mb < SIZE_TARGET_MB) if checked else None,
                       f"unsimplified file {raw / 1e6:.1f} MB", raw / size),
            ]  # fmt: skip
    section.notes.append(
        "the size ratio is the unsimplified GeoJSON file over the layer served at that zoom"
    )
    return section

"""Maps drawn from the shipped network, and the worker attaching them (drawn once per bureau)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shapely.geometry import LineString, Point, box
from sqlalchemy import Engine

from basins.io import read_network
from notifier.delivery.build import render_options
from notifier.delivery.context import MapGeometry
from notifier.delivery.embedded import running_delivery
from notifier.delivery.mapimage import (
    AREA_FILL,
    ORIGIN,
    PALETTE,
    PATH_LINE,
    MapPainter,
    _encode,
    render_map_png,
)
from notifier.delivery.maps import NetworkMaps, network_maps
from notifier.delivery.worker import Worker
from notifier.incidents.models import Incident
from notifier.settings import Settings
from tests.fixtures.smtp import SmtpServer
from tests.notifier.delivery.seed import T0, add_outbox, outbox_rows, seed_incident


@pytest.fixture(scope="module")
def maps(data_dir: Path) -> NetworkMaps:
    if not (data_dir / "reaches.geojson").is_file():
        pytest.skip(f"no network in {data_dir}")
    return NetworkMaps(read_network(data_dir))


def fenhe_incident(maps: NetworkMaps) -> Incident:
    fenhe = sorted(r for r in maps.reaches if r.startswith("fenhe-"))
    return Incident(origin_reach_id=fenhe[0], affected_reaches=fenhe[:6])


def test_map_of_a_prefecture_without_its_own_polygon(maps: NetworkMaps) -> None:
    geometry = maps(fenhe_incident(maps), None, "140100")  # 太原市: the union of its districts
    assert geometry is not None
    assert geometry.recipient_area is not None and not geometry.recipient_area.is_empty
    assert len(geometry.path) == 6
    assert geometry.origin.geom_type == "Point"
    with Image.open(io.BytesIO(render_map_png(geometry))) as picture:
        assert picture.size == (480, 320)


def test_unknown_reach_and_no_point_give_no_map(maps: NetworkMaps) -> None:
    assert maps(Incident(origin_reach_id="nowhere", affected_reaches=[]), None, "140100") is None


def test_missing_network_means_no_maps_not_an_error(tmp_path: Path) -> None:
    assert network_maps(Settings(network_dir=tmp_path)) is None


def test_the_worker_attaches_one_map_per_recipient_bureau(
    db: Engine, smtp_server: SmtpServer
) -> None:
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))
    add_outbox(db, seeded, count=3)
    calls: list[str] = []

    def geometry(incident: Incident, report: object, recipient: str) -> MapGeometry:
        calls.append(recipient)
        return MapGeometry(
            origin=Point(112.56, 37.71),
            path=(LineString([(112.56, 37.71), (112.7, 37.6)]),),
            recipient_area=box(112.6, 37.3, 113.1, 37.68),
        )

    settings = Settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    worker = Worker(db, settings, render_options(settings, geometry=geometry), clock=lambda: T0)
    assert asyncio.run(worker.tick()).sent == 3
    assert len(calls) == 3 and len(worker.builder.map_cache) == 1
    for mail in smtp_server.wait_for(3):
        image = [p for p in mail.message.walk() if p.get_content_type() == "image/png"]
        assert len(image) == 1 and image[0]["Content-ID"]


def test_embedded_delivery_starts_the_sink_and_the_worker(db: Engine, tmp_path: Path) -> None:
    seeded = seed_incident(db, deadline=datetime.now(UTC) + timedelta(days=1))
    ids = add_outbox(db, seeded, count=2, due=datetime.now(UTC) - timedelta(seconds=1))
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        network_dir=tmp_path / "no-network",
        worker_poll_s=0.05,
    )

    async def main() -> list[str]:
        async with running_delivery(settings, mail_dir=tmp_path / "mail") as delivery:
            assert delivery.sink is not None
            assert delivery.settings.smtp_port == delivery.sink.port
            for _ in range(200):
                if len(delivery.sink.messages()) >= 2:
                    break
                await asyncio.sleep(0.05)
            return [str(m.parsed()["Message-ID"]) for m in delivery.sink.messages()]

    received = asyncio.run(asyncio.wait_for(main(), timeout=30))
    assert sorted(received) == sorted(ids)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2
    assert {r.status for r in outbox_rows(db)} == {"sent"}


def test_the_png_encoder_reads_back_pixel_for_pixel() -> None:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, len(PALETTE), size=(5, 9), dtype=np.uint8)  # odd width
    image = Image.fromarray(pixels, "P")
    with Image.open(io.BytesIO(_encode(image))) as back:
        assert back.mode == "P" and back.size == (9, 5)
        assert np.array_equal(np.asarray(back), pixels)
        assert (back.getpalette() or [])[: 3 * len(PALETTE)] == [c for rgb in PALETTE for c in rgb]


def _colours(png: bytes) -> set[object]:
    with Image.open(io.BytesIO(png)) as picture:
        return {c for _, c in picture.convert("RGB").getcolors(maxcolors=100_000) or []}


def test_recipients_of_an_incident_share_its_frame_and_base() -> None:
    path = (LineString([(112.56, 37.71), (112.7, 37.6)]),)
    painter = MapPainter()
    east = MapGeometry(
        origin=Point(112.56, 37.71), path=path, recipient_area=box(112.6, 37.5, 113, 37.7)
    )
    west = MapGeometry(
        origin=Point(112.56, 37.71), path=path, recipient_area=box(112.3, 37.6, 112.6, 37.8)
    )
    first, second = painter.png(east, key=1), painter.png(west, key=1)
    assert len(painter.bases) == 1 and first != second
    assert first == render_map_png(east)  # the same picture as drawn alone
    assert {AREA_FILL, PATH_LINE, ORIGIN} <= _colours(first)
    longer = MapGeometry(
        origin=east.origin, path=(*path, LineString([(112.7, 37.6), (112.9, 37.5)]))
    )
    painter.png(longer, key=1)
    assert painter.bases[1].path == longer.path  # a widened incident gets a new base


def test_an_area_outside_the_path_frame_gets_a_frame_of_its_own() -> None:
    far = MapGeometry(origin=Point(112.56, 37.71), recipient_area=box(114, 38, 114.5, 38.5))
    assert AREA_FILL in _colours(MapPainter().png(far, key=1))

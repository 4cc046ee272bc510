"""End to end in headless Chromium: sign-in, the map, a report, acknowledgement, live update."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fixtures.browser import BrowserPage, WebSite, sign_in

ROOT = Path(__file__).resolve().parents[2]


def shipped_counts() -> dict[str, int]:
    """Features with a geometry in each layer of data/ (what the map draws)."""
    counts = {}
    for layer in ("reaches", "jurisdictions", "stations"):
        features = json.loads((ROOT / "data" / f"{layer}.geojson").read_text())["features"]
        counts[layer] = sum(1 for f in features if f["geometry"] is not None)
    return counts


def wait_network(page: Any) -> None:
    page.wait_for_selector("body[data-network='drawn']", timeout=20_000)


def test_supervisor_signs_in_and_sees_the_network(web_site: WebSite, open_page: Any) -> None:
    desk: BrowserPage = open_page()
    sign_in(desk.page, web_site.url, "changji")
    assert desk.page.url.endswith("/map")
    wait_network(desk.page)
    counts = desk.page.evaluate(
        "() => ({reaches: rivernotify.network.reaches.size,"
        " jurisdictions: rivernotify.network.jurisdictions.size,"
        " stations: rivernotify.network.stations.size})"
    )
    assert counts == shipped_counts()
    assert desk.outside == []
    assert desk.errors == []
    desk.page.screenshot(path="/tmp/webtry/map0.png")

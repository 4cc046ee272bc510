"""End to end in headless Chromium: sign-in, the map, a report, acknowledgement, live update."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.fixtures.browser import BrowserPage, WebSite, sign_in

ROOT = Path(__file__).resolve().parents[2]
#: The README's picture; refresh with RIVERNOTIFY_UPDATE_SCREENSHOT=1 (this test module)
SCREENSHOT = ROOT / "docs" / "screenshot-map.png"
SHANGHAI = ZoneInfo("Asia/Shanghai")


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


ACKNOWLEDGED_COLOUR = "#16a34a"


def jurisdiction_look(page: Any, jurisdiction_id: str) -> dict[str, Any]:
    """How the map draws a jurisdiction right now (its Leaflet layer's style)."""
    return dict(
        page.evaluate(
            """(jid) => {
                const layer = rivernotify.network.jurisdictions.get(jid);
                return {fill: layer ? layer.options.fillColor : null,
                        status: rivernotify.overlay.statusOf(jid)};
            }""",
            jurisdiction_id,
        )
    )


def submit_report(web_site: WebSite, *, reach_id: str = "htb-3") -> dict[str, Any]:
    """A report through the API, as the origin county's bureau would send it."""
    observed = datetime.now(UTC).replace(microsecond=0)
    answer: dict[str, Any] = web_site.api(
        "POST",
        "/api/v1/reports",
        username="hutubi",
        json={
            "reach_id": reach_id,
            "observed_at": observed.isoformat(),
            "measurements": [{"code": "w21003", "value": 6.5, "unit": "mg/L", "flag": "N"}],
            "direction": "source",
            "note": "岸边发现排污口 / outfall found",
        },
    )
    assert answer["incident_id"] is not None, answer
    return answer


def test_report_acknowledge_and_live_map(web_site: WebSite, open_page: Any, tmp_path: Path) -> None:
    supervisor: BrowserPage = open_page()
    sign_in(supervisor.page, web_site.url, "changji")
    wait_network(supervisor.page)
    page = supervisor.page
    page.evaluate("() => { window.__sameDocument = true; }")
    page.get_by_text("暂无进行中的事件").wait_for()

    answer = submit_report(web_site)
    incident_id = answer["incident_id"]
    notices = {n["jurisdiction_id"]: n for n in answer["notices"]}
    assert "660601" in notices, notices  # 芳草湖农场 lies downstream on 呼图壁河

    # The incident appears by itself, selected, with its path and its notified jurisdictions.
    page.get_by_role("button", name=f"事件 {incident_id} · 呼图壁河", exact=False).wait_for()
    page.locator("#notice-table tr[data-jurisdiction='660601']").wait_for()
    detail = web_site.api("GET", f"/api/v1/incidents/{incident_id}", username="changji")
    path_drawn = page.evaluate("() => rivernotify.overlay.pathGroup.getLayers().length")
    assert path_drawn == len(detail["affected_reaches"]) > 0
    assert page.locator(".origin-marker").is_visible()
    drawn = set(page.evaluate("() => [...rivernotify.network.jurisdictions.keys()]"))
    on_map = [jid for jid in notices if jid in drawn]  # prefectures have no polygon of their own
    assert "660601" in on_map
    for jid in on_map:
        look = jurisdiction_look(page, jid)
        assert look["status"] == notices[jid]["status"], jid
        assert look["fill"] not in (None, ACKNOWLEDGED_COLOUR), jid
    # Hovering the jurisdiction shows its status and estimated arrival. The point is found
    # again on each try: the map may still be moving to the selected incident.
    tooltip = page.locator(".leaflet-tooltip")
    for attempt in range(5):
        x, y = page.evaluate(
            """(jid) => {
                const map = rivernotify.map;
                const b = rivernotify.network.jurisdictions.get(jid).getBounds();
                const west = b.getWest(), width = b.getEast() - b.getWest();
                const inside = [b.getCenter().lat, west + 0.15 * width];
                const p = map.latLngToContainerPoint(inside);  // beside the river, not on it
                const box = map.getContainer().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            "660601",
        )
        page.mouse.move(x, y)
        try:
            tooltip.wait_for(timeout=3000)
            break
        except PlaywrightTimeoutError:
            if attempt == 4:
                raise
            page.mouse.move(5, 5)
    assert "芳草湖农场" in tooltip.inner_text()
    assert "预计到达" in tooltip.inner_text()
    page.mouse.move(5, 5)
    # Times are Beijing time although the browser runs in UTC.
    opened = datetime.fromisoformat(detail["opened_at"]).astimezone(SHANGHAI)
    assert opened.strftime("%Y-%m-%d %H:%M") in page.locator("#incident").inner_text()

    # The downstream bureau signs in at its own desk and acknowledges from its inbox.
    bureau: BrowserPage = open_page()
    sign_in(bureau.page, web_site.url, "fangcaohu")
    assert bureau.page.url.endswith("/inbox")
    card = bureau.page.locator(f"li.notice-card[data-notice='{notices['660601']['id']}']")
    card.get_by_role("button", name="确认收到").click()
    bureau.page.get_by_text("没有待确认的通报").wait_for()

    # The supervisor's map turns 芳草湖农场 to acknowledged without a reload.
    page.wait_for_function(
        "(jid) => rivernotify.overlay.statusOf(jid) === 'acknowledged'", arg="660601"
    )
    assert jurisdiction_look(page, "660601") == {
        "fill": ACKNOWLEDGED_COLOUR,
        "status": "acknowledged",
    }
    row = page.locator("#notice-table tr[data-jurisdiction='660601']")
    assert row.get_attribute("data-status") == "acknowledged"
    assert "已确认" in row.inner_text()
    assert page.evaluate("() => window.__sameDocument") is True
    page.wait_for_timeout(300)
    shot = tmp_path / "map.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 50_000  # a drawn map, not a blank page
    if os.environ.get("RIVERNOTIFY_UPDATE_SCREENSHOT") or not SCREENSHOT.exists():
        shutil.copy(shot, SCREENSHOT)
    for desk in (supervisor, bureau):
        assert desk.outside == []
        assert desk.errors == []

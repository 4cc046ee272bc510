"""The pages in headless Chromium: language switch, keyboard, roles' actions, inbox follow-ups,
statistics with CSV, the sent-mail view, a tablet-sized screen."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.api.test_web_e2e import submit_report, wait_network
from tests.fixtures.browser import PASSWORD, BrowserPage, WebSite, sign_in


def test_pages_need_a_session(web_site: WebSite, open_page: Any) -> None:
    desk: BrowserPage = open_page()
    for path in ("/map", "/inbox", "/stats", "/mail"):
        desk.page.goto(f"{web_site.url}{path}")
        desk.page.wait_for_url(re.compile(r"/\?next="))
        assert desk.page.get_by_label("用户名").is_visible()


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(
    web_site: WebSite, open_page: Any
) -> None:
    for next_path, landing in (("/stats", "/stats"), ("//example.com/x", "/map"), ("/\\x", "/map")):
        desk: BrowserPage = open_page()
        page = desk.page
        page.goto(f"{web_site.url}/?next={quote(next_path)}")
        page.get_by_label("用户名").fill("changji")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(f"{web_site.url}{landing}")
        assert desk.outside == []


def test_wrong_password_is_said_clearly(web_site: WebSite, open_page: Any) -> None:
    desk: BrowserPage = open_page()
    page = desk.page
    page.goto(f"{web_site.url}/")
    page.get_by_label("用户名").fill("changji")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录", exact=True).click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "用户名或密码错误" in alert.inner_text()
    assert page.evaluate("() => sessionStorage.getItem('rn.token')") is None


def test_sign_in_by_keyboard_with_visible_focus(web_site: WebSite, open_page: Any) -> None:
    desk: BrowserPage = open_page()
    page = desk.page
    page.goto(f"{web_site.url}/")
    assert page.evaluate("() => document.activeElement.id") == "username"  # autofocus
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.type("changji")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/map$"))
    assert outline == "solid"
    wait_network(page)
    page.keyboard.press("Tab")  # the skip link comes first on every page
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    token = page.evaluate("() => sessionStorage.getItem('rn.token')")
    assert token and page.evaluate("() => localStorage.getItem('rn.token')") is None


def test_english_switch(web_site: WebSite, open_page: Any) -> None:
    desk: BrowserPage = open_page()
    page = desk.page
    sign_in(page, web_site.url, "changji")
    wait_network(page)
    assert page.get_by_role("heading", name="进行中的事件").is_visible()
    page.get_by_role("button", name="切换到英文界面").click()
    page.get_by_role("heading", name="Open incidents").wait_for()
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert page.locator("#basin option[value='fenhe']").inner_text() == "Fen River"
    assert page.title().startswith("Map")
    page.reload()
    page.get_by_role("heading", name="Open incidents").wait_for()
    page.get_by_role("button", name="Switch to Chinese").click()
    page.get_by_role("heading", name="进行中的事件").wait_for()
    assert desk.errors == []


def test_basin_selector_zooms_to_the_basin(web_site: WebSite, open_page: Any) -> None:
    desk: BrowserPage = open_page()
    page = desk.page
    sign_in(page, web_site.url, "changji")
    wait_network(page)
    page.get_by_label("流域").select_option("fenhe")
    page.wait_for_function(
        "() => { const c = rivernotify.map.getCenter(); return c.lng > 110 && c.lng < 113; }"
    )
    center = page.evaluate("() => rivernotify.map.getCenter()")
    assert 34 < center["lat"] < 39  # 汾河 runs through 山西


def test_supervisor_actions_and_bureau_follow_up(web_site: WebSite, open_page: Any) -> None:
    supervisor: BrowserPage = open_page()
    page = supervisor.page
    sign_in(page, web_site.url, "changji")
    wait_network(page)
    incident_id = submit_report(web_site)["incident_id"]
    page.locator("#notice-table").wait_for()

    # Grade
    page.get_by_label("事件等级").select_option("III")
    page.get_by_role("button", name="设定等级").click()
    page.get_by_role("button", name=re.compile(f"事件 {incident_id} .*等级 III")).wait_for()
    detail = web_site.api("GET", f"/api/v1/incidents/{incident_id}", username="changji")
    assert detail["grade"] == "III"

    # A follow-up from the downstream bureau's inbox shows in the supervisor's timeline.
    bureau: BrowserPage = open_page()
    sign_in(bureau.page, web_site.url, "fangcaohu")
    bureau.page.get_by_label("续报内容").first.fill("下游取水口已关闭")
    bureau.page.get_by_role("button", name="提交续报").first.click()
    page.locator(".timeline li", has_text="下游取水口已关闭").wait_for()

    # A drill on a reach picked on the map's form, then closing the real incident.
    drill_reach = page.get_by_label("演练河段编号（可点击地图上的河段）")
    page.evaluate(
        "() => { rivernotify.map.setView(rivernotify.network.reachMiddle('htb-1'), 10,"
        " {animate: false}); }"
    )
    page.wait_for_timeout(200)
    page.wait_for_function("() => !rivernotify.network.reloading")
    x, y = page.evaluate(
        """() => {
            const map = rivernotify.map;
            const p = map.latLngToContainerPoint(rivernotify.network.reachMiddle('htb-1'));
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }"""
    )
    page.mouse.click(x, y)  # picking the reach on the map fills in the form
    assert drill_reach.input_value() == "htb-1"
    page.get_by_role("button", name="发起演练").click()
    page.get_by_role("button", name=re.compile(r"演练")).first.wait_for()
    page.get_by_role("button", name=re.compile(f"事件 {incident_id} ")).click()
    page.get_by_role("button", name="结案").click()
    page.wait_for_function(
        "(id) => !rivernotify.state.incidents.some((i) => i.id === id)", arg=incident_id
    )
    closed = web_site.api("GET", f"/api/v1/incidents/{incident_id}", username="changji")
    assert closed["status"] == "closed"
    assert supervisor.errors == [] and bureau.errors == []


def test_bureau_sees_no_supervisor_actions(web_site: WebSite, open_page: Any) -> None:
    submit_report(web_site)
    desk: BrowserPage = open_page()
    page = desk.page
    sign_in(page, web_site.url, "fangcaohu")
    page.goto(f"{web_site.url}/map")
    wait_network(page)
    page.locator("#notice-table").wait_for()
    page.get_by_role("button", name="确认收到").wait_for()
    assert page.get_by_role("button", name="结案").count() == 0
    assert page.get_by_role("button", name="发起演练").count() == 0
    assert page.locator('nav a[href="/mail"]').is_hidden()
    page.get_by_role("button", name="确认收到").click()
    page.get_by_text("已确认", exact=True).first.wait_for()


def test_stats_charts_and_csv(web_site: WebSite, open_page: Any, tmp_path: Path) -> None:
    answer = submit_report(web_site)
    notice = next(n for n in answer["notices"] if n["jurisdiction_id"] == "660601")
    web_site.api("POST", f"/api/v1/notices/{notice['id']}/ack", username="fangcaohu", json={})
    desk: BrowserPage = open_page(accept_downloads=True)
    page = desk.page
    sign_in(page, web_site.url, "admin")  # 芳草湖农场 is XPCC, outside 昌吉州's subtree
    page.goto(f"{web_site.url}/stats")
    page.wait_for_selector("body[data-loaded='stats']")
    assert page.locator("#per-month svg rect.bar").count() >= 1
    assert page.locator("#ack-time svg rect.bar").count() >= 1
    assert "芳草湖" in page.locator("#ack-time svg").inner_html()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载 CSV").click()
    target = tmp_path / "stats.csv"
    download_info.value.save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].count(",") >= 3
    assert desk.errors == []


def test_mail_page_shows_the_sink(web_site: WebSite, open_page: Any, tmp_path: Path) -> None:
    from notifier.delivery.sink import MailSink

    sink = MailSink(directory=tmp_path / "mail")
    sink.start()
    web_site.app.state.mail_sink = sink
    try:
        message = EmailMessage()
        message["Subject"] = "【跨界水污染通报】呼图壁河"
        message["From"] = "noreply@rivernotify.example"
        message["To"] = "duty@660601.bureau.example"
        message["Message-ID"] = "<web-mail-1@rivernotify.example>"
        message.set_content("芳草湖农场环境保护办公室：请确认收到。")
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.send_message(message)
        desk: BrowserPage = open_page()
        sign_in(desk.page, web_site.url, "changji")
        desk.page.goto(f"{web_site.url}/mail")
        item = desk.page.locator("#mail li", has_text="【跨界水污染通报】呼图壁河")
        item.wait_for()
        item.locator("summary").click()
        assert "请确认收到" in item.inner_text()
    finally:
        sink.stop()
    assert desk.errors == []


def test_tablet_layout(web_site: WebSite, open_page: Any) -> None:
    submit_report(web_site)
    desk: BrowserPage = open_page(viewport={"width": 768, "height": 1024}, has_touch=True)
    page = desk.page
    sign_in(page, web_site.url, "changji")
    wait_network(page)
    page.locator("#notice-table").wait_for()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    map_box = page.locator("#map").bounding_box()
    panel_box = page.locator(".side-panel").bounding_box()
    assert map_box and panel_box
    assert panel_box["y"] >= map_box["y"] + map_box["height"] - 1  # the panel sits below
    assert map_box["height"] > 400


def test_zooming_in_reloads_finer_layers_and_keeps_the_incident(
    web_site: WebSite, open_page: Any
) -> None:
    answer = submit_report(web_site)
    desk: BrowserPage = open_page()
    page = desk.page
    sign_in(page, web_site.url, "changji")
    wait_network(page)
    page.locator("#notice-table").wait_for()
    page.wait_for_timeout(500)  # zoomed to the incident; layers reloaded for that zoom
    page.wait_for_function("() => !rivernotify.network.reloading")
    before = page.evaluate("() => [rivernotify.map.getZoom(), rivernotify.network.loadedZoom]")
    path = page.evaluate("() => rivernotify.overlay.pathGroup.getLayers().length")
    page.locator("#map").focus()
    for _ in range(3):  # the keyboard zooms the map (Leaflet's + key)
        page.keyboard.press("Equal")
        page.wait_for_timeout(300)
    assert page.evaluate("() => rivernotify.map.getZoom()") > before[0]
    page.wait_for_function(f"() => rivernotify.network.loadedZoom > {before[1]}")
    page.wait_for_timeout(300)
    status = next(n["status"] for n in answer["notices"] if n["jurisdiction_id"] == "660601")
    look = page.evaluate(
        "() => { const l = rivernotify.network.jurisdictions.get('660601');"
        " return [l.options.fillColor, l.options.fillOpacity]; }"
    )
    colours = {"pending": "#60a5fa", "sent": "#2563eb"}
    assert look == [colours[status], 0.55]
    assert page.evaluate("() => rivernotify.overlay.pathGroup.getLayers().length") == path
    assert desk.errors == []


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
    .filter((el) => el.offsetParent !== null || el.closest('.leaflet-control'))
    .filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label')
                      || el.getAttribute('title') || el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 120))"""


def test_every_control_has_a_name(web_site: WebSite, open_page: Any) -> None:
    submit_report(web_site)
    for username, paths in (
        ("changji", ["/map", "/stats", "/mail"]),
        ("fangcaohu", ["/inbox", "/map"]),
    ):
        desk: BrowserPage = open_page()
        sign_in(desk.page, web_site.url, username)
        for path in paths:
            desk.page.goto(f"{web_site.url}{path}")
            desk.page.wait_for_selector("main h1, main h2")
            desk.page.wait_for_timeout(800)
            assert desk.page.evaluate(UNLABELLED) == [], (username, path)
    desk = open_page()
    desk.page.goto(f"{web_site.url}/")
    assert desk.page.evaluate(UNLABELLED) == []

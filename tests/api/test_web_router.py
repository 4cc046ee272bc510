"""The web router without a browser: pages, assets, layers per zoom, basins, the sink's mail."""

from __future__ import annotations

import json
import shutil
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.web.layers import decimals_for_zoom, tolerance_for_zoom
from api.web.router import CSP, PAGES
from tests.fixtures.browser import PASSWORD, build_web_app, web_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def web_client(tmp_path: Path, web_template_db: Path) -> Iterator[TestClient]:
    database = tmp_path / "web.db"
    shutil.copy(web_template_db, database)
    app = build_web_app(web_settings(database))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.services.engine.dispose()


def bearer(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_are_served_with_a_same_origin_policy(web_client: TestClient, path: str) -> None:
    answer = web_client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CSP
    html = answer.text
    assert 'lang="zh-CN"' in html and "跨界水污染信息通报" in html
    # Offline: every script and stylesheet comes from this server.
    for marker in ('src="http', 'href="http', "//cdn", "fonts.googleapis"):
        assert marker not in html


def test_every_asset_a_page_names_exists(web_client: TestClient) -> None:
    for path in PAGES:
        html = web_client.get(path).text
        for asset in ("/static/css/app.css", "/static/img/favicon.svg"):
            assert asset in html
            assert web_client.get(asset).status_code == 200
    assert web_client.get("/static/vendor/leaflet/leaflet.css").status_code == 200
    script = web_client.get("/static/vendor/leaflet/leaflet-src.esm.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    module = web_client.get("/static/js/map.js")
    assert module.headers["content-type"].startswith("text/javascript")


def test_every_module_import_resolves(web_client: TestClient) -> None:
    """A missing ES module would break a page silently: follow every static import."""
    seen: set[str] = set()
    todo = ["/static/js/" + p.name for p in (ROOT / "web/static/js").glob("*.js")]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = web_client.get(url)
        assert answer.status_code == 200, url
        for line in answer.text.splitlines():
            if (line.startswith("import ") and " from " in line) or line.startswith("} from "):
                target = line.rsplit(" from ", 1)[1].strip().strip(";").strip('"')
                base = url.rsplit("/", 1)[0]
                while target.startswith("../"):
                    base, target = base.rsplit("/", 1)[0], target[3:]
                todo.append(
                    target if target.startswith("/") else f"{base}/{target.removeprefix('./')}"
                )
    assert "/static/vendor/leaflet/leaflet-src.esm.js" in seen


@pytest.mark.parametrize(
    "path",
    [
        "/static/../notifier/settings.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/js/%00.js",
        "/static/vendor/leaflet/../../package.json",
        "/static/vendor/nope/x.js",
        "/static/js/",
        "/static/" + "a" * 400,
    ],
)
def test_assets_outside_their_directory_are_not_found(web_client: TestClient, path: str) -> None:
    answer = web_client.get(path)
    assert answer.status_code == 404
    assert "hatchling" not in answer.text and "SecretStr" not in answer.text


def _positions(geometry: dict[str, Any]) -> list[list[float]]:
    coords = geometry["coordinates"]
    while isinstance(coords[0][0], list):
        coords = [c for part in coords for c in part]
    return list(coords)


def _vertices(geometry: dict[str, Any]) -> int:
    return len(_positions(geometry))


def test_layers_are_simplified_and_rounded_per_zoom(web_client: TestClient) -> None:
    coarse = web_client.get("/web/api/layers/jurisdictions", params={"zoom": 4})
    fine = web_client.get("/web/api/layers/jurisdictions", params={"zoom": 12})
    assert coarse.status_code == fine.status_code == 200
    assert coarse.headers["content-type"] == "application/geo+json"
    coarse_json, fine_json = coarse.json(), fine.json()
    assert len(coarse_json["features"]) == len(fine_json["features"]) > 100
    coarse_n = sum(_vertices(f["geometry"]) for f in coarse_json["features"])
    fine_n = sum(_vertices(f["geometry"]) for f in fine_json["features"])
    assert coarse_n < fine_n / 3
    assert len(coarse.content) < len(fine.content) / 3
    # Coordinates carry no more decimals than the zoom can show.
    values = [v for f in coarse_json["features"] for p in _positions(f["geometry"]) for v in p]
    assert all(len(repr(v).split(".")[-1]) <= decimals_for_zoom(4) for v in values)
    # No polygon-less prefecture or province is sent; properties are the documented ones.
    kinds = {f["properties"]["kind"] for f in fine_json["features"]}
    assert not kinds & {"prefecture", "province", "xpcc", "xpcc_division"}
    assert set(fine_json["features"][0]["properties"]) == {
        "jurisdiction_id",
        "name",
        "kind",
        "parent",
        "host",
        "bureau",
    }


def test_reach_and_station_layers(web_client: TestClient) -> None:
    reaches = web_client.get("/web/api/layers/reaches?zoom=9").json()
    shipped = json.loads((ROOT / "data" / "reaches.geojson").read_text())
    assert len(reaches["features"]) == len(shipped["features"])
    boundary = [f for f in reaches["features"] if f["properties"]["co_jurisdictions"]]
    assert boundary, "the shipped network has boundary reaches"
    stations = web_client.get("/web/api/layers/stations").json()
    assert {f["geometry"]["type"] for f in stations["features"]} == {"Point"}


@pytest.mark.parametrize(
    "query",
    [
        "/web/api/layers/rivers",
        "/web/api/layers/reaches?zoom=-1",
        "/web/api/layers/reaches?zoom=99",
        "/web/api/layers/reaches?zoom=x",
    ],
)
def test_bad_layer_requests_are_refused_clearly(web_client: TestClient, query: str) -> None:
    answer = web_client.get(query)
    assert answer.status_code == 422
    assert answer.json()["error"]["message_zh"]


def test_zoom_arithmetic() -> None:
    assert tolerance_for_zoom(8) == pytest.approx(tolerance_for_zoom(7) / 2)
    assert decimals_for_zoom(3) < decimals_for_zoom(10) <= decimals_for_zoom(14) == 6


def test_basins_name_the_two_basins(web_client: TestClient) -> None:
    basins = {b["key"]: b for b in web_client.get("/web/api/basins").json()}
    assert basins["changji"]["name_zh"] == "昌吉州"
    assert basins["fenhe"]["name_zh"] == "汾河"
    assert "汾河" in basins["fenhe"]["rivers"]
    west, south, east, north = basins["changji"]["bbox"]
    assert 80 < west < east < 95 and 40 < south < north < 50


def test_mail_view_needs_a_supervisor_and_the_sink(web_client: TestClient) -> None:
    assert web_client.get("/web/api/mail").status_code == 401
    bureau = web_client.get("/web/api/mail", headers=bearer(web_client, "hutubi"))
    assert bureau.status_code == 403
    none = web_client.get("/web/api/mail", headers=bearer(web_client, "changji"))
    assert none.status_code == 404
    assert none.json()["error"]["code"] == "no_mail_sink"


def test_mail_view_lists_what_the_sink_received(web_client: TestClient, tmp_path: Path) -> None:
    from notifier.delivery.sink import MailSink

    sink = MailSink(directory=tmp_path / "mail")
    sink.start()
    try:
        web_client.app.state.mail_sink = sink  # type: ignore[attr-defined]
        for n in (1, 2):
            message = EmailMessage()
            message["Subject"] = f"【通报】呼图壁河 {n}"
            message["From"] = "noreply@rivernotify.example"
            message["To"] = "duty@660601.bureau.example"
            message["Message-ID"] = f"<m{n}@rivernotify.example>"
            message.set_content(f"芳草湖农场：请确认 {n}")
            with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
                smtp.send_message(message)
        answer = web_client.get("/web/api/mail", headers=bearer(web_client, "changji"))
    finally:
        sink.stop()
    assert answer.status_code == 200
    mails = answer.json()
    assert [m["subject"] for m in mails] == ["【通报】呼图壁河 2", "【通报】呼图壁河 1"]
    assert mails[0]["to"] == ["duty@660601.bureau.example"]
    assert "请确认 2" in mails[0]["text"]


def test_web_endpoints_are_documented(web_client: TestClient) -> None:
    paths = web_client.get("/openapi.json").json()["paths"]
    assert {"/web/api/layers/{layer}", "/web/api/basins", "/web/api/mail"} <= set(paths)
    assert not {"/", "/map", "/inbox"} & set(paths)

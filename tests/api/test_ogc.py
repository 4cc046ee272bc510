"""OGC API - Features: a client walks every collection through the paging links and checks the
responses against the core requirements (landing page, conformance, collections, items, item)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings
from shapely.geometry import LineString, Point, box

from api.ogc import ogc_router
from basins.model import (
    JURISDICTION_COLUMNS,
    REACH_COLUMNS,
    STATION_COLUMNS,
    Hierarchy,
    Jurisdiction,
    JurisdictionKind,
    Network,
)

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
N_REACHES = 230
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def tiny_network() -> Network:
    """A made-up network around 昌吉州: a comb of reaches, four jurisdictions, three stations."""
    rows = []
    for i in range(N_REACHES):
        x = 86.0 + (i % 23) * 0.1
        y = 43.6 + (i // 23) * 0.1
        rows.append(
            {
                "reach_id": f"r{i:03d}",
                "river": "呼图壁河" if x < 87 else "三屯河",
                "basin": "changji",
                "downstream": f"r{i + 1:03d}" if i + 1 < N_REACHES else "",
                "length_m": 8000.0 + i,
                "velocity_ms": float("nan") if i % 2 else 0.5,
                "discharge_m3s": float("nan"),
                "kind": "river",
                "target_class": 3,
                "jurisdiction": "652323" if x < 87 else "652301",
                "co_jurisdictions": "",
                "host": "",
                "approximate": i % 5 == 0,
                "geometry": LineString([(x, y), (x + 0.05, y + 0.08)]),
            }
        )
    reaches = gpd.GeoDataFrame(rows, columns=[*REACH_COLUMNS, "geometry"], crs="EPSG:4326")
    members = [
        ("652300", "昌吉回族自治州", JurisdictionKind.PREFECTURE, "", None),
        ("652323", "呼图壁县", JurisdictionKind.COUNTY, "652300", box(86.0, 43.5, 87.0, 45.0)),
        ("652301", "昌吉市", JurisdictionKind.COUNTY, "652300", box(87.0, 43.5, 88.4, 45.0)),
        ("659004", "五家渠市", JurisdictionKind.XPCC_CITY, "", box(87.4, 44.1, 87.6, 44.3)),
    ]
    jurisdictions = gpd.GeoDataFrame(
        [
            {"jurisdiction_id": j, "name": n, "kind": str(k), "parent": p, "host": "",
             "approximate": False, "bureau": f"{n}生态环境局", "geometry": g}
            for j, n, k, p, g in members
        ],
        columns=[*JURISDICTION_COLUMNS, "geometry"],
        crs="EPSG:4326",
    )  # fmt: skip
    hierarchy = Hierarchy(
        {j: Jurisdiction(j, n, k, p or None, bureau=f"{n}生态环境局") for j, n, k, p, _ in members}
    )
    sites = [
        ("s1", "呼图壁河大桥", "r001", "652323", Point(87.0, 44.0)),
        ("s2", "三屯河入库口", "r100", "652301", Point(87.3, 44.2)),
        ("s 3/x", "特殊编号站", "r200", "652301", Point(88.0, 44.5)),
    ]
    stations = gpd.GeoDataFrame(
        [
            {"station_id": sid, "name": name, "reach_id": reach, "jurisdiction": where,
             "mn": f"010000A8900016F000169DC{i}", "geometry": point}
            for i, (sid, name, reach, where, point) in enumerate(sites)
        ],
        columns=[*STATION_COLUMNS, "geometry"],
        crs="EPSG:4326",
    )  # fmt: skip
    return Network(reaches, jurisdictions, stations, hierarchy)


def incidents() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "incident_id": ["1", "2", "3"],
            "grade": ["III", None, "IV"],
            "opened_at": [T0, T0 + timedelta(days=10), T0 + timedelta(days=40)],
            "geometry": [Point(86.5, 44.0), Point(87.2, 44.1), Point(87.9, 44.4)],
        },
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def network() -> Network:
    return tiny_network()


@pytest.fixture(scope="module")
def client(network: Network) -> TestClient:
    app = FastAPI()
    app.include_router(ogc_router(lambda: network, incidents_provider=incidents))
    return TestClient(app)


def get(client: TestClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.text
    return response.json()


def link(body: dict[str, Any], rel: str) -> dict[str, str]:
    matches: list[dict[str, str]] = [item for item in body["links"] if item["rel"] == rel]
    assert len(matches) == 1, (rel, body["links"])
    return matches[0]


def assert_links(body: dict[str, Any]) -> None:
    for item in body["links"]:
        assert item["href"].startswith("http://testserver/") and item["rel"] and item["type"]


def test_landing_page(client: TestClient) -> None:
    body = get(client, "/ogc")
    assert body["title"] and body["description"]
    assert_links(body)
    assert link(body, "self")["href"] == "http://testserver/ogc"
    desc = link(body, "service-desc")
    assert desc["href"] == "http://testserver/openapi.json" and "openapi" in desc["type"]
    assert "/ogc/collections/{collection_id}/items" in get(client, desc["href"])["paths"]
    assert get(client, link(body, "conformance")["href"]) == get(client, "/ogc/conformance")
    assert "collections" in get(client, link(body, "data")["href"])
    assert client.get("/ogc").headers["content-type"] == "application/json"


def test_conformance(client: TestClient) -> None:
    classes = get(client, "/ogc/conformance")["conformsTo"]
    assert {CONF + "core", CONF + "geojson", CONF + "oas30"} <= set(classes)


def test_collections_metadata(client: TestClient, network: Network) -> None:
    body = get(client, "/ogc/collections")
    assert_links(body)
    assert link(body, "self")["href"] == "http://testserver/ogc/collections"
    ids = [c["id"] for c in body["collections"]]
    assert ids == ["reaches", "jurisdictions", "stations", "incidents"]
    for collection in body["collections"]:
        assert collection == get(client, f"/ogc/collections/{collection['id']}")
        assert collection["title"] and collection["itemType"] == "feature"
        spatial = collection["extent"]["spatial"]
        assert spatial["crs"] == CRS84 and len(spatial["bbox"]) == 1
        minx, miny, maxx, maxy = spatial["bbox"][0]
        assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
        assert "temporal" in collection["extent"]
        items = link(collection, "items")
        assert items["type"] == GEOJSON and items["href"].endswith(f"/{collection['id']}/items")
    reaches = body["collections"][0]["extent"]["spatial"]["bbox"][0]
    assert reaches == pytest.approx(list(network.reaches.total_bounds))
    temporal = body["collections"][3]["extent"]["temporal"]["interval"][0]
    assert temporal == ["2026-05-01T00:00:00Z", "2026-06-10T00:00:00Z"]


def walk(client: TestClient, url: str) -> tuple[list[dict[str, Any]], int]:
    """Every feature reached through the next links, checking each page on the way."""
    features: list[dict[str, Any]] = []
    matched, pages = None, 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == GEOJSON
        page = response.json()
        assert page["type"] == "FeatureCollection"
        assert_links(page)
        assert link(page, "self")["type"] == GEOJSON
        assert page["numberReturned"] == len(page["features"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", page["timeStamp"])
        matched = page["numberMatched"] if matched is None else matched
        assert page["numberMatched"] == matched
        if pages:
            assert "prev" in {item["rel"] for item in page["links"]}
        features += page["features"]
        following = [item["href"] for item in page["links"] if item["rel"] == "next"]
        url = following[0] if following else ""
        pages += 1
    assert matched is not None
    return features, pages


@pytest.mark.parametrize(
    ("collection", "column", "size"),
    [
        ("reaches", "reach_id", N_REACHES),
        ("jurisdictions", "jurisdiction_id", 4),
        ("stations", "station_id", 3),
        ("incidents", "incident_id", 3),
    ],
)
def test_every_collection_read_through_paging(
    client: TestClient, collection: str, column: str, size: int
) -> None:
    features, pages = walk(client, f"/ogc/collections/{collection}/items?limit=37")
    assert len(features) == size and pages == math.ceil(size / 37)
    ids = [f["id"] for f in features]
    assert len(set(ids)) == size
    for item in features:
        assert item["type"] == "Feature" and isinstance(item["id"], str)
        assert item["properties"][column] == item["id"]
        geometry = item["geometry"]
        assert geometry is None or {"type", "coordinates"} <= set(geometry)
    json.dumps(features, allow_nan=False)  # no NaN leaks into the GeoJSON


def test_default_limit_and_clamping(client: TestClient) -> None:
    page = get(client, "/ogc/collections/reaches/items")
    assert page["numberReturned"] == 100 and page["numberMatched"] == N_REACHES
    nxt = link(page, "next")["href"]
    assert "offset=100" in nxt and "limit=100" in nxt
    page = get(client, "/ogc/collections/reaches/items?limit=99999")
    assert page["numberReturned"] == N_REACHES
    assert "next" not in {item["rel"] for item in page["links"]}
    beyond = get(client, "/ogc/collections/reaches/items?offset=5000")
    assert beyond["numberReturned"] == 0 and beyond["numberMatched"] == N_REACHES


def test_properties_keep_names_types_and_lonlat(client: TestClient) -> None:
    station = get(client, "/ogc/collections/stations/items/s1")
    assert station["properties"]["name"] == "呼图壁河大桥"
    assert station["geometry"] == {"type": "Point", "coordinates": [87.0, 44.0]}
    reach = get(client, "/ogc/collections/reaches/items/r001")
    assert reach["properties"]["velocity_ms"] is None  # NaN
    assert reach["properties"]["target_class"] == 3 and reach["properties"]["river"] == "呼图壁河"
    prefecture = get(client, "/ogc/collections/jurisdictions/items/652300")
    assert prefecture["geometry"] is None and prefecture["properties"]["name"] == "昌吉回族自治州"
    incident = get(client, "/ogc/collections/incidents/items/2")
    assert incident["properties"]["opened_at"] == "2026-05-11T00:00:00Z"


@pytest.mark.parametrize(
    "bbox", ["86.9,43.9,87.35,44.25", "87.45,44.15,87.5,44.2", "100,10,101,11", "-180,-90,180,90"]
)
def test_bbox_filtering(client: TestClient, network: Network, bbox: str) -> None:
    area = box(*map(float, bbox.split(",")))
    for name in ("reaches", "jurisdictions", "stations"):
        frame = getattr(network, name)
        column = f"{name[:-1]}_id" if name != "reaches" else "reach_id"
        column = "jurisdiction_id" if name == "jurisdictions" else column
        expected = {
            str(fid)
            for fid, geometry in zip(frame[column], frame.geometry, strict=True)
            if geometry is not None and geometry.intersects(area)
        }
        features, _ = walk(client, f"/ogc/collections/{name}/items?bbox={bbox}&limit=50")
        assert {f["id"] for f in features} == expected


def test_bbox_across_the_antimeridian(client: TestClient) -> None:
    page = get(client, "/ogc/collections/stations/items?bbox=170,-10,-170,10")
    assert page["numberMatched"] == 0
    page = get(client, "/ogc/collections/stations/items?bbox=87.2,44,-170,45")
    assert {f["id"] for f in page["features"]} == {"s2", "s 3/x"}


def test_datetime_filter(client: TestClient) -> None:
    def ids(query: str) -> set[str]:
        return {
            f["id"] for f in get(client, f"/ogc/collections/incidents/items?{query}")["features"]
        }

    assert ids("datetime=2026-05-01") == {"1"}
    assert ids("datetime=2026-05-05T00:00:00Z/..") == {"2", "3"}
    assert ids("datetime=../2026-05-20T00:00:00%2B08:00") == {"1", "2"}
    assert (
        get(client, "/ogc/collections/reaches/items?datetime=2026-05-01")["numberMatched"]
        == N_REACHES
    )


@pytest.mark.parametrize(
    "query",
    [
        "bbox=1,2,3",
        "bbox=1,2,3,4,5",
        "bbox=a,b,c,d",
        "bbox=1,2,3,nan",
        "bbox=0,50,10,40",
        "bbox=0,0,200,10",
        "bbox=",
        "limit=0",
        "limit=-5",
        "limit=abc",
        "limit=1.5",
        "offset=-1",
        "datetime=yesterday",
        "datetime=2026-06-01/2026-05-01",
        "f=xml",
    ],
)
def test_bad_parameters_get_400(client: TestClient, query: str) -> None:
    body = get(client, f"/ogc/collections/reaches/items?{query}", status=400)
    assert body["code"] == "InvalidParameterValue"
    assert query.split("=", maxsplit=1)[0] in body["description"]


def test_single_item_and_404s(client: TestClient) -> None:
    item = get(client, "/ogc/collections/stations/items/s%203%2Fx")
    assert item["id"] == "s 3/x" and item["type"] == "Feature"
    assert_links(item)
    assert link(item, "self")["type"] == GEOJSON
    assert link(item, "collection")["href"] == "http://testserver/ogc/collections/stations"
    response = client.get("/ogc/collections/stations/items/s1")
    assert response.headers["content-type"] == GEOJSON
    for url in (
        "/ogc/collections/stations/items/nope",
        "/ogc/collections/rivers",
        "/ogc/collections/rivers/items",
        "/ogc/collections/rivers/items/1",
    ):
        body = get(client, url, status=404)
        assert body["code"] == "NotFound" and "·" in body["description"]


def test_formats(client: TestClient) -> None:
    assert client.get("/ogc?f=json").status_code == 200
    assert client.get("/ogc/collections?f=json").status_code == 200
    assert client.get("/ogc/collections/stations/items?f=geojson").status_code == 200
    assert client.get("/ogc/conformance?f=html").status_code == 400


def test_without_incidents_provider(network: Network) -> None:
    app = FastAPI()
    app.include_router(ogc_router(lambda: network))
    client = TestClient(app)
    ids = [c["id"] for c in get(client, "/ogc/collections")["collections"]]
    assert ids == ["reaches", "jurisdictions", "stations"]
    get(client, "/ogc/collections/incidents/items", status=404)


def test_openapi_documents_the_parameters(client: TestClient) -> None:
    document = get(client, "/openapi.json")
    operation = document["paths"]["/ogc/collections/{collection_id}/items"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"collection_id", "limit", "offset", "bbox", "datetime", "f"} <= names
    assert {"400", "404"} <= set(operation["responses"])


def test_shipped_network_is_served(data_dir: Path) -> None:
    if not (data_dir / "reaches.geojson").exists():
        pytest.skip(f"no shipped network in {data_dir} yet")
    from basins.io import read_network

    shipped = read_network(data_dir)
    app = FastAPI()
    app.include_router(ogc_router(lambda: shipped))
    client = TestClient(app)
    for name in ("reaches", "jurisdictions", "stations"):
        features, _ = walk(client, f"/ogc/collections/{name}/items?limit=1000")
        assert len(features) == len(getattr(shipped, name))


def _schema_app() -> FastAPI:
    app = FastAPI()
    network = tiny_network()
    app.include_router(ogc_router(lambda: network, incidents_provider=incidents))
    return app


# schemathesis.pytest.from_fixture fails under this pytest, so the schema is built at import.
openapi_cases = schemathesis.openapi.from_asgi("/openapi.json", _schema_app())


@openapi_cases.parametrize()
@settings(max_examples=25, deadline=None)
def test_openapi_conformance(case: Any) -> None:
    """schemathesis: no server error, every response as the OpenAPI document says."""
    case.call_and_validate()

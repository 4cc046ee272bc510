"""OGC API - Features (Part 1: Core) over the river network, read-only, at /ogc.

Conformance classes core, geojson and oas30. Links are absolute and typed, as the standard asks
and as QGIS ("OGC API - Features" source, URL http://host/ogc) expects. The providers are called
once per request so that the app decides about caching; they may block (the endpoints run in
FastAPI's thread pool).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.ogc.features import (
    CRS84,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Collection,
    ItemsQuery,
    QueryError,
    extent,
    feature,
    features,
    find,
    parse_items_query,
    rfc3339,
    select,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from basins.model import Network

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
_FORMATS = (None, "json", "geojson")
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)


# Errors are documented without required keys: a path the router cannot match (an id holding a
# line break) is answered by the app's own 404 handler, in the app's error format.
_ERROR_BODY = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "参数无效 · invalid query parameter (OGC exception: code, description)",
        "content": {JSON: {"schema": _ERROR_BODY}},
    },
    404: {
        "description": "不存在 · not found (OGC exception: code, description)",
        "content": {JSON: {"schema": _ERROR_BODY}},
    },
}
_F = {
    "name": "f",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["json", "geojson"]},
}
_GEOJSON_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "GeoJSON (RFC 7946)", "content": {GEOJSON: {"schema": {"type": "object"}}}}
}
_F_ONLY: dict[str, Any] = {"parameters": [_F]}
_ITEMS_PARAMS = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"每页要素数 · features per page (above {MAX_LIMIT}: served as {MAX_LIMIT})",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0},
    },
    {
        "name": "bbox",
        "in": "query",
        "required": False,
        "description": "minlon,minlat,maxlon,maxlat (CRS84)",
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
    },
    {
        "name": "datetime",
        "in": "query",
        "required": False,
        "description": "RFC 3339 instant or interval (start/end, .. for open)",
        "schema": {"type": "string", "maxLength": 100},
    },
    _F,
]


def network_collections(
    network_provider: Callable[[], Network],
    *,
    incidents_provider: Callable[[], gpd.GeoDataFrame] | None = None,
) -> dict[str, Collection]:
    """The collections served: the network's three layers, and incidents when provided."""
    collections = {
        "reaches": Collection(
            "reaches",
            "河段 · Reaches",
            "河流河段及其流向、长度与管辖 · river reaches",
            "reach_id",
            lambda: network_provider().reaches,
        ),
        "jurisdictions": Collection(
            "jurisdictions",
            "行政区 · Jurisdictions",
            "县级行政区、园区与兵团单位（上级单位可能无几何）· jurisdictions",
            "jurisdiction_id",
            lambda: network_provider().jurisdictions,
        ),
        "stations": Collection(
            "stations",
            "监测站 · Stations",
            "水质自动监测站 · monitoring stations",
            "station_id",
            lambda: network_provider().stations,
        ),
    }
    if incidents_provider is not None:
        collections["incidents"] = Collection(
            "incidents",
            "事件 · Incidents",
            "跨界水污染事件（起点）· incidents at their origin",
            "incident_id",
            incidents_provider,
            time_column="opened_at",
        )
    return collections


def ogc_router(
    network_provider: Callable[[], Network],
    *,
    incidents_provider: Callable[[], gpd.GeoDataFrame] | None = None,
) -> APIRouter:
    """The /ogc router. ``incidents_provider`` returns a frame with an ``incident_id`` column,
    point geometry in EPSG:4326 and optionally ``opened_at`` (aware datetimes) for time filters."""
    api = _Endpoints(network_collections(network_provider, incidents_provider=incidents_provider))
    router = APIRouter(prefix="/ogc", tags=["OGC API - Features"], responses=_ERRORS)
    add = router.add_api_route
    plain = {"openapi_extra": _F_ONLY}
    geojson = {"responses": _GEOJSON_OK}
    for path, endpoint, name, summary, extra in (
        ("", api.landing, "ogc_landing", "Landing page · 首页", plain),
        ("/conformance", api.conformance, "ogc_conformance", "Conformance · 一致性", plain),
        ("/collections", api.collections, "ogc_collections", "Collections · 数据集", plain),
        ("/collections/{collection_id}", api.collection, "ogc_collection", "Collection", plain),
        (
            "/collections/{collection_id}/items",
            api.items,
            "ogc_items",
            "Features · 要素",
            {"openapi_extra": {"parameters": _ITEMS_PARAMS}} | geojson,
        ),
        (
            "/collections/{collection_id}/items/{fid:path}",
            api.item,
            "ogc_item",
            "One feature · 单个要素",
            plain | geojson,
        ),
    ):
        add(path, endpoint, name=name, operation_id=name, summary=summary, **extra)
    return router


class _Endpoints:
    """The handlers, bound to the collections served (sync: providers may block)."""

    def __init__(self, collections: dict[str, Collection]) -> None:
        self._collections = collections

    def landing(self, request: Request) -> JSONResponse:
        return _check_format(request) or JSONResponse(_landing(request))

    def conformance(self, request: Request) -> JSONResponse:
        return _check_format(request) or JSONResponse({"conformsTo": CONFORMANCE})

    def collections(self, request: Request) -> JSONResponse:
        body = {
            "links": [_link(request.url_for("ogc_collections"), "self", JSON)],
            "collections": [_describe(request, c) for c in self._collections.values()],
        }
        return _check_format(request) or JSONResponse(body)

    def collection(self, request: Request, collection_id: str) -> JSONResponse:
        collection = self._collections.get(collection_id)
        if collection is None:
            return _unknown_collection(collection_id)
        return _check_format(request) or JSONResponse(_describe(request, collection))

    def items(self, request: Request, collection_id: str) -> JSONResponse:
        collection = self._collections.get(collection_id)
        if collection is None:
            return _unknown_collection(collection_id)
        return _check_format(request) or _items(request, collection)

    def item(self, request: Request, collection_id: str, fid: str) -> JSONResponse:
        collection = self._collections.get(collection_id)
        if collection is None:
            return _unknown_collection(collection_id)
        return _check_format(request) or _item(request, collection, fid)


def _landing(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    links = [_link(request.url_for("ogc_landing"), "self", JSON, "本页 · this document")]
    if request.app.openapi_url:
        links.append(_link(base + request.app.openapi_url, "service-desc", OPENAPI, "OpenAPI"))
    if request.app.docs_url:
        links.append(_link(base + request.app.docs_url, "service-doc", "text/html", "API docs"))
    conformance = request.url_for("ogc_conformance")
    links.append(_link(conformance, "conformance", JSON, "一致性 · conformance"))
    links.append(_link(conformance, f"{OGC_REL}/conformance", JSON))
    data = request.url_for("ogc_collections")
    links.append(_link(data, "data", JSON, "数据集 · collections"))
    links.append(_link(data, f"{OGC_REL}/data", JSON))
    return {
        "title": "rivernotify 跨界水污染通报 · river network",
        "description": "河网、行政区、监测站与事件 · reaches, jurisdictions, stations, incidents",
        "links": links,
    }


def _items(request: Request, collection: Collection) -> JSONResponse:
    try:
        query = parse_items_query(request.query_params)
    except QueryError as exc:
        return _error(400, "InvalidParameterValue", exc.description)
    frame = collection.frame()
    positions = select(frame, collection, query)
    page = positions[query.offset : query.offset + query.limit]
    body = {
        "type": "FeatureCollection",
        "features": features(frame, page, collection),
        "links": _paging_links(request, collection, query, len(positions), len(page)),
        "numberMatched": len(positions),
        "numberReturned": len(page),
        "timeStamp": rfc3339(datetime.now(UTC)),
    }
    return GeoJSONResponse(body)


def _item(request: Request, collection: Collection, fid: str) -> JSONResponse:
    frame = collection.frame()
    position = find(frame, collection, fid)
    if position is None:
        shown = repr(fid[:60])
        zh, en = f"{collection.id} 中没有要素 {shown}", f"no feature {shown} in {collection.id}"
        return _error(404, "NotFound", f"{zh} · {en}")
    body = feature(frame, position, collection)
    body["links"] = [
        _link(request.url_for("ogc_item", collection_id=collection.id, fid=fid), "self", GEOJSON),
        _link(request.url_for("ogc_collection", collection_id=collection.id), "collection", JSON),
    ]
    return GeoJSONResponse(body)


def _link(href: object, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    link = {"href": str(href), "rel": rel, "type": media_type}
    if title is not None:
        link["title"] = title
    return link


def _check_format(request: Request) -> JSONResponse | None:
    requested = request.query_params.get("f")
    if requested in _FORMATS:
        return None
    return _error(
        400,
        "InvalidParameterValue",
        f"参数 f 仅支持 json · f={requested[:20]!r}: only json is offered",
    )


def _unknown_collection(collection_id: str) -> JSONResponse:
    return _error(
        404,
        "NotFound",
        f"数据集 {collection_id[:60]!r} 不存在 · no collection {collection_id[:60]!r}",
    )


def _describe(request: Request, collection: Collection) -> dict[str, Any]:
    url = request.url_for("ogc_collection", collection_id=collection.id)
    items = request.url_for("ogc_items", collection_id=collection.id)
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent(collection.frame(), collection),
        "links": [
            _link(url, "self", JSON, collection.title),
            _link(items, "items", GEOJSON, collection.title),
        ],
    }


def _paging_links(
    request: Request, collection: Collection, query: ItemsQuery, matched: int, returned: int
) -> list[dict[str, str]]:
    links = [
        _link(request.url, "self", GEOJSON, "本页 · this page"),
        _link(request.url_for("ogc_collection", collection_id=collection.id), "collection", JSON),
    ]
    if query.offset + returned < matched:
        after = request.url.include_query_params(
            offset=query.offset + query.limit, limit=query.limit
        )
        links.append(_link(after, "next", GEOJSON, "下一页 · next page"))
    if query.offset > 0:
        before = request.url.include_query_params(
            offset=max(query.offset - query.limit, 0), limit=query.limit
        )
        links.append(_link(before, "prev", GEOJSON, "上一页 · previous page"))
    return links

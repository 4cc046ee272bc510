"""The web pages (sign-in, map, inbox, statistics, sent mail), their assets and page data.

The pages are thin HTML shells; the browser signs in against the REST API (/api/v1) and keeps
the bearer token in sessionStorage. What the REST API does not offer and only the map needs
lives here under /web/api: the network layers per zoom, the basins, and the sink's mail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import Services, Supervisor
from api.errors import ApiError, error_responses
from api.web.assets import AssetRoots, file_response
from api.web.layers import MAX_ZOOM, LayerName, LayerStore, basins_summary
from api.web.mail import sink_messages

if TYPE_CHECKING:
    from basins.model import Network
    from notifier.delivery.sink import MailSink
    from notifier.settings import Settings

#: The pages: path -> template in web/templates.
PAGES: dict[str, str] = {
    "/": "signin.html",
    "/map": "map.html",
    "/inbox": "inbox.html",
    "/stats": "stats.html",
    "/mail": "mail.html",
}
#: Nothing leaves this server: no tiles, fonts or scripts from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
GEOJSON = "application/geo+json"
NPM_HINT = "先运行 npm ci / run `npm ci` in the project directory first"


def _network_of(request: Request, settings: Settings) -> Network:
    """The app's network (``app.state.services``) so that it is loaded once; without the app's
    services, read ``settings.network_dir``."""
    services = getattr(request.app.state, "services", None)
    if isinstance(services, Services):
        return services.network()
    from basins.io import read_network

    return read_network(settings.network_dir)


def _app_sink(request: Request) -> MailSink | None:
    """The sink the app started (``app.state.mail_sink``), if any."""
    sink: MailSink | None = getattr(request.app.state, "mail_sink", None)
    return sink


def _page_routes(router: APIRouter, env: Environment) -> None:
    def render(template: str) -> Callable[[], HTMLResponse]:
        def page() -> HTMLResponse:
            html = env.get_template(template).render(page=template.removesuffix(".html"))
            return HTMLResponse(
                html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
            )

        return page

    for path, template in PAGES.items():
        router.add_api_route(
            path,
            render(template),
            methods=["GET"],
            response_class=HTMLResponse,
            include_in_schema=False,
            name=f"web_{template.removesuffix('.html')}",
        )


def _asset_routes(router: APIRouter, roots: AssetRoots) -> None:
    @router.get("/static/vendor/{package}/{path:path}", include_in_schema=False)
    def vendor(package: str, path: str) -> FileResponse:
        root = roots.vendor(package)
        if root is None:
            raise HTTPException(404, f"未知的库 / unknown library {package[:60]!r}")
        return file_response(root, path, hint=NPM_HINT)

    @router.get("/static/{path:path}", include_in_schema=False)
    def static(path: str) -> FileResponse:
        return file_response(roots.static, path)


def _data_routes(
    router: APIRouter,
    store: LayerStore,
    network: Callable[[Request], Network],
    sink_provider: Callable[[Request], MailSink | None],
) -> None:
    @router.get(
        "/web/api/layers/{layer}",
        tags=["web"],
        summary="Network layer for the map, simplified for a zoom level (GeoJSON)",
        responses={200: {"content": {GEOJSON: {"schema": {"type": "object"}}}}},
    )
    def layer(
        request: Request,
        layer: Annotated[LayerName, Path(description="reaches, jurisdictions or stations")],
        zoom: Annotated[int, Query(ge=0, le=MAX_ZOOM + 10, description="Leaflet zoom")] = 8,
    ) -> Response:
        if len(request.query_params.getlist("zoom")) > 1:  # not "the last one wins"
            raise ApiError(422, "validation_error", "zoom 只能给一次", "give zoom once",
                           field="zoom")  # fmt: skip
        body = store.geojson(layer, zoom=zoom, load=lambda: network(request))
        return Response(body, media_type=GEOJSON, headers={"Cache-Control": "max-age=300"})

    @router.get("/web/api/basins", tags=["web"], summary="Basins with their rivers and extent")
    def basins(request: Request) -> list[dict[str, Any]]:
        return basins_summary(store.network(lambda: network(request)))

    @router.get(
        "/web/api/mail",
        tags=["web"],
        summary="Messages the embedded SMTP sink received, newest first",
        responses=error_responses(401, 403, 404, 422),
    )
    def mail(
        request: Request, user: Supervisor, limit: Annotated[int, Query(ge=1, le=200)] = 100
    ) -> list[dict[str, Any]]:
        """Supervisors and admins only: the messages carry every bureau's acknowledgement link."""
        sink = sink_provider(request)
        if sink is None:
            raise ApiError(
                404,
                "no_mail_sink",
                "未启用内置邮件接收器（已配置邮件服务器）",
                "the embedded SMTP sink is not running (a mail server is configured)",
            )
        return sink_messages(sink, limit=limit)


def web_router(
    settings: Settings,
    *,
    network_provider: Callable[[], Network] | None = None,
    sink_provider: Callable[[Request], MailSink | None] | None = None,
    assets: AssetRoots | None = None,
) -> APIRouter:
    """Pages at /, /map, /inbox, /stats, /mail; assets at /static; page data at /web/api.

    ``network_provider`` defaults to the app's network (``app.state.services``), else
    ``settings.network_dir``; either is read on first use and kept;
    ``sink_provider`` defaults to ``request.app.state.mail_sink``.
    """
    roots = assets or AssetRoots()
    env = Environment(
        loader=FileSystemLoader(roots.templates),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
    )
    store = LayerStore()

    def network(request: Request) -> Network:
        return network_provider() if network_provider else _network_of(request, settings)

    router = APIRouter()
    _page_routes(router, env)
    _asset_routes(router, roots)
    _data_routes(router, store, network, sink_provider or _app_sink)
    return router

"""The REST API: one router per resource, mounted by :func:`install_api`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from api.deps import Services
from api.errors import RequestGuard, install_error_handlers
from notifier.context import EngineContext
from notifier.settings import Settings

API_PREFIX = "/api/v1"


def install_api(
    app: FastAPI, settings: Settings, *, context: EngineContext | None = None
) -> Services:
    """Mount the REST API, health and metrics, the OGC router, the error handlers and the
    request guard on ``app`` (called by create_app). ``context`` is for tests; otherwise the
    network is loaded from ``settings.network_dir`` on first use."""
    from api.ogc import ogc_router
    from api.routes import (
        auth,
        cap,
        drills,
        health,
        incidents,
        notices,
        reaches,
        reports,
        stats,
    )
    from api.routes.ogc_incidents import incidents_frame_provider

    services = Services.from_settings(settings, context=context)
    app.state.services = services
    install_error_handlers(app)
    health.install_metrics(app, services)
    app.add_middleware(RequestGuard)  # outermost: refuses before anything else runs
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (auth, reports, incidents, cap, notices, reaches, stats, drills):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(health.router)
    app.include_router(
        ogc_router(services.network, incidents_provider=incidents_frame_provider(services))
    )
    _document_guard(app)
    return services


def _document_guard(app: FastAPI) -> None:
    """The request guard answers any route with 400 (NUL in the query, a body that is not
    UTF-8) or 413 (body too large); say so in every operation of the OpenAPI document,
    including routers mounted after this one."""
    from api.errors import ErrorResponse

    build = app.openapi  # FastAPI's own (it caches in app.openapi_schema)
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = build()
        if not done:
            model = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in model.pop("$defs", {}).items():
                schemas.setdefault(name, schema)
            schemas.setdefault("ErrorResponse", model)
            error = {"$ref": "#/components/schemas/ErrorResponse"}
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    for status, text in (("400", "Bad Request"), ("413", "Content Too Large")):
                        content = {"application/json": {"schema": error}}
                        responses.setdefault(status, {"description": text, "content": content})
            done.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]

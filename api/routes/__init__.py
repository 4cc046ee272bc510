"""The REST API: one router per resource, mounted by :func:`install_api`."""

from __future__ import annotations

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
    return services

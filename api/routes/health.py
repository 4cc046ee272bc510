"""Liveness, readiness and Prometheus metrics (no sign-in: keep these off the public
internet or behind the reverse proxy)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from api.deps import Services, ServicesDep, services_of
from api.errors import error_responses
from api.schemas.misc import Health
from notifier.enums import AWAITING_ACK, IncidentStatus, OutboxStatus
from notifier.incidents.models import Incident
from notifier.notices.models import Notice
from notifier.outbox.models import OutboxMessage

router = APIRouter(tags=["health"], responses=error_responses())


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        try:
            with self.services.sessions() as session:
                live = session.scalar(
                    select(func.count())
                    .select_from(Incident)
                    .where(Incident.status.in_([IncidentStatus.OPEN, IncidentStatus.MONITORING]))
                )
                waiting = session.scalar(
                    select(func.count())
                    .select_from(Notice)
                    .where(Notice.status.in_(list(AWAITING_ACK)))
                )
                outbox = session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.PENDING.value)
                )
        except Exception:  # the database is down: say so through rivernotify_db_up
            yield GaugeMetricFamily("rivernotify_db_up", "database reachable", value=0)
            return
        yield GaugeMetricFamily("rivernotify_db_up", "database reachable", value=1)
        yield GaugeMetricFamily(
            "rivernotify_incidents_live", "incidents open or monitoring", value=live or 0
        )
        yield GaugeMetricFamily(
            "rivernotify_notices_awaiting_ack", "notices not yet acknowledged", value=waiting or 0
        )
        yield GaugeMetricFamily(
            "rivernotify_outbox_pending", "messages waiting to be sent", value=outbox or 0
        )


def install_metrics(app: FastAPI, services: Services) -> CollectorRegistry:
    """A registry of the app's own (not the process-global one, so apps in tests are apart)."""
    registry = CollectorRegistry()
    requests = Counter(
        "rivernotify_http_requests",
        "HTTP requests by route and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "rivernotify_http_request_seconds",
        "HTTP request duration by route",
        ["method", "route"],
        registry=registry,
    )
    registry.register(DatabaseCollector(services))

    async def measure(request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = str(getattr(route, "path", "unmatched"))
        requests.labels(request.method, name, str(response.status_code)).inc()
        latency.labels(request.method, name).observe(time.perf_counter() - started)
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=measure)
    services.extras["registry"] = registry
    return registry


@router.get("/healthz", response_model=Health, summary="存活 / liveness (scope: anyone)")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="就绪 / readiness: database reachable and migrated (scope: anyone)",
    responses={503: {"model": Health}},
)
def readyz(services: ServicesDep) -> Any:
    from notifier.migrate import current_revision, head_revision

    checks: dict[str, str] = {}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current, head = current_revision(services.engine), head_revision(services.engine)
        checks["schema"] = "ok" if current == head else f"at {current}, head is {head}"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus 指标 / metrics (scope: anyone)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    registry = services_of(request).extras.get("registry")
    payload = generate_latest(registry) if isinstance(registry, CollectorRegistry) else b""
    return Response(payload, media_type=CONTENT_TYPE_LATEST)

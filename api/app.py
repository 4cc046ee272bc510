"""The web application: ``create_app(settings)`` builds it; nothing is built at import time.

It mounts the REST API (with health, metrics and OGC), the acknowledgement pages behind the
links in every notice, and the web pages. The embedded SMTP sink and the delivery worker are
started by whoever runs the app (``rivernotify run``) and put on ``app.state``.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.ack import ack_router
from api.routes import install_api
from api.web.router import web_router
from notifier.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="rivernotify",
        description="跨界水污染信息通报 · cross-boundary river pollution notification",
        version="0.1.0",
    )
    install_api(app, settings)
    app.include_router(ack_router())
    app.include_router(web_router(settings))
    return app

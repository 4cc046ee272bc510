"""GET /ack/{token} shows the notice and a form; POST /ack/{token} records the acknowledgement.

Mail scanners and link previews fetch every URL in a message, so a GET must never
acknowledge: only the POST of the form (a person's name, an optional note) does. The token
in the URL is the credential; pages carry no-store and no-referrer so that it does not leak
into caches or other sites' logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from api.deps import Services, services_of
from notifier.bureaus.models import Bureau
from notifier.delivery.context import ROLE_LABELS, shanghai_time, shanghai_time_en
from notifier.delivery.tokens import TokenExpired, TokenInvalid, read_ack_token
from notifier.incidents.models import Incident
from notifier.incidents.schemas import EngineError
from notifier.notices.models import Acknowledgement, Notice
from notifier.notices.service import acknowledge

MAX_NAME = 200
MAX_NOTE = 2000
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@cache
def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("api.ack", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shanghai"] = shanghai_time
    env.filters["shanghai_en"] = shanghai_time_en
    return env


@dataclass(frozen=True, slots=True)
class NoticeSummary:
    """What the page says about the notice being acknowledged."""

    notice_id: int
    bureau: str
    river: str
    origin: str
    role_zh: str
    role_en: str
    exercise: bool
    created_at: datetime
    ack_deadline: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def _page(state: str, status: int, **values: Any) -> HTMLResponse:
    defaults: dict[str, Any] = {"notice": None, "problems": [], "name": "", "note": ""}
    html = _templates().get_template("ack.html.j2").render(state=state, **(defaults | values))
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _summary(session: Session, notice_id: int) -> NoticeSummary | None:
    notice = session.get(Notice, notice_id)
    if notice is None:
        return None
    incident = session.get(Incident, notice.incident_id)
    bureau = session.get(Bureau, notice.jurisdiction_id)
    origin = session.get(Bureau, incident.origin_jurisdiction_id) if incident else None
    first = None
    if notice.acknowledged_at is not None:
        first = (
            session.query(Acknowledgement)
            .filter_by(notice_id=notice_id)
            .order_by(Acknowledgement.id)
            .first()
        )
    zh, en = ROLE_LABELS.get(notice.role.value, (notice.role.value, notice.role.value))
    return NoticeSummary(
        notice_id=notice.id,
        bureau=bureau.name_zh if bureau else notice.jurisdiction_id,
        river=incident.river if incident else "",
        origin=origin.jurisdiction_name if origin else "",
        role_zh=zh,
        role_en=en,
        exercise=bool(incident and incident.exercise),
        created_at=notice.created_at,
        ack_deadline=notice.ack_deadline,
        acknowledged_at=notice.acknowledged_at,
        acknowledged_by=first.by_name if first else None,
    )


def _notice_id(services: Services, token: str) -> int | HTMLResponse:
    """The notice the token names, or the page that explains why it cannot be used."""
    secret = services.settings.secret_key.get_secret_value()
    try:
        return read_ack_token(token, secret_key=secret)
    except TokenExpired:
        return _page("expired", 410)
    except TokenInvalid:
        return _page("invalid", 400)


def show(token: str, request: Request) -> HTMLResponse:
    services = services_of(request)
    notice_id = _notice_id(services, token)
    if isinstance(notice_id, HTMLResponse):
        return notice_id
    with services.sessions() as session:
        summary = _summary(session, notice_id)
    if summary is None:
        return _page("unknown", 404)
    return _page("already" if summary.acknowledged_at else "form", 200, notice=summary)


def record(
    token: str,
    request: Request,
    name: Annotated[str, Form(max_length=MAX_NAME)] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> HTMLResponse:
    services = services_of(request)
    notice_id = _notice_id(services, token)
    if isinstance(notice_id, HTMLResponse):
        return notice_id
    with services.writer_sessions() as session, session.begin():
        if _summary(session, notice_id) is None:
            return _page("unknown", 404)
        try:
            result = acknowledge(
                session,
                notice_id=notice_id,
                by_name=name.strip(),
                channel="link",
                now=services.clock(),
                note=note.strip(),
            )
        except EngineError as exc:  # refused before anything was written
            summary = _summary(session, notice_id)
            return _page("form", 422, notice=summary, problems=exc.problems, name=name, note=note)
        summary = _summary(session, notice_id)
    return _page("done" if result.first else "already", 200, notice=summary)


def ack_router() -> APIRouter:
    router = APIRouter(tags=["acknowledgement"], include_in_schema=False)
    router.add_api_route("/ack/{token}", show, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/ack/{token}", record, methods=["POST"], response_class=HTMLResponse)
    return router

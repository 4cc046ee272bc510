"""POST /reports: a station (X-API-Key) or a signed-in person reports an anomaly.

The route is the ingest path, so it is built for throughput: the body and the credentials are
read on the event loop (a bearer token's signature is checked in the worker thread, before it
queues), then everything that touches the database (who the caller is, the report, its
incident, notices and outbox rows) runs as one job of ``api.ingest.GroupCommit``: on SQLite,
reports that wait for the write turn together are written in one transaction and one commit,
and each answer is encoded once that commit is done (``answer_json``).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic_core import to_json
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth.tokens import BearerError, TokenClaims, read_bearer_token
from api.deps import (
    Principal,
    Services,
    api_key_scheme,
    bearer_scheme,
    services_of,
    unauthenticated,
    verify_station,
)
from api.errors import ApiError, error_responses
from api.ingest import group_commit, route_plans
from api.ratelimit import RatePolicy, limit_reports
from api.schemas.reports import MeasurementIn, NoticeOut, ReportIn, ReportOut
from notifier.accounts.models import User
from notifier.enums import ReportDirection
from notifier.evaluation.evaluate import Measurement
from notifier.incidents.schemas import ReportInput, SubmitResult
from notifier.incidents.service import submit_report

router = APIRouter(tags=["reports"])


def to_measurements(items: list[MeasurementIn]) -> tuple[Measurement, ...]:
    return tuple(Measurement(m.code, m.value, m.unit, m.flag.upper()) for m in items)


def result_out(result: SubmitResult) -> ReportOut:
    return ReportOut(
        report_id=result.report_id,
        incident_id=result.incident_id,
        opened=result.opened,
        joined=result.joined,
        exceeded=result.exceeded,
        notices=[
            NoticeOut(
                id=n.id,
                jurisdiction_id=n.jurisdiction_id,
                bureau=n.bureau,
                role=n.role.value,
                status=n.status.value,
                distance_km=None if n.distance_km is None else round(n.distance_km, 3),
                eta_hours=None if n.eta_hours is None else round(n.eta_hours, 3),
                ack_deadline=n.ack_deadline,
            )
            for n in result.notices
        ],
    )


def answer_json(result: SubmitResult) -> bytes:
    """The answer as :class:`ReportOut` encodes it (``result_out(result).model_dump_json()``,
    byte for byte: a test checks it), without building and validating a model per notice:
    a report joining a live incident lists all of its notices."""
    notices = [n.fields() for n in result.notices]
    return to_json(
        {
            "report_id": result.report_id,
            "incident_id": result.incident_id,
            "opened": result.opened,
            "joined": result.joined,
            "exceeded": result.exceeded,
            "notices": notices,
        }
    )


def _report_input(body: ReportIn, caller: Principal) -> ReportInput:
    return ReportInput(
        measurements=to_measurements(body.measurements),
        reporter=caller.name,
        observed_at=body.observed_at,
        station_id=body.station_id,
        reach_id=body.reach_id,
        lon=body.lon,
        lat=body.lat,
        direction=ReportDirection(body.direction),
        note=body.note,
        declared_incident=body.declared_incident,
    )


@cache
def _account_query() -> Select[Any]:
    c = User.__table__.c
    return select(c.username, c.role, c.jurisdiction_id, c.active).where(
        c.id == bindparam("user_id")
    )


def bearer_claims(services: Services, token: str) -> TokenClaims:
    """The token's claims, refused as ``api.deps``'s bearer dependency refuses them. A
    signature check only: done before the request queues for the write turn."""
    try:
        return read_bearer_token(token, secret_key=services.settings.secret_key.get_secret_value())
    except BearerError as exc:
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        raise ApiError(401, exc.code, exc.zh, exc.en, headers=challenge) from None


def signed_in(session: Session, claims: TokenClaims) -> Principal:
    """The person of valid claims, with ``api.deps``'s checks (an active account of that
    name); the account read as plain columns, not as an ORM object (once per report)."""
    row = session.connection().execute(_account_query(), {"user_id": claims.user_id}).first()
    if row is None or not row.active or row.username != claims.username:
        raise unauthenticated("账户不存在或已停用", "account unknown or disabled")
    return Principal(name=row.username, role=row.role, jurisdiction_id=row.jurisdiction_id,
                     user_id=claims.user_id)  # fmt: skip


def submit_as_caller(
    services: Services, body: ReportIn, *, token: str | None, key: str | None
) -> bytes:
    """Authenticate, submit and commit (with the reports of other requests waiting at the
    same time: ``api.ingest.GroupCommit``); the answer as JSON, encoded once committed. A
    station key's rate limit is checked first, in the write turn (its bucket may live in the
    database: its own short transaction, in this thread, never on the event loop)."""
    ctx = services.context()
    claims = bearer_claims(services, token) if token else None
    first = None
    if claims is None and key is not None:
        s = services.settings
        policy = RatePolicy(s.report_burst, s.report_per_minute)

        def first() -> None:
            limit_reports(services.extras, policy=policy, station_key=key)

    def work(session: Session) -> SubmitResult:
        caller: Principal
        if claims is not None:
            caller = signed_in(session, claims)
        elif key is not None:
            caller = verify_station(session, station_id=body.station_id, key=key, services=services)
        else:  # pragma: no cover - post_report refuses this before any database work
            raise unauthenticated()
        data = _report_input(body, caller)
        plans = route_plans(services)
        return submit_report(session, data, ctx=ctx, now=services.now(), plans=plans)

    result = group_commit(services).run(services, work, first=first)
    return answer_json(result)


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    summary="提交异常报告 / submit a report (scope: station key for its station, or any user)",
    responses=error_responses(401, 403, 404, 422, 429),
)
async def post_report(
    *,
    request: Request,
    body: ReportIn,
    token: Annotated[str | None, Depends(bearer_scheme)],
    key: Annotated[str | None, Depends(api_key_scheme)],
) -> Response:
    """Evaluates the measurements against GB 3838-2002 and the station's alarm limits; when
    one is exceeded (or ``declared_incident``), opens an incident or joins the live one that
    covers this place and time, and answers with every notice of that incident."""
    services = services_of(request)
    key = key or None
    if not token and key is None:
        raise unauthenticated("请提供站点密钥或登录", "give a station key (X-API-Key) or sign in")
    answer = await run_in_threadpool(submit_as_caller, services, body, token=token, key=key)
    return Response(answer, status_code=201, media_type="application/json")

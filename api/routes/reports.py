"""POST /reports: a station (X-API-Key) or a signed-in person reports an anomaly."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import (
    ContextDep,
    OptionalUser,
    Principal,
    ServicesDep,
    SessionDep,
    StationKey,
    unauthenticated,
    verify_station,
)
from api.errors import error_responses
from api.ratelimit import RatePolicy, limit_reports
from api.schemas.reports import MeasurementIn, NoticeOut, ReportIn, ReportOut
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


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    summary="提交异常报告 / submit a report (scope: station key for its station, or any user)",
    responses=error_responses(401, 403, 404, 422, 429),
)
def post_report(
    *,
    body: ReportIn,
    session: SessionDep,
    services: ServicesDep,
    ctx: ContextDep,
    user: OptionalUser,
    key: StationKey,
) -> ReportOut:
    """Evaluates the measurements against GB 3838-2002 and the station's alarm limits; when
    one is exceeded (or ``declared_incident``), opens an incident or joins the live one that
    covers this place and time, and answers with every notice of that incident."""
    caller: Principal
    if user is not None:
        caller = user
    elif key is not None:
        s = services.settings
        policy = RatePolicy(s.report_burst, s.report_per_minute)
        limit_reports(services.extras, policy=policy, station_key=key)
        caller = verify_station(session, station_id=body.station_id, key=key, services=services)
    else:
        raise unauthenticated("请提供站点密钥或登录", "give a station key (X-API-Key) or sign in")
    data = ReportInput(
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
    result = submit_report(session, data, ctx=ctx, now=services.now())
    session.commit()
    return result_out(result)

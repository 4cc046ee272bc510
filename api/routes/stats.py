"""GET /stats: incidents, notices and time to acknowledge per month, quarter or half-year."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.auth.scopes import visible_jurisdictions
from api.deps import CurrentUser, SessionDep
from api.errors import ApiError, error_responses
from api.schemas.misc import BureauStats, PeriodStats, StatsOut
from notifier.bureaus.models import Bureau
from notifier.incidents.models import Incident
from notifier.notices.models import Notice

router = APIRouter(tags=["stats"])

SHANGHAI = ZoneInfo("Asia/Shanghai")
Period = Literal["month", "quarter", "half"]
CSV_COLUMNS = (
    "period",
    "incidents",
    "notices",
    "jurisdiction_id",
    "bureau",
    "bureau_notices",
    "acknowledged",
    "median_ack_minutes",
    "p90_ack_minutes",
)


def period_key(moment: datetime, period: Period) -> str:
    """The period a moment falls in, in Beijing time: 2026-05, 2026-Q2, 2026-H1."""
    local = moment.astimezone(SHANGHAI)
    if period == "quarter":
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    if period == "half":
        return f"{local.year}-H{1 if local.month <= 6 else 2}"
    return f"{local.year}-{local.month:02d}"


def _minutes(values: list[float]) -> tuple[float | None, float | None]:
    """Median and 90th percentile (inclusive interpolation), in minutes."""
    if not values:
        return None, None
    if len(values) == 1:
        return round(values[0], 2), round(values[0], 2)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    return round(statistics.median(values), 2), round(p90, 2)


Delays = dict[str, dict[str, list[float | None]]]  # period -> bureau -> minutes (None: no ack)


def _period_stats(
    key: str, incidents: int, delays: dict[str, list[float | None]], names: dict[str, str]
) -> PeriodStats:
    bureaus, every = [], []
    for jid, minutes in sorted(delays.items()):
        done = [d for d in minutes if d is not None]
        every += done
        median, p90 = _minutes(done)
        bureaus.append(
            BureauStats(
                jurisdiction_id=jid,
                bureau=names[jid],
                notices=len(minutes),
                acknowledged=len(done),
                median_ack_minutes=median,
                p90_ack_minutes=p90,
            )
        )
    median, p90 = _minutes(every)
    return PeriodStats(
        period=key,
        incidents=incidents,
        notices=sum(b.notices for b in bureaus),
        acknowledged=len(every),
        median_ack_minutes=median,
        p90_ack_minutes=p90,
        bureaus=bureaus,
    )


def compute_stats(
    session: Session,
    *,
    visible: set[str] | None,
    period: Period,
    since: datetime | None,
    until: datetime | None,
    exercise: bool,
) -> list[PeriodStats]:
    """Incidents by when they opened, notices by when they were created; only what
    ``visible`` covers (None: everything)."""
    incidents = select(Incident.opened_at).where(Incident.exercise == exercise)
    notices = (
        select(Notice, Bureau.name_zh)
        .join(Bureau, Bureau.jurisdiction_id == Notice.jurisdiction_id)
        .join(Incident, Incident.id == Notice.incident_id)
        .where(Incident.exercise == exercise)
    )
    if visible is not None:
        notified = select(Notice.incident_id).where(Notice.jurisdiction_id.in_(visible))
        incidents = incidents.where(
            or_(Incident.origin_jurisdiction_id.in_(visible), Incident.id.in_(notified))
        )
        notices = notices.where(Notice.jurisdiction_id.in_(visible))
    if since is not None:
        incidents = incidents.where(Incident.opened_at >= since)
        notices = notices.where(Notice.created_at >= since)
    if until is not None:
        incidents = incidents.where(Incident.opened_at < until)
        notices = notices.where(Notice.created_at < until)
    counts: dict[str, int] = defaultdict(int)
    for opened_at in session.scalars(incidents):
        counts[period_key(opened_at, period)] += 1
    delays: Delays = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for notice, name in session.execute(notices):
        names[notice.jurisdiction_id] = name
        ack = notice.acknowledged_at
        minutes = (ack - notice.created_at).total_seconds() / 60 if ack is not None else None
        delays[period_key(notice.created_at, period)][notice.jurisdiction_id].append(minutes)
    return [
        _period_stats(key, counts.get(key, 0), delays[key], names)
        for key in sorted(set(counts) | set(delays))
    ]


def stats_csv(periods: list[PeriodStats]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for p in periods:
        bureaus: list[BureauStats | None] = list(p.bureaus) or [None]
        for b in bureaus:
            writer.writerow(
                [p.period, p.incidents, p.notices]
                + (
                    [
                        b.jurisdiction_id,
                        b.bureau,
                        b.notices,
                        b.acknowledged,
                        "" if b.median_ack_minutes is None else b.median_ack_minutes,
                        "" if b.p90_ack_minutes is None else b.p90_ack_minutes,
                    ]
                    if b is not None
                    else ["", "", 0, 0, "", ""]
                )
            )
    return out.getvalue()


DATE: dict[str, Any] = {
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "json_schema_extra": {"format": "date"},
}


def _start_of(text: str | None, name: str) -> datetime | None:
    """Midnight in Beijing at the start of a YYYY-MM-DD day."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            422,
            "validation_error",
            f"{name} 不是有效日期",
            f"{name} is not a valid date",
            field=name,
        ) from None
    if not 1970 <= day.year <= 2200:
        raise ApiError(
            422,
            "validation_error",
            f"{name} 须在 1970-2200 年间",
            f"{name}: year out of range",
            field=name,
        )
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


@router.get(
    "/stats",
    response_model=StatsOut,
    summary="统计 / statistics per period (scope: bureau: its own notices; supervisor: its "
    "subtree; admin: all)",
    responses={
        **error_responses(401, 403, 422),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
)
def get_stats(
    *,
    session: SessionDep,
    user: CurrentUser,
    period: Annotated[Period, Query(description="month, quarter or half (year)")] = "month",
    since: Annotated[
        str | None, Query(alias="from", description="含 / from (inclusive)", **DATE)
    ] = None,
    until: Annotated[
        str | None, Query(alias="to", description="不含 / to (exclusive)", **DATE)
    ] = None,
    drills: Annotated[
        bool, Query(description="演练统计 / drills instead of real incidents")
    ] = False,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> StatsOut | Response:
    """Periods in Beijing time. Time to acknowledge runs from the notice's creation."""
    periods = compute_stats(
        session,
        visible=visible_jurisdictions(session, user),
        period=period,
        since=_start_of(since, "from"),
        until=_start_of(until, "to"),
        exercise=drills,
    )
    if format == "csv":
        return Response(
            stats_csv(periods),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="rivernotify-{period}.csv"'},
        )
    return StatsOut(period=period, timezone="Asia/Shanghai", periods=periods)

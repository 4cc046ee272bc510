"""submit_report: evaluate, open or join an incident, route, write notices and outbox rows.

The caller owns the transaction (see notifier.db): everything here is flushed, not committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from notifier.audit.service import record, snapshot
from notifier.bureaus.models import Bureau
from notifier.clocks import statutory_clocks
from notifier.context import EngineContext
from notifier.enums import Grade, IncidentStatus, NoticeStatus, OutboxKind
from notifier.evaluation.evaluate import EvaluationResult
from notifier.incidents.live import LiveIncident, NoticeFacts, find_joinable, widen
from notifier.incidents.models import Incident, StatutoryClock
from notifier.incidents.plans import PlanCache, decide
from notifier.incidents.schemas import NoticeView, ReportInput, SubmitResult
from notifier.notices.models import Notice
from notifier.notices.service import notice_view
from notifier.outbox.service import enqueue
from notifier.reports.service import Located, evaluate_report, store_report, validate_report
from notifier.routing.route import NoticeDecision, province_proper

NOTICE_FIELDS = ("incident_id", "jurisdiction_id", "role", "status", "ack_deadline")
OPEN_FIELDS = (
    "river",
    "origin_reach_id",
    "origin_jurisdiction_id",
    "direction",
    "status",
    "exercise",
    "proposed_grade",
)


def _open_incident(
    session: Session,
    data: ReportInput,
    *,
    located: Located,
    grade: Grade,
    affected: list[str],
    ctx: EngineContext,
    now: datetime,
) -> Incident:
    window = timedelta(hours=ctx.policy.join_window_hours)
    incident = Incident(
        river=located.reach.river,
        origin_reach_id=located.reach.reach_id,
        origin_jurisdiction_id=located.reach.jurisdiction_id,
        direction=data.direction,
        affected_reaches=affected,
        window_start=data.observed_at - window,
        window_end=data.observed_at + window,
        status=IncidentStatus.OPEN,
        exercise=data.exercise,
        proposed_grade=grade,
        grade=None,
        opened_at=now,
    )
    session.add(incident)
    session.flush()
    record(
        session,
        actor=data.reporter,
        action="incident.open",
        entity="incident",
        entity_id=incident.id,
        at=now,
        after=snapshot(incident, OPEN_FIELDS),
    )
    _start_clocks(session, incident, grade=grade, ctx=ctx, now=now)
    return incident


def _start_clocks(
    session: Session, incident: Incident, *, grade: Grade, ctx: EngineContext, now: datetime
) -> None:
    for due in statutory_clocks(now, grade=grade, policy=ctx.policy):
        clock = StatutoryClock(
            incident_id=incident.id, kind=due.kind, due_at=due.due_at, basis=due.basis
        )
        session.add(clock)
        session.flush()
        after = {"incident_id": incident.id, "kind": due.kind.value, "due_at": due.due_at}
        record(
            session,
            actor="system",
            action="clock.start",
            entity="clock",
            entity_id=clock.id,
            at=now,
            after=after,
        )


def _unreachable(session: Session, notice: Notice, bureau: Bureau, *, now: datetime) -> None:
    """A bureau without any contact: its supervising bureau is told at once, so the notice
    is not silently lost (kind delivery_failure, reason no_contacts)."""
    supervisor = session.get(Bureau, bureau.supervisor_id) if bureau.supervisor_id else None
    told = supervisor.jurisdiction_id if supervisor else None
    record(
        session,
        actor="system",
        action="notice.no_contacts",
        entity="notice",
        entity_id=notice.id,
        at=now,
        after={"jurisdiction_id": bureau.jurisdiction_id, "told": told},
    )
    if supervisor is not None:
        extra = {"reason": "no_contacts", "unreachable_jurisdiction_id": bureau.jurisdiction_id}
        enqueue(
            session,
            kind=OutboxKind.DELIVERY_FAILURE,
            key=f"{notice.id}.no-contacts",
            incident_id=notice.incident_id,
            notice_id=notice.id,
            bureau=supervisor,
            now=now,
            extra=extra,
        )


def _new_notice(
    incident: Incident | LiveIncident,
    decision: NoticeDecision,
    *,
    position: int,
    now: datetime,
) -> Notice:
    return Notice(
        incident_id=incident.id,
        jurisdiction_id=decision.jurisdiction_id,
        role=decision.role,
        position=position,
        reason=decision.reason,
        crossing_reach=decision.crossing_reach,
        distance_km=decision.distance_km,
        eta_hours=decision.eta_hours,
        eta_at=decision.eta_at,
        ack_deadline=decision.ack_deadline,
        status=NoticeStatus.PENDING,
        created_at=now,
    )


def write_notices(
    session: Session,
    incident: Incident | LiveIncident,
    decisions: Sequence[NoticeDecision],
    *,
    actor: str,
    now: datetime,
    extra: dict[str, Any] | None = None,
    told: dict[str, int] | None = None,
) -> list[tuple[Notice, Bureau]]:
    """Notices (with their bureaus) for bureaus not yet told about this incident, each with
    its outbox rows (one
    per contact per channel). ``extra`` joins the messages' render context; ``told`` (the
    position of each bureau's notice) saves reading the incident's notices again.

    Written in a few statements, not a few per notice: the bureaus are read in one query,
    the notices inserted in one flush (their ids come back with it), then their audit events
    and outbox rows in another. Twenty notices were some sixty round trips to PostgreSQL."""
    told = dict(_told(session, incident) if told is None else told)
    position = max(told.values(), default=-1) + 1
    wanted = {d.jurisdiction_id for d in decisions} - told.keys()
    bureaus = {
        b.jurisdiction_id: b
        for b in session.scalars(select(Bureau).where(Bureau.jurisdiction_id.in_(wanted)))
    }
    made: list[tuple[Notice, Bureau]] = []
    for decision in decisions:
        if decision.jurisdiction_id in told:
            continue
        bureau = bureaus.get(decision.jurisdiction_id)
        if bureau is None:  # a jurisdiction in the network without a seeded bureau
            record(session, actor="system", action="notice.skip_unknown_bureau",
                   entity="incident", entity_id=incident.id, at=now,
                   after={"jurisdiction_id": decision.jurisdiction_id})  # fmt: skip
            continue
        notice = _new_notice(incident, decision, position=position, now=now)
        session.add(notice)
        made.append((notice, bureau))
        told[decision.jurisdiction_id] = position
        position += 1
    session.flush()
    context = {"exercise": incident.exercise} | (extra or {})
    for notice, bureau in made:
        record(session, actor=actor, action="notice.create", entity="notice",
               entity_id=notice.id, at=now, after=snapshot(notice, NOTICE_FIELDS))  # fmt: skip
        rows = enqueue(session, kind=OutboxKind.NOTICE, key=notice.id, incident_id=incident.id,
                       notice_id=notice.id, bureau=bureau, now=now, extra=context,
                       flush=False)  # fmt: skip
        if not rows:
            _unreachable(session, notice, bureau, now=now)
    session.flush()
    return made


def _told(session: Session, incident: Incident | LiveIncident) -> dict[str, int]:
    """The position of each bureau's notice in the incident."""
    query = select(Notice.jurisdiction_id, Notice.position).where(Notice.incident_id == incident.id)
    return dict(session.execute(query).tuples().all())


def _incident_for(
    session: Session,
    data: ReportInput,
    *,
    located: Located,
    result: EvaluationResult,
    affected: Sequence[str],
    ctx: EngineContext,
    now: datetime,
    facts: NoticeFacts | None = None,
) -> tuple[Incident | LiveIncident, bool]:
    """Join the live incident that covers this report, or open one; True when opened.

    Reports on one river are serialized (a transaction-scoped advisory lock on PostgreSQL;
    on SQLite writers take the database lock at BEGIN IMMEDIATE), so two reports arriving
    together cannot both open an incident.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = f"rivernotify:river:{located.reach.river}"
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    incident = find_joinable(
        session,
        river=located.reach.river,
        reach_id=located.reach.reach_id,
        observed_at=data.observed_at,
        exercise=data.exercise,
        affected=affected,
        facts=facts,
    )
    if incident is not None:
        window = timedelta(hours=ctx.policy.join_window_hours)
        widen(session, incident, data=data, affected=affected, join_window=window, now=now)
        return incident, False
    grade = result.proposed_grade or Grade.IV
    return _open_incident(
        session, data, located=located, grade=grade, affected=list(affected), ctx=ctx, now=now
    ), True


def submit_report(
    session: Session,
    data: ReportInput,
    *,
    ctx: EngineContext,
    now: datetime,
    plans: PlanCache | None = None,
) -> SubmitResult:
    """Store a report; if it exceeds a limit or declares an incident, open one (or join the
    live incident that already covers it) and decide its notices and their messages.

    ``plans`` remembers traces and recipients per reach (see notifier.incidents.plans): a
    report joining an incident whose recipients were all told is not routed again."""
    known = plans.bureaus if plans is not None else None
    located = validate_report(session, data, ctx, now=now, known_bureaus=known)
    result = evaluate_report(data, located, ctx)
    if not result.exceeded and not data.declared_incident:
        report_id = store_report(session, data, located, result, incident_id=None, now=now)
        return SubmitResult(
            report_id=report_id, incident_id=None, opened=False, joined=False, exceeded=False
        )
    reach = located.reach
    plans = plans if plans is not None else PlanCache()
    plan = plans.plan(reach, data.direction, ctx=ctx)
    incident, opened = _incident_for(session, data, located=located, result=result,
                                     affected=plan.affected, ctx=ctx, now=now,
                                     facts=plans.notice_facts)  # fmt: skip
    existing = list(incident.notices) if isinstance(incident, LiveIncident) else []
    created: list[NoticeView] = []
    if not plan.recipients.issubset(v.jurisdiction_id for v in existing):
        decisions = decide(reach, data.direction, down=plan.down, up=plan.up, ctx=ctx,
                           grade=incident.effective_grade, now=now)  # fmt: skip
        province = ctx.policy.province(
            province_proper(ctx.topology.hierarchy, reach.jurisdiction_id)
        )
        notices = write_notices(
            session,
            incident,
            decisions,
            actor=data.reporter,
            now=now,
            extra={"heads_notify_each_other": province.heads_notify_each_other},
            told={v.jurisdiction_id: v.position for v in existing},
        )
        created = [notice_view(n, bureau=b.name_zh) for n, b in notices]
    report_id = store_report(session, data, located, result, incident_id=incident.id, now=now)
    return SubmitResult(
        report_id=report_id,
        incident_id=incident.id,
        opened=opened,
        joined=not opened,
        exceeded=result.exceeded,
        notices=existing + created,
        new_notice_ids=[n.id for n in created],
    )

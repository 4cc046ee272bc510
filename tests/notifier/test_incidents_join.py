"""Joining a live incident cheaply: remembered plans (traces and recipients per reach), no
re-routing when every recipient was told, and a compact ``incident.join`` audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from notifier.audit.models import AuditEvent
from notifier.context import EngineContext
from notifier.enums import Grade, ReportDirection
from notifier.evaluation.evaluate import Measurement
from notifier.incidents.models import Incident
from notifier.incidents.plans import PlanCache, route_plan
from notifier.incidents.schemas import ReportInput, SubmitResult
from notifier.incidents.service import submit_report
from notifier.outbox.models import OutboxMessage
from tests.notifier.synthetic import NOW

Factory = sessionmaker[Session]
REACHES = ("r1", "r2", "r3", "r4", "r5", "r6", "r7")


def _submit(factory: Factory, ctx: EngineContext, plans: PlanCache, **kw: object) -> SubmitResult:
    base: dict[str, object] = dict(
        measurements=(Measurement("w21003", 4.0),), reporter="张三", observed_at=NOW, reach_id="r2"
    )
    data = ReportInput(**(base | kw))  # type: ignore[arg-type]
    with factory() as session, session.begin():
        return submit_report(session, data, ctx=ctx, now=NOW, plans=plans)


def _count(session: Session, model: type[object], *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("direction", list(ReportDirection))
def test_plan_recipients_are_whom_route_picks_at_any_time_and_grade(
    synthetic_ctx: EngineContext, direction: ReportDirection
) -> None:
    """The cache may skip routing only because whom route() picks depends on neither."""
    plans = PlanCache()
    for reach_id in REACHES:
        reach = synthetic_ctx.topology.reach(reach_id)
        assert reach is not None
        plan = plans.plan(reach, direction, ctx=synthetic_ctx)
        for grade, at in ((Grade.I, NOW), (Grade.IV, NOW + timedelta(days=400))):
            fresh, decisions = route_plan(reach, direction, ctx=synthetic_ctx, grade=grade, now=at)
            assert plan.recipients == {d.jurisdiction_id for d in decisions}
            assert (plan.affected, plan.down, plan.up) == (fresh.affected, fresh.down, fresh.up)
        assert reach_id in plan.affected


def test_plan_cache_keeps_plans_per_context(synthetic_ctx: EngineContext) -> None:
    plans = PlanCache(size=2)
    r2, r3, r4 = (synthetic_ctx.topology.reach(r) for r in ("r2", "r3", "r4"))
    assert r2 is not None and r3 is not None and r4 is not None
    first = plans.plan(r2, ReportDirection.SOURCE, ctx=synthetic_ctx)
    assert plans.plan(r2, ReportDirection.SOURCE, ctx=synthetic_ctx) is first
    assert plans.plan(r2, ReportDirection.BOTH, ctx=synthetic_ctx) is not first
    other = EngineContext(synthetic_ctx.topology, synthetic_ctx.policy, synthetic_ctx.standards)
    again = plans.plan(r2, ReportDirection.SOURCE, ctx=other)
    assert again is not first and again == first  # a new context starts afresh
    plans.plan(r3, ReportDirection.SOURCE, ctx=other)
    plans.plan(r4, ReportDirection.SOURCE, ctx=other)  # over the size: the cache starts over
    assert plans.plan(r2, ReportDirection.SOURCE, ctx=other) is not again


def test_join_inside_window_writes_nothing_but_the_report(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    plans = PlanCache()
    opened = _submit(seeded, synthetic_ctx, plans)
    with seeded() as session:
        outbox = _count(session, OutboxMessage)
        events = _count(session, AuditEvent)
    joined = _submit(seeded, synthetic_ctx, plans, observed_at=NOW - timedelta(minutes=5))
    assert joined.joined and joined.incident_id == opened.incident_id
    assert joined.notices == opened.notices and joined.new_notice_ids == []
    with seeded() as session:
        assert _count(session, OutboxMessage) == outbox
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.id > events)).all()
        assert actions == ["report.submit"]


def test_join_that_widens_the_window_records_what_changed(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    plans = PlanCache()
    first = NOW - timedelta(hours=2)
    opened = _submit(seeded, synthetic_ctx, plans, observed_at=first)
    later = NOW - timedelta(hours=1)
    _submit(seeded, synthetic_ctx, plans, observed_at=later)
    with seeded() as session:
        incident = session.get(Incident, opened.incident_id)
        assert incident is not None
        hours = synthetic_ctx.policy.join_window_hours
        assert incident.window_end == later + timedelta(hours=hours)
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident.join")
        ).one()
        assert event.before == {"window_end": (first + timedelta(hours=hours)).isoformat()}
        assert event.after == {"window_end": incident.window_end.isoformat(), "added_reaches": []}


def test_join_with_new_recipients_routes_and_answers_old_and_new_notices(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    """A report downstream looking upstream (``both``) joins and tells the bureaus upstream
    that the incident had not told; the answer lists every notice in order."""
    plans = PlanCache()
    opened = _submit(seeded, synthetic_ctx, plans, reach_id="r3")
    joined = _submit(seeded, synthetic_ctx, plans, reach_id="r4", direction=ReportDirection.BOTH)
    assert joined.joined and joined.incident_id == opened.incident_id
    assert joined.new_notice_ids
    assert joined.notices[: len(opened.notices)] == opened.notices
    new = joined.notices[len(opened.notices) :]
    assert [n.id for n in new] == joined.new_notice_ids
    assert [n.position for n in joined.notices] == list(range(len(joined.notices)))
    with seeded() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident.join")
        ).one()
        incident = session.get(Incident, opened.incident_id)
        assert incident is not None and event.after is not None
        assert set(event.after["added_reaches"]) <= set(incident.affected_reaches)
        assert event.after["added_reaches"], "the upstream walk widened the incident"


def test_join_finds_the_covering_incident_among_several_on_the_river(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    """Two live incidents on one river (one downstream, days earlier, whose window does not
    cover the later reports): a report at r3 joins the one that does, and answers with that
    incident's notices only."""
    plans = PlanCache()
    earlier = NOW - timedelta(hours=200)
    downstream = _submit(seeded, synthetic_ctx, plans, reach_id="r5", observed_at=earlier)
    upstream = _submit(seeded, synthetic_ctx, plans, reach_id="r2")
    assert upstream.opened and downstream.incident_id != upstream.incident_id
    joined = _submit(seeded, synthetic_ctx, plans, reach_id="r3")
    assert joined.joined and joined.incident_id == upstream.incident_id
    assert [n.id for n in joined.notices][: len(upstream.notices)] == [
        n.id for n in upstream.notices
    ]
    assert not {n.id for n in joined.notices} & {n.id for n in downstream.notices}


def test_a_report_upstream_of_a_live_incident_joins_and_widens_it(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    """The water seen at r2 flows through the incident opened at r3: the same pollution,
    seen further up. Either order of the two reports gives one incident."""
    plans = PlanCache()
    downstream = _submit(seeded, synthetic_ctx, plans, reach_id="r3")
    upstream = _submit(seeded, synthetic_ctx, plans, reach_id="r2")
    assert upstream.joined and upstream.incident_id == downstream.incident_id
    with seeded() as session:
        incident = session.get(Incident, downstream.incident_id)
        assert incident is not None and "r2" in incident.affected_reaches
        assert _count(session, Incident) == 1


@pytest.mark.parametrize("kept", [False, True], ids=["rows", "kept-facts"])
def test_live_notices_read_as_the_typed_notice_reader_reads_them(
    seeded: Factory, synthetic_ctx: EngineContext, kept: bool
) -> None:
    """The live-incident query reads raw columns and decodes them itself: the views must be
    those of ``notice_views`` (typed columns), floats, times and enums included; with kept
    facts (SQLite: one JSON row per incident, the floats from the facts), every time."""
    from notifier.incidents.live import NoticeFacts, find_joinable
    from notifier.notices.service import notice_views

    plans = PlanCache()
    opened = _submit(seeded, synthetic_ctx, plans, reach_id="r3")
    assert opened.incident_id is not None
    facts: NoticeFacts | None = {} if kept else None
    with seeded() as session:
        typed = notice_views(session, incident_id=opened.incident_id)
        for _ in range(2):  # facts read, then facts kept
            live = find_joinable(session, river="清水河", reach_id="r3", observed_at=NOW,
                                 exercise=False, facts=facts)  # fmt: skip
            assert live is not None and live.id == opened.incident_id
            assert list(live.notices) == typed == opened.notices
        if facts is not None and session.get_bind().dialect.name == "sqlite":
            assert set(facts) == {n.id for n in typed}
            first = typed[0].id
            key, *_ = facts[first]
            facts[first] = (key, 1.0, 2.0, "stale")  # still this notice: kept as it is
            live = find_joinable(session, river="清水河", reach_id="r3", observed_at=NOW,
                                 exercise=False, facts=facts)  # fmt: skip
            assert live is not None and live.notices[0].reason == "stale"
            facts[first] = ((key[0], "2000-01-01 00:00:00.000000"), 1.0, 2.0, "stale")  # reused id
            live = find_joinable(session, river="清水河", reach_id="r3", observed_at=NOW,
                                 exercise=False, facts=facts)  # fmt: skip
            assert live is not None and list(live.notices) == typed
    assert any(n.distance_km not in (None, 0.0) for n in typed)  # a float worth comparing


def test_live_query_reads_only_the_river_s_incidents_notices(seeded: Factory) -> None:
    """Nested as ``incidents LEFT JOIN (notices JOIN bureaus)`` SQLite materialized the join
    of every notice in the database for each report; flat, it looks them up by incident."""
    from notifier.incidents.live import _live_query

    with seeded() as session:
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            pytest.skip("SQLite's query plan (PostgreSQL plans by its statistics)")
        sql = str(_live_query().compile(dialect=connection.dialect))
        at = "2026-11-24 08:00:00.000000"
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("清水河", 0, at, at)).all()
    steps = " | ".join(str(step[-1]) for step in plan)
    assert "SCAN notices" not in steps and "MATERIALIZE" not in steps, steps
    assert "ix_notices_incident_id" in steps, steps


def test_incidents_whose_window_misses_the_report_are_not_read(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    """Only live incidents whose window covers the report come back from the database (an
    incident a week earlier on the same river costs the report nothing)."""
    from notifier.incidents.live import _live_query

    first = _submit(seeded, synthetic_ctx, PlanCache())
    assert first.opened
    with seeded() as session:
        incident = session.get(Incident, first.incident_id)
        assert incident is not None
        query, river = _live_query(), incident.river
        week_later = {"river": river, "exercise": False, "at": NOW + timedelta(days=7)}
        assert session.connection().execute(query, week_later).all() == []
        now = {"river": river, "exercise": False, "at": NOW}
        assert {row[0] for row in session.connection().execute(query, now)} == {incident.id}

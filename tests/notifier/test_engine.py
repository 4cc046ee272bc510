"""The use cases against a real database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from notifier.audit.models import AuditEvent
from notifier.context import EngineContext
from notifier.enums import (
    ClockKind,
    Grade,
    IncidentStatus,
    NoticeRole,
    NoticeStatus,
    OutboxKind,
)
from notifier.evaluation.evaluate import Measurement
from notifier.incidents.lifecycle import (
    add_follow_up,
    cancel,
    close,
    end_of_alert,
    set_severity,
)
from notifier.incidents.models import Incident, StatutoryClock
from notifier.incidents.schemas import EngineError, ReportInput, SubmitResult
from notifier.incidents.service import submit_report
from notifier.notices.models import Notice
from notifier.notices.service import acknowledge, mark_notice_sent, mark_notices_sent
from notifier.outbox.models import OutboxMessage
from notifier.reports.models import Evaluation, Report
from tests.notifier.synthetic import NOW

Factory = sessionmaker[Session]
HIGH_NH3 = (Measurement("w21003", 4.0),)


def _report(**kw: object) -> ReportInput:
    base: dict[str, object] = dict(
        measurements=HIGH_NH3, reporter="张三", observed_at=NOW, reach_id="r2"
    )
    return ReportInput(**(base | kw))  # type: ignore[arg-type]


def _submit(factory: Factory, ctx: EngineContext, **kw: object) -> SubmitResult:
    now = kw.pop("now", NOW)
    with factory() as session, session.begin():
        return submit_report(session, _report(**kw), ctx=ctx, now=now)  # type: ignore[arg-type]


def _count(session: Session, model: type[object], *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_source_report_opens_incident_with_notices_and_outbox(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    result = _submit(seeded, synthetic_ctx)
    assert result.opened and result.incident_id is not None
    got = [(n.jurisdiction_id, n.role) for n in result.notices]
    assert got == [
        ("A2", NoticeRole.DOWNSTREAM),
        ("B1", NoticeRole.DOWNSTREAM),
        ("C1", NoticeRole.BOUNDARY),
        ("C2", NoticeRole.DOWNSTREAM),
        ("A", NoticeRole.SUPERVISOR_COPY),
        ("B", NoticeRole.SUPERVISOR_COPY),
        ("P", NoticeRole.PROVINCIAL_COPY),
        ("C", NoticeRole.ADJACENT_PREFECTURE),
    ]
    assert all(n.status is NoticeStatus.PENDING for n in result.notices)
    body = result.as_json()
    assert set(body) == {"incident_id", "opened", "notices"}
    assert set(body["notices"][0]) == {  # type: ignore[index]
        "id",
        "jurisdiction_id",
        "bureau",
        "role",
        "status",
        "distance_km",
        "eta_hours",
        "ack_deadline",
    }
    with seeded() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        # One per contact per channel: B1 has an email and a WeCom webhook.
        assert len(rows) == len(result.notices) + 1
        b1 = [r for r in rows if r.payload["recipient_jurisdiction_id"] == "B1"]
        assert sorted(r.channel for r in b1) == ["email", "webhook"]
        assert {r.webhook_format for r in b1} == {None, "wecom"}
        first = rows[0]
        assert first.kind == "notice" and first.status == "pending" and first.attempts == 0
        assert first.message_id.startswith(f"<notice-{first.notice_id}.incident-")
        assert first.message_id.endswith("@rivernotify>")
        assert first.next_attempt_at == NOW and first.in_reply_to is None
        assert set(first.payload) >= {
            "kind",
            "incident_id",
            "notice_id",
            "follow_up_id",
            "recipient_jurisdiction_id",
        }
        clocks = session.scalars(select(StatutoryClock)).all()
        assert [(c.kind, c.due_at) for c in clocks] == [
            (ClockKind.REPORT_UPWARD, NOW + timedelta(hours=4))
        ]
        assert all(r.payload["heads_notify_each_other"] is False for r in rows)
        actions = {e.action for e in session.scalars(select(AuditEvent))}
        assert {"report.submit", "incident.open", "notice.create", "clock.start"} <= actions


def test_bureau_without_contacts_is_reported_to_its_supervisor(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    from notifier.bureaus.models import Bureau

    with seeded() as session, session.begin():
        bureau = session.get(Bureau, "A2")
        assert bureau is not None
        bureau.emails = []
    result = _submit(seeded, synthetic_ctx)
    a2 = next(n for n in result.notices if n.jurisdiction_id == "A2")
    with seeded() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.notice_id == a2.id)).all()
    assert [(r.kind, r.payload["recipient_jurisdiction_id"]) for r in rows] == [
        ("delivery_failure", "A")
    ]
    assert rows[0].payload["unreachable_jurisdiction_id"] == "A2"


def test_concurrent_reports_open_one_incident(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    """Reports arriving together on one river: one incident, the others join it."""
    from concurrent.futures import ThreadPoolExecutor

    from notifier.db import session_factory

    engine = seeded.kw["bind"]
    writer = session_factory(engine.execution_options(sqlite_begin="IMMEDIATE"))

    def one(reach: str) -> int | None:
        with writer() as session, session.begin():
            return submit_report(
                session, _report(reach_id=reach), ctx=synthetic_ctx, now=NOW
            ).incident_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(one, ["r2", "r3", "r2", "r3", "r2", "r3"]))
    assert len(set(ids)) == 1
    with seeded() as session:
        assert _count(session, Incident) == 1


def test_reports_are_immutable(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    _submit(seeded, synthetic_ctx)
    for statement in ("UPDATE reports SET note = 'edited'", "DELETE FROM reports"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            seeded() as session,
            session.begin(),
        ):
            session.execute(text(statement))


def test_clean_report_is_stored_and_opens_nothing(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    result = _submit(seeded, synthetic_ctx, measurements=(Measurement("w21003", 0.2),))
    assert result.incident_id is None and not result.opened and result.notices == []
    with seeded() as session:
        assert _count(session, Report) == 1 and _count(session, Evaluation) == 1
        assert _count(session, Incident) == 0 and _count(session, OutboxMessage) == 0


def test_declared_incident_without_exceedance(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    result = _submit(seeded, synthetic_ctx, measurements=(), declared_incident=True)
    assert result.opened
    with seeded() as session:
        incident = session.get(Incident, result.incident_id)
        assert incident is not None and incident.proposed_grade is Grade.IV


def test_station_and_point_reports(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    by_station = _submit(seeded, synthetic_ctx, reach_id=None, station_id="S1")
    by_point = _submit(seeded, synthetic_ctx, reach_id=None, lon=100.15, lat=40.001)
    assert by_point.incident_id == by_station.incident_id  # same river, reach and window
    with seeded() as session:
        report = session.get(Report, by_point.report_id)
        assert report is not None and report.reach_id == "r2"
        assert report.snap_distance_m == pytest.approx(110, abs=5)


def test_bad_report_lists_every_problem(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    with pytest.raises(EngineError) as info, seeded() as session, session.begin():
        submit_report(
            session,
            _report(
                reach_id="nope",
                measurements=(Measurement("w21003", 1.0, "bad"),),
                reporter=" ",
                observed_at=NOW + timedelta(days=1),
            ),
            ctx=synthetic_ctx,
            now=NOW,
        )
    assert len(info.value.problems) == 3  # future time, empty reporter, unknown reach
    with pytest.raises(EngineError, match="2000"), seeded() as session, session.begin():
        submit_report(
            session, _report(reach_id=None, lon=100.15, lat=41.0), ctx=synthetic_ctx, now=NOW
        )
    with pytest.raises(EngineError, match="exactly one"), seeded() as session, session.begin():
        submit_report(session, _report(station_id="S1"), ctx=synthetic_ctx, now=NOW)
    with seeded() as session:
        assert (
            _count(session, Report) == 0
            and _count(session, AuditEvent, AuditEvent.action == "report.submit") == 0
        )


def test_second_report_joins_without_new_storm(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    first = _submit(seeded, synthetic_ctx)
    with seeded() as session:
        before = _count(session, OutboxMessage)
    second = _submit(
        seeded,
        synthetic_ctx,
        reach_id="r3",
        now=NOW + timedelta(hours=1),
        observed_at=NOW + timedelta(hours=1),
    )
    assert second.incident_id == first.incident_id and not second.opened and second.joined
    assert second.new_notice_ids == []
    with seeded() as session:
        assert _count(session, Incident) == 1
        assert _count(session, OutboxMessage) == before
        assert _count(session, Report, Report.incident_id == first.incident_id) == 2


def test_report_outside_the_window_or_river_opens_another(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    first = _submit(seeded, synthetic_ctx)
    late = NOW + timedelta(days=5)
    other = _submit(seeded, synthetic_ctx, observed_at=late, now=late)
    assert other.opened and other.incident_id != first.incident_id
    drill = _submit(seeded, synthetic_ctx, exercise=True)
    assert drill.opened and drill.incident_id not in (first.incident_id, other.incident_id)


def test_acknowledge_once_second_is_harmless(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    result = _submit(seeded, synthetic_ctx)
    b1 = next(n for n in result.notices if n.jurisdiction_id == "B1")
    with seeded() as session, session.begin():
        first = acknowledge(
            session,
            notice_id=b1.id,
            by_name="李四",
            channel="link",
            now=NOW + timedelta(minutes=5),
            note="收到",
        )
    with seeded() as session, session.begin():
        again = acknowledge(
            session, notice_id=b1.id, by_name="王五", channel="api", now=NOW + timedelta(minutes=9)
        )
    assert first.first and not again.first
    assert again.acknowledged_at == NOW + timedelta(minutes=5) and again.by_name == "李四"
    with seeded() as session:
        notice = session.get(Notice, b1.id)
        assert notice is not None and notice.status is NoticeStatus.ACKNOWLEDGED


def test_supervisor_ack_meets_upward_clock(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    result = _submit(seeded, synthetic_ctx)
    a = next(n for n in result.notices if n.jurisdiction_id == "A")
    with seeded() as session, session.begin():
        acknowledge(
            session,
            notice_id=a.id,
            by_name="州局值班",
            channel="link",
            now=NOW + timedelta(minutes=20),
        )
    with seeded() as session:
        clock = session.scalars(select(StatutoryClock)).one()
        assert clock.met_at == NOW + timedelta(minutes=20)


def test_marking_a_batch_sent_changes_only_pending_notices(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    result = _submit(seeded, synthetic_ctx)
    first, acked, *rest = (n.id for n in result.notices)
    at = NOW + timedelta(seconds=5)
    with seeded() as session, session.begin():
        assert mark_notice_sent(session, notice_id=first, now=at)
        acknowledge(session, notice_id=acked, by_name="值班", channel="api", now=at)
    with seeded() as session, session.begin():
        changed = mark_notices_sent(session, [first, acked, *rest, *rest], now=at)
    assert changed == sorted(rest)  # the sent and the acknowledged ones are left alone
    with seeded() as session:
        statuses = {n.id: n.status for n in session.scalars(select(Notice))}
        assert statuses[acked] is NoticeStatus.ACKNOWLEDGED
        assert all(statuses[i] is NoticeStatus.SENT for i in [first, *rest])
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "notice.sent"))
        assert sorted(int(e.entity_id) for e in events) == sorted([first, *rest])
    with seeded() as session, session.begin():
        assert mark_notices_sent(session, [], now=at) == []
        with pytest.raises(EngineError):
            mark_notice_sent(session, notice_id=10**9, now=at)


def test_due_actions_remind_escalate_and_are_idempotent(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    from notifier.escalation.service import run_due_actions

    result = _submit(seeded, synthetic_ctx)
    policy = synthetic_ctx.policy
    a2 = next(n for n in result.notices if n.jurisdiction_id == "A2")  # deadline 10 min
    with seeded() as session, session.begin():
        mark_notice_sent(session, notice_id=a2.id, now=NOW + timedelta(seconds=3))
    at = NOW + timedelta(minutes=20)
    with seeded() as session, session.begin():
        first = run_due_actions(session, policy=policy, now=at)
    with seeded() as session, session.begin():
        again = run_due_actions(session, policy=policy, now=at)
    assert again == []
    assert {(x.kind.value, x.notice_id) for x in first} == {
        ("reminder", a2.id),
        ("escalation", a2.id),
    }
    with seeded() as session:
        notice = session.get(Notice, a2.id)
        assert notice is not None and notice.status is NoticeStatus.ESCALATED
        escalation = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.ESCALATION.value)
        ).one()
        assert escalation.payload["recipient_jurisdiction_id"] == "A"  # A2's supervisor
        assert escalation.payload["escalated_jurisdiction_id"] == "A2"
        reminder = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.REMINDER.value)
        ).one()
        root = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.notice_id == a2.id, OutboxMessage.kind == "notice"
            )
        ).one()
        assert reminder.in_reply_to == root.message_id
    later = NOW + timedelta(hours=3, minutes=45)  # upward report due at 4 h: warning
    with seeded() as session, session.begin():
        warned = run_due_actions(session, policy=policy, now=later)
    assert "clock_warning" in {x.kind.value for x in warned}
    with seeded() as session, session.begin():
        assert run_due_actions(session, policy=policy, now=later) == []


def test_due_actions_from_two_workers_act_once(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from notifier.db import session_factory
    from notifier.escalation.service import run_due_actions

    _submit(seeded, synthetic_ctx)
    engine = seeded.kw["bind"]
    writer = session_factory(engine.execution_options(sqlite_begin="IMMEDIATE"))
    at = NOW + timedelta(hours=5)

    def one(_: int) -> int:
        with writer() as session, session.begin():
            return len(run_due_actions(session, policy=synthetic_ctx.policy, now=at))

    with ThreadPoolExecutor(max_workers=3) as pool:
        counts = list(pool.map(one, range(3)))
    with seeded() as session:
        notices = _count(session, Notice)
        reminders = _count(session, OutboxMessage, OutboxMessage.kind == "reminder")
    assert sum(counts) == 2 * notices + 1  # a reminder and an escalation each, one warning
    assert reminders == notices + 1  # B1 has two contacts


def test_follow_up_threads_and_end_of_alert(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    result = _submit(seeded, synthetic_ctx)
    assert result.incident_id is not None
    with seeded() as session, session.begin():
        follow = add_follow_up(
            session,
            incident_id=result.incident_id,
            author="B1县值班",
            author_jurisdiction_id="B1",
            text="下游断面氨氮 2.1",
            now=NOW + timedelta(hours=1),
        )
    with seeded() as session:
        rows = [r for r in session.scalars(select(OutboxMessage)) if r.kind == "follow_up"]
        assert all(r.payload["follow_up_id"] == follow.id for r in rows)
        told = {r.payload["recipient_jurisdiction_id"] for r in rows}
        assert told == {n.jurisdiction_id for n in result.notices} - {"B1"}
        assert all(r.in_reply_to and r.in_reply_to.startswith("<notice-") for r in rows)
    with seeded() as session, session.begin():
        end_of_alert(
            session,
            incident_id=result.incident_id,
            author="A市",
            text="解除",
            now=NOW + timedelta(hours=30),
        )
    with seeded() as session:
        ends = [r for r in session.scalars(select(OutboxMessage)) if r.kind == "end_of_alert"]
        assert {r.payload["recipient_jurisdiction_id"] for r in ends} == {
            n.jurisdiction_id for n in result.notices
        }
        incident = session.get(Incident, result.incident_id)
        assert incident is not None and incident.status is IncidentStatus.MONITORING
    with seeded() as session, session.begin():
        close(session, incident_id=result.incident_id, actor="A市", now=NOW + timedelta(days=2))
    with pytest.raises(EngineError), seeded() as session, session.begin():
        close(session, incident_id=result.incident_id, actor="A市", now=NOW + timedelta(days=3))


def test_cancel_withdraws_unsent_and_tells_those_reached(
    seeded: Factory, synthetic_ctx: EngineContext
) -> None:
    result = _submit(seeded, synthetic_ctx)
    assert result.incident_id is not None
    a2 = next(n for n in result.notices if n.jurisdiction_id == "A2")
    with seeded() as session, session.begin():
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.notice_id == a2.id)).one()
        sent.status, sent.sent_at = "sent", NOW
    with seeded() as session, session.begin():
        cancel(
            session,
            incident_id=result.incident_id,
            actor="A1县",
            reason="误报",
            now=NOW + timedelta(minutes=3),
        )
    with seeded() as session:
        incident = session.get(Incident, result.incident_id)
        assert incident is not None and incident.status is IncidentStatus.CANCELLED
        statuses = {n.status for n in session.scalars(select(Notice))}
        assert statuses == {NoticeStatus.CANCELLED}
        rows = session.scalars(select(OutboxMessage)).all()
        withdrawn = [r for r in rows if r.kind == "notice" and r.status == "failed"]
        assert len(withdrawn) == len(rows) - 2  # all but the sent one and the cancellation
        told = [r for r in rows if r.kind == "end_of_alert"]
        assert [r.payload["recipient_jurisdiction_id"] for r in told] == ["A2"]
        assert told[0].payload["cancelled"] is True
    with pytest.raises(EngineError, match="cancelled"), seeded() as session, session.begin():
        acknowledge(session, notice_id=a2.id, by_name="x", channel="link", now=NOW)


def test_set_severity_moves_clocks(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    result = _submit(seeded, synthetic_ctx)
    assert result.incident_id is not None
    with seeded() as session, session.begin():
        set_severity(
            session,
            incident_id=result.incident_id,
            grade=Grade.II,
            actor="州局",
            policy=synthetic_ctx.policy,
            now=NOW + timedelta(minutes=30),
        )
    with seeded() as session:
        deadlines = {n.jurisdiction_id: n.ack_deadline for n in session.scalars(select(Notice))}
        assert deadlines["A"] == NOW + timedelta(minutes=30)  # grade II: 30 minutes, not 60
        assert deadlines["A2"] == NOW + timedelta(minutes=10)  # the floor stays
        clocks = {c.kind: c.due_at for c in session.scalars(select(StatutoryClock))}
        assert clocks == {
            ClockKind.REPORT_UPWARD: NOW + timedelta(hours=2),
            ClockKind.PUBLIC_INFORMATION: NOW + timedelta(hours=5),
            ClockKind.PRESS_CONFERENCE: NOW + timedelta(hours=24),
        }
    with seeded() as session, session.begin():
        set_severity(
            session,
            incident_id=result.incident_id,
            grade=Grade.IV,
            actor="州局",
            policy=synthetic_ctx.policy,
            now=NOW + timedelta(minutes=40),
        )
    with seeded() as session:
        kinds = [c.kind for c in session.scalars(select(StatutoryClock))]
        assert kinds == [ClockKind.REPORT_UPWARD]
        events = [e.action for e in session.scalars(select(AuditEvent))]
        assert events.count("incident.set_severity") == 2


def test_failed_use_case_leaves_nothing(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    """Decision, audit and outbox commit together or not at all."""
    with pytest.raises(RuntimeError), seeded() as session, session.begin():
        submit_report(session, _report(), ctx=synthetic_ctx, now=NOW)
        raise RuntimeError("crash before commit")
    with seeded() as session:
        for model in (Incident, Notice, OutboxMessage, Report):
            assert _count(session, model) == 0
        assert _count(session, AuditEvent, AuditEvent.action != "bureau.seed") == _count(
            session, AuditEvent, AuditEvent.entity == "station"
        )


def test_drill_results(seeded: Factory, synthetic_ctx: EngineContext) -> None:
    from notifier.drills.service import drill_results, start_drill

    with seeded() as session, session.begin():
        drill = start_drill(session, reach_id="r3", actor="州局演练", ctx=synthetic_ctx, now=NOW)
    assert drill.incident_id is not None
    b1 = next(n for n in drill.notices if n.jurisdiction_id == "B1")
    with seeded() as session, session.begin():
        acknowledge(
            session, notice_id=b1.id, by_name="B1", channel="link", now=NOW + timedelta(minutes=7)
        )
    with seeded() as session:
        incident = session.get(Incident, drill.incident_id)
        assert incident is not None and incident.exercise
        results = drill_results(session, incident_id=drill.incident_id)
        outbox = session.scalars(select(OutboxMessage)).all()
    assert all(r.payload.get("exercise") is True for r in outbox)
    by = {r.jurisdiction_id: r for r in results}
    assert by["B1"].seconds_to_ack == 420 and by["B1"].within_deadline
    assert by["A"].seconds_to_ack is None and not by["A"].within_deadline
    assert [r.jurisdiction_id for r in results] == [n.jurisdiction_id for n in drill.notices]


def test_seed_is_idempotent(seeded: Factory) -> None:
    from notifier.seed import seed_network
    from tests.notifier import synthetic

    with seeded() as session, session.begin():
        again = seed_network(
            session, network=synthetic.network(), contacts=synthetic.contacts(), now=NOW
        )
    assert again.bureaus.created == [] and again.bureaus.updated == []
    assert again.stations_changed == 0

"""api.ingest.GroupCommit: writes that wait together are committed in one transaction, and a
failure (of one job or of the commit) costs no other job its write or its answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import Services
from api.ingest import GroupCommit
from tests.api.conftest import Tokens

Work = Callable[[Session], Any]


@pytest.fixture
def services(app: FastAPI) -> Iterator[Services]:
    services: Services = app.state.services
    with services.engine.begin() as conn:
        conn.execute(text("CREATE TABLE gc_rows (id INTEGER PRIMARY KEY, n INTEGER UNIQUE, "
                          "parent INTEGER REFERENCES gc_rows (id))"))  # fmt: skip
    yield services


def _insert(n: int, seen: list[int], **extra: Any) -> Work:
    def work(session: Session) -> int:
        seen.append(id(session))
        params = {"n": n, "parent": extra.get("parent")}
        if extra.get("defer"):  # the foreign key is checked at COMMIT
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
        insert = text("INSERT INTO gc_rows (n, parent) VALUES (:n, :parent) RETURNING id")
        row_id = int(session.execute(insert, params).scalar_one())
        if extra.get("fail"):
            raise ValueError(f"job {n} refused")
        return row_id

    return work


def _together(
    services: Services, works: list[Work], firsts: dict[int, Callable[[], None]] | None = None
) -> list[Any]:
    """Each work in a thread of its own, all queued while a gate job holds the write turn,
    so that they are written as one batch; each thread's result or error."""
    group = GroupCommit()
    entered, gate = threading.Event(), threading.Event()

    def held(session: Session) -> None:
        entered.set()
        assert gate.wait(10)

    outcomes: list[Any] = [None] * len(works)

    def call(i: int, work: Work) -> None:
        try:
            first = (firsts or {}).get(i)
            outcomes[i] = group.run(services, work, first=first)
        except Exception as exc:
            outcomes[i] = exc

    holder = threading.Thread(target=group.run, args=(services, held))
    holder.start()
    assert entered.wait(10)
    threads = [threading.Thread(target=call, args=(i, w)) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while group.waiting < len(works) and time.monotonic() < deadline:
        time.sleep(0.005)
    gate.set()
    for thread in [holder, *threads]:
        thread.join(10)
    return outcomes


def _rows(services: Services) -> list[int]:
    with services.engine.connect() as conn:
        return [int(n) for n in conn.execute(text("SELECT n FROM gc_rows ORDER BY n")).scalars()]


def test_waiting_writes_share_one_transaction(services: Services) -> None:
    seen: list[int] = []
    outcomes = _together(services, [_insert(n, seen) for n in range(1, 6)])
    assert all(isinstance(o, int) for o in outcomes) and len(set(outcomes)) == 5
    assert len(seen) == 5 and len(set(seen)) == 1, "one session, one commit for all five"
    assert _rows(services) == [1, 2, 3, 4, 5]


def test_a_failing_job_fails_alone(services: Services) -> None:
    seen: list[int] = []
    works = [_insert(n, seen, fail=n == 3) for n in range(1, 6)]
    outcomes = _together(services, works)
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "job 3 refused"
    assert all(isinstance(o, int) for i, o in enumerate(outcomes) if i != 2)
    assert _rows(services) == [1, 2, 4, 5]  # nothing of job 3, nothing twice


def test_a_failed_commit_reruns_each_job_alone(services: Services) -> None:
    """Job 3 breaks a foreign key that is only checked at COMMIT: the shared commit fails,
    the batch is rolled back, and each job runs again in its own transaction."""
    from sqlalchemy.exc import IntegrityError

    seen: list[int] = []
    works = [_insert(n, seen, parent=999 if n == 3 else None, defer=n == 3) for n in range(1, 6)]
    outcomes = _together(services, works)
    assert isinstance(outcomes[2], IntegrityError)
    assert all(isinstance(o, int) for i, o in enumerate(outcomes) if i != 2)
    assert _rows(services) == [1, 2, 4, 5]
    assert len(set(seen[:5])) == 1 and len(set(seen[5:])) == 5, "together once, then alone"


def test_a_refused_first_step_skips_only_its_job(services: Services) -> None:
    seen: list[int] = []

    def refuse() -> None:
        raise PermissionError("rate limited")

    outcomes = _together(services, [_insert(n, seen) for n in range(1, 4)], {1: refuse})
    assert isinstance(outcomes[1], PermissionError)
    assert isinstance(outcomes[0], int) and isinstance(outcomes[2], int)
    assert _rows(services) == [1, 3] and len(set(seen)) == 1


def test_many_writers_all_answered_each_row_once(services: Services) -> None:
    """Eight threads writing 25 rows each, every fifth refused: no call is left waiting,
    each accepted row is stored once, and no refused one is stored."""
    group = GroupCommit()
    seen: list[int] = []
    outcomes: dict[int, Any] = {}

    def writer(t: int) -> None:
        for k in range(25):
            n = t * 100 + k
            try:
                outcomes[n] = group.run(services, _insert(n, seen, fail=n % 5 == 0))
            except ValueError as exc:
                outcomes[n] = exc

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    accepted = sorted(n for n, o in outcomes.items() if isinstance(o, int))
    assert len(outcomes) == 200 and len(accepted) == 160
    assert _rows(services) == accepted


def test_notices_of_a_rolled_back_batch_are_not_taken_for_the_committed_ones(
    services: Services, tokens: Tokens
) -> None:
    """In one batch a report opens an incident and the next joins it (reading, and keeping,
    what never changes in its notices); a third fails, so the batch is rolled back and run
    again alone, where the notices are written anew under the same ids. The joined report's
    notices are those committed, not those remembered from the rolled-back batch."""
    from api.ingest import route_plans
    from api.routes.reports import bearer_claims, signed_in
    from notifier.evaluation.evaluate import Measurement
    from notifier.incidents.schemas import ReportInput
    from notifier.incidents.service import submit_report
    from notifier.notices.service import notice_views

    claims = bearer_claims(services, tokens.header("a1")["Authorization"].split()[1])
    at = datetime(2026, 5, 1, 1, 30, tzinfo=UTC)

    def report(minutes: int, *, reaches: tuple[str, ...] = ("r2",), fail: bool = False) -> Work:
        """A report at ``reaches[k]`` on its k-th run (the last one after)."""
        runs: list[int] = []

        def work(session: Session) -> Any:
            reach = reaches[min(len(runs), len(reaches) - 1)]
            runs.append(1)
            data = ReportInput(
                measurements=(Measurement("w21003", 6.5),),
                reporter=signed_in(session, claims).name,
                observed_at=at - timedelta(minutes=minutes),
                reach_id=reach,
            )
            ctx, plans = services.context(), route_plans(services)
            result = submit_report(session, data, ctx=ctx, now=services.now(), plans=plans)
            if fail:
                raise ValueError("refused after writing")
            return result

        return work

    # The opening report is at r2 in the batch and at r3 when run again: the notices written
    # anew under the same ids are not the ones the batch's joining report had read.
    jobs = [report(0, reaches=("r2", "r3")), report(5, reaches=("r3",)), report(9, fail=True)]
    opened, joined, failed = _together(services, jobs)
    assert isinstance(failed, ValueError)
    assert opened.opened and joined.joined and joined.incident_id == opened.incident_id
    with services.sessions() as session:
        committed = notice_views(session, incident_id=opened.incident_id)
    assert joined.notices == committed == opened.notices
    facts = route_plans(services).notice_facts
    assert {n.id for n in committed} <= set(facts)

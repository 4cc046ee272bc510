"""Shared pieces of the reliability tests: a seeded database, report bodies, counting."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from notifier.outbox.models import OutboxMessage
from notifier.reports.models import Report
from tests.api.conftest import ACCOUNTS, PASSWORD
from tests.notifier import synthetic


def seed_api_database(url: str, *, usernames: tuple[str, ...] = ("a1", "admin")) -> None:
    """Migrate to head, seed the synthetic network and a few of the API tests' accounts."""
    from notifier.accounts.service import add_user
    from notifier.db import engine_from_url, session_factory
    from notifier.migrate import upgrade
    from notifier.seed import seed_network

    engine = engine_from_url(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session, session.begin():
            seed_network(
                session,
                network=synthetic.network(),
                contacts=synthetic.contacts(),
                now=synthetic.NOW,
            )
            for username in usernames:
                jid, role = ACCOUNTS[username]
                add_user(
                    session,
                    username=username,
                    password=PASSWORD,
                    jurisdiction_id=jid,
                    role=role,
                    actor="test",
                    now=synthetic.NOW,
                )
    finally:
        engine.dispose()


def report_body(n: int, *, value: float = 6.5) -> dict[str, Any]:
    """A report from station S1 (its ammonia over the limit: it opens or joins an incident)."""
    observed = datetime.now(UTC) - timedelta(minutes=5, seconds=n % 60)
    return {
        "station_id": "S1",
        "observed_at": observed.isoformat(),
        "measurements": [{"code": "w21003", "value": value, "unit": "mg/L", "flag": "N"}],
        "note": f"reliability run #{n}",
    }


def report_ids(engine: Engine) -> set[int]:
    with Session(engine) as session:
        return set(session.scalars(select(Report.id)))


def outbox_by_status(engine: Engine, *, channel: str = "email") -> dict[str, int]:
    """Outbox rows per status on one channel (the synthetic contacts also name webhooks that
    nobody serves in these tests: those stay pending, retried, as they should)."""
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.channel == channel)
            .group_by(OutboxMessage.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def outbox_message_ids(engine: Engine, *, channel: str = "email") -> set[str]:
    with Session(engine) as session:
        query = select(OutboxMessage.message_id).where(OutboxMessage.channel == channel)
        return set(session.scalars(query))


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]

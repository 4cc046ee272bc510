"""Shared pieces of the reliability tests: a seeded database, report bodies, counting."""

from __future__ import annotations

import os
import pwd
import statistics
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from notifier.outbox.models import OutboxMessage
from notifier.reports.models import Report
from tests.api.conftest import seed_synthetic_site


def seed_api_database(url: str, *, usernames: tuple[str, ...] = ("a1", "admin")) -> None:
    """Migrate to head, seed the synthetic network and a few of the API tests' accounts."""
    from notifier.db import engine_from_url, session_factory
    from notifier.migrate import upgrade

    engine = engine_from_url(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session, session.begin():
            seed_synthetic_site(session, only=usernames)
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


@contextmanager
def small_filesystem(where: Path, *, size_kib: int, owner: str | None = None) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` mounted at ``where`` (its root owned by ``owner`` if given);
    skips where mounting is not allowed."""
    where.mkdir()
    options = f"size={size_kib}k"
    if owner is not None:
        user = pwd.getpwnam(owner)
        options += f",uid={user.pw_uid},gid={user.pw_gid},mode=0700"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def fill_leaving(where: Path, *, kib: int) -> Path:
    """A file that takes all but ``kib`` KiB of the file system at ``where``; unlink it to free
    the space again."""
    filler = where / "filler"
    free = os.statvfs(where).f_bavail * os.statvfs(where).f_frsize
    filler.write_bytes(b"\0" * max(0, free - kib * 1024))
    return filler


def noisy_note(n: int, *, chars: int = 3000) -> str:
    """A report note that does not compress (PostgreSQL compresses long repetitive text, which
    would take thousands of reports to fill a disk)."""
    import random

    rng = random.Random(n)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(chars))

"""What one rate-limit check costs with each store (a measurement, not a test):

    .venv/bin/python -m tests.reliability.ratelimit_cost [CHECKS]

Prints the median and p99 time of one check for the in-process store and for the database
store on a SQLite file and on a throwaway PostgreSQL server (same key each time, as a station
reporting; and a fresh key each time, the insert path)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from api.ratelimit import DatabaseRateLimiter, RateLimiter, RatePolicy
from notifier.db import engine_from_url
from notifier.migrate import upgrade

POLICY = RatePolicy(burst=1_000_000, per_minute=60.0)


def _timed(check: Callable[[str], object], keys: list[str]) -> str:
    spent: list[float] = []
    for key in keys:
        started = time.perf_counter()
        check(key)
        spent.append(time.perf_counter() - started)
    p99 = statistics.quantiles(spent, n=100)[98]
    return f"median {statistics.median(spent) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms"


def _database(url: str, checks: int) -> None:
    engine = engine_from_url(url)
    try:
        upgrade(engine)
        limiter = DatabaseRateLimiter(engine, scope="cost", policy=POLICY)
        limiter.check("warm-up")
        same = _timed(limiter.check, ["station"] * checks)
        fresh = _timed(limiter.check, [f"key {n}" for n in range(checks)])
        print(f"  {engine.dialect.name}: same key {same}; a new key each time {fresh}")
    finally:
        engine.dispose()


def main(checks: int) -> None:
    from tests.reliability.pgserver import own_postgres

    print(f"{checks} checks per case")
    memory = RateLimiter(POLICY)
    print(f"  process: same key {_timed(memory.check, ['station'] * checks)}")
    with tempfile.TemporaryDirectory() as folder:
        _database(f"sqlite:///{Path(folder) / 'cost.db'}", checks)
    with own_postgres() as server:
        _database(server.url(), checks)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)

"""Rate limits on sign-in (per username and client address) and on report submission (per
station key): token buckets.

The decision is a pure function of (bucket, policy, now), :func:`take`; the limiters around it
only keep buckets per key. :class:`RateLimiter` keeps them in the process (bounded in number),
so behind N server processes a key gets N times its limit. :class:`DatabaseRateLimiter` keeps
them in the ``rate_limits`` table (setting ``rate_limit_store = "database"``): one short
transaction per check, the row locked while it is read and written, so every process on the
same database shares one limit. A refusal is the API's usual JSON error with status 429 and
``Retry-After`` (whole seconds, rounded up).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, select, update

from api.errors import ApiError
from notifier.settings import Settings

MAX_KEYS = 10_000
PRUNE_EVERY = 1_000  # checks between deletions of buckets that are full again
DATABASE_STORE = "rate_limit_engine"  # the extras entry that selects the database store
_CREATING = threading.Lock()


@dataclass(frozen=True, slots=True)
class RatePolicy:
    burst: int  # 0: no limit
    per_minute: float

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    at: float  # monotonic seconds when ``tokens`` was right


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    bucket: Bucket
    retry_after_s: float  # 0 when allowed


def take(bucket: Bucket | None, policy: RatePolicy, now: float) -> Decision:
    """Refill for the time since the bucket was last seen, then take one token if there is
    one. A new key starts with a full bucket."""
    if policy.burst <= 0:
        return Decision(True, Bucket(0.0, now), 0.0)
    if bucket is None:
        tokens = float(policy.burst)
    else:
        elapsed = max(0.0, now - bucket.at)
        tokens = min(float(policy.burst), bucket.tokens + elapsed * policy.per_second)
    if tokens >= 1.0:
        return Decision(True, Bucket(tokens - 1.0, now), 0.0)
    wait = math.inf if policy.per_second <= 0 else (1.0 - tokens) / policy.per_second
    return Decision(False, Bucket(tokens, now), wait)


class RateLimiter:
    """Buckets per key; the least recently used are forgotten past ``max_keys`` (a forgotten
    key starts full again, which errs on the side of letting people in)."""

    def __init__(self, policy: RatePolicy, *, max_keys: int = MAX_KEYS) -> None:
        self.policy = policy
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str, *, now: float | None = None) -> Decision:
        moment = time.monotonic() if now is None else now
        with self._lock:
            decision = take(self._buckets.get(key), self.policy, moment)
            self._buckets[key] = decision.bucket
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return decision


class DatabaseRateLimiter:
    """Buckets in the ``rate_limits`` table, one row per (scope, SHA-256 of the key).

    The row is read ``FOR UPDATE`` (PostgreSQL) or under SQLite's write lock (``BEGIN
    IMMEDIATE``), decided on by :func:`take` and written back in the same transaction, so two
    processes checking the same key at once queue on the row. Rows of keys whose bucket would
    be full again are deleted now and then: an absent row is a full bucket."""

    def __init__(
        self,
        engine: Engine,
        *,
        scope: str,
        policy: RatePolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        self.scope = scope
        self.policy = policy
        self.clock = clock
        self._checks = 0

    def check(self, key: str, *, now: float | None = None) -> Decision:
        moment = self.clock() if now is None else now
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        decision = self._check(digest, moment)
        self._checks += 1
        if self._checks % PRUNE_EVERY == 0:
            self.prune(now=moment)
        return decision

    def _check(self, digest: str, now: float) -> Decision:
        from notifier.ratelimits.models import RateBucket as Row

        where = (Row.scope == self.scope) & (Row.key == digest)
        with self.engine.begin() as conn:
            for _ in range(2):  # a second time only when another process inserted the key first
                row = conn.execute(select(Row.tokens, Row.at).where(where).with_for_update())
                found = row.first()
                decision = take(
                    None if found is None else Bucket(found.tokens, found.at), self.policy, now
                )
                values = {"tokens": decision.bucket.tokens, "at": decision.bucket.at}
                if found is not None:
                    conn.execute(update(Row).where(where).values(**values))
                    return decision
                if self._insert(conn, {"scope": self.scope, "key": digest, **values}):
                    return decision
        raise RuntimeError(f"rate limit row {self.scope}/{digest} neither found nor inserted")

    def _insert(self, conn: Connection, values: dict[str, object]) -> bool:
        from sqlalchemy.dialects import postgresql, sqlite

        from notifier.ratelimits.models import RateBucket as Row

        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT without it.
        statement = dialect.insert(Row).values(**values).on_conflict_do_nothing()
        return conn.execute(statement.returning(Row.key)).first() is not None

    def prune(self, *, now: float) -> int:
        """Delete this scope's buckets that have refilled completely since last seen."""
        from notifier.ratelimits.models import RateBucket as Row

        if self.policy.burst <= 0 or self.policy.per_second <= 0:
            return 0
        full_after = self.policy.burst / self.policy.per_second
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(Row).where((Row.scope == self.scope) & (Row.at < now - full_after))
            )
        return int(gone.rowcount)


def rate_limit_extras(settings: Settings, engine: Engine) -> dict[str, object]:
    """What :class:`api.deps.Services` starts its ``extras`` with: the engine, when the
    buckets are to live in the database."""
    return {DATABASE_STORE: engine} if settings.rate_limit_store == "database" else {}


def too_many(decision: Decision, *, what_zh: str, what_en: str) -> ApiError:
    seconds = max(1, math.ceil(min(decision.retry_after_s, 86_400.0)))
    return ApiError(
        429,
        "rate_limited",
        f"{what_zh}过于频繁，请 {seconds} 秒后再试",
        f"too many {what_en}: try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _limiter(
    extras: dict[str, object], name: str, policy: RatePolicy
) -> RateLimiter | DatabaseRateLimiter:
    with _CREATING:
        found = extras.get(name)
        if isinstance(found, RateLimiter | DatabaseRateLimiter) and found.policy == policy:
            return found
        engine = extras.get(DATABASE_STORE)
        made: RateLimiter | DatabaseRateLimiter
        if isinstance(engine, Engine):
            made = DatabaseRateLimiter(engine, scope=name, policy=policy)
        else:
            made = RateLimiter(policy)
        extras[name] = made
        return made


def limit_sign_in(
    extras: dict[str, object], *, policy: RatePolicy, username: str, client: str | None
) -> None:
    """Raise 429 when this username has been tried too often from this address."""
    key = f"{username.casefold()}\x00{client or '-'}"
    decision = _limiter(extras, "rate_sign_in", policy).check(key)
    if not decision.allowed:
        raise too_many(decision, what_zh="登录尝试", what_en="sign-in attempts")


def limit_reports(extras: dict[str, object], *, policy: RatePolicy, station_key: str) -> None:
    """Raise 429 when this station key has submitted too many reports (counted before the
    key is verified, so guessing keys is limited as well)."""
    key = hashlib.sha256(station_key.encode("utf-8", "surrogatepass")).hexdigest()
    decision = _limiter(extras, "rate_reports", policy).check(key)
    if not decision.allowed:
        raise too_many(decision, what_zh="报告提交", what_en="reports from this key")

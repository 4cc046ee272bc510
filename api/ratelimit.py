"""Rate limits on sign-in (per username and client address) and on report submission (per
station key): token buckets kept in the process.

The decision is a pure function of (bucket, policy, now), :func:`take`; the limiter around it
only keeps buckets per key, bounded in number. A refusal is the API's usual JSON error with
status 429 and ``Retry-After`` (whole seconds, rounded up). Limits are per process: behind
several server processes each counts on its own, which still bounds guessing per process.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from api.errors import ApiError

MAX_KEYS = 10_000
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


def too_many(decision: Decision, *, what_zh: str, what_en: str) -> ApiError:
    seconds = max(1, math.ceil(min(decision.retry_after_s, 86_400.0)))
    return ApiError(
        429,
        "rate_limited",
        f"{what_zh}过于频繁，请 {seconds} 秒后再试",
        f"too many {what_en}: try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _limiter(extras: dict[str, object], name: str, policy: RatePolicy) -> RateLimiter:
    with _CREATING:
        found = extras.get(name)
        if not isinstance(found, RateLimiter) or found.policy != policy:
            found = RateLimiter(policy)
            extras[name] = found
        return found


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

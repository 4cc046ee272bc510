"""When to try again: a pure decision from (attempts, failure, now, policy, random source).

The messages are urgent, so the backoff is capped low (30 s by default): after an outage,
everything pending goes out within a minute of the server's recovery. Jitter only shortens a
delay, so the cap is a real upper bound and workers that failed together do not retry in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.delivery.outcome import Result


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.25  # fraction of the delay that may be taken off at random
    max_attempts: int = 240  # temporary failures: about two hours at the cap, then give up

    def __post_init__(self) -> None:
        problems = []
        if self.base_s <= 0:
            problems.append(f"base_s must be > 0, got {self.base_s}")
        if self.factor < 1:
            problems.append(f"factor must be >= 1, got {self.factor}")
        if self.cap_s < self.base_s:
            problems.append(f"cap_s ({self.cap_s}) must be >= base_s ({self.base_s})")
        if not 0 <= self.jitter < 1:
            problems.append(f"jitter must be in [0, 1), got {self.jitter}")
        if self.max_attempts < 1:
            problems.append(f"max_attempts must be >= 1, got {self.max_attempts}")
        if problems:
            raise ValueError("invalid retry policy: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class RetryAt:
    when: datetime
    delay_s: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


Decision = RetryAt | GiveUp


def backoff_delay_s(attempts: int, *, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """The delay after the ``attempts``-th failed attempt (1-based), jitter applied."""
    exponent = max(attempts - 1, 0)
    # Bound the exponent so that huge attempt counts cannot overflow a float.
    raw = policy.base_s * policy.factor ** min(exponent, 64)
    capped = min(raw, policy.cap_s)
    return capped * (1.0 - policy.jitter * rand())


def decide_retry(
    attempts: int,
    *,
    result: Result,
    now: datetime,
    policy: RetryPolicy,
    rand: Callable[[], float],
) -> Decision:
    """What to do after the ``attempts``-th attempt (counting this one) failed with ``result``."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    if result is Result.SENT:
        raise ValueError("decide_retry is for failed attempts; this one was sent")
    if result is Result.PERMANENT:
        return GiveUp("permanent failure: the server refused the message")
    if attempts >= policy.max_attempts:
        return GiveUp(f"still failing after {attempts} attempts")
    delay = backoff_delay_s(attempts, policy=policy, rand=rand)
    return RetryAt(when=now + timedelta(seconds=delay), delay_s=delay)

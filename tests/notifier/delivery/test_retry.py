from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from notifier.delivery.outcome import Result, classify_http_status, classify_smtp_code
from notifier.delivery.retry import GiveUp, RetryAt, RetryPolicy, backoff_delay_s, decide_retry

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def no_jitter() -> float:
    return 0.0


@pytest.mark.parametrize(
    ("attempts", "expected"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (50, 30.0)]
)
def test_backoff_doubles_then_caps_at_30_seconds(attempts: int, expected: float) -> None:
    decision = decide_retry(
        attempts, result=Result.TEMPORARY, now=NOW, policy=RetryPolicy(), rand=no_jitter
    )
    assert decision == RetryAt(when=NOW + timedelta(seconds=expected), delay_s=expected)


def test_jitter_only_shortens_and_is_reproducible_with_a_seed() -> None:
    policy = RetryPolicy(jitter=0.5)
    first = [backoff_delay_s(n, policy=policy, rand=random.Random(42).random) for n in range(1, 9)]
    again = [backoff_delay_s(n, policy=policy, rand=random.Random(42).random) for n in range(1, 9)]
    assert first == again
    for n, delay in enumerate(first, start=1):
        undelayed = min(2.0 ** (n - 1), 30.0)
        assert undelayed * 0.5 <= delay <= undelayed


def test_jitter_spreads_workers_that_failed_together() -> None:
    rng = random.Random(7)
    delays = {
        round(backoff_delay_s(6, policy=RetryPolicy(), rand=rng.random), 3) for _ in range(20)
    }
    assert len(delays) > 10
    assert max(delays) <= 30.0


def test_permanent_failure_gives_up_at_once() -> None:
    decision = decide_retry(
        1, result=Result.PERMANENT, now=NOW, policy=RetryPolicy(), rand=no_jitter
    )
    assert isinstance(decision, GiveUp)
    assert "permanent" in decision.reason


def test_temporary_failures_give_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert isinstance(
        decide_retry(2, result=Result.TEMPORARY, now=NOW, policy=policy, rand=no_jitter), RetryAt
    )
    decision = decide_retry(3, result=Result.TEMPORARY, now=NOW, policy=policy, rand=no_jitter)
    assert decision == GiveUp("still failing after 3 attempts")


def test_everything_pending_goes_out_within_a_minute_of_recovery() -> None:
    """However long the outage, the next try is at most the cap (30 s) away."""
    for attempts in range(1, 200):
        decision = decide_retry(
            attempts, result=Result.TEMPORARY, now=NOW, policy=RetryPolicy(), rand=random.random
        )
        assert isinstance(decision, RetryAt)
        assert decision.when - NOW <= timedelta(seconds=30)


def test_policy_validation_lists_every_problem() -> None:
    with pytest.raises(ValueError) as caught:
        RetryPolicy(base_s=0, factor=0.5, jitter=1.0, max_attempts=0)
    message = str(caught.value)
    for field in ("base_s", "factor", "jitter", "max_attempts"):
        assert field in message


def test_naive_now_and_sent_results_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide_retry(
            1,
            result=Result.TEMPORARY,
            now=NOW.replace(tzinfo=None),
            policy=RetryPolicy(),
            rand=no_jitter,
        )
    with pytest.raises(ValueError, match="failed attempts"):
        decide_retry(1, result=Result.SENT, now=NOW, policy=RetryPolicy(), rand=no_jitter)


@pytest.mark.parametrize(
    ("code", "result"),
    [
        (250, Result.SENT),
        (421, Result.TEMPORARY),
        (451, Result.TEMPORARY),
        (452, Result.TEMPORARY),
        (550, Result.PERMANENT),
        (554, Result.PERMANENT),
        (-1, Result.TEMPORARY),
    ],
)
def test_smtp_codes(code: int, result: Result) -> None:
    assert classify_smtp_code(code) is result


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (200, Result.SENT),
        (204, Result.SENT),
        (408, Result.TEMPORARY),
        (429, Result.TEMPORARY),
        (500, Result.TEMPORARY),
        (503, Result.TEMPORARY),
        (400, Result.PERMANENT),
        (401, Result.PERMANENT),
        (404, Result.PERMANENT),
        (301, Result.PERMANENT),
    ],
)
def test_http_statuses(status: int, result: Result) -> None:
    assert classify_http_status(status) is result

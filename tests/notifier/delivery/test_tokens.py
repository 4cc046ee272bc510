from __future__ import annotations

from datetime import timedelta

import pytest

from notifier.delivery.tokens import (
    TokenExpired,
    TokenInvalid,
    ack_url,
    default_public_url,
    make_ack_token,
    read_ack_token,
)

KEY = "a-test-secret-key"
T0 = 1_800_000_000.0


def at(seconds: float) -> float:
    return T0 + seconds


def test_round_trip_carries_the_notice_id() -> None:
    token = make_ack_token(42, secret_key=KEY, clock=lambda: T0)
    assert read_ack_token(token, secret_key=KEY, clock=lambda: at(60)) == 42


def test_expires_after_seven_days_by_default() -> None:
    token = make_ack_token(42, secret_key=KEY, clock=lambda: T0)
    assert read_ack_token(token, secret_key=KEY, clock=lambda: at(7 * 86400 - 1)) == 42
    with pytest.raises(TokenExpired) as caught:
        read_ack_token(token, secret_key=KEY, clock=lambda: at(7 * 86400 + 5))
    assert caught.value.notice_id == 42
    assert caught.value.age is not None and caught.value.age > timedelta(days=7)
    assert "过期" in str(caught.value) and "expired" in str(caught.value)


def test_max_age_is_configurable() -> None:
    token = make_ack_token(1, secret_key=KEY, clock=lambda: T0)
    with pytest.raises(TokenExpired):
        read_ack_token(
            token, secret_key=KEY, max_age=timedelta(hours=1), clock=lambda: at(3601 + 1)
        )


def test_tampered_or_foreign_tokens_are_invalid() -> None:
    token = make_ack_token(42, secret_key=KEY, clock=lambda: T0)
    _, _, rest = token.partition(".")
    forged = make_ack_token(43, secret_key=KEY, clock=lambda: T0).partition(".")[0] + "." + rest
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
        forged,  # another notice's payload with this signature
        "not-a-token",
        "",
    ):
        with pytest.raises(TokenInvalid):
            read_ack_token(bad, secret_key=KEY, clock=lambda: at(1))
    with pytest.raises(TokenInvalid):  # signed with another key
        read_ack_token(token, secret_key="another-key", clock=lambda: at(1))


def test_tokens_of_other_purposes_do_not_pass() -> None:
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer(KEY, salt="session").dumps({"n": 42})
    with pytest.raises(TokenInvalid):
        read_ack_token(other, secret_key=KEY)


def test_notice_id_must_be_positive() -> None:
    with pytest.raises(ValueError):
        make_ack_token(0, secret_key=KEY)


def test_links() -> None:
    assert ack_url("T", public_url="https://notify.example/") == "https://notify.example/ack/T"
    assert default_public_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert default_public_url("::1", 8000) == "http://[::1]:8000"

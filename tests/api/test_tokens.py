"""Bearer tokens: round trip, expiry, forgery, garbage; not interchangeable with ack links."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.auth.tokens import (
    TOKEN_LIFETIME_S,
    BearerError,
    TokenClaims,
    make_bearer_token,
    read_bearer_token,
)

KEY = "token-test-secret"


def test_round_trip() -> None:
    claims = TokenClaims(7, "li", "supervisor")
    assert read_bearer_token(make_bearer_token(claims, secret_key=KEY), secret_key=KEY) == claims


def test_expired_and_forged() -> None:
    claims = TokenClaims(7, "li", "bureau")
    old = make_bearer_token(claims, secret_key=KEY, issued_at=time.time() - TOKEN_LIFETIME_S - 5)
    with pytest.raises(BearerError) as expired:
        read_bearer_token(old, secret_key=KEY)
    assert expired.value.code == "token_expired"
    with pytest.raises(BearerError) as forged:
        read_bearer_token(make_bearer_token(claims, secret_key="other"), secret_key=KEY)
    assert forged.value.code == "token_invalid"


def test_an_acknowledgement_link_is_not_a_bearer_token() -> None:
    from notifier.delivery.tokens import make_ack_token

    with pytest.raises(BearerError):
        read_bearer_token(make_ack_token(1, secret_key=KEY), secret_key=KEY)


@given(st.text(max_size=300))
def test_garbage_is_refused_cleanly(token: str) -> None:
    try:
        read_bearer_token(token, secret_key=KEY)
    except BearerError as exc:
        assert exc.code in ("token_invalid", "token_expired")

"""Acknowledgement tokens: signed, expiring, carrying a notice id.

A token in an email link is the recipient's proof of having received the notice, so it must
not be forgeable (signed with the secret key and a salt of its own, so no other signed value
of the application can be passed off as one) and must expire (a week by default: long enough
for any incident's response, short enough that old mail does not grant acknowledgements).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

SALT = "rivernotify.ack.v1"
DEFAULT_MAX_AGE = timedelta(days=7)


class TokenError(Exception):
    """Base class: the token cannot be used to acknowledge."""


class TokenExpired(TokenError):
    def __init__(self, notice_id: int | None, age: timedelta | None) -> None:
        self.notice_id = notice_id
        self.age = age
        super().__init__("确认链接已过期 / the acknowledgement link has expired")


class TokenInvalid(TokenError):
    def __init__(self) -> None:
        super().__init__("确认链接无效或已被篡改 / the acknowledgement link is invalid")


def _serializer(secret_key: str, clock: Callable[[], float]) -> URLSafeTimedSerializer:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return URLSafeTimedSerializer(secret_key, salt=SALT, signer=ClockSigner)


def make_ack_token(
    notice_id: int, *, secret_key: str, clock: Callable[[], float] = time.time
) -> str:
    if notice_id < 1:
        raise ValueError(f"notice_id must be positive, got {notice_id}")
    token: str = _serializer(secret_key, clock).dumps({"n": notice_id})
    return token


def read_ack_token(
    token: str,
    *,
    secret_key: str,
    max_age: timedelta = DEFAULT_MAX_AGE,
    clock: Callable[[], float] = time.time,
) -> int:
    """The notice id in a valid token; TokenExpired or TokenInvalid otherwise."""
    serializer = _serializer(secret_key, clock)
    try:
        payload = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        notice_id = _notice_id(_decode(serializer, exc.payload))
        age = None
        if exc.date_signed is not None:
            age = timedelta(seconds=clock() - exc.date_signed.timestamp())
        raise TokenExpired(notice_id, age) from None
    except BadSignature:
        raise TokenInvalid() from None
    notice_id = _notice_id(payload)
    if notice_id is None:
        raise TokenInvalid()
    return notice_id


def _decode(serializer: URLSafeTimedSerializer, raw: object) -> object:
    """The payload of a token that was genuine but too old (the signature did check out)."""
    if not isinstance(raw, bytes):
        return None
    try:
        return serializer.load_payload(raw)
    except BadSignature:
        return None


def _notice_id(payload: object) -> int | None:
    if isinstance(payload, dict):
        value = payload.get("n")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def ack_url(token: str, *, public_url: str) -> str:
    """The link put in messages: ``{public_url}/ack/{token}``."""
    return f"{public_url.rstrip('/')}/ack/{token}"


def default_public_url(host: str, port: int) -> str:
    """The server's own address, used when RIVERNOTIFY_PUBLIC_URL is not set."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"

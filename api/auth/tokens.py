"""Bearer tokens for people: signed with Settings.secret_key, expiring, carrying the role.

The token only says who signed in and when; the role and bureau are read again from the
database on every request, so a disabled account or a changed role takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

TOKEN_SALT = "rivernotify.bearer.v1"  # different from the acknowledgement links' salt
TOKEN_LIFETIME_S = 12 * 3600


class BearerError(Exception):
    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    username: str
    role: str


def _serializer(secret_key: str, issued_at: float | None = None) -> URLSafeTimedSerializer:
    if issued_at is None:
        return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
    stamp = int(issued_at)

    class _At(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT, signer=_At)


def make_bearer_token(
    claims: TokenClaims, *, secret_key: str, issued_at: float | None = None
) -> str:
    """``issued_at`` (POSIX seconds) is for tests of expiry; by default now."""
    payload = {"uid": claims.user_id, "u": claims.username, "r": claims.role}
    return str(_serializer(secret_key, issued_at).dumps(payload))


def read_bearer_token(
    token: str, *, secret_key: str, max_age_s: int = TOKEN_LIFETIME_S
) -> TokenClaims:
    """The claims of a valid token; BearerError says whether it expired or is not ours."""
    if len(token) > 2048:
        raise BearerError("token_invalid", "令牌无效", "invalid token")
    try:
        payload = _serializer(secret_key).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise BearerError("token_expired", "登录已过期，请重新登录", "token expired") from None
    except BadData:
        raise BearerError("token_invalid", "令牌无效", "invalid token") from None
    if not isinstance(payload, dict):
        raise BearerError("token_invalid", "令牌无效", "invalid token")
    uid, username, role = payload.get("uid"), payload.get("u"), payload.get("r")
    if not isinstance(uid, int) or not isinstance(username, str) or not isinstance(role, str):
        raise BearerError("token_invalid", "令牌无效", "invalid token")
    return TokenClaims(uid, username, role)

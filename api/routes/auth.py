"""POST /auth/token: sign in with username and password (OAuth2 password form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from api.auth.tokens import TOKEN_LIFETIME_S, TokenClaims, make_bearer_token
from api.deps import ServicesDep, SessionDep, unauthenticated
from api.errors import error_responses
from api.ratelimit import RatePolicy, limit_sign_in
from api.schemas.misc import TokenOut
from notifier.accounts.service import authenticate

router = APIRouter(tags=["auth"])

FormText = Annotated[str, Form(min_length=1, max_length=256, pattern=r"^[^\x00]*$")]


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="登录 / sign in (scope: anyone)",
    responses=error_responses(401, 422, 429),
)
def sign_in(
    *,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    username: FormText,
    password: FormText,
    grant_type: Annotated[str | None, Form(pattern=r"^password$")] = None,
    scope: Annotated[str, Form(max_length=200)] = "",
) -> TokenOut:
    """Returns a bearer token valid for 12 hours. Its scope is the account's role."""
    s = services.settings
    limit_sign_in(
        services.extras,
        policy=RatePolicy(s.sign_in_burst, s.sign_in_per_minute),
        username=username,
        client=request.client.host if request.client else None,
    )
    found = authenticate(session, username=username, password=password)
    if found is None:
        raise unauthenticated("用户名或密码错误", "wrong username or password")
    token = make_bearer_token(
        TokenClaims(found.user_id, found.username, found.role.value),
        secret_key=services.settings.secret_key.get_secret_value(),
    )
    return TokenOut(
        access_token=token,
        expires_in=TOKEN_LIFETIME_S,
        role=found.role.value,
        jurisdiction_id=found.jurisdiction_id,
        scope=found.role.value,
    )

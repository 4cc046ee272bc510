"""What routes receive: settings, a database session, the engine context and the caller.

Everything is held by one :class:`Services` object on ``app.state.services``, built by
``create_app(settings)``; nothing here reads the environment or builds anything at import time.
The river network is loaded on first use and kept (``Services.context``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth.tokens import BearerError, read_bearer_token
from api.errors import ApiError
from api.ratelimit import rate_limit_extras
from notifier.accounts.roles import Role
from notifier.context import EngineContext
from notifier.db import engine_from_settings, session_factory
from notifier.settings import Settings

if TYPE_CHECKING:
    from basins.model import Network

TOKEN_URL = "/api/v1/auth/token"


@dataclass
class Services:
    """The app's long-lived parts. ``context`` may be given (tests) or is loaded lazily."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writer_sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    preset_context: EngineContext | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the HJ 212 listener's stats
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings, *, context: EngineContext | None = None) -> Services:
        engine = engine_from_settings(settings)
        # Writers take SQLite's write lock up front (no deadlock on lock upgrade).
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        return cls(
            settings,
            engine,
            session_factory(engine),
            session_factory(writer),
            preset_context=context,
            extras=rate_limit_extras(settings, engine),
        )

    def context(self) -> EngineContext:
        """The network, policy and standards; loaded once, on first use."""
        if self.preset_context is None:
            with self._lock:
                if self.preset_context is None:
                    from notifier.context import context_from_settings

                    self.preset_context = context_from_settings(self.settings)
        return self.preset_context

    def network(self) -> Network:
        topology = self.context().topology
        network = getattr(topology, "network", None)
        if network is None:  # pragma: no cover - every shipped topology has one
            raise RuntimeError("this topology carries no network")
        return network  # type: ignore[no-any-return]

    def now(self) -> datetime:
        return self.clock()


def services_of(request: Request) -> Services:
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, Services):  # pragma: no cover - create_app always sets it
        raise RuntimeError("app.state.services is not set: build the app with create_app")
    return services


ServicesDep = Annotated[Services, Depends(services_of)]


def _settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(_settings)]


def _context(services: ServicesDep) -> EngineContext:
    return services.context()


ContextDep = Annotated[EngineContext, Depends(_context)]


def _session(request: Request, services: ServicesDep) -> Iterator[Session]:
    """One session per request. Routes that write call ``session.commit()`` themselves once
    the use case succeeded; anything not committed is rolled back here."""
    reading = request.method in ("GET", "HEAD", "OPTIONS")
    session = services.sessions() if reading else services.writer_sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(_session)]

# --- the caller ------------------------------------------------------------------------------

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    auto_error=False,
    scopes={
        "bureau": "一个生态环境局的工作人员 / staff of one bureau",
        "supervisor": "上级局：其下辖全部单位 / a supervising bureau and everything under it",
        "admin": "管理员 / administrator",
    },
    description="POST /api/v1/auth/token 获取令牌 / sign in to get a bearer token",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="站点密钥，仅对本站有效 / a station's key, good for that station only",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in person (``user_id`` set) or a station that proved its key."""

    name: str
    role: Role | None = None
    jurisdiction_id: str | None = None
    user_id: int | None = None
    station_id: str | None = None

    @property
    def is_user(self) -> bool:
        return self.user_id is not None


def unauthenticated(zh: str = "请先登录", en: str = "sign in first") -> ApiError:
    return ApiError(
        401, "unauthenticated", zh, en, headers={"WWW-Authenticate": 'Bearer realm="rivernotify"'}
    )


def forbidden(zh: str, en: str, *, field: str | None = None) -> ApiError:
    return ApiError(403, "forbidden", zh, en, field=field)


def _user_from_token(session: Session, services: Services, token: str) -> Principal:
    from notifier.accounts.service import get_active_user

    try:
        claims = read_bearer_token(
            token, secret_key=services.settings.secret_key.get_secret_value()
        )
    except BearerError as exc:
        raise ApiError(
            401,
            exc.code,
            exc.zh,
            exc.en,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    user = get_active_user(session, claims.user_id)
    if user is None or user.username != claims.username:
        raise unauthenticated("账户不存在或已停用", "account unknown or disabled")
    return Principal(
        name=user.username,
        role=user.role,
        jurisdiction_id=user.jurisdiction_id,
        user_id=user.id,
    )


def optional_user(
    session: SessionDep,
    services: ServicesDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
) -> Principal | None:
    return None if not token else _user_from_token(session, services, token)


OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def station_key(key: Annotated[str | None, Depends(api_key_scheme)]) -> str | None:
    """The X-API-Key header; which station it is good for is checked by the route, against
    the station the request names (the key is stored hashed, so it cannot be looked up)."""
    return key or None


StationKey = Annotated[str | None, Depends(station_key)]


def current_user(user: OptionalUser, key: StationKey) -> Principal:
    if user is None:
        if key is not None:
            raise forbidden("站点密钥不能用于此操作", "a station key cannot do this")
        raise unauthenticated()
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting signed-in people with one of ``roles``."""

    def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            wanted = ", ".join(r.value for r in roles)
            raise forbidden(f"需要角色：{wanted}", f"this needs the role {wanted}")
        return user

    return check


Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


KEY_CACHE_SIZE = 1024


def verify_station(
    session: Session, *, station_id: str | None, key: str, services: Services | None = None
) -> Principal:
    """A station key proves only its own station.

    argon2 is slow on purpose; a station that reports every minute would pay for it every
    time, so keys already verified are remembered (by a SHA-256 of the key, together with the
    stored hash, so that issuing a new key forgets the old one)."""
    from notifier.stations.models import Station
    from notifier.stations.service import verify_api_key

    if station_id is None:
        raise forbidden(
            "站点密钥只能报告本站数据，请给出 station_id",
            "a station key reports for its own station only: give station_id",
            field="station_id",
        )
    station = session.get(Station, station_id)
    refused = forbidden(
        "站点密钥与站点不符", "the key is not this station's key", field="X-API-Key"
    )
    if station is None or not station.api_key_hash or len(key) > 256:
        raise refused
    cache: dict[tuple[str, str, str], bool] = (
        services.extras.setdefault("verified_keys", {}) if services is not None else {}
    )
    memo = (station_id, station.api_key_hash, hashlib.sha256(key.encode()).hexdigest())
    if memo not in cache:
        if not verify_api_key(station, key):
            raise refused
        if len(cache) >= KEY_CACHE_SIZE:
            cache.clear()
        cache[memo] = True
    return Principal(
        name=f"station:{station.station_id}",
        jurisdiction_id=station.operator_id,
        station_id=station.station_id,
    )

"""Account use cases: adding people and checking their passwords (argon2)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.accounts.models import User
from notifier.accounts.roles import Role
from notifier.audit.service import record
from notifier.bureaus.models import Bureau
from notifier.incidents.schemas import EngineError

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{2,64}")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# Verifying against this when the user does not exist keeps the timing of a wrong username
# the same as that of a wrong password.
_HASHER = PasswordHasher()
_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_HASHER.hash("rivernotify-no-such-user"))
    return _DUMMY_HASH[0]


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    jurisdiction_id: str,
    role: Role | str,
    actor: str,
    now: datetime,
    display_name: str = "",
) -> User:
    """A new account; every problem with the input is reported at once."""
    problems = _user_problems(
        session, username=username, password=password, jurisdiction_id=jurisdiction_id, role=role
    )
    if problems:
        raise EngineError(problems)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_HASHER.hash(password),
        jurisdiction_id=jurisdiction_id,
        role=Role(role),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.add",
        entity="user",
        entity_id=user.id,
        at=now,
        after={"username": username, "jurisdiction_id": jurisdiction_id, "role": str(role)},
    )
    return user


def _user_problems(
    session: Session, *, username: str, password: str, jurisdiction_id: str, role: Role | str
) -> list[str]:
    problems: list[str] = []
    if not USERNAME.fullmatch(username):
        problems.append(
            "用户名须为 2-64 个字母、数字或 _.@- / username must be 2-64 letters, digits or _.@-"
        )
    elif session.scalars(select(User).where(User.username == username)).first() is not None:
        problems.append(f"用户名已存在 / username {username!r} is taken")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        problems.append(
            f"密码长度须为 {MIN_PASSWORD}-{MAX_PASSWORD} / password must be "
            f"{MIN_PASSWORD}-{MAX_PASSWORD} characters"
        )
    if role not in set(Role):
        problems.append(f"未知角色 / unknown role {role!r} (bureau, supervisor, admin)")
    if session.get(Bureau, jurisdiction_id) is None:
        problems.append(
            f"未知单位 / unknown bureau {jurisdiction_id!r} (run `rivernotify db upgrade` first?)"
        )
    return problems


@dataclass(frozen=True, slots=True)
class Authenticated:
    user_id: int
    username: str
    jurisdiction_id: str
    role: Role


def authenticate(session: Session, *, username: str, password: str) -> Authenticated | None:
    """The account if the password matches and the account is active, else None."""
    user = session.scalars(select(User).where(User.username == username)).first()
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = False
    with contextlib.suppress(VerificationError, InvalidHashError):
        ok = _HASHER.verify(stored, password)
    if user is None or not ok or not user.active:
        return None
    return Authenticated(user.id, user.username, user.jurisdiction_id, user.role)


def get_active_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.active else None

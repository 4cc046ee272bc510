from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a signed-in person may do (the token's scope).

    bureau: one bureau's staff (their own notices, follow-ups); supervisor: a prefecture,
    XPCC division or provincial bureau (everything in its subtree: severity, close, drills);
    admin: everything.
    """

    BUREAU = "bureau"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

"""Security points of issue 8 not covered elsewhere: passwords are stored with argon2id (a
memory-hard KDF) with a real memory cost, and a wrong password costs as much as a right one
for an unknown user (no user enumeration by timing)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from notifier.accounts.models import User


def test_passwords_are_argon2id_with_a_real_memory_cost(app: FastAPI) -> None:
    with app.state.services.sessions() as session:
        hashes = [u.password_hash for u in session.query(User)]
    assert hashes
    for stored in hashes:
        assert stored.startswith("$argon2id$"), stored[:20]
        params = dict(p.split("=") for p in stored.split("$")[3].split(","))
        assert int(params["m"]) >= 19_456  # KiB: at least OWASP's minimum for argon2id


def test_unknown_users_take_as_long_as_wrong_passwords(client: TestClient) -> None:
    def timed(username: str) -> float:
        started = time.perf_counter()
        answer = client.post(
            "/api/v1/auth/token", data={"username": username, "password": "wrong password"}
        )
        assert answer.status_code == 401
        return time.perf_counter() - started

    known = min(timed("a1") for _ in range(3))
    unknown = min(timed(f"nobody{n}") for n in range(3))
    assert unknown >= 0.5 * known, (known, unknown)

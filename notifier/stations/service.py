"""Station use cases: seeding from the network's stations layer and API-key credentials."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.audit.service import record, snapshot
from notifier.stations.models import Station

_FIELDS = ("name", "lon", "lat", "reach_id", "operator_id", "mn")


@dataclass(frozen=True, slots=True)
class StationRow:
    station_id: str
    name: str
    lon: float
    lat: float
    reach_id: str
    operator_id: str
    mn: str | None = None


def seed_stations(
    session: Session, *, rows: Iterable[StationRow], now: datetime, actor: str = "system:seed"
) -> int:
    """Create or update stations from the network; returns how many rows changed.

    Credentials and alarm thresholds set by people are left alone.
    """
    changed = 0
    existing = {s.station_id: s for s in session.scalars(select(Station))}
    for row in rows:
        station = existing.get(row.station_id)
        wanted = {f: getattr(row, f) for f in _FIELDS}
        if station is None:
            station = Station(station_id=row.station_id, thresholds={}, **wanted)
            session.add(station)
            existing[row.station_id] = station
            record(
                session,
                actor=actor,
                action="station.seed",
                entity="station",
                entity_id=row.station_id,
                at=now,
                after=wanted,
            )
            changed += 1
        elif snapshot(station, _FIELDS) != wanted:
            before = snapshot(station, _FIELDS)
            for name, value in wanted.items():
                setattr(station, name, value)
            record(
                session,
                actor=actor,
                action="station.update",
                entity="station",
                entity_id=row.station_id,
                at=now,
                before=before,
                after=wanted,
            )
            changed += 1
    session.flush()
    return changed


def issue_api_key(session: Session, *, station_id: str, actor: str, now: datetime) -> str:
    """A new API key for a station; only its argon2 hash is stored, the key is shown once."""
    station = session.get(Station, station_id)
    if station is None:
        raise LookupError(f"未知站点 / unknown station {station_id!r}")
    key = secrets.token_urlsafe(32)
    station.api_key_hash = PasswordHasher().hash(key)
    session.flush()
    record(
        session,
        actor=actor,
        action="station.issue_api_key",
        entity="station",
        entity_id=station_id,
        at=now,
        after={"api_key_hash": "(new)"},
    )
    return key


def verify_api_key(station: Station, key: str) -> bool:
    if not station.api_key_hash:
        return False
    try:
        return PasswordHasher().verify(station.api_key_hash, key)
    except (VerificationError, InvalidHashError):
        return False


def set_thresholds(
    session: Session,
    *,
    station_id: str,
    thresholds: dict[str, dict[str, float | str]],
    actor: str,
    now: datetime,
) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise LookupError(f"未知站点 / unknown station {station_id!r}")
    before = {"thresholds": station.thresholds}
    station.thresholds = dict(thresholds)
    session.flush()
    record(
        session,
        actor=actor,
        action="station.set_thresholds",
        entity="station",
        entity_id=station_id,
        at=now,
        before=before,
        after={"thresholds": thresholds},
    )
    return station

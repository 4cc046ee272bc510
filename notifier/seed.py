"""The seed use case run by ``rivernotify db upgrade``: bureaus and stations from the network
and data/bureaus.csv. Idempotent: a second run changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from basins.model import Network
from notifier.bureaus.schemas import BureauContacts, SeedResult
from notifier.bureaus.service import read_bureau_contacts, seed_bureaus
from notifier.stations.service import StationRow, seed_stations

CONTACTS_FILE = "bureaus.csv"


@dataclass(frozen=True, slots=True)
class NetworkSeed:
    bureaus: SeedResult
    stations_changed: int


def station_rows(network: Network) -> list[StationRow]:
    rows = []
    for row in network.stations.itertuples(index=False):
        point = row.geometry
        rows.append(
            StationRow(
                station_id=str(row.station_id),
                name=str(row.name),
                lon=float(point.x),
                lat=float(point.y),
                reach_id=str(row.reach_id),
                operator_id=str(row.jurisdiction),
                mn=str(row.mn) or None,
            )
        )
    return rows


def seed_network(
    session: Session,
    *,
    network: Network,
    contacts: Mapping[str, BureauContacts],
    now: datetime,
) -> NetworkSeed:
    bureaus = seed_bureaus(session, hierarchy=network.hierarchy, contacts=contacts, now=now)
    changed = seed_stations(session, rows=station_rows(network), now=now)
    return NetworkSeed(bureaus=bureaus, stations_changed=changed)


def contacts_in(network_dir: Path) -> dict[str, BureauContacts]:
    path = network_dir / CONTACTS_FILE
    return read_bureau_contacts(path) if path.is_file() else {}

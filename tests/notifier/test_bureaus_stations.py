"""Seeding inputs: data/bureaus.csv validation; station credentials and thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifier.audit.models import AuditEvent
from notifier.bureaus.models import Bureau
from notifier.bureaus.service import ContactsFileError, contacts_of, read_bureau_contacts
from notifier.stations.models import Station
from notifier.stations.service import issue_api_key, set_thresholds, verify_api_key
from tests.notifier.synthetic import NOW

HEADER = "jurisdiction_id,bureau,bureau_en,email,webhook_url,webhook_format,duty_name,duty_phone\n"


def test_contacts_file_problems_are_listed_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "bureaus.csv"
    path.write_text(
        HEADER
        + "A1,,,not-an-address,,,,\n"
        + "A1,,,a@example.org,ftp://x,telegram,,\n"
        + ",,,b@example.org,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ContactsFileError) as info:
        read_bureau_contacts(path)
    text = str(info.value)
    for fragment in (
        ":2: 邮箱无效",
        ":3: 重复",
        ":3: 未知 webhook_format",
        ":3: webhook 地址无效",
        ":4: 缺少 jurisdiction_id",
    ):
        assert fragment in text


def test_contacts_file_several_addresses(tmp_path: Path) -> None:
    path = tmp_path / "bureaus.csv"
    path.write_text(
        HEADER + "B1,B局,B bureau,a@example.org; b@example.org,https://h.example/x,wecom,张,1\n",
        encoding="utf-8",
    )
    got = read_bureau_contacts(path)["B1"]
    assert got.emails == ("a@example.org", "b@example.org")
    assert got.webhooks[0].format == "wecom" and got.duty_name == "张"


def test_seeded_contacts_per_channel(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        b1 = session.get(Bureau, "B1")
        assert b1 is not None and b1.supervisor_id == "B"
        assert [(c.channel, c.webhook_format) for c in contacts_of(b1)] == [
            ("email", None),
            ("webhook", "wecom"),
        ]


def test_station_api_key_is_stored_hashed(seeded: sessionmaker[Session]) -> None:
    with seeded() as session, session.begin():
        key = issue_api_key(session, station_id="S1", actor="admin", now=NOW)
    with seeded() as session:
        station = session.get(Station, "S1")
        assert station is not None and station.api_key_hash is not None
        assert key not in station.api_key_hash and station.api_key_hash.startswith("$argon2")
        assert verify_api_key(station, key) and not verify_api_key(station, key + "x")
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "station", AuditEvent.action == "station.issue_api_key"
            )
        ).all()
        assert len(events) == 1 and key not in str(events[0].after)


def test_station_thresholds(seeded: sessionmaker[Session]) -> None:
    with seeded() as session, session.begin():
        set_thresholds(
            session, station_id="S1", thresholds={"w21003": {"max": 0.5}}, actor="admin", now=NOW
        )
    with seeded() as session:
        station = session.get(Station, "S1")
        assert station is not None and station.thresholds == {"w21003": {"max": 0.5}}
    with pytest.raises(LookupError), seeded() as session, session.begin():
        set_thresholds(session, station_id="nope", thresholds={}, actor="a", now=NOW)

"""A complete notice context with the 汾河 example, for tests that render or send messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from shapely.geometry import LineString, Point, box

from notifier.delivery.context import Contact, MapGeometry, Measurement, MessageKind, NoticeContext
from notifier.delivery.email import make_message_id

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SENDER = "rivernotify <noreply@rivernotify.example>"

MakeContext = Callable[..., NoticeContext]


def notice_context(**overrides: Any) -> NoticeContext:
    values: dict[str, Any] = {
        "kind": MessageKind.NOTICE,
        "exercise": False,
        "incident_id": 7,
        "notice_id": 3,
        "river": "汾河",
        "origin_jurisdiction": "太原市小店区",
        "origin_bureau": "太原市生态环境局小店分局",
        "origin_reach": "fenhe-012",
        "origin_station": "温南社",
        "lon": 112.5601,
        "lat": 37.7102,
        "observed_at": NOW - timedelta(minutes=20),
        "recipient_bureau": "晋中市生态环境局",
        "recipient_jurisdiction": "晋中市",
        "role": "downstream",
        "message_id": make_message_id(incident_id=7, kind="notice", key=3, sender=SENDER),
        "measurements": (
            Measurement("011", "化学需氧量", "COD", 45.0, "mg/L", "≤ 20", 3, 1.25),
            Measurement("060", "氨氮", "ammonia nitrogen", 0.8, "mg/L", "≤ 1.0", 3, None),
        ),
        "distance_km": 38.2,
        "eta": NOW + timedelta(hours=3),
        "eta_estimated": True,
        "ack_deadline": NOW + timedelta(minutes=30),
        "ack_url": "http://127.0.0.1:8000/ack/TOKEN",
        "contacts": (Contact("王工", "0351-1234567", "duty@xiaodian.example", "值班"),),
        "map": MapGeometry(
            origin=Point(112.5601, 37.7102),
            path=(LineString([(112.5601, 37.7102), (112.62, 37.66), (112.71, 37.61)]),),
            recipient_area=box(112.6, 37.3, 113.1, 37.68),
        ),
    }
    values.update(overrides)
    return NoticeContext(**values)


@pytest.fixture
def make_context() -> MakeContext:
    return notice_context

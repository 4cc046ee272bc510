"""Found by the long schemathesis run: GET /incidents/{id}/cap took ~10 s for an incident with
500 follow-ups, because every CAP message re-derived the areas' polygons (widening the path
builds two map projections each time). The polygons are now derived once per incident."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from api.cap import CapText, CapUpdate, alert_messages
from tests.api.test_cap import T0, incident


def test_polygons_are_derived_once_however_many_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cap import builder

    calls: list[object] = []
    real = builder.cap_polygons

    def counted(geometry: object) -> list[str]:
        calls.append(geometry)
        return real(geometry)  # type: ignore[arg-type]

    monkeypatch.setattr(builder, "cap_polygons", counted)
    updates = tuple(
        CapUpdate(T0 + timedelta(minutes=n), CapText(f"续报 {n}", f"update {n}"))
        for n in range(1, 201)
    )
    many = replace(incident(), updates=updates)
    messages = alert_messages(many)
    assert len(messages) == 1 + 200 + 1 + len(many.acks)
    assert len(calls) == len(many.areas)
    # Every message still carries every area's polygons.
    alerts = [m for m in messages if b"<msgType>Ack</msgType>" not in m]
    assert len(alerts) == 202 and messages[0].count(b"<polygon>") > 0
    assert {m.count(b"<polygon>") for m in alerts} == {messages[0].count(b"<polygon>")}

"""Hostile input: deeply nested JSON, NUL bytes, huge numbers, invalid and far-future times,
oversized bodies and malformed forms against the API (a 4xx in the usual error shape, never a
5xx); and hypothesis-generated GeoJSON through the network importer (a NetworkValidationError
that lists the problems, never another exception)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Tokens
from tests.reliability.support import report_body

#: GeoJSON fuzz examples: 40 in CI; RIVERNOTIFY_FUZZ_EXAMPLES=2000 for a long run.
FUZZ_EXAMPLES = int(os.environ.get("RIVERNOTIFY_FUZZ_EXAMPLES", "40"))
NESTED = "[" * 100_000 + "]" * 100_000


def _body(**changes: Any) -> dict[str, Any]:
    return report_body(1) | changes


def _measure(**changes: Any) -> dict[str, Any]:
    return _body(measurements=[{"code": "w21003", "unit": "mg/L", "value": 1.0} | changes])


#: name -> (method, path, keyword arguments for the client). All must be refused with a 4xx.
HOSTILE: dict[str, tuple[str, str, dict[str, Any]]] = {
    "nested JSON (100k levels)": ("POST", "/api/v1/reports", {"content": NESTED}),
    "nested JSON in a field": (
        "POST", "/api/v1/reports",
        {"content": json.dumps(_body())[:-1] + ', "note": ' + "[" * 5000 + "]" * 5000 + "}"},
    ),
    "NUL in a JSON string": ("POST", "/api/v1/reports", {"json": _body(note="a\x00b")}),
    "NUL in a key": ("POST", "/api/v1/reports", {"json": _body(**{"no\x00te": "x"})}),
    "NUL in the station id": ("POST", "/api/v1/reports", {"json": _body(station_id="S\x001")}),
    "huge integer": ("POST", "/api/v1/reports", {"content": json.dumps(_body()).replace(
        '"value": 6.5', '"value": ' + "9" * 5000)}),
    "1e400 (infinite)": ("POST", "/api/v1/reports", {"content": json.dumps(_body()).replace(
        '"value": 6.5', '"value": 1e400')}),
    "NaN": ("POST", "/api/v1/reports", {"content": json.dumps(_body()).replace(
        '"value": 6.5', '"value": NaN')}),
    "negative measurement": ("POST", "/api/v1/reports", {"json": _measure(value=-1e308)}),
    "huge longitude": ("POST", "/api/v1/reports",
                       {"json": _body(station_id=None, lon=1e308, lat=1e308)}),
    "month 13": ("POST", "/api/v1/reports", {"json": _body(observed_at="2026-13-01T00:00:00Z")}),
    "30 February": ("POST", "/api/v1/reports", {"json": _body(observed_at="2026-02-30T00:00Z")}),
    "no time zone": ("POST", "/api/v1/reports", {"json": _body(observed_at="2026-05-01T09:30")}),
    "year 9999": ("POST", "/api/v1/reports", {"json": _body(observed_at="9999-12-31T23:59Z")}),
    "year 10000": ("POST", "/api/v1/reports", {"json": _body(observed_at="10000-01-01T00:00Z")}),
    "epoch number": ("POST", "/api/v1/reports", {"json": _body(observed_at=1e20)}),
    "far-past": ("POST", "/api/v1/reports", {"json": _body(observed_at="0001-01-01T00:00Z")}),
    "body over 256 KiB": ("POST", "/api/v1/reports", {"json": _body(note="x" * 300_000)}),
    "list instead of object": ("POST", "/api/v1/reports", {"json": [_body()]}),
    "10k measurements": ("POST", "/api/v1/reports",
                         {"json": _body(measurements=[_measure()["measurements"][0]] * 10_000)}),
    "invalid UTF-8": ("POST", "/api/v1/reports", {"content": b'{"note": "\xff\xfe"}'}),
    "form with NUL": ("POST", "/api/v1/auth/token",
                      {"data": {"username": "a1\x00", "password": "x"}}),
    "form 100 KiB name": ("POST", "/api/v1/auth/token",
                          {"data": {"username": "a" * 100_000, "password": "x"}}),
    "huge incident id": ("GET", "/api/v1/incidents/" + "9" * 400, {}),
    "negative incident id": ("POST", "/api/v1/incidents/-1/close", {"json": {}}),
    "severity not a grade": ("POST", "/api/v1/incidents/1/severity",
                             {"content": '{"grade": 1e400}'}),
    "stats impossible date": ("GET", "/api/v1/stats?from=9999-99-99", {}),
    "stats year 9999": ("GET", "/api/v1/stats?from=9999-01-01", {}),
    "stats year 0": ("GET", "/api/v1/stats?from=0000-01-01", {}),
    "trace bad direction": ("GET", "/api/v1/reaches/r2/trace?direction=" + "x" * 5000, {}),
    "trace 10k-char reach": ("GET", "/api/v1/reaches/" + "r" * 10_000 + "/trace", {}),
    "ack token garbage": ("GET", "/ack/" + "%FF" * 500, {}),
    "ack POST NUL": ("POST", "/ack/abc", {"data": {"name": "\x00"}}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_requests_get_a_clear_4xx(name: str, client: TestClient, tokens: Tokens) -> None:
    method, path, kwargs = HOSTILE[name]
    headers = tokens.header("admin")
    if "json" not in kwargs and "data" not in kwargs and method == "POST":
        headers = headers | {"Content-Type": "application/json"}
    answer = client.request(method, path, headers=headers, **kwargs)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    if answer.headers.get("content-type", "").startswith("application/json"):
        error = answer.json()["error"]
        assert error["message_zh"] and error["message_en"]
    else:  # the acknowledgement pages answer in HTML
        assert "text/html" in answer.headers.get("content-type", "")


# --- the GeoJSON importer ------------------------------------------------------------------

coordinate = st.one_of(
    st.floats(min_value=100.0, max_value=100.2, allow_nan=False),
    st.sampled_from([100.0, 100.1, 1e308, -200.0, float("nan"), 0.0]),
)
latitude = st.one_of(
    st.floats(min_value=30.0, max_value=30.2, allow_nan=False),
    st.sampled_from([30.0, 30.1, 95.0, -91.0]),
)
point = st.lists(st.one_of(coordinate, latitude), min_size=0, max_size=3)
line = st.lists(st.tuples(coordinate, latitude).map(list), min_size=0, max_size=4)
prop_value = st.one_of(
    st.none(), st.integers(-3, 3), st.sampled_from(["r1", "r2", "", "清水河", "\x00", "r1"])
)


@st.composite
def reach_features(draw: st.DrawFn) -> dict[str, Any]:
    geometry = draw(
        st.one_of(
            st.builds(lambda c: {"type": "LineString", "coordinates": c}, line),
            st.builds(lambda c: {"type": "Point", "coordinates": c}, point),
            st.just(None),
            st.just({"type": "LineString", "coordinates": "x"}),
        )
    )
    props = draw(st.dictionaries(st.sampled_from(["reach_id", "river", "name", "x"]), prop_value))
    return {"type": "Feature", "geometry": geometry, "properties": props}


@st.composite
def area_features(draw: st.DrawFn) -> dict[str, Any]:
    x0, y0 = draw(coordinate), draw(latitude)
    size = draw(st.sampled_from([0.0, 0.05, 0.2, -0.1]))
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    geometry = draw(
        st.one_of(
            st.just({"type": "Polygon", "coordinates": [ring]}),
            st.just({"type": "Polygon", "coordinates": [ring[:3]]}),  # not closed
            st.just({"type": "LineString", "coordinates": ring}),
        )
    )
    keys = st.sampled_from(["adcode", "jurisdiction_id", "name", "kind", "parent_id"])
    props = draw(st.dictionaries(keys, prop_value))
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _collection(features: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reaches=st.one_of(
        st.lists(reach_features(), max_size=5).map(_collection),
        st.sampled_from(["", "{", "[]", "null", '{"type": "FeatureCollection"}', "\x00"]),
    ),
    areas=st.lists(area_features(), max_size=3).map(_collection),
)
def test_generated_geojson_only_raises_network_validation_error(
    reaches: str, areas: str, tmp_path: Path
) -> None:
    from basins.build import build_network
    from basins.io import read_layer
    from basins.validate import NetworkValidationError, ValidationReport

    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / "reaches.geojson").write_text(reaches, encoding="utf-8")
    (folder / "areas.geojson").write_text(areas, encoding="utf-8")
    report = ValidationReport()
    try:
        lines = read_layer(folder / "reaches.geojson", layer="reaches", report=report)
        polygons = read_layer(folder / "areas.geojson", layer="jurisdictions", report=report)
        if report.ok:
            build_network(lines, polygons, report=report)
        else:
            report.raise_if_fatal()
    except NetworkValidationError as exc:
        assert exc.report.problems, "a validation error must say what is wrong"

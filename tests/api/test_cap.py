"""CAP 1.2: every message the builder produces validates against the official schema and CAP's own
rules; references chain; drills are Exercises; the reader refuses unsafe XML."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from api.cap import (
    CAP_NS,
    CapAck,
    CapArea,
    CapEnd,
    CapError,
    CapIncident,
    CapText,
    CapUpdate,
    alert_messages,
    areas_from_network,
    cap_atom_feed,
    check_cap_rules,
    read_cap,
    validate_cap,
)
from api.cap.geometry import cap_polygons

NS = {"cap": CAP_NS}
T0 = datetime(2026, 5, 1, 4, 30, 12, 345678, tzinfo=UTC)  # 12:30:12 in Beijing
HUTUBI = Point(86.9, 44.2).buffer(0.3, quad_segs=200)  # ~800 vertices
ISLANDS = MultiPolygon([Point(87.5, 44.0).buffer(0.1), Point(87.9, 44.1).buffer(0.05)])
PATH = LineString([(86.8, 43.9), (86.9, 44.2), (87.0, 44.6)])


def incident(**changes: object) -> CapIncident:
    base = CapIncident(
        incident_id="42",
        sender="652301@rivernotify.example",
        sender_name=CapText("昌吉州生态环境局昌吉市分局", "Changji City branch, Changji EEB"),
        sent=T0,
        grade="III",
        drill=False,
        headline=CapText("三屯河氨氮超标", "Ammonia nitrogen exceedance on the Santun River"),
        description=CapText("监测站测得氨氮 5.2 mg/L。", "Station measured NH3-N 5.2 mg/L."),
        instruction=CapText("请加强下游监测。", "Increase monitoring downstream."),
        web="https://rivernotify.example/incidents/42",
        areas=(
            CapArea(CapText("呼图壁县", "Hutubi County"), HUTUBI, geocode="652323"),
            CapArea(CapText("五家渠市", "Wujiaqu City"), ISLANDS, geocode="659004"),
            CapArea(CapText("污染路径", "Pollution path"), PATH),
            CapArea(CapText("昌吉州", "Changji Prefecture"), None, geocode="652300"),
        ),
        updates=(
            CapUpdate(T0 + timedelta(hours=2), CapText("浓度上升。", "Rising."), grade="II"),
            CapUpdate(T0 + timedelta(hours=5), CapText("浓度下降。", "Falling.")),
        ),
        end=CapEnd(T0 + timedelta(days=1), CapText("已恢复达标。", "Back within limits.")),
        acks=(
            CapAck(T0 + timedelta(minutes=20), "652323@rivernotify.example", "呼图壁县分局"),
            CapAck(T0 + timedelta(hours=3), "659004@rivernotify.example", "五家渠市局", "收到"),
        ),
        onset=T0 - timedelta(minutes=10),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def parsed(messages: list[bytes]) -> list[ET.Element]:
    return [read_cap(message) for message in messages]


def text(root: ET.Element, path: str) -> str:
    value = root.findtext(path, namespaces=NS)
    assert value is not None, path
    return value


def test_every_message_validates_against_the_schema(shared_data: Path) -> None:
    for drill in (False, True):
        for message in alert_messages(incident(drill=drill)):
            root = validate_cap(message)
            assert check_cap_rules(root) == []


def test_bundled_schema_is_the_official_one(shared_data: Path) -> None:
    bundled = Path(__file__).resolve().parents[2] / "api" / "cap" / "CAP-v1.2.xsd"
    assert bundled.read_bytes() == (shared_data / "cap" / "CAP-v1.2.xsd").read_bytes()


def test_message_sequence_and_chained_references() -> None:
    roots = parsed(alert_messages(incident()))
    kinds = [text(r, "cap:msgType") for r in roots]
    assert kinds == ["Alert", "Ack", "Update", "Ack", "Update", "Cancel"]
    chain = [r for r in roots if text(r, "cap:msgType") != "Ack"]
    assert chain[0].find("cap:references", NS) is None
    for before, after in itertools.pairwise(chain):
        triple = ",".join(text(before, f"cap:{k}") for k in ("sender", "identifier", "sent"))
        assert text(after, "cap:references") == triple
    alert_triple = ",".join(text(chain[0], f"cap:{k}") for k in ("sender", "identifier", "sent"))
    acks = [r for r in roots if text(r, "cap:msgType") == "Ack"]
    assert [text(a, "cap:references") for a in acks] == [alert_triple, alert_triple]
    assert text(acks[0], "cap:sender") == "652323@rivernotify.example"
    assert "呼图壁县分局" in text(acks[0], "cap:note") and acks[0].find("cap:info", NS) is None
    identifiers = [text(r, "cap:identifier") for r in roots]
    assert len(set(identifiers)) == len(identifiers)
    assert {text(r, "cap:incidents") for r in roots} == {"42"}


@pytest.mark.parametrize(("drill", "status"), [(True, "Exercise"), (False, "Actual")])
def test_status_and_restricted_scope(drill: bool, status: str) -> None:
    for root in parsed(alert_messages(incident(drill=drill))):
        assert text(root, "cap:status") == status
        assert text(root, "cap:scope") == "Restricted"
        assert "生态环境" in text(root, "cap:restriction")


def test_sent_times_in_beijing_time_without_fractions() -> None:
    roots = parsed(alert_messages(incident()))
    assert text(roots[0], "cap:sent") == "2026-05-01T12:30:12+08:00"
    for root in roots:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", text(root, "cap:sent"))


def test_bilingual_info_and_grade_mapping() -> None:
    alert, _, update, *_ = parsed(alert_messages(incident()))
    infos = alert.findall("cap:info", NS)
    assert [text(i, "cap:language") for i in infos] == ["zh-CN", "en-US"]
    assert [text(i, "cap:event") for i in infos] == ["跨界水污染", "Cross-boundary water pollution"]
    assert {text(i, "cap:category") for i in infos} == {"Env"}
    zh = infos[0]
    assert (text(zh, "cap:urgency"), text(zh, "cap:severity")) == ("Expected", "Moderate")
    assert text(zh, "cap:certainty") == "Observed"
    assert text(zh, "cap:headline") == "三屯河氨氮超标"
    assert text(zh, "cap:web") == "https://rivernotify.example/incidents/42"
    assert text(zh, "cap:onset") == "2026-05-01T12:20:12+08:00"
    raised = update.findall("cap:info", NS)[1]  # the follow-up raised the grade to II
    assert (text(raised, "cap:severity"), text(raised, "cap:urgency")) == ("Severe", "Immediate")
    assert text(raised, "cap:headline").startswith("Update:")


def test_cancel_is_all_clear() -> None:
    cancel = parsed(alert_messages(incident()))[-1]
    info = cancel.find("cap:info", NS)
    assert info is not None
    assert text(info, "cap:responseType") == "AllClear"
    assert text(info, "cap:description") == "已恢复达标。"


def test_areas_polygons_closed_capped_and_split() -> None:
    alert = parsed(alert_messages(incident()))[0]
    for info in alert.findall("cap:info", NS):
        areas = info.findall("cap:area", NS)
        assert len(areas) == 4
        hutubi, islands, path, prefecture = (a.findall("cap:polygon", NS) for a in areas)
        assert len(hutubi) == 1 and len(islands) == 2 and len(path) == 1 and prefecture == []
        for polygon in [*hutubi, *islands, *path]:
            points = (polygon.text or "").split()
            assert 4 <= len(points) <= 100 and points[0] == points[-1]
            lat, lon = map(float, points[0].split(","))
            assert 43 < lat < 45 and 86 < lon < 88  # latitude first
        geocode = areas[0].find("cap:geocode", NS)
        assert geocode is not None and text(geocode, "cap:value") == "652323"
    assert text(alert, "cap:info/cap:area/cap:areaDesc") == "呼图壁县"


def test_path_band_contains_the_path() -> None:
    (ring,) = cap_polygons(PATH)
    band = Polygon([tuple(map(float, p.split(",")))[::-1] for p in ring.split()])
    assert band.buffer(1e-4).contains(PATH)
    assert band.area < PATH.length * 0.02  # a band, not a blob


def test_tiny_shapes_collapsing_under_rounding_are_dropped() -> None:
    assert cap_polygons(Point(87, 44).buffer(1e-7)) == []
    assert cap_polygons(None) == []


def test_minimal_incident_validates(shared_data: Path) -> None:
    minimal = incident(areas=(), updates=(), end=None, acks=(), onset=None, grade=None)
    (only,) = alert_messages(minimal)
    root = validate_cap(only)
    assert text(root, "cap:info/cap:severity") == "Unknown"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sender": "bad sender"}, "sender"),
        ({"incident_id": "4,2"}, "incident_id"),
        ({"grade": "V"}, "grade"),
        ({"sent": datetime(2026, 5, 1)}, "naive"),
    ],
)
def test_bad_input_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        alert_messages(incident(**changes))


# --- the reader and validator on the shared samples --------------------------------------------


def test_shared_samples_validate_except_the_invalid_one(shared_data: Path) -> None:
    samples = sorted((shared_data / "cap").glob("google_*.cap"))
    assert len(samples) >= 8
    for sample in samples:
        if sample.name in ("google_invalid.cap", "google_xee.cap"):
            with pytest.raises(CapError):
                validate_cap(sample.read_bytes())
        else:
            validate_cap(sample.read_bytes())


def test_invalid_sample_reports_the_missing_scope(shared_data: Path) -> None:
    with pytest.raises(CapError) as info:
        validate_cap((shared_data / "cap" / "google_invalid.cap").read_bytes())
    assert "scope" in str(info.value)


def test_external_entity_attack_is_refused(shared_data: Path) -> None:
    with pytest.raises(CapError, match="unsafe XML"):
        read_cap((shared_data / "cap" / "google_xee.cap").read_bytes())


def test_entity_expansion_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><alert>&x;&x;</alert>'
    with pytest.raises(CapError, match="unsafe XML"):
        read_cap(bomb)


def test_cap_11_messages_are_refused(shared_data: Path) -> None:
    for sample in sorted((shared_data / "cap" / "cap11_wrong_namespace").iterdir()):
        with pytest.raises(CapError):
            read_cap(sample.read_bytes())


def test_malformed_xml_is_a_clear_error() -> None:
    with pytest.raises(CapError, match="malformed XML"):
        read_cap(b"<alert")


# --- areas from the network, and the feed -------------------------------------------------------


def test_areas_from_network_cover_jurisdictions_and_path(shared_data: Path) -> None:
    from tests.api.test_ogc import tiny_network

    network = tiny_network()
    areas = areas_from_network(
        network, jurisdiction_ids=["652323", "652300"], path_reach_ids=["r001", "r002", "r003"]
    )
    county, prefecture, path = areas
    assert county.name.zh == "呼图壁县" and county.geocode == "652323"
    assert county.geometry is not None and county.geometry.equals(box(86.0, 43.5, 87.0, 45.0))
    # the prefecture has no polygon of its own: its counties' union stands for it
    assert prefecture.geometry is not None
    assert prefecture.geometry.bounds == pytest.approx((86.0, 43.5, 88.4, 45.0))
    assert path.geometry is not None and path.geometry.geom_type == "MultiLineString"
    for message in alert_messages(incident(areas=areas)):
        assert check_cap_rules(validate_cap(message)) == []
    with pytest.raises(KeyError, match="999999, r999"):
        areas_from_network(network, jurisdiction_ids=["999999"], path_reach_ids=["r999"])


def test_shipped_network_areas(data_dir: Path) -> None:
    if not (data_dir / "jurisdictions.geojson").exists():
        pytest.skip(f"no shipped network in {data_dir} yet")
    from basins.io import read_network

    network = read_network(data_dir)
    ids = list(network.jurisdictions["jurisdiction_id"][:5])
    reaches = list(network.reaches["reach_id"][:5])
    areas = areas_from_network(network, jurisdiction_ids=ids, path_reach_ids=reaches)
    for message in alert_messages(incident(areas=areas)):
        root = read_cap(message)
        assert check_cap_rules(root) == []
        for polygon in root.iterfind(".//cap:polygon", NS):
            assert len((polygon.text or "").split()) <= 100


def test_atom_feed_holds_every_message(shared_data: Path) -> None:
    messages = alert_messages(incident())
    feed = cap_atom_feed(messages, title="事件 42 & more", self_url="http://h/x?a=1&b=2")
    root = SafeET.fromstring(feed)
    atom = {"a": "http://www.w3.org/2005/Atom"}
    assert root.findtext("a:title", namespaces=atom) == "事件 42 & more"
    assert root.findtext("a:updated", namespaces=atom) == "2026-05-02T12:30:12+08:00"
    entries = root.findall("a:entry", atom)
    assert len(entries) == len(messages)
    for entry, message in zip(entries, messages, strict=True):
        content = entry.find("a:content", atom)
        assert content is not None and content.get("type") == "application/cap+xml"
        (alert,) = list(content)
        body = ET.tostring(alert, encoding="utf-8", default_namespace=CAP_NS)
        validate_cap(body)
        assert text(alert, "cap:identifier") == text(read_cap(message), "cap:identifier")
    assert entries[0].findtext("a:title", namespaces=atom) == "Alert: 三屯河氨氮超标"
    with pytest.raises(ValueError, match="at least"):
        cap_atom_feed([], title="t", self_url="http://h/")

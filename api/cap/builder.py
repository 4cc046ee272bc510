"""An incident as a sequence of CAP 1.2 messages.

Alert first, an Update per follow-up, a Cancel for the end of the alert; each of these
references the one before it, so that a receiver holding any message can walk back to the first.
Acknowledgements are Ack messages from the acknowledging bureau referencing the Alert. Every
message is Restricted (bureaus only) and has status Exercise for drills.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from api.cap.geometry import cap_polygons
from api.cap.model import CapAck, CapArea, CapIncident, CapText

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
EVENT = CapText(zh="跨界水污染", en="Cross-boundary water pollution")
# Grade (突发环境事件分级: I 特别重大, II 重大, III 较大, IV 一般) -> urgency, severity, certainty.
GRADES: dict[str | None, tuple[str, str, str]] = {
    "I": ("Immediate", "Extreme", "Observed"),
    "II": ("Immediate", "Severe", "Observed"),
    "III": ("Expected", "Moderate", "Observed"),
    "IV": ("Expected", "Minor", "Observed"),
    None: ("Expected", "Unknown", "Observed"),
}
GRADE_NAMES = {"I": "特别重大", "II": "重大", "III": "较大", "IV": "一般"}
_FORBIDDEN = re.compile(r"[\s,<&]")


@dataclass(frozen=True, slots=True)
class _Ref:
    sender: str
    identifier: str
    sent: str

    def __str__(self) -> str:
        return f"{self.sender},{self.identifier},{self.sent}"


def cap_time(moment: datetime) -> str:
    """CAP dateTime: Beijing time, whole seconds, explicit +08:00 offset."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: CAP times need a timezone")
    return moment.astimezone(LOCAL_TZ).replace(microsecond=0).isoformat()


def alert_messages(incident: CapIncident) -> list[bytes]:
    """The incident's CAP messages (UTF-8 XML documents), in the order they were sent."""
    _check_ids(incident)
    base = f"rivernotify-{incident.incident_id}"
    # Once for every message: widening a path builds map projections (~20 ms an area).
    polygons = [cap_polygons(area.geometry) for area in incident.areas]
    chain: list[tuple[datetime, bytes]] = []
    alert = _Ref(incident.sender, f"{base}-alert", cap_time(incident.sent))
    root = _envelope(incident, alert, "Alert", None)
    root.append(_info(incident, "zh", incident.grade, incident.description.zh, alert=True))
    root.append(_info(incident, "en", incident.grade, incident.description.en, alert=True))
    _add_areas(root, incident.areas, polygons)
    chain.append((incident.sent, _serialise(root)))
    previous, grade = alert, incident.grade
    for number, update in enumerate(incident.updates, start=1):
        grade = update.grade or grade
        ref = _Ref(incident.sender, f"{base}-update-{number}", cap_time(update.sent))
        root = _envelope(incident, ref, "Update", previous)
        root.append(_info(incident, "zh", grade, update.text.zh))
        root.append(_info(incident, "en", grade, update.text.en))
        _add_areas(root, incident.areas, polygons)
        chain.append((update.sent, _serialise(root)))
        previous = ref
    if incident.end is not None:
        ref = _Ref(incident.sender, f"{base}-cancel", cap_time(incident.end.sent))
        root = _envelope(incident, ref, "Cancel", previous)
        root.append(_info(incident, "zh", grade, incident.end.reason.zh, all_clear=True))
        root.append(_info(incident, "en", grade, incident.end.reason.en, all_clear=True))
        _add_areas(root, incident.areas, polygons)
        chain.append((incident.end.sent, _serialise(root)))
    acks = [
        (ack.sent, _serialise(_ack(incident, ack, number, alert)))
        for number, ack in enumerate(incident.acks, start=1)
    ]
    return [message for _, message in sorted(chain + acks, key=lambda item: item[0])]


def _check_ids(incident: CapIncident) -> None:
    problems = [
        f"{name}={value!r} may not hold spaces, commas, < or &"
        for name, value in [("incident_id", incident.incident_id), ("sender", incident.sender)]
        + [("ack sender", ack.sender) for ack in incident.acks]
        if not value or _FORBIDDEN.search(value)
    ]
    if incident.grade not in GRADES:
        problems.append(f"grade {incident.grade!r} is not one of I, II, III, IV")
    problems += [
        f"follow-up grade {u.grade!r} is not one of I, II, III, IV"
        for u in incident.updates
        if u.grade is not None and u.grade not in GRADES
    ]
    if problems:
        raise ValueError("; ".join(problems))


def _el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        child.text = text
    return child


def _envelope(incident: CapIncident, ref: _Ref, msg_type: str, previous: _Ref | None) -> ET.Element:
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _el(root, "identifier", ref.identifier)
    _el(root, "sender", ref.sender)
    _el(root, "sent", ref.sent)
    _el(root, "status", "Exercise" if incident.drill else "Actual")
    _el(root, "msgType", msg_type)
    _el(root, "source", "rivernotify")
    _el(root, "scope", "Restricted")
    _el(root, "restriction", incident.restriction)
    if incident.drill:
        _el(root, "note", "演练 · drill: this is an exercise, no action on the ground")
    if previous is not None:
        _el(root, "references", str(previous))
    _el(root, "incidents", incident.incident_id)
    return root


def _info(
    incident: CapIncident,
    lang: str,
    grade: str | None,
    description: str,
    *,
    alert: bool = False,
    all_clear: bool = False,
) -> ET.Element:
    zh = lang == "zh"
    info = ET.Element(f"{{{CAP_NS}}}info")
    _el(info, "language", "zh-CN" if zh else "en-US")
    _el(info, "category", "Env")
    _el(info, "event", EVENT.zh if zh else EVENT.en)
    _el(info, "responseType", "AllClear" if all_clear else "Monitor")
    urgency, severity, certainty = GRADES[grade]
    _el(info, "urgency", "Past" if all_clear else urgency)
    _el(info, "severity", severity)
    _el(info, "certainty", certainty)
    if incident.onset is not None:
        _el(info, "onset", cap_time(incident.onset))
    _el(info, "senderName", incident.sender_name.zh if zh else incident.sender_name.en)
    _el(info, "headline", _headline(incident, zh, alert=alert, all_clear=all_clear))
    _el(info, "description", description)
    _el(info, "instruction", incident.instruction.zh if zh else incident.instruction.en)
    _el(info, "web", incident.web)
    if incident.contact:
        _el(info, "contact", incident.contact)
    if grade is not None:
        parameter = _el(info, "parameter")
        _el(parameter, "valueName", "事件分级" if zh else "grade")
        _el(parameter, "value", f"{grade} {GRADE_NAMES[grade]}" if zh else grade)
    return info


def _headline(incident: CapIncident, zh: bool, *, alert: bool, all_clear: bool) -> str:
    text = incident.headline.zh if zh else incident.headline.en
    if all_clear:
        return f"【终报】{text}" if zh else f"Ended: {text}"
    if not alert:
        return f"【续报】{text}" if zh else f"Update: {text}"
    return text


def _add_areas(root: ET.Element, areas: tuple[CapArea, ...], polygons: list[list[str]]) -> None:
    """Each info block gets the areas (``polygons``: each area's CAP polygons), with their
    descriptions in its own language."""
    for info in root.findall(f"{{{CAP_NS}}}info"):
        zh = info.findtext(f"{{{CAP_NS}}}language") == "zh-CN"
        for area, rings in zip(areas, polygons, strict=True):
            element = _el(info, "area")
            _el(element, "areaDesc", area.name.zh if zh else area.name.en)
            for ring in rings:
                _el(element, "polygon", ring)
            if area.geocode:
                geocode = _el(element, "geocode")
                _el(geocode, "valueName", "ADCODE")
                _el(geocode, "value", area.geocode)


def _ack(incident: CapIncident, ack: CapAck, number: int, alert: _Ref) -> ET.Element:
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _el(root, "identifier", f"rivernotify-{incident.incident_id}-ack-{number}")
    _el(root, "sender", ack.sender)
    _el(root, "sent", cap_time(ack.sent))
    _el(root, "status", "Exercise" if incident.drill else "Actual")
    _el(root, "msgType", "Ack")
    _el(root, "source", "rivernotify")
    _el(root, "scope", "Restricted")
    _el(root, "restriction", incident.restriction)
    note = f"{ack.bureau} 已确认收到通报 · acknowledged by {ack.bureau}"
    _el(root, "note", f"{note}: {ack.note}" if ack.note else note)
    _el(root, "references", str(alert))
    _el(root, "incidents", incident.incident_id)
    return root


def _serialise(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(
        root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS
    )
    return body

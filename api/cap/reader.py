"""Reading and checking CAP messages. Incoming XML is only ever parsed with defusedxml, with DTDs,
entities and external references refused: CAP needs none of them, and they are the door for
XML external-entity and entity-expansion attacks.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from importlib import resources
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA_FILE = "CAP-v1.2.xsd"
MAX_BYTES = 1_000_000
_PAIR = re.compile(r"^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$")


class CapError(ValueError):
    """A CAP document that is refused; ``problems`` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_cap(data: bytes) -> ET.Element:
    """Parse a CAP document safely; refuses DTDs, entities and oversized input."""
    if len(data) > MAX_BYTES:
        raise CapError([f"CAP 文档过大 · document of {len(data)} bytes (max {MAX_BYTES})"])
    try:
        root: ET.Element = SafeET.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise CapError([f"拒绝不安全的 XML · unsafe XML refused: {exc}"]) from None
    except ET.ParseError as exc:
        raise CapError([f"XML 格式错误 · malformed XML: {exc}"]) from None
    if root.tag != f"{{{CAP_NS}}}alert":
        raise CapError([f"不是 CAP 1.2 消息 · not a CAP 1.2 alert: root element {root.tag}"])
    return root


@cache
def _schema() -> Any:
    try:
        import xmlschema
    except ImportError:  # pragma: no cover - xmlschema is a development dependency
        raise RuntimeError(
            "validating CAP needs the xmlschema package (uv sync --group dev)"
        ) from None
    with resources.as_file(resources.files("api.cap") / SCHEMA_FILE) as path:
        return xmlschema.XMLSchema(str(path))


def validate_cap(data: bytes) -> ET.Element:
    """Read a message safely and check it against the CAP 1.2 schema; returns the root.

    Raises ``CapError`` listing every schema violation found, not just the first.
    """
    root = read_cap(data)
    problems = [f"{error.path}: {error.reason}" for error in _schema().iter_errors(root)]
    if problems:
        raise CapError(problems)
    return root


def check_cap_rules(root: ET.Element) -> list[str]:
    """CAP rules the schema does not express: polygon rings, references, Ack shape."""
    ns = {"cap": CAP_NS}
    problems = []
    for polygon in root.iterfind(".//cap:area/cap:polygon", ns):
        problems += _ring_problems(polygon.text or "")
    references = root.findtext("cap:references", default="", namespaces=ns)
    for triple in references.split():
        if len(triple.split(",")) != 3:
            problems.append(f"reference {triple!r} is not sender,identifier,sent")
    msg_type = root.findtext("cap:msgType", namespaces=ns)
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not references:
        problems.append(f"msgType {msg_type} without references")
    scope = root.findtext("cap:scope", namespaces=ns)
    if scope == "Restricted" and root.find("cap:restriction", ns) is None:
        problems.append("scope Restricted without restriction")
    return problems


def _ring_problems(text: str) -> list[str]:
    pairs = text.split()
    if len(pairs) < 4:
        return [f"polygon of {len(pairs)} points (at least 4)"]
    if pairs[0] != pairs[-1]:
        return ["polygon ring is not closed"]
    problems = []
    for pair in pairs:
        match = _PAIR.match(pair)
        if match is None:
            problems.append(f"polygon point {pair!r} is not lat,lon")
        elif not (-90 <= float(match[1]) <= 90 and -180 <= float(match[2]) <= 180):
            problems.append(f"polygon point {pair!r} out of range")
    return problems

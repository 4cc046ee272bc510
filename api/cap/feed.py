"""Several CAP messages in one document: an Atom feed (RFC 4287) with one entry per message.

CAP has no container of its own; alert hubs publish CAP as Atom/RSS feeds. Each entry carries
its message whole, as the entry's XML content (type application/cap+xml), so that a reader can
take any entry's alert out and validate it on its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from api.cap.reader import CAP_NS, read_cap

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"


def cap_atom_feed(messages: Sequence[bytes], *, title: str, self_url: str) -> bytes:
    """The messages (as ``alert_messages`` returns them) as one Atom feed, oldest first.

    Written as text around each alert serialised by ElementTree: ElementTree cannot write a
    default namespace on a tree that has unqualified attributes (Atom's link) without
    registering prefixes process-wide.
    """
    if not messages:
        raise ValueError("an incident has at least its Alert message")
    alerts = [read_cap(message) for message in messages]
    updated = max(_cap(alert, "sent") for alert in alerts)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<feed xmlns="{ATOM_NS}">',
        f"<id>{escape(self_url)}</id><title>{escape(title)}</title>",
        f"<updated>{escape(updated)}</updated>",
        f'<link rel="self" type="{ATOM_MEDIA_TYPE}" href={quoteattr(self_url)}/>',
    ]
    for alert in alerts:
        body = ET.tostring(alert, encoding="unicode", default_namespace=CAP_NS)
        parts += [
            "<entry>",
            f"<id>{escape(self_url)}#{escape(_cap(alert, 'identifier'))}</id>",
            f"<title>{escape(_entry_title(alert))}</title>",
            f"<updated>{escape(_cap(alert, 'sent'))}</updated>",
            f"<author><name>{escape(_cap(alert, 'sender'))}</name></author>",
            f'<content type="{CAP_MEDIA_TYPE}">{body}</content>',
            "</entry>",
        ]
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def _cap(alert: ET.Element, tag: str) -> str:
    return alert.findtext(f"{{{CAP_NS}}}{tag}") or ""


def _entry_title(alert: ET.Element) -> str:
    headline = alert.findtext(f"{{{CAP_NS}}}info/{{{CAP_NS}}}headline")
    kind = _cap(alert, "msgType")
    return f"{kind}: {headline}" if headline else f"{kind}: {_cap(alert, 'note')}"

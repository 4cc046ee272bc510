"""Build the notification email: Chinese first, English below, plain text and HTML with a map.

The Message-ID is given (it is stored on the outbox row), so a resend after a crash carries the
same one and the recipient's mail client shows it once. Follow-ups, reminders and the end of
alert name the first notice in In-Reply-To and References so they thread beneath it.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
from datetime import datetime
from email.message import EmailMessage
from email.policy import Compat32
from functools import cache, lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifier.delivery.context import (
    SUBJECT_TAGS,
    MessageKind,
    NoticeContext,
    shanghai_time,
    shanghai_time_en,
)
from notifier.delivery.mapimage import render_map_png

MAP_CID_LOCAL = "map"


@cache
def template_environment() -> Environment:
    """Jinja2 over the package's templates; HTML autoescaped, undefined names are errors."""
    env = Environment(
        loader=PackageLoader("notifier.delivery", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["shanghai"] = shanghai_time
    env.filters["shanghai_en"] = shanghai_time_en
    env.filters["num"] = format_number
    return env


def format_number(value: float | None) -> str:
    """Measurements as people write them: no float noise, no needless trailing zeros."""
    if value is None:
        return "—"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


@cache
def _sender(sender: str) -> tuple[str, str]:
    """(display name, address) of the configured sender, parsed once."""
    return email.utils.parseaddr(sender)


def message_id_domain(sender: str) -> str:
    """The domain of the From address, which is where our Message-IDs live."""
    _, address = _sender(sender)
    domain = address.rpartition("@")[2]
    return domain or "rivernotify.invalid"


def make_message_id(*, incident_id: int, kind: str, key: int | str, sender: str) -> str:
    """A stable RFC 5322 Message-ID: the same inputs always give the same id.

    ``key`` distinguishes messages of one kind within an incident (the notice id, a follow-up
    id, a reminder's sequence number).
    """
    return f"<rivernotify.{incident_id}.{kind}.{key}@{message_id_domain(sender)}>"


def subject_for(context: NoticeContext) -> str:
    drill = "【演练】" if context.exercise else ""
    tag = SUBJECT_TAGS[context.kind]
    if context.kind is MessageKind.DELIVERY_FAILURE:
        body = f"通报未能送达 {context.about_bureau or context.recipient_bureau}"
    elif context.kind is MessageKind.CLOCK_WARNING:
        body = f"{context.clock_name or '报告时限'} 即将到期"
    else:
        body = f"{context.river} {context.origin_jurisdiction} → {context.recipient_jurisdiction}"
        worst = context.worst
        if worst is not None and worst.exceedance is not None:
            body += f" {worst.name_zh}超标{format_number(worst.exceedance)}倍"
    if context.kind is MessageKind.ESCALATION and context.about_bureau:
        body += f"（{context.about_bureau}未确认）"
    return f"{drill}{tag}{body} · 事件#{context.incident_id}"


def template_values(context: NoticeContext) -> dict[str, object]:
    """Values every template gets. The lead paragraphs are rendered here, as plain strings, so
    that HTML templates escape them (user text included) like any other value."""
    leads = template_environment().get_template("_leads.j2").module
    return {
        "c": context,
        "K": MessageKind,
        "subject": subject_for(context),
        "lead_zh": leads.lead_zh(context, MessageKind).strip(),  # type: ignore[attr-defined]
        "lead_en": leads.lead_en(context, MessageKind).strip(),  # type: ignore[attr-defined]
    }


def render_bodies(context: NoticeContext, *, map_cid: str | None) -> tuple[str, str]:
    """(plain text, HTML) for the context; the HTML shows the map when ``map_cid`` is given."""
    env = template_environment()
    values = {**template_values(context), "map_cid": map_cid}
    text = env.get_template("message.txt.j2").render(values)
    html = env.get_template("message.html.j2").render(values)
    return text, html


def build_email(
    context: NoticeContext,
    *,
    sender: str,
    recipient: str,
    now: datetime,
    map_png: bytes | None = None,
) -> EmailMessage:
    """The message as an ``EmailMessage`` (for reading it back: tests, previews); the worker
    sends :func:`email_bytes` directly."""
    raw = email_bytes(context, sender=sender, recipient=recipient, now=now, map_png=map_png)
    parsed = email.message_from_bytes(raw, policy=email.policy.SMTP)
    if not isinstance(parsed, EmailMessage):  # pragma: no cover - the policy makes one
        raise TypeError("expected an EmailMessage")
    return parsed


def email_bytes(
    context: NoticeContext,
    *,
    sender: str,
    recipient: str,
    now: datetime,
    map_png: bytes | None = None,
) -> bytes:
    """The complete message as sent: CRLF lines, RFC 2047 encoded headers, 7-bit (base64
    bodies), so that any server takes it without 8BITMIME or SMTPUTF8.

    The headers are encoded and folded by the email package (compat32 rules); the MIME
    framing around the base64 bodies is written here. Building the same message as a tree
    of ``email.mime`` parts and flattening it cost three times as much (the generator works
    line by line in Python), which the delivery worker pays for every recipient (see
    docs/PERFORMANCE.md). :func:`build_email` parses the result back, and the tests read
    every part of it that way. When the context carries map geometries and no ``map_png``
    is given, the map is drawn here.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if map_png is None and context.map is not None:
        map_png = render_map_png(context.map)
    domain = message_id_domain(sender)
    map_cid = f"<{MAP_CID_LOCAL}.{context.incident_id}.{context.notice_id or 0}@{domain}>"
    text, html = render_bodies(context, map_cid=map_cid[1:-1] if map_png else None)
    html_part = _leaf('text/html; charset="utf-8"', html.encode("utf-8"))
    if map_png:
        image = _leaf(
            "image/png",
            map_png,
            f"Content-ID: {map_cid}",
            'Content-Disposition: inline; filename="map.png"',
        )
        html_part = _multipart("related", [html_part, image])
    text_part = _leaf('text/plain; charset="utf-8"', text.encode("utf-8"))
    headers = _headers(context, sender=sender, recipient=recipient, now=now)
    return b"".join(
        [
            *(_folded(name, value) for name, value in headers),
            b"MIME-Version: 1.0\r\n",
            _multipart("alternative", [text_part, html_part]),
        ]
    )


class _Wire(Compat32):
    """compat32 for SMTP: CRLF lines, and short ASCII headers (ids, dates, numbers: most of
    ours) written as they are. The base class builds an ``email.header.Header`` for every
    header just to find it needs no folding."""

    def _fits(self, name: str, value: object) -> bool:
        return (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) + 2 <= 78
            and "\n" not in value
            and "\r" not in value
        )

    def fold_binary(self, name: str, value: str) -> bytes:
        if self._fits(name, value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _Wire(linesep="\r\n", mangle_from_=False)


@lru_cache(maxsize=4096)
def _folded(name: str, value: str) -> bytes:
    """One header line, RFC 2047 encoded and folded by the email package. Cached: the
    recipients' To lines and many subjects recur, and encoding one costs 0.1 ms."""
    return _WIRE.fold_binary(name, value)


def _leaf(content_type: str, body: bytes, *headers: str) -> bytes:
    """A base64 body part: 76-character lines, as RFC 2045 has them."""
    head = "".join(f"{line}\r\n" for line in (f"Content-Type: {content_type}", *headers))
    encoded = base64.encodebytes(body).replace(b"\n", b"\r\n")
    return f"{head}Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii") + encoded


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    # A fixed boundary: "=_" never occurs in base64 bodies or in our part headers.
    boundary = f"=_rivernotify_{subtype}".encode("ascii")
    head = b'Content-Type: multipart/%s; boundary="%s"\r\n\r\n' % (subtype.encode(), boundary)
    framed = b"".join(b"--%s\r\n%s\r\n" % (boundary, part) for part in parts)
    return head + framed + b"--%s--\r\n" % boundary


def _headers(
    context: NoticeContext, *, sender: str, recipient: str, now: datetime
) -> list[tuple[str, str]]:
    name, address = _sender(sender)
    headers: list[tuple[str, str]] = [
        ("Subject", subject_for(context)),
        ("From", email.utils.formataddr((name, address), charset="utf-8")),
        ("To", email.utils.formataddr((context.recipient_bureau, recipient), charset="utf-8")),
        ("Date", email.utils.format_datetime(now)),
        ("Message-ID", context.message_id),
    ]
    if context.in_reply_to and context.in_reply_to != context.message_id:
        headers += [("In-Reply-To", context.in_reply_to), ("References", context.in_reply_to)]
    headers += [
        ("Content-Language", "zh-CN, en"),
        ("Auto-Submitted", "auto-generated"),
        ("X-Rivernotify-Incident", str(context.incident_id)),
        ("X-Rivernotify-Kind", str(context.kind)),
    ]
    if context.notice_id is not None:
        headers.append(("X-Rivernotify-Notice", str(context.notice_id)))
    if context.exercise:
        headers.append(("X-Rivernotify-Exercise", "yes"))
    return headers

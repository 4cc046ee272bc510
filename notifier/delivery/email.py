"""Build the notification email: Chinese first, English below, plain text and HTML with a map.

The Message-ID is given (it is stored on the outbox row), so a resend after a crash carries the
same one and the recipient's mail client shows it once. Follow-ups, reminders and the end of
alert name the first notice in In-Reply-To and References so they thread beneath it.
"""

from __future__ import annotations

import email.policy
import email.utils
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from functools import cache

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


def message_id_domain(sender: str) -> str:
    """The domain of the From address, which is where our Message-IDs live."""
    _, address = email.utils.parseaddr(sender)
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
    """The complete message, ready for SMTP (policy SMTP: CRLF, RFC 2047 encoded headers).

    When the context carries map geometries and no ``map_png`` is given, the map is drawn here.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if map_png is None and context.map is not None:
        map_png = render_map_png(context.map)
    domain = message_id_domain(sender)
    map_cid = f"<{MAP_CID_LOCAL}.{context.incident_id}.{context.notice_id or 0}@{domain}>"
    text, html = render_bodies(context, map_cid=map_cid[1:-1] if map_png else None)

    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject_for(context)
    message["From"] = sender
    message["To"] = Address(display_name=context.recipient_bureau, addr_spec=recipient)
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = context.message_id
    if context.in_reply_to and context.in_reply_to != context.message_id:
        message["In-Reply-To"] = context.in_reply_to
        message["References"] = context.in_reply_to
    message["Auto-Submitted"] = "auto-generated"
    message["X-Rivernotify-Incident"] = str(context.incident_id)
    message["X-Rivernotify-Kind"] = str(context.kind)
    if context.notice_id is not None:
        message["X-Rivernotify-Notice"] = str(context.notice_id)
    if context.exercise:
        message["X-Rivernotify-Exercise"] = "yes"

    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    message["Content-Language"] = "zh-CN, en"  # after set_content, which clears Content-*
    if map_png:
        html_part = message.get_body(preferencelist=("html",))
        if not isinstance(html_part, EmailMessage):  # pragma: no cover - set just above
            raise RuntimeError("HTML alternative missing")
        html_part.add_related(
            map_png, maintype="image", subtype="png", cid=map_cid, filename="map.png"
        )
    return message

"""The sent-mail view's data: what the embedded SMTP sink received, newest first.

Only with the embedded sink (``make run`` without a mail server), so that a newcomer sees the
notices that went out without setting up a mail server; a real deployment has no sink and the
endpoint says so.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notifier.delivery.sink import MailSink, SunkMail

MAX_BODY = 20_000
MAX_MESSAGES = 200


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken transfer encoding
        return ""
    text = content if isinstance(content, str) else ""
    return text[:MAX_BODY]


def _attachments(message: EmailMessage) -> list[str]:
    return [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]


def mail_json(mail: SunkMail) -> dict[str, Any]:
    message = mail.parsed()
    return {
        "received_at": mail.received_at.isoformat(),
        "from": mail.mail_from,
        "to": list(mail.rcpt_tos),
        "subject": str(message.get("Subject", "")),
        "message_id": str(message.get("Message-ID", "")),
        "text": _text_of(message),
        "attachments": _attachments(message),
    }


def sink_messages(sink: MailSink, *, limit: int = MAX_MESSAGES) -> list[dict[str, Any]]:
    """The last ``limit`` messages, newest first."""
    kept = sink.messages()[-limit:]
    return [mail_json(mail) for mail in reversed(kept)]

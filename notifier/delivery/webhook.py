"""Webhooks: a signed JSON POST (generic) and the 企业微信 (WeCom) / 钉钉 (DingTalk) robots.

Generic receivers check our signature: HMAC-SHA256 over ``f"{timestamp}.{body}"`` with the
timestamp in its own header, so a captured request cannot be replayed outside the tolerance
window and a changed body fails. The robots answer HTTP 200 with an ``errcode`` in the body;
a non-zero code is a failure, temporary only for their rate limits and "system busy".
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx

from notifier.delivery.context import NoticeContext
from notifier.delivery.email import subject_for, template_environment, template_values
from notifier.delivery.outcome import (
    Outcome,
    Result,
    classify_http_status,
    permanent,
    sent,
    temporary,
)

TIMESTAMP_HEADER = "X-Rivernotify-Timestamp"
SIGNATURE_HEADER = "X-Rivernotify-Signature"
DEFAULT_TOLERANCE_S = 300
#: Robot error codes that mean "slow down / try later" (WeCom 45009, DingTalk 130101, both -1).
ROBOT_TEMPORARY_CODES = frozenset({-1, 45009, 130101})
WECOM_MARKDOWN_LIMIT = 4096  # bytes, per WeCom's robot documentation


class WebhookFormat(StrEnum):
    GENERIC = "generic"
    WECOM = "wecom"
    DINGTALK = "dingtalk"


class SignatureError(ValueError):
    """The request's signature is missing, malformed, wrong or outside the time window."""


def derive_webhook_secret(secret_key: str, url: str) -> bytes:
    """The per-URL signing key when the bureau has none of its own.

    Derived rather than shared so that one leaked receiver key says nothing about another; an
    operator hands it to the receiver (``rivernotify worker --webhook-secret URL`` prints it).
    """
    digest = hmac.new(secret_key.encode(), b"rivernotify-webhook\0" + url.encode(), "sha256")
    return digest.hexdigest().encode()


def sign(body: bytes, *, secret: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    secret: bytes,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> int:
    """Check a received webhook; return its timestamp or raise SignatureError saying why."""
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not an integer: {timestamp!r}") from None
    if abs(now - sent_at) > tolerance_s:
        raise SignatureError(
            f"timestamp {sent_at} is {now - sent_at:+.0f} s from now (tolerance {tolerance_s} s)"
        )
    if not signature.startswith("sha256="):
        raise SignatureError(f"{SIGNATURE_HEADER} must start with 'sha256='")
    if not hmac.compare_digest(sign(body, secret=secret, timestamp=sent_at), signature):
        raise SignatureError("signature does not match the body")
    return sent_at


def markdown_text(context: NoticeContext) -> str:
    template = template_environment().get_template("webhook.md.j2")
    return template.render(template_values(context)).strip() + "\n"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def generic_payload(context: NoticeContext) -> dict[str, Any]:
    return {
        "type": str(context.kind),
        "exercise": context.exercise,
        "incident_id": context.incident_id,
        "notice_id": context.notice_id,
        "message_id": context.message_id,
        "in_reply_to": context.in_reply_to,
        "subject": subject_for(context),
        "river": context.river,
        "origin": {
            "jurisdiction": context.origin_jurisdiction,
            "bureau": context.origin_bureau,
            "reach_id": context.origin_reach,
            "station": context.origin_station,
            "lon": context.lon,
            "lat": context.lat,
            "observed_at": _iso(context.observed_at),
        },
        "recipient": {
            "bureau": context.recipient_bureau,
            "jurisdiction": context.recipient_jurisdiction,
            "role": context.role,
        },
        "measurements": [
            {
                "code": m.code,
                "name": m.name_zh,
                "name_en": m.name_en,
                "value": m.value,
                "unit": m.unit,
                "limit": m.limit_text,
                "target_class": m.target_class,
                "exceedance": m.exceedance,
            }
            for m in context.measurements
        ],
        "distance_km": context.distance_km,
        "eta": _iso(context.eta),
        "eta_estimated": context.eta_estimated,
        "ack_deadline": _iso(context.ack_deadline),
        "ack_url": context.ack_url,
        "about_bureau": context.about_bureau,
        "text": markdown_text(context),
    }


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def wecom_payload(context: NoticeContext) -> dict[str, Any]:
    content = _truncate_utf8(markdown_text(context), WECOM_MARKDOWN_LIMIT)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_payload(context: NoticeContext) -> dict[str, Any]:
    return {
        "msgtype": "markdown",
        "markdown": {"title": subject_for(context), "text": markdown_text(context)},
    }


def build_payload(context: NoticeContext, *, webhook_format: WebhookFormat) -> dict[str, Any]:
    if webhook_format is WebhookFormat.WECOM:
        return wecom_payload(context)
    if webhook_format is WebhookFormat.DINGTALK:
        return dingtalk_payload(context)
    return generic_payload(context)


def split_dingtalk_secret(url: str) -> tuple[str, str | None]:
    """A DingTalk robot's signing secret may ride in the URL fragment: ``...#secret=SEC...``.

    Fragments are never sent over HTTP, so the secret stays with the stored recipient URL
    without a column of its own.
    """
    base, _, fragment = url.partition("#")
    secret = urllib.parse.parse_qs(fragment).get("secret", [None])[0]
    return base, secret


def dingtalk_sign_url(url: str, *, secret: str, timestamp_ms: int) -> str:
    """DingTalk's optional robot signature, added to the query string as they specify."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    sign_param = urllib.parse.quote_plus(base64.b64encode(digest))
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp_ms}&sign={sign_param}"


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    webhook_format: WebhookFormat


def prepare_request(
    context: NoticeContext,
    *,
    url: str,
    webhook_format: WebhookFormat,
    secret: bytes,
    now: datetime,
) -> WebhookRequest:
    """The exact bytes and headers to POST (pure: the same inputs give the same request)."""
    payload = build_payload(context, webhook_format=webhook_format)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(now.timestamp())
    target, ding_secret = split_dingtalk_secret(url)
    if webhook_format is WebhookFormat.DINGTALK and ding_secret:
        target = dingtalk_sign_url(
            target, secret=ding_secret, timestamp_ms=int(now.timestamp() * 1000)
        )
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(body, secret=secret, timestamp=timestamp),
        "X-Rivernotify-Message-Id": context.message_id,
        "User-Agent": "rivernotify",
    }
    return WebhookRequest(target, body, headers, webhook_format)


def _robot_outcome(response: httpx.Response, reply: str) -> Outcome:
    try:
        answer = response.json()
    except ValueError:
        return permanent(f"robot answered non-JSON: {reply}")
    code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
    if code == 0:
        return sent(reply)
    if code in ROBOT_TEMPORARY_CODES:
        return temporary(reply)
    return permanent(reply)


async def post_webhook(
    request: WebhookRequest, *, client: httpx.AsyncClient, timeout_s: float
) -> Outcome:
    """POST once and classify; every error becomes an Outcome (never raised)."""
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.post(
                request.url, content=request.body, headers=request.headers, timeout=timeout_s
            )
    except (TimeoutError, httpx.TimeoutException):
        return temporary(f"timed out after {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return temporary(f"{type(exc).__name__}: {exc}")
    reply = f"HTTP {response.status_code} {response.text[:500]}".strip()
    result = classify_http_status(response.status_code)
    if result is not Result.SENT:
        return Outcome(result, reply)
    if request.webhook_format is WebhookFormat.GENERIC:
        return sent(reply)
    return _robot_outcome(response, reply)


async def send_webhooks(requests: Sequence[WebhookRequest], *, timeout_s: float) -> list[Outcome]:
    """All requests concurrently over one client; one Outcome per request, in order."""
    if not requests:
        return []
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        return list(
            await asyncio.gather(
                *(post_webhook(r, client=client, timeout_s=timeout_s) for r in requests)
            )
        )

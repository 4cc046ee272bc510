"""Webhooks against a real local HTTP server (tests/fixtures/http.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import urllib.parse

import pytest

from notifier.delivery.outcome import Result
from notifier.delivery.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    WebhookFormat,
    derive_webhook_secret,
    prepare_request,
    send_webhooks,
    sign,
    verify,
)
from tests.fixtures.http import WebhookServer
from tests.notifier.delivery.conftest import NOW, notice_context

SECRET = b"test-webhook-secret"


def send(server: WebhookServer, fmt: WebhookFormat, *, url: str | None = None) -> Result:
    request = prepare_request(
        notice_context(), url=url or server.url(), webhook_format=fmt, secret=SECRET, now=NOW
    )
    [outcome] = asyncio.run(send_webhooks([request], timeout_s=2))
    return outcome.result


def test_generic_webhook_is_signed_and_verifies(webhook_server: WebhookServer) -> None:
    assert send(webhook_server, WebhookFormat.GENERIC) is Result.SENT
    [request] = webhook_server.received()
    assert request.headers["content-type"].startswith("application/json")
    timestamp = request.headers[TIMESTAMP_HEADER.lower()]
    signature = request.headers[SIGNATURE_HEADER.lower()]
    assert int(timestamp) == int(NOW.timestamp())
    assert verify(
        request.body,
        timestamp=timestamp,
        signature=signature,
        secret=SECRET,
        now=NOW.timestamp() + 5,
    ) == int(timestamp)
    payload = request.json()
    assert payload["type"] == "notice"
    assert payload["incident_id"] == 7 and payload["notice_id"] == 3
    assert payload["river"] == "汾河"
    assert payload["recipient"] == {
        "bureau": "晋中市生态环境局",
        "jurisdiction": "晋中市",
        "role": "downstream",
    }
    assert payload["measurements"][0]["exceedance"] == 1.25
    assert payload["eta"] == "2026-11-24T11:00:00+00:00"
    assert payload["ack_url"] == "http://127.0.0.1:8000/ack/TOKEN"
    assert payload["message_id"] == request.headers["x-rivernotify-message-id"]


def test_verify_refuses_tampering_wrong_key_and_stale_requests() -> None:
    body = b'{"a":1}'
    ts = 1_700_000_000
    signature = sign(body, secret=SECRET, timestamp=ts)
    now = ts + 10.0
    verify(body, timestamp=str(ts), signature=signature, secret=SECRET, now=now)
    cases = [
        (b'{"a":2}', str(ts), signature, SECRET, now, "does not match"),
        (body, str(ts), signature, b"other", now, "does not match"),
        (body, str(ts + 1), signature, SECRET, now, "does not match"),
        (body, str(ts), signature, SECRET, ts + 301.0, "tolerance"),
        (body, str(ts), signature, SECRET, ts - 301.0, "tolerance"),
        (body, None, signature, SECRET, now, "missing"),
        (body, "soon", signature, SECRET, now, "not an integer"),
        (body, str(ts), signature.removeprefix("sha256="), SECRET, now, "sha256="),
    ]
    for data, timestamp, sig, key, at, reason in cases:
        with pytest.raises(SignatureError, match=reason):
            verify(data, timestamp=timestamp, signature=sig, secret=key, now=at)


def test_wecom_robot_gets_a_markdown_message(webhook_server: WebhookServer) -> None:
    url = webhook_server.url("/cgi-bin/webhook/send?key=abc")
    assert send(webhook_server, WebhookFormat.WECOM, url=url) is Result.SENT
    [request] = webhook_server.received()
    assert request.path == "/cgi-bin/webhook/send?key=abc"
    payload = request.json()
    assert set(payload) == {"msgtype", "markdown"}
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    assert content.startswith("### 【跨界水污染通报】汾河 太原市小店区 → 晋中市")
    assert "[确认收到 Acknowledge](http://127.0.0.1:8000/ack/TOKEN)" in content
    assert len(content.encode()) <= 4096


def test_dingtalk_robot_gets_markdown_and_its_own_signature(webhook_server: WebhookServer) -> None:
    ding_secret = "SECabc123"
    url = webhook_server.url("/robot/send?access_token=tok") + f"#secret={ding_secret}"
    assert send(webhook_server, WebhookFormat.DINGTALK, url=url) is Result.SENT
    [request] = webhook_server.received()
    payload = request.json()
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"].startswith("【跨界水污染通报】")
    assert "汾河" in payload["markdown"]["text"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    assert query["access_token"] == ["tok"]
    timestamp = query["timestamp"][0]
    assert timestamp == str(int(NOW.timestamp() * 1000))
    expected = base64.b64encode(
        hmac.new(
            ding_secret.encode(), f"{timestamp}\n{ding_secret}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert query["sign"] == [expected]
    assert ding_secret not in request.path


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (500, Result.TEMPORARY),
        (503, Result.TEMPORARY),
        (429, Result.TEMPORARY),
        (408, Result.TEMPORARY),
        (404, Result.PERMANENT),
        (401, Result.PERMANENT),
    ],
)
def test_http_status_classification(
    webhook_server: WebhookServer, status: int, result: Result
) -> None:
    webhook_server.respond_next(status, b'{"error": "x"}')
    assert send(webhook_server, WebhookFormat.GENERIC) is result


@pytest.mark.parametrize(
    ("fmt", "body", "result"),
    [
        (
            WebhookFormat.WECOM,
            b'{"errcode": 45009, "errmsg": "api freq out of limit"}',
            Result.TEMPORARY,
        ),
        (
            WebhookFormat.WECOM,
            b'{"errcode": 93000, "errmsg": "invalid webhook url"}',
            Result.PERMANENT,
        ),
        (
            WebhookFormat.DINGTALK,
            b'{"errcode": 130101, "errmsg": "send too fast"}',
            Result.TEMPORARY,
        ),
        (
            WebhookFormat.DINGTALK,
            b'{"errcode": 310000, "errmsg": "sign not match"}',
            Result.PERMANENT,
        ),
        (WebhookFormat.GENERIC, b'{"errcode": 310000}', Result.SENT),  # generic: status only
    ],
)
def test_robot_error_codes(
    webhook_server: WebhookServer, fmt: WebhookFormat, body: bytes, result: Result
) -> None:
    webhook_server.respond_next(200, body)
    assert send(webhook_server, fmt) is result


def test_timeout_is_temporary(webhook_server: WebhookServer) -> None:
    webhook_server.delay_s = 1.5
    request = prepare_request(
        notice_context(),
        url=webhook_server.url(),
        webhook_format=WebhookFormat.GENERIC,
        secret=SECRET,
        now=NOW,
    )
    [outcome] = asyncio.run(send_webhooks([request], timeout_s=0.3))
    assert outcome.result is Result.TEMPORARY
    assert "timed out" in outcome.reply


def test_connection_refused_is_temporary(closed_port: int) -> None:
    request = prepare_request(
        notice_context(),
        url=f"http://127.0.0.1:{closed_port}/hook",
        webhook_format=WebhookFormat.GENERIC,
        secret=SECRET,
        now=NOW,
    )
    [outcome] = asyncio.run(send_webhooks([request], timeout_s=2))
    assert outcome.result is Result.TEMPORARY
    assert "ConnectError" in outcome.reply


def test_many_webhooks_in_one_call_keep_their_order(webhook_server: WebhookServer) -> None:
    webhook_server.respond_next(200, b"{}")
    webhook_server.respond_next(404, b"{}")
    requests = [
        prepare_request(
            notice_context(notice_id=n),
            url=webhook_server.url(f"/h{n}"),
            webhook_format=WebhookFormat.GENERIC,
            secret=SECRET,
            now=NOW,
        )
        for n in range(1, 6)
    ]
    outcomes = asyncio.run(send_webhooks(requests, timeout_s=2))
    assert len(outcomes) == 5
    assert sorted(o.result for o in outcomes).count(Result.PERMANENT) == 1
    assert {r.path for r in webhook_server.received()} == {f"/h{n}" for n in range(1, 6)}


def test_derived_secrets_differ_per_url() -> None:
    a = derive_webhook_secret("key", "https://a.example/hook")
    assert a == derive_webhook_secret("key", "https://a.example/hook")
    assert a != derive_webhook_secret("key", "https://b.example/hook")
    assert a != derive_webhook_secret("other", "https://a.example/hook")

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from notifier.delivery.email import build_email
from notifier.delivery.sink import MailSink, start_sink_if_needed
from notifier.delivery.smtp import OutgoingEmail, SmtpConfig, send_batch
from notifier.settings import Settings
from tests.notifier.delivery.conftest import NOW, SENDER, notice_context


def test_sink_receives_keeps_and_writes_eml(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notifier.delivery.sink")
    settings, sink = start_sink_if_needed(Settings(), directory=tmp_path / "mail")
    assert sink is not None
    try:
        assert settings.smtp_host == "127.0.0.1" and settings.smtp_port == sink.port
        assert f"127.0.0.1:{sink.port}" in caplog.text
        message = build_email(
            notice_context(map=None), sender=SENDER, recipient="a@jz.example", now=NOW
        )
        [outcome] = asyncio.run(
            send_batch(
                [OutgoingEmail.of(message, "a@jz.example")],
                config=SmtpConfig.from_settings(settings),
            )
        )
        assert outcome.sent
        [kept] = sink.messages()
        assert kept.rcpt_tos == ("a@jz.example",)
        assert kept.parsed()["Subject"] == message["Subject"]
        assert kept.path is not None and kept.path.read_bytes() == kept.data
        assert kept.path.parent == tmp_path / "mail"
    finally:
        sink.stop()


def test_sink_memory_is_bounded() -> None:
    sink = MailSink(directory=None, keep_last=3)
    for n in range(5):
        sink.keep("a@x.example", ("b@y.example",), f"Subject: {n}\r\n\r\nbody".encode())
    assert [m.parsed()["Subject"] for m in sink.messages()] == ["2", "3", "4"]


def test_no_sink_when_a_server_is_configured(tmp_path: Path) -> None:
    settings = Settings(smtp_host="mail.example")
    assert start_sink_if_needed(settings, directory=tmp_path) == (settings, None)

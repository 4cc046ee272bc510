"""The embedded SMTP sink: what `make run` delivers to when no mail server is configured.

It is a real SMTP server (aiosmtpd) on loopback, so the worker runs exactly the code path it
runs in production; the sink keeps the last messages in memory (bounded) for the web app to
show, and writes each one as an .eml file so that nothing sent is ever lost from view.
"""

from __future__ import annotations

import collections
import email
import email.policy
import logging
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from notifier.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SunkMail:
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    path: Path | None

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default gives one
            raise TypeError("expected an EmailMessage")
        return message


class _SinkHandler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        self.sink.keep(str(envelope.mail_from), tuple(envelope.rcpt_tos), data)
        return "250 2.0.0 OK (rivernotify sink)"


class MailSink:
    """Start with ``start()``; read ``messages()``; ``stop()`` when done."""

    def __init__(
        self,
        *,
        directory: Path | None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_last: int = 500,
    ) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self._kept: collections.deque[SunkMail] = collections.deque(maxlen=keep_last)
        self._lock = threading.Lock()
        self._count = 0
        self._controller: Controller | None = None

    def keep(self, mail_from: str, rcpt_tos: tuple[str, ...], data: bytes) -> SunkMail:
        now = datetime.now(UTC)
        with self._lock:
            self._count += 1
            number = self._count
        path = None
        if self.directory is not None:
            path = self.directory / f"{now:%Y%m%dT%H%M%S}-{number:06d}.eml"
            path.write_bytes(data)
        mail = SunkMail(now, mail_from, rcpt_tos, data, path)
        with self._lock:
            self._kept.append(mail)
        return mail

    def messages(self) -> list[SunkMail]:
        with self._lock:
            return list(self._kept)

    def start(self) -> None:
        if self._controller is not None:
            return
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = _free_port(self.host)
        controller = Controller(
            _SinkHandler(self), hostname=self.host, port=self.port, decode_data=False
        )
        controller.start()
        self._controller = controller
        log.info(
            "内置邮件接收器已启动 / embedded SMTP sink listening on %s:%d, keeping mail in %s",
            self.host,
            self.port,
            self.directory or "memory only",
        )

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings_for(self, settings: Settings) -> Settings:
        """The settings with SMTP pointed at this sink (plain SMTP, no auth)."""
        return settings.model_copy(
            update={
                "smtp_host": self.host,
                "smtp_port": self.port,
                "smtp_security": "none",
                "smtp_username": None,
                "smtp_password": None,
            }
        )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def start_sink_if_needed(
    settings: Settings, *, directory: Path
) -> tuple[Settings, MailSink | None]:
    """For `make run`: with no SMTP host configured, start the sink and point SMTP at it."""
    if settings.smtp_host is not None:
        return settings, None
    sink = MailSink(directory=directory)
    sink.start()
    return sink.settings_for(settings), sink

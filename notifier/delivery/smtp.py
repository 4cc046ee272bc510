"""Send a batch of emails over one SMTP connection and say what happened to each.

Every message gets an Outcome, never an exception: the worker must record each attempt, and a
crash in the middle of a batch would leave the rest unrecorded. Errors that are about our side
of the connection (cannot connect, TLS, authentication) are temporary: they say nothing about
whether the recipient bureau can be reached, so they must not trigger the "could not be
reached" escalation that a 5xx reply to a recipient does.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum
from typing import TYPE_CHECKING, Literal

import aiosmtplib

from notifier.delivery.outcome import (
    Outcome,
    classify_smtp_code,
    not_attempted,
    permanent,
    sent,
    temporary,
)

if TYPE_CHECKING:
    from notifier.settings import Settings

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str  # the From header; its address is the envelope sender
    security: Security = "none"
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0
    tls_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        if settings.smtp_host is None:
            raise ValueError(
                "未配置 SMTP 服务器 / no SMTP host configured (RIVERNOTIFY_SMTP_HOST); "
                "start the embedded sink or set one"
            )
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=password.get_secret_value() if password is not None else None,
            timeout_s=settings.smtp_timeout_s,
        )

    @property
    def envelope_sender(self) -> str:
        return email.utils.parseaddr(self.sender)[1]


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A message ready for the wire, built where it is built (the worker builds in a thread),
    so that sending does no MIME work on the event loop."""

    data: bytes  # the whole message, CRLF lines, 7-bit
    recipient: str  # envelope recipient (one per outbox row)

    @classmethod
    def of(cls, message: EmailMessage, recipient: str) -> OutgoingEmail:
        """Flattened as 7-bit (any 8-bit body part re-encoded), so that any server takes it
        without 8BITMIME."""
        policy = message.policy.clone(linesep="\r\n", cte_type="7bit")
        return cls(message.as_bytes(policy=policy), recipient)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}".strip()
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


async def _connect(config: SmtpConfig) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.security == "tls",
        start_tls=config.security == "starttls",
        timeout=config.timeout_s,
        tls_context=config.tls_context,
        # socket.getfqdn() (the default) can block on DNS; the host name is enough for EHLO.
        local_hostname=socket.gethostname() or "localhost",
    )
    async with asyncio.timeout(config.timeout_s):
        await client.connect()
        if config.username is not None:
            # After STARTTLS the server's extensions must be asked for again before AUTH
            # (aiosmtplib's own login-on-connect skips that and finds no AUTH).
            await client.ehlo()
            await client.login(config.username, config.password or "")
    return client


class SmtpLink:
    """One SMTP connection kept open from batch to batch: opening one (TCP, greeting, EHLO,
    perhaps TLS and AUTH) costs more than sending a message. It is closed after ``idle_s``
    without use, well before servers drop idle clients (RFC 5321 asks them to wait 5 minutes),
    and a message whose reused connection turns out to be dead is sent again on a new one.
    """

    def __init__(self, config: SmtpConfig, *, idle_s: float = 30.0) -> None:
        self.config = config
        self.idle_s = idle_s
        self._client: aiosmtplib.SMTP | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._used_at = 0.0

    async def client(self) -> tuple[aiosmtplib.SMTP, bool]:
        """(connection, reused); connecting raises as ``aiosmtplib`` does."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a connection belongs to the event loop that opened it
            self._forget()
            self._loop = loop
        client = self._client
        if client is not None and client.is_connected:
            if time.monotonic() - self._used_at < self.idle_s:
                return client, True
            await _close(client)
        self._client = None
        self._client = await _connect(self.config)
        self._used_at = time.monotonic()
        return self._client, False

    def used(self) -> None:
        self._used_at = time.monotonic()

    def _forget(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def discard(self) -> None:
        client, self._client = self._client, None
        await _close(client)

    async def close(self) -> None:
        await self.discard()


class _Then(Enum):
    """What the connection is good for after a message."""

    CONTINUE = "continue"
    RECONNECT = "reconnect"  # it broke; a fresh one may work
    STOP = "stop"  # the server hangs: trying more messages would only cost more timeouts


async def _send_one(
    client: aiosmtplib.SMTP, item: OutgoingEmail, config: SmtpConfig
) -> tuple[Outcome, _Then]:
    outcome: Outcome
    then = _Then.CONTINUE
    try:
        async with asyncio.timeout(config.timeout_s):
            _, reply = await client.sendmail(config.envelope_sender, [item.recipient], item.data)
        outcome = sent(reply)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0]
        outcome, then = (
            Outcome(classify_smtp_code(refused.code), _describe(refused)),
            _still(client),
        )
    except aiosmtplib.SMTPResponseException as exc:
        # 421: the server is closing the connection; other replies leave it usable (RSET done).
        then = _Then.RECONNECT if exc.code == 421 else _still(client)
        outcome = Outcome(classify_smtp_code(exc.code), _describe(exc))
    except (TimeoutError, aiosmtplib.SMTPTimeoutError):
        outcome, then = temporary(f"timed out after {config.timeout_s:g} s"), _Then.STOP
    except aiosmtplib.SMTPNotSupported as exc:
        outcome, then = permanent(_describe(exc)), _still(client)
    except ValueError as exc:  # an address aiosmtplib cannot parse
        outcome, then = permanent(f"invalid address: {exc}"), _still(client)
    except Exception as exc:  # disconnects, resets, anything else: record, don't raise
        log.warning("SMTP send to %s failed: %s", item.recipient, _describe(exc))
        outcome, then = temporary(_describe(exc)), _Then.RECONNECT
    return outcome, then


def _still(client: aiosmtplib.SMTP) -> _Then:
    return _Then.CONTINUE if client.is_connected else _Then.RECONNECT


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None or not client.is_connected:
        return
    try:
        async with asyncio.timeout(2.0):
            await client.quit()
    except Exception:
        client.close()


async def send_batch(
    items: Sequence[OutgoingEmail],
    *,
    config: SmtpConfig,
    stop_at: float | None = None,
    link: SmtpLink | None = None,
) -> list[Outcome]:
    """One Outcome per item, in order, over one connection (``link``'s, kept open afterwards,
    or a connection of its own, closed at the end).

    If the connection breaks mid-batch it is opened again once; if that fails too, or a
    message timed out (the server may be hanging), the rest are reported as temporary
    failures without trying, so a dead server costs one timeout per batch, not one per message.
    """
    own = link is None
    link = link or SmtpLink(config)
    try:
        return await _send_all(items, link=link, stop_at=stop_at)
    finally:
        if own:
            await link.close()


async def _send_all(
    items: Sequence[OutgoingEmail], *, link: SmtpLink, stop_at: float | None
) -> list[Outcome]:
    config = link.config
    outcomes: list[Outcome] = []
    connects_left = 2
    give_up_reason: str | None = None
    abandoned = False  # True: the rest were never tried; False: they share a connect failure
    for item in items:
        if give_up_reason is None and stop_at is not None and time.monotonic() >= stop_at:
            give_up_reason, abandoned = "the lease is about to run out", True
        if give_up_reason is not None:
            outcomes.append(
                not_attempted(give_up_reason) if abandoned else temporary(give_up_reason)
            )
            continue
        try:
            client, reused = await link.client()
        except Exception as exc:
            give_up_reason = _connect_failure(config, exc)
            outcomes.append(temporary(give_up_reason))
            continue
        connects_left -= 0 if reused else 1
        outcome, then = await _send_one(client, item, config)
        if then is _Then.RECONNECT and reused:  # the kept connection had died: once more
            await link.discard()
            outcome, then = await _resend(link, item)
            connects_left -= 1
        outcomes.append(outcome)
        link.used()
        if then is not _Then.CONTINUE:
            await link.discard()
            if then is _Then.STOP:
                give_up_reason, abandoned = "the previous message timed out", True
            elif connects_left <= 0:
                give_up_reason, abandoned = "the connection broke twice", True
    return outcomes


async def _resend(link: SmtpLink, item: OutgoingEmail) -> tuple[Outcome, _Then]:
    try:
        client, _ = await link.client()
    except Exception as exc:
        return temporary(_connect_failure(link.config, exc)), _Then.RECONNECT
    return await _send_one(client, item, link.config)


def _connect_failure(config: SmtpConfig, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return f"connect to {config.host}:{config.port} timed out"
    return f"connect to {config.host}:{config.port}: {_describe(exc)}"

"""The SMTP sender against a real aiosmtpd server on loopback (tests/fixtures/smtp.py)."""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import time
from dataclasses import replace

import pytest

from notifier.delivery.email import build_email, make_message_id
from notifier.delivery.outcome import Result
from notifier.delivery.smtp import OutgoingEmail, SmtpConfig, SmtpLink, send_batch
from notifier.settings import Settings
from tests.fixtures.smtp import SilentServer, SmtpServer, TlsFiles
from tests.notifier.delivery.conftest import NOW, SENDER, notice_context


def config_for(host: str, port: int, *, timeout_s: float = 5.0) -> SmtpConfig:
    return SmtpConfig(host=host, port=port, sender=SENDER, timeout_s=timeout_s)


def parsed(item: OutgoingEmail) -> email.message.EmailMessage:
    """The message as it went onto the wire."""
    return email.message_from_bytes(item.data, policy=email.policy.default)  # type: ignore[return-value]


def test_the_wire_form_is_7bit_with_crlf_lines() -> None:
    data = outgoing(1, with_map=True).data
    data.decode("ascii")  # base64 bodies, RFC 2047 headers: no 8BITMIME or SMTPUTF8 needed
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def outgoing(n: int, *, recipient: str | None = None, with_map: bool = False) -> OutgoingEmail:
    context = notice_context(
        notice_id=n,
        message_id=make_message_id(incident_id=7, kind="notice", key=n, sender=SENDER),
        **({} if with_map else {"map": None}),
    )
    to = recipient or f"bureau{n}@jinzhong.example"
    return OutgoingEmail.of(build_email(context, sender=SENDER, recipient=to, now=NOW), to)


def test_delivered_with_headers_intact(smtp_server: SmtpServer) -> None:
    item = outgoing(1, with_map=True)
    outcomes = asyncio.run(
        send_batch([item], config=config_for(smtp_server.host, smtp_server.port))
    )
    assert outcomes[0].result is Result.SENT
    assert outcomes[0].reply.startswith("2.0.0 OK queued")
    [mail] = smtp_server.messages
    assert mail.mail_from == "noreply@rivernotify.example"
    assert mail.rcpt_tos == ("bureau1@jinzhong.example",)
    assert mail.message_id == parsed(item)["Message-ID"]
    assert mail.message["Subject"] == parsed(item)["Subject"]
    assert mail.message["Subject"].startswith("【跨界水污染通报】汾河 太原市小店区 → 晋中市")
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert b"=?utf-8?" in mail.data.split(b"\r\n\r\n")[0]
    assert [p.get_content_type() for p in mail.message.walk()][-1] == "image/png"


def test_follow_up_arrives_threaded(smtp_server: SmtpServer) -> None:
    first = notice_context(map=None)
    follow = notice_context(
        kind="follow_up",
        map=None,
        message_id=make_message_id(incident_id=7, kind="follow_up", key=1, sender=SENDER),
        in_reply_to=first.message_id,
    )
    items = [
        OutgoingEmail.of(
            build_email(c, sender=SENDER, recipient="a@jz.example", now=NOW), "a@jz.example"
        )
        for c in (first, follow)
    ]
    asyncio.run(send_batch(items, config=config_for(smtp_server.host, smtp_server.port)))
    received = smtp_server.wait_for(2)
    assert received[1].message["In-Reply-To"] == received[0].message_id
    assert received[1].message["References"] == received[0].message_id
    assert received[1].message["Subject"].startswith("【续报】")


def test_a_batch_uses_one_connection(smtp_server: SmtpServer) -> None:
    items = [outgoing(n) for n in range(1, 21)]
    outcomes = asyncio.run(send_batch(items, config=config_for(smtp_server.host, smtp_server.port)))
    assert [o.result for o in outcomes] == [Result.SENT] * 20
    assert smtp_server.connections == 1
    assert len(smtp_server.message_id_counts()) == 20


def test_451_is_temporary_then_the_next_try_is_accepted(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, "451 4.3.0 greylisted, try again later")
    config = config_for(smtp_server.host, smtp_server.port)
    item = outgoing(1)
    [first] = asyncio.run(send_batch([item], config=config))
    assert first.result is Result.TEMPORARY
    assert first.reply == "451 4.3.0 greylisted, try again later"
    assert smtp_server.messages == []
    [second] = asyncio.run(send_batch([item], config=config))
    assert second.result is Result.SENT
    assert smtp_server.message_id_counts() == {parsed(item)["Message-ID"]: 1}


def test_550_is_permanent_and_the_rest_of_the_batch_goes_through(smtp_server: SmtpServer) -> None:
    smtp_server.reject_recipient("bureau2@jinzhong.example", "550 5.1.1 no such mailbox")
    items = [outgoing(n) for n in (1, 2, 3)]
    outcomes = asyncio.run(send_batch(items, config=config_for(smtp_server.host, smtp_server.port)))
    assert [o.result for o in outcomes] == [Result.SENT, Result.PERMANENT, Result.SENT]
    assert outcomes[1].reply == "550 5.1.1 no such mailbox"
    assert smtp_server.connections == 1
    assert len(smtp_server.messages) == 2


def test_550_after_data_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, "554 5.6.0 message refused")
    [outcome] = asyncio.run(
        send_batch([outgoing(1)], config=config_for(smtp_server.host, smtp_server.port))
    )
    assert outcome.result is Result.PERMANENT
    assert "554" in outcome.reply


def test_connection_refused_is_temporary_for_every_message(closed_port: int) -> None:
    started = time.monotonic()
    outcomes = asyncio.run(
        send_batch([outgoing(n) for n in (1, 2, 3)], config=config_for("127.0.0.1", closed_port))
    )
    assert [o.result for o in outcomes] == [Result.TEMPORARY] * 3
    assert all(f"127.0.0.1:{closed_port}" in o.reply for o in outcomes)
    assert time.monotonic() - started < 2


def test_a_silent_server_times_out_once_per_batch(silent_smtp_server: SilentServer) -> None:
    config = config_for(silent_smtp_server.host, silent_smtp_server.port, timeout_s=0.5)
    started = time.monotonic()
    outcomes = asyncio.run(send_batch([outgoing(n) for n in (1, 2, 3)], config=config))
    elapsed = time.monotonic() - started
    assert [o.result for o in outcomes] == [Result.TEMPORARY] * 3
    assert "timed out" in outcomes[0].reply
    assert elapsed < 2.5  # one timeout for the batch, not one per message


def test_a_server_that_hangs_after_data_times_out(smtp_server: SmtpServer) -> None:
    smtp_server.hang()
    config = config_for(smtp_server.host, smtp_server.port, timeout_s=0.5)
    outcomes = asyncio.run(send_batch([outgoing(1), outgoing(2)], config=config))
    assert outcomes[0].result is Result.TEMPORARY
    assert outcomes[0].reply == "timed out after 0.5 s"
    assert outcomes[1].result is Result.TEMPORARY
    assert "not attempted" in outcomes[1].reply


def test_server_down_then_up(smtp_server: SmtpServer) -> None:
    config = config_for(smtp_server.host, smtp_server.port)
    smtp_server.stop()
    items = [outgoing(n) for n in (1, 2)]
    assert [o.result for o in asyncio.run(send_batch(items, config=config))] == [
        Result.TEMPORARY
    ] * 2
    smtp_server.start()
    assert [o.result for o in asyncio.run(send_batch(items, config=config))] == [Result.SENT] * 2
    assert len(smtp_server.messages) == 2


def test_config_from_settings() -> None:
    settings = Settings(
        smtp_host="mail.example",
        smtp_port=465,
        smtp_security="tls",
        smtp_username="u",
        smtp_password="p",
        smtp_timeout_s=3,
    )
    config = SmtpConfig.from_settings(settings)
    assert (config.host, config.port, config.security) == ("mail.example", 465, "tls")
    assert (config.username, config.password, config.timeout_s) == ("u", "p", 3)
    assert config.envelope_sender == "noreply@rivernotify.example"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # implicit TLS
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_authentication(tls_files: TlsFiles, security: str) -> None:
    server = SmtpServer(
        tls="starttls" if security == "starttls" else "implicit",
        certificate=tls_files,
        credentials=("notifier", "s3cret"),
    )
    server.start()
    try:
        config = SmtpConfig(
            host=server.host,
            port=server.port,
            sender=SENDER,
            security=security,  # type: ignore[arg-type]
            username="notifier",
            password="s3cret",
            timeout_s=5,
            tls_context=tls_files.client_context(),
        )
        [outcome] = asyncio.run(send_batch([outgoing(1)], config=config))
        assert outcome.result is Result.SENT, outcome.reply
        assert len(server.messages) == 1

        wrong = replace(config, password="wrong")
        [refused] = asyncio.run(send_batch([outgoing(2)], config=wrong))
        # Our credentials are wrong, not the recipient's address: retry, don't escalate.
        assert refused.result is Result.TEMPORARY
        assert "535" in refused.reply
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_an_untrusted_certificate_is_refused(tls_files: TlsFiles) -> None:
    server = SmtpServer(tls="starttls", certificate=tls_files)
    server.start()
    try:
        config = SmtpConfig(host=server.host, port=server.port, sender=SENDER, security="starttls")
        [outcome] = asyncio.run(send_batch([outgoing(1)], config=config))
        assert outcome.result is Result.TEMPORARY
        assert (
            "CERTIFICATE_VERIFY_FAILED" in outcome.reply or "certificate" in outcome.reply.lower()
        )
        assert server.messages == []
    finally:
        server.stop()


def test_a_kept_connection_serves_several_batches(smtp_server: SmtpServer) -> None:
    config = config_for(smtp_server.host, smtp_server.port)

    async def main() -> list[Result]:
        link = SmtpLink(config)
        try:
            first = await send_batch([outgoing(1)], config=config, link=link)
            second = await send_batch([outgoing(2)], config=config, link=link)
        finally:
            await link.close()
        return [o.result for o in first + second]

    assert asyncio.run(main()) == [Result.SENT, Result.SENT]
    assert smtp_server.connections == 1


def test_a_kept_connection_the_server_dropped_is_replaced(smtp_server: SmtpServer) -> None:
    config = config_for(smtp_server.host, smtp_server.port)

    async def main() -> list[Result]:
        link = SmtpLink(config)
        try:
            first = await send_batch([outgoing(1)], config=config, link=link)
            smtp_server.stop()  # the server goes away and comes back: the kept link is dead
            smtp_server.start()
            second = await send_batch([outgoing(2)], config=config, link=link)
        finally:
            await link.close()
        return [o.result for o in first + second]

    assert asyncio.run(main()) == [Result.SENT, Result.SENT]
    assert len(smtp_server.messages) == 2

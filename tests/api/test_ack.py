"""Acknowledgement links end to end: create_app on SQLite, the link from a real email."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.app import create_app
from notifier.audit.models import AuditEvent
from notifier.db import engine_from_url
from notifier.delivery.build import render_options
from notifier.delivery.tokens import make_ack_token
from notifier.delivery.worker import Worker
from notifier.enums import NoticeStatus
from notifier.migrate import upgrade
from notifier.notices.models import Acknowledgement, Notice
from notifier.settings import Settings
from tests.fixtures.smtp import SmtpServer
from tests.notifier.delivery.seed import T0, Seeded, add_outbox, seed_incident

SECRET = "ack-test-secret-key"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = engine_from_url(f"sqlite:///{tmp_path / 'ack.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed_incident(engine)


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return Settings(
        database_url=str(engine.url),
        secret_key=SecretStr(SECRET),
        public_url="http://testserver",
        network_dir=ROOT / "data",
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
    app.state.services.engine.dispose()


def token_for(notice_id: int) -> str:
    return make_ack_token(notice_id, secret_key=SECRET)


def acks(engine: Engine) -> list[Acknowledgement]:
    with Session(engine) as session:
        return list(session.scalars(select(Acknowledgement)))


def notice_status(engine: Engine, notice_id: int) -> NoticeStatus:
    with Session(engine) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        return notice.status


def test_get_shows_the_form_and_never_acknowledges(
    client: TestClient, engine: Engine, seeded: Seeded
) -> None:
    url = f"/ack/{token_for(seeded.notice_id)}"
    for _ in range(3):  # a mail scanner, a link preview, the person
        answer = client.get(url)
        assert answer.status_code == 200
    page = answer.text
    assert page.index("确认收到通报") < page.index("Acknowledge a notice")
    assert "晋中市生态环境局" in page and "汾河" in page and "下游相邻辖区" in page
    assert '<form method="post">' in page and 'name="name"' in page
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert acks(engine) == []
    assert notice_status(engine, seeded.notice_id) is NoticeStatus.PENDING


def test_post_acknowledges_once_and_a_second_time_says_when(
    client: TestClient, engine: Engine, seeded: Seeded
) -> None:
    url = f"/ack/{token_for(seeded.notice_id)}"
    answer = client.post(url, data={"name": "李四", "note": "已安排加密监测"})
    assert answer.status_code == 200
    assert "已确认收到" in answer.text and "李四" in answer.text
    [ack] = acks(engine)
    assert (ack.by_name, ack.channel, ack.note) == ("李四", "link", "已安排加密监测")
    assert notice_status(engine, seeded.notice_id) is NoticeStatus.ACKNOWLEDGED
    with Session(engine) as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "notice.acknowledge" in actions

    again = client.post(url, data={"name": "王五"})
    assert again.status_code == 200
    assert "此前已于" in again.text and "李四" in again.text and "王五" not in again.text
    assert len(acks(engine)) == 1
    shown = client.get(url)
    assert "此前已于" in shown.text and "<form" not in shown.text


def test_a_name_is_required(client: TestClient, engine: Engine, seeded: Seeded) -> None:
    answer = client.post(f"/ack/{token_for(seeded.notice_id)}", data={"name": "  ", "note": "x"})
    assert answer.status_code == 422
    assert "须填写确认人" in answer.text and "<form" in answer.text
    assert acks(engine) == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_tokens_are_refused(
    client: TestClient, engine: Engine, seeded: Seeded, method: str
) -> None:
    token = token_for(seeded.notice_id)
    forged = token_for(seeded.notice_id + 1).split(".")[0] + "." + token.split(".", 1)[1]
    for bad in (token[:-3] + "xyz", forged, "garbage"):
        answer = getattr(client, method)(
            f"/ack/{bad}", **({"data": {"name": "A"}} if method == "post" else {})
        )
        assert answer.status_code == 400
        assert "无效或已被篡改" in answer.text and "invalid" in answer.text
    assert acks(engine) == []
    assert notice_status(engine, seeded.notice_id) is NoticeStatus.PENDING


@pytest.mark.parametrize("method", ["get", "post"])
def test_expired_tokens_are_refused(
    client: TestClient, engine: Engine, seeded: Seeded, method: str
) -> None:
    import time

    old = make_ack_token(seeded.notice_id, secret_key=SECRET, clock=lambda: time.time() - 8 * 86400)
    answer = getattr(client, method)(
        f"/ack/{old}", **({"data": {"name": "A"}} if method == "post" else {})
    )
    assert answer.status_code == 410
    assert "已过期" in answer.text and "expired" in answer.text
    assert acks(engine) == []


def test_unknown_notice(client: TestClient, seeded: Seeded) -> None:
    assert client.get(f"/ack/{token_for(9999)}").status_code == 404
    assert client.post(f"/ack/{token_for(9999)}", data={"name": "A"}).status_code == 404


def test_names_and_notes_are_escaped(client: TestClient, seeded: Seeded) -> None:
    url = f"/ack/{token_for(seeded.notice_id)}"
    answer = client.post(url, data={"name": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;" in answer.text


def test_the_link_in_a_delivered_email_works_end_to_end(
    client: TestClient, engine: Engine, seeded: Seeded, settings: Settings, smtp_server: SmtpServer
) -> None:
    add_outbox(engine, seeded)
    worker_settings = settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )
    worker = Worker(
        engine,
        worker_settings,
        render_options(worker_settings),
        clock=lambda: T0 + timedelta(seconds=1),
    )
    assert asyncio.run(worker.tick()) is not None
    [mail] = smtp_server.wait_for(1)
    text = mail.message.get_body(("plain",)).get_content()
    link = re.search(r"http://testserver(/ack/\S+)", text)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200
    assert notice_status(engine, seeded.notice_id) is NoticeStatus.SENT  # GET changed nothing
    done = client.post(link.group(1), data={"name": "赵六"})
    assert done.status_code == 200 and "已确认收到" in done.text
    assert notice_status(engine, seeded.notice_id) is NoticeStatus.ACKNOWLEDGED
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1

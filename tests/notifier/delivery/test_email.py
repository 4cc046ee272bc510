from __future__ import annotations

import email
import email.policy
import io
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from PIL import Image
from shapely.geometry import MultiPolygon, Point, Polygon, box

from notifier.delivery.context import MapGeometry, MessageKind
from notifier.delivery.email import (
    build_email,
    email_bytes,
    make_message_id,
    render_bodies,
    subject_for,
)
from notifier.delivery.mapimage import HEIGHT, WIDTH, render_map_png
from tests.notifier.delivery.conftest import NOW, SENDER, MakeContext


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_subject_names_river_origin_and_recipient(make_context: MakeContext) -> None:
    subject = subject_for(make_context())
    assert subject.startswith("【跨界水污染通报】汾河 太原市小店区 → 晋中市")
    assert "化学需氧量超标1.25倍" in subject
    assert "事件#7" in subject


@pytest.mark.parametrize(
    ("kind", "exercise", "prefix"),
    [
        (MessageKind.NOTICE, True, "【演练】【跨界水污染通报】"),
        (MessageKind.FOLLOW_UP, False, "【续报】"),
        (MessageKind.END_OF_ALERT, False, "【解除】"),
        (MessageKind.REMINDER, False, "【催办】"),
        (MessageKind.ESCALATION, False, "【升级】"),
        (MessageKind.END_OF_ALERT, True, "【演练】【解除】"),
        (MessageKind.DELIVERY_FAILURE, False, "【投递失败】"),
    ],
)
def test_subject_prefixes(
    make_context: MakeContext, kind: MessageKind, exercise: bool, prefix: str
) -> None:
    assert subject_for(make_context(kind=kind, exercise=exercise)).startswith(prefix)


def test_non_ascii_subject_is_rfc2047_encoded_and_decodes_back(make_context: MakeContext) -> None:
    context = make_context(exercise=True)
    raw = build_email(context, sender=SENDER, recipient="duty@jinzhong.example", now=NOW).as_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    header_block.decode("ascii")  # every header is 7-bit on the wire
    assert b"=?utf-8?" in header_block
    parsed = parse(raw)
    assert parsed["Subject"] == subject_for(context)
    raw_subject = email.message_from_bytes(raw, policy=email.policy.compat32)["Subject"]
    assert str(make_header(decode_header(raw_subject))) == subject_for(context)


def test_headers(make_context: MakeContext) -> None:
    context = make_context()
    message = parse(
        build_email(context, sender=SENDER, recipient="duty@jinzhong.example", now=NOW).as_bytes()
    )
    assert message["Message-ID"] == "<rivernotify.7.notice.3@rivernotify.example>"
    assert message["From"] == SENDER
    assert message["To"].addresses[0].addr_spec == "duty@jinzhong.example"
    assert message["To"].addresses[0].display_name == "晋中市生态环境局"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == NOW
    assert message["In-Reply-To"] is None
    assert message["References"] is None


def test_follow_up_threads_under_the_first_notice(make_context: MakeContext) -> None:
    first = make_context()
    follow_up = make_context(
        kind=MessageKind.FOLLOW_UP,
        message_id=make_message_id(incident_id=7, kind="follow_up", key=1, sender=SENDER),
        in_reply_to=first.message_id,
        summary="下游断面复测化学需氧量 38 mg/L，仍超标。",
    )
    message = parse(
        build_email(follow_up, sender=SENDER, recipient="duty@jinzhong.example", now=NOW).as_bytes()
    )
    assert message["Message-ID"] != first.message_id
    assert message["In-Reply-To"] == first.message_id
    assert message["References"] == first.message_id
    body = message.get_body(("plain",))
    assert body is not None
    assert "下游断面复测化学需氧量 38 mg/L" in body.get_content()


def test_message_id_is_stable() -> None:
    a = make_message_id(incident_id=1, kind="notice", key=9, sender=SENDER)
    assert a == make_message_id(incident_id=1, kind="notice", key=9, sender=SENDER)
    assert a != make_message_id(incident_id=1, kind="notice", key=10, sender=SENDER)
    assert a.startswith("<") and a.endswith("@rivernotify.example>")


def test_chinese_first_then_english_in_text_and_html(make_context: MakeContext) -> None:
    message = parse(
        build_email(
            make_context(), sender=SENDER, recipient="duty@jinzhong.example", now=NOW
        ).as_bytes()
    )
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text = text_part.get_content()
    html = html_part.get_content()
    for body in (text, html):
        assert body.index("太原市生态环境局小店分局通报") < body.index("Notice from")
        assert "45 mg/L" in body and "≤ 20" in body  # measurement against its limit
        assert "http://127.0.0.1:8000/ack/TOKEN" in body
    # Times are shown in Asia/Shanghai (UTC 11:00 -> 19:00) and labelled as an estimate.
    assert "预计到达贵辖区边界：2026-11-24 19:00" in text
    assert "估算" in text
    assert "Beijing time" in text
    assert "112.56010" in text and "37.71020" in text
    assert "确认收到本通报" in text and "加强" in text and "反馈" in text  # what is asked
    assert "王工" in text and "0351-1234567" in text


def test_drill_is_marked_in_the_body(make_context: MakeContext) -> None:
    message = build_email(
        make_context(exercise=True), sender=SENDER, recipient="a@b.example", now=NOW
    )
    body = message.get_body(("plain",))
    assert body is not None
    assert "演练" in body.get_content() and "DRILL" in body.get_content()
    assert message["X-Rivernotify-Exercise"] == "yes"


def test_html_escapes_user_text(make_context: MakeContext) -> None:
    context = make_context(kind=MessageKind.FOLLOW_UP, summary='<script>alert("x")</script>')
    message = build_email(context, sender=SENDER, recipient="a@b.example", now=NOW)
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert "<script>" not in html_part.get_content()
    assert "&lt;script&gt;" in html_part.get_content()
    assert '<script>alert("x")</script>' in text_part.get_content()


def test_map_is_attached_inline_to_the_html(make_context: MakeContext) -> None:
    message = parse(
        build_email(make_context(), sender=SENDER, recipient="a@b.example", now=NOW).as_bytes()
    )
    assert message.get_content_type() == "multipart/alternative"
    related = message.get_payload()[1]  # type: ignore[index]
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    png = image.get_content()
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.format == "PNG"
        assert picture.size == (WIDTH, HEIGHT)


def test_no_map_without_geometry(make_context: MakeContext) -> None:
    message = build_email(make_context(map=None), sender=SENDER, recipient="a@b.example", now=NOW)
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    html = message.get_body(("html",))
    assert html is not None and "cid:" not in html.get_content()


def test_map_draws_origin_path_and_area() -> None:
    geometry = MapGeometry(
        origin=Point(112.56, 37.71),
        path=(),
        recipient_area=MultiPolygon(
            [
                Polygon(
                    box(112.6, 37.3, 113.1, 37.68).exterior.coords,
                    [box(112.8, 37.4, 112.9, 37.5).exterior.coords],
                ),
                box(113.2, 37.3, 113.3, 37.4),
            ]
        ),
    )
    png = render_map_png(geometry)
    assert png == render_map_png(geometry)  # deterministic
    with Image.open(io.BytesIO(png)) as picture:
        colours = {c for _, c in picture.convert("RGB").getcolors(maxcolors=100_000) or []}
    assert (200, 30, 30) in colours  # origin
    assert (253, 226, 196) in colours  # recipient area


def test_naive_times_are_refused(make_context: MakeContext) -> None:
    with pytest.raises(ValueError, match="aware"):
        make_context(eta=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="aware"):
        build_email(
            make_context(), sender=SENDER, recipient="a@b.example", now=NOW.replace(tzinfo=None)
        )


def test_the_wire_form_is_clean_mime(make_context: MakeContext) -> None:
    """The MIME framing is written by email_bytes itself: a strict parser finds no defect,
    every line ends in CRLF and is short, and each part decodes to what was rendered."""
    context = make_context()
    png = render_map_png(context.map) if context.map is not None else b"\x89PNG"
    raw = email_bytes(
        context, sender=SENDER, recipient="duty@jinzhong.example", now=NOW, map_png=png
    )
    raw.decode("ascii")
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.endswith(b"--\r\n")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    message = email.message_from_bytes(raw, policy=email.policy.strict)
    assert isinstance(message, EmailMessage)
    assert all(not part.defects for part in message.walk())
    assert message.get_all("MIME-Version") == ["1.0"]
    text, html = render_bodies(
        context, map_cid=f"map.7.{context.notice_id or 0}@rivernotify.example"
    )
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and plain.get_content() == text
    assert rich is not None and rich.get_content() == html
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_payload(decode=True) == png

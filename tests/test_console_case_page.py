"""The case page's conversation transcript and the download of stored attachments."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery import enqueue
from bot.zalo import messages
from handlers.console_cases import content_disposition
from models import AttachmentState, Case, CaseAttachment, CaseStatus, EventStatus, InboundEvent
from tests import console_helpers
from tests.conftest import Webhook
from tests.console_helpers import CITIZEN_ZALO_ID, XSS, login, page

clock = console_helpers.clock
demo = console_helpers.demo
make_case = console_helpers.make_case
citizen = console_helpers.citizen
other_handler = console_helpers.other_handler

RECEIVED = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
IMAGE_URL = "https://photo-stal-1.zdn.vn/x/hien-truong.jpg"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n"


class Events:
    """Stores webhook events of the citizen as the webhook would, at chosen times."""

    def __init__(self, session, client) -> None:
        self.session = session
        self.webhook = Webhook(client)
        self.count = 0

    def add(
        self, at: datetime, event_name: str, message: dict | None = None, user=None, **extra
    ) -> None:
        body = self.webhook.envelope(user or CITIZEN_ZALO_ID, event_name, message, **extra)
        if event_name.startswith("oa_send_"):
            body["sender"], body["recipient"] = body["recipient"], body["sender"]
        self.count += 1
        self.session.add(
            InboundEvent(
                dedup_key=f"test:{self.count}",
                event_name=event_name,
                zalo_user_id=user or CITIZEN_ZALO_ID,
                body=json.dumps(body, ensure_ascii=False),
                status=EventStatus.PROCESSED,
                received_at=at,
            )
        )
        self.session.commit()

    def text(self, at: datetime, text: str) -> None:
        self.add(at, "user_send_text", {"text": text})


@pytest.fixture
def events(demo, client) -> Events:
    return Events(demo, client)


def store(app, case_id: int, name: str, content: bytes) -> str:
    """Write a file into the app's storage as the worker does; return its path."""
    folder = Path(app.config["STORAGE_DIR"]) / "cases" / str(case_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return str(path)


def attachment(session, case: Case, **values) -> CaseAttachment:
    defaults = {
        "media_type": "file",
        "source_url": "https://f1.zdn.vn/x/tep",
        "state": AttachmentState.STORED,
    }
    row = CaseAttachment(case_id=case.id, **(defaults | values))
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def conversation(app, demo, make_case, citizen, events):
    """A case from the citizen, the messages around it, and its stored photo."""
    case = make_case.create(
        citizen_id=citizen.id, received_at=RECEIVED, status=CaseStatus.PROCESSING
    )
    photo = attachment(
        demo,
        case,
        media_type="image",
        source_url=IMAGE_URL,
        file_name="hien-truong.jpg",
        content_type="image/jpeg",
        storage_path=store(app, case.id, "1-hien-truong.jpg", JPEG),
    )
    before = RECEIVED - timedelta(minutes=10)
    events.text(RECEIVED - timedelta(days=3), "Tin nhắn cũ không thuộc PAKN này")
    events.text(before, f"Vỉa hè bị lấn chiếm {XSS}")
    events.add(
        before + timedelta(minutes=1),
        "user_send_image",
        {"attachments": [{"type": "image", "payload": {"url": IMAGE_URL}}]},
    )
    events.add(
        before + timedelta(minutes=2),
        "user_send_file",
        {
            "attachments": [
                {
                    "type": "file",
                    "payload": {
                        "url": "https://f1.zdn.vn/x/don.pdf",
                        "name": "don.pdf",
                        "size": "10",
                    },
                }
            ]
        },
    )
    events.add(
        before + timedelta(minutes=3),
        "user_send_location",
        {
            "text": "",
            "attachments": [
                {
                    "type": "location",
                    "payload": {
                        "coordinates": {"latitude": "21.0285011", "longitude": "105.8542034"}
                    },
                }
            ],
        },
    )
    events.text(before + timedelta(minutes=4), "SĐT của tôi là 0912345678, tên Nguyễn Văn An")
    events.add(
        before + timedelta(minutes=5),
        "user_submit_info",
        info={"name": "Nguyễn Văn An", "phone": "84912345678", "address": "12 Hàng Bạc"},
    )
    events.add(before + timedelta(minutes=6), "user_seen_message", {"msg_ids": ["x"]})
    events.add(before + timedelta(minutes=7), "user_send_text", {"text": "Người khác"}, user="999")
    events.add(before + timedelta(minutes=8), "oa_send_text", {"text": "Cán bộ OA đã tiếp nhận"})
    enqueue(
        demo,
        citizen.id,
        messages.buttons("Ông/Bà xác nhận gửi PAKN?", [("Gửi", "#gui"), ("Sửa", "#sua")]),
        now=before + timedelta(minutes=9),
    )
    enqueue(
        demo,
        citizen.id,
        messages.text(f"Đã tiếp nhận {case.code}"),
        case_id=case.id,
        now=RECEIVED,
    )
    demo.commit()
    return case, photo


def test_transcript_shows_the_conversation_in_order(client, conversation):
    case, photo = conversation
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{case.code}")

    chat = re.search(r'<ol class="chat">(.*?)</ol>', html, re.S).group(1)
    assert "Tin nhắn cũ" not in chat  # before the window
    assert "Người khác" not in chat  # another citizen
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chat and XSS not in html
    assert f'<img src="/admin/cases/{case.code}/files/{photo.id}"' in chat
    assert 'href="https://f1.zdn.vn/x/don.pdf"' in chat and "don.pdf" in chat
    assert "21.0285011, 105.8542034" in chat
    assert "https://www.openstreetmap.org/?mlat=21.0285011&amp;mlon=105.8542034" in chat
    assert "Cán bộ OA đã tiếp nhận" in chat
    assert "Ông/Bà xác nhận gửi PAKN?" in chat and "<li>Sửa</li>" in chat
    assert f"Đã tiếp nhận {case.code}" in chat
    order = [
        chat.index(text)
        for text in (
            "Vỉa hè",
            "don.pdf",
            "105.8542034",
            "Cán bộ OA",
            "xác nhận gửi",
            "Đã tiếp nhận PAKN",
        )
    ]
    assert order == sorted(order)
    assert chat.count('class="bubble ') == 9
    assert "0912345678" in chat  # coordinators read the contact data


def test_transcript_masks_contact_data_for_handlers(client, conversation):
    case, _photo = conversation
    login(client, "handler")

    html = page(client, f"/admin/cases/{case.code}")

    chat = re.search(r'<ol class="chat">(.*?)</ol>', html, re.S).group(1)
    assert "0912345678" not in html and "84912345678" not in html
    assert "Nguyễn Văn An" not in html and "12 Hàng Bạc" not in chat
    assert "09******78" in chat and "84*******78" in chat and "Ng**** V** A*" in chat
    assert "Thông tin liên hệ trong hội thoại đã được che." in html


def test_case_without_a_citizen_has_no_transcript(client, make_case):
    code = make_case()
    login(client, "coordinator")

    assert "PAKN này không tiếp nhận qua Zalo." in page(client, f"/admin/cases/{code}")


def test_closed_case_transcript_ends_after_its_last_activity(
    client, demo, make_case, citizen, events
):
    case = make_case.create(
        citizen_id=citizen.id,
        status=CaseStatus.ANSWERED,
        received_at=RECEIVED,
        updated_at=RECEIVED + timedelta(days=1),
    )
    events.text(RECEIVED + timedelta(days=2), "Cảm ơn cơ quan")
    events.text(RECEIVED + timedelta(days=30), "Một việc khác hẳn")
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{case.code}")

    assert "Cảm ơn cơ quan" in html and "Một việc khác hẳn" not in html


# Attachment downloads


def test_image_is_served_inline_with_safe_headers(client, conversation):
    case, photo = conversation
    login(client, "handler")

    response = client.get(f"/admin/cases/{case.code}/files/{photo.id}")

    assert response.status_code == 200
    assert response.data == JPEG
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert "filename*=UTF-8''hien-truong.jpg" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize(
    ("content_type", "content", "served_as"),
    [
        ("application/pdf", PDF, "application/pdf"),
        ("text/html", b"<script>alert(1)</script>", "application/octet-stream"),
        ("image/svg+xml", b"<svg onload=alert(1)>", "application/octet-stream"),
        ("image/jpeg", b"<html>not a jpeg</html>", "image/jpeg"),
        (None, b"anything", "application/octet-stream"),
    ],
)
def test_other_files_are_downloads(app, client, demo, make_case, content_type, content, served_as):
    case = make_case.create()
    row = attachment(
        demo,
        case,
        file_name="Đơn kiến nghị.pdf",
        content_type=content_type,
        storage_path=store(app, case.id, "2-don.pdf", content),
    )
    login(client, "coordinator")

    response = client.get(f"/admin/cases/{case.code}/files/{row.id}")

    assert response.status_code == 200
    assert response.mimetype == served_as
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%C4%90%C6%A1n%20ki%E1%BA%BFn%20ngh%E1%BB%8B.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_content_disposition_has_an_ascii_fallback():
    value = content_disposition("attachment", 'Đơn "x"; y.pdf')

    assert value.startswith("attachment; filename=\"Don_x_y.pdf\"; filename*=UTF-8''")
    assert "%22" in value and "%3B" in value


def test_attachments_only_for_those_who_see_the_case(app, client, demo, make_case, other_handler):
    case = make_case.create(unit="SXD")
    row = attachment(
        demo,
        case,
        file_name="a.pdf",
        content_type="application/pdf",
        storage_path=store(app, case.id, "3-a.pdf", PDF),
    )
    url = f"/admin/cases/{case.code}/files/{row.id}"

    assert client.get(url).status_code == 302  # anonymous: to the login page
    login(client, "other_handler")
    assert client.get(url).status_code == 404
    console_helpers.logout(client)
    login(client, "handler")
    assert client.get(url).status_code == 200


def test_attachment_of_another_case_or_not_stored_is_404(app, client, demo, make_case):
    case = make_case.create()
    other = make_case.create()
    foreign = attachment(
        demo,
        other,
        content_type="application/pdf",
        storage_path=store(app, other.id, "4-b.pdf", PDF),
    )
    pending = attachment(demo, case, state=AttachmentState.PENDING)
    outside = attachment(
        demo,
        case,
        content_type="application/pdf",
        storage_path=str(Path(app.config["STORAGE_DIR"]).parent / "x.pdf"),
    )
    Path(outside.storage_path).write_bytes(PDF)
    login(client, "coordinator")

    for row in (foreign, pending, outside):
        assert client.get(f"/admin/cases/{case.code}/files/{row.id}").status_code == 404
    assert client.get(f"/admin/cases/{case.code}/files/99999").status_code == 404


def test_citizen_files_link_to_the_stored_copy(client, conversation):
    case, photo = conversation
    login(client, "handler")

    html = page(client, f"/admin/cases/{case.code}")

    section = re.search(r"<h2>Tệp đính kèm của người dân</h2>(.*?)</section>", html, re.S)
    assert f'href="/admin/cases/{case.code}/files/{photo.id}"' in section.group(1)
    assert IMAGE_URL not in section.group(1)


def test_page_shows_deadlines(client, make_case, clock):
    from datetime import date

    late = make_case(status=CaseStatus.PROCESSING, answer_due_on=date(2026, 11, 26))
    soon = make_case(status=CaseStatus.PROCESSING, answer_due_on=date(2026, 11, 29))
    login(client, "coordinator")

    late_html = page(client, f"/admin/cases/{late}")
    soon_html = page(client, f"/admin/cases/{soon}")

    assert '<span class="overdue">Quá hạn</span>' in late_html
    assert '<span class="due-soon">Sắp đến hạn</span>' in soon_html
    assert "26/11/2026" in late_html and "Ngày tiếp nhận" in late_html

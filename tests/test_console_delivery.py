"""The console and the delivery ledger: messages of a case with their fate, the held-answer
warning, the queue's "Chưa gửi được" badge and filter, and staff notices on the queue page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import event, select

from bot.delivery import enqueue
from bot.zalo import messages
from cases.notices import post_notice
from handlers.runtime import get_runtime
from models import Case, CaseStatus, HoldReason, MessageKind, OutboxState, Unit
from tests import console_helpers
from tests.console_helpers import XSS, login, page
from tests.delivery_helpers import make_citizen

clock = console_helpers.clock
demo = console_helpers.demo
make_case = console_helpers.make_case

QUEUED = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
BADGE = "Chưa gửi được · từ"


class Outbox:
    """Queues messages about a case with `bot.delivery.enqueue`, then sets their fate directly."""

    def __init__(self, session) -> None:
        self.session = session
        self.citizen = make_citizen(session)
        self.minutes = count()

    def add(
        self,
        code: str,
        kind: MessageKind = MessageKind.ANSWER,
        text: str = "Kết quả",
        state: OutboxState = OutboxState.PENDING,
        message: dict | None = None,
        **values,
    ):
        """Queue one message for the case `code` in `state`; return the row."""
        case = self.session.scalars(select(Case).where(Case.code == code)).one()
        at = QUEUED + timedelta(minutes=next(self.minutes))
        row = enqueue(
            self.session,
            self.citizen.id,
            message or messages.text(text),
            kind=kind,
            case_id=case.id,
            now=at,
        )
        row.state = state
        for name, value in values.items():
            setattr(row, name, value)
        self.session.commit()
        return row


@pytest.fixture
def outbox(demo) -> Outbox:
    return Outbox(demo)


def delivery_section(html: str) -> str:
    """The "Tin nhắn gửi người dân" section of a case page."""
    match = re.search(r'<section class="card" id="tin-nhan">(.*?)</section>', html, re.S)
    assert match, "no delivery section"
    return match.group(1)


def delivery_rows(html: str) -> list[str]:
    """The text of each row of the delivery table, tags removed."""
    rows = re.findall(r"<tr class=\"delivery-[a-z]+\">(.*?)</tr>", delivery_section(html), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


# The case page


def test_case_page_lists_every_message_with_its_fate(client, make_case, outbox):
    code = make_case()
    other = make_case()
    sent_at = QUEUED + timedelta(minutes=1)
    outbox.add(
        code,
        MessageKind.ACKNOWLEDGEMENT,
        "Đã tiếp nhận phản ánh của Ông/Bà",
        OutboxState.SENT,
        channel="consultation",
        attempts=1,
        sent_at=sent_at,
    )
    outbox.add(
        code,
        MessageKind.STATUS_UPDATE,
        "Đang xử lý",
        OutboxState.SEEN,
        channel="template",
        attempts=1,
        seen_at=sent_at,
    )
    outbox.add(
        code,
        MessageKind.INFO_REQUEST,
        "Đề nghị bổ sung ảnh",
        OutboxState.DELIVERED,
        channel="phone",
        attempts=1,
        delivered_at=sent_at,
    )
    outbox.add(
        code,
        MessageKind.ANSWER,
        "Kết quả trả lời",
        OutboxState.HELD,
        held_reason=HoldReason.OUTSIDE_WINDOW,
        held_since=sent_at,
    )
    outbox.add(
        code,
        MessageKind.SURVEY,
        "Ông/Bà có hài lòng?",
        OutboxState.FAILED,
        channel="consultation",
        attempts=8,
        last_error_code=-201,
        last_error="Zalo error -201: Parameters are invalid",
    )
    outbox.add(code, MessageKind.REPLY, "Chào Ông/Bà", OutboxState.PENDING)
    outbox.add(code, MessageKind.REMINDER, "Nhắc", OutboxState.SENDING, attempts=1)
    outbox.add(other, MessageKind.ANSWER, "Của phản ánh khác", OutboxState.SENT)
    login(client, "coordinator")

    rows = delivery_rows(page(client, f"/admin/cases/{code}"))

    assert rows == [
        "27/11/2026 10:00 Xác nhận tiếp nhận Đã tiếp nhận phản ánh của Ông/Bà Đã gửi "
        "27/11/2026 10:01 Tin tư vấn 1 —",
        "27/11/2026 10:01 Cập nhật tiến độ Đang xử lý Đã xem 27/11/2026 10:01 "
        "Tin mẫu theo Zalo ID 1 —",
        "27/11/2026 10:02 Đề nghị bổ sung thông tin Đề nghị bổ sung ảnh Đã nhận "
        "27/11/2026 10:01 Tin mẫu qua số điện thoại 1 —",
        "27/11/2026 10:03 Kết quả trả lời Kết quả trả lời Đang giữ lại (chưa gửi được) "
        "27/11/2026 10:01 — 0 Giữ lại vì quá 7 ngày người dân không tương tác",
        "27/11/2026 10:04 Khảo sát mức độ hài lòng Ông/Bà có hài lòng? Gửi thất bại "
        "Tin tư vấn 8 Zalo báo lỗi -201: Parameters are invalid",
        "27/11/2026 10:05 Tin trả lời Chào Ông/Bà Chờ gửi — 0 —",
        "27/11/2026 10:06 Nhắc việc Nhắc Đang gửi — 1 —",
    ]


@pytest.mark.parametrize(
    ("reason", "code", "words"),
    [
        (HoldReason.UNREACHABLE, None, "Giữ lại vì người dân đã chặn OA / không liên lạc được"),
        (HoldReason.OUT_OF_QUOTA, -211, "Giữ lại vì hết hạn mức gửi tin (mã lỗi Zalo -211)"),
    ],
)
def test_hold_reasons_in_words(client, make_case, outbox, reason, code, words):
    case_code = make_case()
    outbox.add(
        case_code,
        state=OutboxState.HELD,
        held_reason=reason,
        held_since=QUEUED,
        last_error_code=code,
    )
    login(client, "coordinator")

    assert words in delivery_section(page(client, f"/admin/cases/{case_code}"))


def test_a_retry_and_a_failure_without_a_code_are_explained(client, make_case, outbox):
    code = make_case()
    outbox.add(
        code,
        state=OutboxState.PENDING,
        attempts=2,
        last_error_code=-32,
        last_error="Zalo error -32: rate limit",
        next_attempt_at=QUEUED + timedelta(hours=1),
    )
    outbox.add(
        code,
        state=OutboxState.FAILED,
        attempts=8,
        last_error="POST /v3.0/oa/message/cs timed out after 10s",
    )
    login(client, "coordinator")

    section = delivery_section(page(client, f"/admin/cases/{code}"))

    assert "Lần gửi trước bị lỗi -32; sẽ gửi lại lúc 27/11/2026 11:00" in section
    assert "Lỗi: POST /v3.0/oa/message/cs timed out after 10s" in section


def test_message_excerpts_are_short_escaped_and_say_what_has_no_text(client, make_case, outbox):
    code = make_case()
    outbox.add(code, text="Nội dung trả lời rất dài " * 20)
    outbox.add(code, text=f"Trích dẫn của người dân {XSS}")
    outbox.add(code, message=messages.buttons("Chọn một việc", [("Tra cứu", "#tra-cuu")]))
    outbox.add(
        code,
        message={
            "_upload": {
                "path": "/x/kq.pdf",
                "media_type": "file",
                "name": "ket-qua.pdf",
                "content_type": "application/pdf",
            }
        },
    )
    outbox.add(code, message=messages.request_user_info("Chia sẻ thông tin", "Để liên hệ", ""))
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{code}")
    rows = delivery_rows(html)

    assert "Nội dung trả lời rất dài " * 4 in rows[0] and "…" in rows[0]
    assert len(rows[0]) < 250
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Chọn một việc" in rows[2]
    assert "[Tệp] ket-qua.pdf" in rows[3]
    assert "[Thẻ đề nghị chia sẻ thông tin liên hệ]" in rows[4]


def test_case_without_messages_says_so(client, make_case):
    code = make_case()
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{code}")

    assert "Chưa có tin nhắn nào gửi người dân" in delivery_section(html)
    assert "Trả lời chưa đến được người dân" not in html


@pytest.mark.parametrize("state", [OutboxState.HELD, OutboxState.FAILED])
def test_undelivered_answer_warning_at_the_top(client, make_case, outbox, state):
    code = make_case()
    outbox.add(code, MessageKind.ACKNOWLEDGEMENT, state=OutboxState.SENT)
    outbox.add(code, MessageKind.ANSWER, state=state, held_reason=HoldReason.OUTSIDE_WINDOW)
    login(client, "handler")

    html = page(client, f"/admin/cases/{code}")

    warning = "Trả lời chưa đến được người dân (từ 27/11/2026 10:01)"
    assert warning in html
    assert html.index(warning) < html.index("Thông tin chung")


def test_no_warning_when_everything_was_delivered(client, make_case, outbox):
    code = make_case()
    outbox.add(code, state=OutboxState.SEEN)
    outbox.add(code, state=OutboxState.PENDING)
    login(client, "coordinator")

    assert "Trả lời chưa đến được người dân" not in page(client, f"/admin/cases/{code}")


# The queue


def test_queue_badges_cases_not_delivered(client, make_case, outbox):
    held = make_case(title="Có trả lời bị giữ")
    failed = make_case(title="Có tin gửi thất bại")
    delivered = make_case(title="Đã gửi xong")
    make_case(title="Chưa có tin nào")
    outbox.add(held, state=OutboxState.HELD, held_reason=HoldReason.UNREACHABLE)
    outbox.add(failed, state=OutboxState.FAILED, last_error_code=-201)
    outbox.add(delivered, state=OutboxState.DELIVERED)
    login(client, "coordinator")

    html = page(client, "/admin/")

    assert html.count(BADGE) == 2
    rows = {
        code: row
        for code, row in re.findall(r"(PAKN\.\d{8}\.\d{4})</a></td>(.*?)</tr>", html, re.S)
    }
    assert "Chưa gửi được · từ 27/11/2026 10:00" in rows[held]
    assert "Chưa gửi được · từ 27/11/2026 10:01" in rows[failed]
    assert BADGE not in rows[delivered]


def test_queue_filter_lists_only_cases_not_delivered(client, make_case, outbox):
    held = make_case(status=CaseStatus.ANSWERED)
    failed = make_case(status=CaseStatus.PROCESSING)
    delivered = make_case(status=CaseStatus.ANSWERED)
    foreign = make_case(unit="STNMT", field="MOI-TRUONG")
    for code in (held, foreign):
        outbox.add(code, state=OutboxState.HELD, held_reason=HoldReason.OUTSIDE_WINDOW)
    outbox.add(failed, state=OutboxState.FAILED)
    outbox.add(delivered, state=OutboxState.SENT)
    login(client, "handler")

    everything = page(client, "/admin/")
    only = page(client, "/admin/?undelivered=1")
    answered_only = page(client, "/admin/?undelivered=1&status=answered")

    assert "Chưa gửi được cho người dân" in everything
    assert held in everything and delivered in everything
    assert held in only and failed in only
    assert delivered not in only and foreign not in only  # still only the handler's unit
    assert "2 phản ánh, kiến nghị" in only
    assert 'name="undelivered" value="1" checked' in only
    assert held in answered_only and failed not in answered_only


def test_queue_pages_keep_the_delivery_filter(client, make_case, outbox):
    codes = [make_case() for _ in range(51)]
    for code in codes:
        outbox.add(code, state=OutboxState.FAILED)
    login(client, "coordinator")

    first = page(client, "/admin/?undelivered=1")

    assert "trang 1/2" in first
    assert "/admin/?page=2&amp;undelivered=1" in first


def test_queue_asks_the_ledger_once_per_page(app, client, make_case, outbox):
    for _ in range(5):
        outbox.add(make_case(), state=OutboxState.HELD, held_reason=HoldReason.OUTSIDE_WINDOW)
    login(client, "coordinator")
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = get_runtime(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        html = page(client, "/admin/")
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert html.count(BADGE) == 5
    assert sum("outbox_message" in statement for statement in statements) == 1


# Notices


def test_queue_shows_the_five_newest_notices_for_the_users_roles(client, demo, make_case):
    code = make_case()
    start = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    for day in range(6):
        post_notice(
            demo,
            "held_digest",
            "coordinator",
            f"Tổng hợp ngày {day + 20}/11",
            f"• {code}: chưa gửi được",
            start + timedelta(days=day),
            dedup_key=f"digest:{day}",
        )
    post_notice(demo, "quota", "handler", "Chỉ cho cán bộ xử lý", "—", start)
    login(client, "coordinator")

    html = page(client, "/admin/")

    titles = re.findall(r"Tổng hợp ngày (\d+)/11", html)
    assert titles == ["25", "24", "23", "22", "21"]
    assert "Chỉ cho cán bộ xử lý" not in html
    assert f'<a href="/admin/cases/{code}">{code}</a>: chưa gửi được' in html
    assert html.index("Thông báo mới (5)") < html.index('<table class="queue">')
    assert "<details" in html


def test_notices_follow_the_unit_and_are_escaped(client, demo):
    units = {code: unit_id for code, unit_id in demo.execute(select(Unit.code, Unit.id))}
    now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    post_notice(
        demo, "alert", "handler", "Cho Sở Xây dựng", f"Nội dung {XSS}", now, unit_id=units["SXD"]
    )
    post_notice(demo, "alert", "handler", "Cho Sở Tài nguyên", "—", now, unit_id=units["STNMT"])
    login(client, "handler")

    html = page(client, "/admin/")

    assert "Cho Sở Xây dựng" in html and "Cho Sở Tài nguyên" not in html
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_notice_box_without_notices(client, demo):
    login(client, "coordinator")

    assert "Thông báo mới" not in page(client, "/admin/")

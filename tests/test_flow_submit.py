"""A whole submission through signed webhook events, checked in the database and at Zalo's API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cases.demo import seed_reference_data
from models import Case, CaseStatus, Citizen, Conversation, Field, OutboxMessage, OutboxState, Unit

USER = "2468458835291979220"


@pytest.fixture
def seeded(app, session):
    seed_reference_data(session)
    session.commit()
    return app


def field_number(session, code: str) -> str:
    """The number the field has in the bot's list (by sort order, as shown)."""
    fields = session.scalars(
        select(Field).where(Field.active.is_(True)).order_by(Field.sort_order, Field.name)
    ).all()
    return str([f.code for f in fields].index(code) + 1)


def test_full_submission_with_buttons_diacritics_edit_photo_location_and_info_card(
    seeded, session, webhook, zalo
):
    assert webhook.follow(USER).status_code == 200
    welcome = zalo.texts(USER)
    assert welcome[0].startswith("UBND thành phố xin chào Ông/Bà!")
    assert "1. Gửi phản ánh, kiến nghị" in welcome[1]
    menu = zalo.sent[1]["message"]["attachment"]["payload"]
    assert [b["payload"] for b in menu["buttons"]] == [
        "#menu:submit",
        "#menu:lookup",
        "#menu:guide",
    ]
    assert all(b["type"] == "oa.query.hide" for b in menu["buttons"])

    zalo.clear()
    webhook.text(USER, "#menu:submit")  # a tap on the menu button
    assert (
        "Khiếu nại, tố cáo và yêu cầu tư vấn pháp luật không thuộc phạm vi này." in zalo.texts()[0]
    )
    webhook.text(USER, "Tiếp tục gửi PAKN")
    webhook.text(USER, "Phản ánh")
    zalo.clear()
    webhook.text(USER, field_number(session, "GIAO-THONG"))
    assert zalo.texts()[-1].startswith("Đơn vị tiếp nhận đề xuất: Sở Giao thông vận tải.")
    webhook.text(USER, "Đồng ý")
    webhook.text(USER, "Đèn tín hiệu hỏng tại ngã tư")
    zalo.clear()
    webhook.text(USER, "Đèn tín hiệu giao thông tại ngã tư Hàng Bạc - Hàng Đào")
    assert zalo.texts() == ['Đã ghi nhận (54/5.000 ký tự). Ông/Bà gửi tiếp hoặc gõ "xong".']
    webhook.text(USER, "đã hỏng ba ngày, gây ùn tắc giờ cao điểm.")
    webhook.text(USER, "Xong")
    zalo.clear()
    webhook.image(USER, "https://photo-stal-1.zdn.vn/x/den.jpg")
    assert zalo.texts() == ['Đã nhận 1/10 tệp. Ông/Bà gửi tiếp hoặc gõ "xong".']
    webhook.text(USER, "#files:done")
    webhook.location(USER, "21.0340", "105.8500")
    zalo.clear()
    webhook.submit_info(
        USER,
        name="Nguyễn Văn An",
        phone="84912345678",
        address="12 Hàng Bạc",
        ward="Phường Hàng Bạc",
        district="Quận Hoàn Kiếm",
        city="Hà Nội",
    )
    assert zalo.texts()[-1].startswith("Ông/Bà gõ địa chỉ email")
    webhook.text(USER, "an.nguyen@example.vn")
    webhook.text(USER, "Đồng ý")
    zalo.clear()
    webhook.text(USER, "Ẩn thông tin của tôi")
    summary = zalo.texts()[0]
    assert "• Tiêu đề: Đèn tín hiệu hỏng tại ngã tư" in summary
    assert "• Người gửi: Nguyễn Văn An, 09******78" in summary
    assert "• Địa điểm: vị trí đã chia sẻ (21.0340, 105.8500)" in summary

    # Edit the title from the summary, then come straight back to it.
    webhook.text(USER, "Sửa thông tin")
    webhook.text(USER, "4")
    zalo.clear()
    webhook.text(USER, "Đèn tín hiệu hỏng tại ngã tư Hàng Bạc")
    assert "• Tiêu đề: Đèn tín hiệu hỏng tại ngã tư Hàng Bạc" in zalo.texts()[0]
    zalo.clear()
    webhook.text(USER, "#confirm:send")

    case = session.scalars(select(Case)).one()
    assert case.code.startswith("PAKN.") and case.code.endswith(".0001")
    assert case.status is CaseStatus.RECEIVED
    assert case.title == "Đèn tín hiệu hỏng tại ngã tư Hàng Bạc"
    assert case.content == (
        "Đèn tín hiệu giao thông tại ngã tư Hàng Bạc - Hàng Đào\n"
        "đã hỏng ba ngày, gây ùn tắc giờ cao điểm."
    )
    assert case.unit.code == "SGTVT" and case.field.code == "GIAO-THONG"
    assert (case.latitude, case.longitude) == (Decimal("21.034"), Decimal("105.85"))
    assert case.contact_phone == "0912345678"
    assert case.contact_address == "12 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội"
    assert case.contact_email == "an.nguyen@example.vn"
    assert case.hide_identity is True
    assert case.consent_text_version and case.consent_at is not None
    assert [a.source_url for a in case.attachments] == ["https://photo-stal-1.zdn.vn/x/den.jpg"]
    assert (case.answer_due_on - case.received_at.date()) <= timedelta(days=20)

    ack = zalo.texts()
    assert len(ack) == 1
    assert f"Mã PAKN: {case.code}" in ack[0]
    assert "Thời hạn trả lời dự kiến: " + case.answer_due_on.strftime("%d/%m/%Y") in ack[0]
    conversation = session.get(Conversation, case.citizen_id)
    session.refresh(conversation)
    assert conversation.state == "idle"
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).all()
    assert [r.state for r in rows] == [OutboxState.SENT]


def test_typed_only_path_without_diacritics(seeded, session, webhook, zalo):
    for text in [
        "gui phan anh",
        "tiep tuc",
        "kien nghi",
        field_number(session, "MOI-TRUONG"),
        "chon don vi khac",
    ]:
        assert webhook.text(USER, text).status_code == 200
    units = session.scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.sort_order, Unit.name)
    ).all()
    ward = [u.code for u in units].index("P-HB") + 1
    for text in [
        str(ward),
        "De nghi lap them thung rac cong cong",
        "Khu vuc cho Hang Bac thieu thung rac, rac thai do ra via he.",
        "xong",
        "bo qua",
        "ngo 12 Hang Bac, Hoan Kiem",
        "Tran Thi Binh",
        "0987 654 321",
        "5 Trang Thi, Hoan Kiem, Ha Noi",
        "bo qua",
        "dong y",
        "khong can an",
        "gui",
    ]:
        assert webhook.text(USER, text).status_code == 200
    case = session.scalars(select(Case)).one()
    assert case.kind.value == "petition"
    assert case.unit.code == "P-HB"
    assert case.location_address == "ngo 12 Hang Bac, Hoan Kiem"
    assert case.contact_name == "Tran Thi Binh" and case.contact_phone == "0987654321"
    assert case.contact_email is None and case.hide_identity is False
    assert case.attachments == []
    assert f"Mã PAKN: {case.code}" in zalo.texts()[-1]
    citizen = session.scalars(select(Citizen)).one()
    assert citizen.phone == "0987654321"
    assert citizen.consent_at is not None and citizen.consent_version == case.consent_text_version

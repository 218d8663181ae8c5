"""Redaction of personal data in free text, and what `public_view` lets out of a case.

The table lists what must be masked (names with and without diacritics, phones in every writing,
e-mails, identity numbers, addresses) next to what must come out unchanged (dates, amounts,
legal references, ward names, codes, hotlines).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from cases.redaction import (
    ANONYMOUS,
    MARKER,
    Known,
    fold,
    initials,
    personal_address_parts,
    public_view,
    redact,
)
from models import Case, CaseKind, CaseStatus, Citizen, Field, Unit

M = MARKER
KNOWN = Known(
    names=["Nguyễn Văn An"],
    phones=["0912345678"],
    emails=["an.nguyen@example.vn"],
    addresses=["Số 12 phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm"],
)

# (text, expected) with the sender's KNOWN values.
WITH_KNOWN = [
    ("Tôi là Nguyễn Văn An, xin phản ánh.", f"Tôi là {M}, xin phản ánh."),
    ("NGUYỄN VĂN AN phản ánh", f"{M} phản ánh"),
    ("nguyen van an phan anh", f"{M} phan anh"),
    ("Người gửi: NguyễnVănAn", f"Người gửi: {M}"),
    ("Gia đình Văn An đề nghị", f"Gia đình {M} đề nghị"),
    ("Trả lời ông An về việc đèn hỏng", f"Trả lời ông {M} về việc đèn hỏng"),
    ("Kính gửi: Ông/Bà Nguyễn Văn An", f"Kính gửi: Ông/Bà {M}"),
    ("Điện thoại 912 345 678 (bỏ số 0)", f"Điện thoại {M} (bỏ số 0)"),
    ("Thư gửi AN.NGUYEN@EXAMPLE.VN nhé", f"Thư gửi {M} nhé"),
    ("Nhà tôi ở 12 Hang Bac, phường Hàng Bạc", f"Nhà tôi ở {M}, phường Hàng Bạc"),
    ("địa chỉ số 12, phố Hàng Bạc", f"địa chỉ {M}"),
    # Partial words of the name in running text are left: "an ninh", "công văn an toàn".
    ("Đảm bảo an ninh theo công văn an toàn", "Đảm bảo an ninh theo công văn an toàn"),
]

# (text, expected) with no known values: what the patterns alone catch and leave.
PATTERNS = [
    ("Gọi 0912345678 giúp tôi", f"Gọi {M} giúp tôi"),
    ("SĐT: 0912 345 678.", f"SĐT: {M}."),
    ("SĐT 091.234.5678", f"SĐT {M}"),
    ("SĐT 0912-345-678", f"SĐT {M}"),
    ("SĐT +84 912 345 678", f"SĐT {M}"),
    ("SĐT +84912345678", f"SĐT {M}"),
    ("SĐT 84912345678", f"SĐT {M}"),
    ("SĐT (+84) 912.345.678", f"SĐT {M}"),
    ("Máy bàn 024 3825 3536", f"Máy bàn {M}"),
    ("Máy bàn (024) 3825 3536", f"Máy bàn {M}"),
    ("Máy bàn 02438253536", f"Máy bàn {M}"),
    ("Số cũ 0168 123 4567", f"Số cũ {M}"),
    ("Email: foo.bar+pakn@gmail.com.", f"Email: {M}."),
    ("CCCD số 001092012345", f"CCCD số {M}"),
    ("CCCD 079 092 012 345", f"CCCD {M}"),
    ("CMND 012345678 cấp năm 2010", f"CMND {M} cấp năm 2010"),
    ("Hộ chiếu B1234567", f"Hộ chiếu {M}"),
    ("Tại số 12 phố Hàng Bạc có công trình", f"Tại {M} có công trình"),
    ("tại 12 Hàng Bạc có công trình", f"tại {M} có công trình"),
    ("ở ngõ 5 ngách 3 phố Huế bị ngập", f"ở {M} bị ngập"),
    ("ngõ 5 ngách 3", M),
    ("nhà số 7 bị lún", f"{M} bị lún"),
    ("số 45B/2 đường 3/2, Phường 12, Quận 10", f"{M}, Phường 12, Quận 10"),
    ("so 12 pho hang bac bi ngap", f"{M} bi ngap"),
    ("tổ 4, phường Hàng Bạc", f"{M}, phường Hàng Bạc"),
    ("Tổ dân phố số 3", M),
    ("thôn Đông, xã Yên Sở, huyện Hoài Đức", f"{M}, xã Yên Sở, huyện Hoài Đức"),
    ("xóm 2 bị mất điện", f"{M} bị mất điện"),
    ("hộ ông Trần Văn Bình xây dựng trái phép", f"hộ ông {M} xây dựng trái phép"),
    ("Chị Nguyễn Thị Mai (SĐT 0987654321)", f"Chị {M} (SĐT {M})"),
    ("Tôi là Lê Văn Cường", f"Tôi là {M}"),
]

UNCHANGED = [
    "Ngày 12/05/2026 đã nhận hồ sơ.",
    "Ngày 01.05.2026 lúc 08.30",
    "Nộp phí 500.000 đồng, tổng 1.500.000.000 đồng; còn 500000000 đồng.",
    "Căn cứ Nghị định 20/2008/NĐ-CP và Nghị định số 92/2017/NĐ-CP",
    "Căn cứ Thông tư số 02/2017/TT-VPCP, Điều 14 Luật Đất đai 2024",
    "Quyết định số 123/QĐ-UBND ngày 5/3/2026",
    "Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội",
    "Phường 12, Quận 3, TP. Hồ Chí Minh",
    "UBND phường Điện Biên, Quận Ba Đình",
    "Mã PAKN.20261127.0001 đã tiếp nhận; đường dây nóng 1900 1234",
    "Đèn tín hiệu tại ngã tư Hàng Bạc - Hàng Đào đã hỏng ba ngày.",
    "đường Bà Triệu bị ngập, phố Bà Triệu có cây đổ",
    "Ông Chủ tịch UBND phường đã chỉ đạo kiểm tra 15 hộ.",
    "Sở Giao thông vận tải trả lời Ông/Bà như sau:",
    "Diện tích 120 m2, tọa độ 21.0285, 105.8542, 3 Quận và 20 Sở ngành",
    "tổ công tác số 3 của phường",
    "Năm 2026 Sở Xây dựng kiểm tra 5 Cán bộ",
]


@pytest.mark.parametrize(("text", "expected"), WITH_KNOWN)
def test_the_senders_own_values_are_masked(text, expected):
    assert redact(text, KNOWN) == expected


@pytest.mark.parametrize(("text", "expected"), PATTERNS)
def test_personal_data_is_masked_by_its_shape(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_what_is_not_personal_is_left_as_written(text):
    assert redact(text, KNOWN) == text


def test_the_table_is_large_enough():
    assert len(WITH_KNOWN) + len(PATTERNS) + len(UNCHANGED) >= 25


def test_a_plain_tuple_of_known_values_works_and_empty_values_are_ignored():
    known = (["Nguyễn Văn An", None, ""], [None], [], [""])
    assert redact("ông Nguyễn Văn An", known) == f"ông {M}"
    assert redact("", KNOWN) == ""
    assert redact(None) == ""


def test_redaction_is_stable_when_applied_twice():
    for text, _ in WITH_KNOWN + PATTERNS:
        once = redact(text, KNOWN)
        assert redact(once, KNOWN) == once


def test_text_written_decomposed_is_matched_and_returned_composed():
    import unicodedata

    text = unicodedata.normalize("NFD", "Tôi là Nguyễn Văn An ở Hàng Bạc")
    assert redact(text, KNOWN) == f"Tôi là {M} ở Hàng Bạc"


def test_the_personal_part_of_an_address_stops_at_the_ward():
    assert personal_address_parts("Số 12 phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm") == [
        "Số 12 phố Hàng Bạc"
    ]
    assert personal_address_parts("ngõ 5, ngách 3, phố Huế, phường Phố Huế") == ["ngõ 5", "ngách 3"]
    assert personal_address_parts("12, Hàng Bạc, Hà Nội") == ["12 Hàng Bạc"]
    assert personal_address_parts("Số 12 Hàng Bạc phường Hàng Bạc") == ["Số 12 Hàng Bạc"]
    assert personal_address_parts("Phường Hàng Bạc, Quận Hoàn Kiếm") == []


def test_a_known_hamlet_address_is_masked_but_not_the_commune():
    known = Known(addresses=["thôn Thượng, xã Yên Sở, huyện Hoài Đức"])
    assert redact("Tôi ở thôn Thượng, xã Yên Sở", known) == f"Tôi ở {M}, xã Yên Sở"


def test_fold_keeps_one_character_per_character():
    text = "Đường Nguyễn Trãi — Ưu tiên ﬁ İ"
    assert len(fold(text)) == len(text)
    assert fold("Đường Nguyễn Trãi") == "duong nguyen trai"


def test_initials():
    assert initials("Nguyễn Văn An") == "N.V.A."
    assert initials("đỗ thị én") == "Đ.T.É."
    assert initials(None) == ANONYMOUS
    assert initials("  ") == ANONYMOUS


def _case(**values) -> Case:
    unit = Unit(code="SGTVT", name="Sở Giao thông vận tải")
    field = Field(code="GIAO-THONG", name="Giao thông")
    defaults = {
        "code": "PAKN.20261127.0001",
        "kind": CaseKind.FEEDBACK,
        "status": CaseStatus.PUBLISHED,
        "title": "Ông Nguyễn Văn An phản ánh đèn hỏng trước số 12 phố Hàng Bạc",
        "content": "Liên hệ 0912345678, an.nguyen@example.vn.",
        "answer_text": "Trả lời ông An: đã sửa đèn.",
        "contact_name": "Nguyễn Văn An",
        "contact_phone": "0912345678",
        "contact_address": "Số 12 phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm",
        "contact_email": "an.nguyen@example.vn",
        "hide_identity": False,
        "location_address": "Trước số 12 phố Hàng Bạc",
        "latitude": Decimal("21.034012"),
        "longitude": Decimal("105.852351"),
        "received_at": datetime(2026, 11, 27, 1, 30, tzinfo=UTC),
        "answer_due_on": date(2026, 12, 17),
        "answered_at": datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        "published_at": datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
    }
    defaults.update(values)
    return Case(unit=unit, field=field, **defaults)


def test_public_view_publishes_the_redacted_originals_and_initials():
    view = public_view(_case())
    assert view["title"] == f"Ông {M} phản ánh đèn hỏng trước {M}"
    assert view["question"] == f"Liên hệ {M}, {M}."
    assert view["answer"] == f"Trả lời ông {M}: đã sửa đèn."
    assert view["location"] == f"Trước {M}"
    assert view["sender"] == "N.V.A."
    assert (view["field"], view["field_code"], view["unit"]) == (
        "Giao thông",
        "GIAO-THONG",
        "Sở Giao thông vận tải",
    )
    assert view["status_label"] == "Đã công khai kết quả"
    assert view["kind"] == "Phản ánh"
    assert (view["latitude"], view["longitude"]) == (Decimal("21.0340"), Decimal("105.8524"))
    assert view["received_at"] == datetime(2026, 11, 27, 1, 30, tzinfo=UTC)


def test_public_view_prefers_the_staff_edited_version_as_written():
    view = public_view(
        _case(
            public_title="Đèn tín hiệu hỏng",
            public_content="Người dân phản ánh đèn hỏng.",
            public_answer="Đã sửa; liên hệ tổng đài 024 3825 3536.",
        )
    )
    assert view["title"] == "Đèn tín hiệu hỏng"
    assert view["question"] == "Người dân phản ánh đèn hỏng."
    assert view["answer"] == "Đã sửa; liên hệ tổng đài 024 3825 3536."


def test_public_view_hides_the_sender_and_the_coordinates_when_asked():
    view = public_view(_case(hide_identity=True))
    assert view["sender"] == ANONYMOUS
    assert view["latitude"] is None and view["longitude"] is None


def test_public_view_masks_the_citizens_zalo_profile_values_too():
    citizen = Citizen(zalo_user_id="1", display_name="Bé Na Cute", phone="0977000111")
    view = public_view(
        _case(citizen=citizen, content="Bé Na Cute gọi 0977 000 111", answer_text=None)
    )
    assert view["question"] == f"{M} gọi {M}"
    assert view["answer"] is None


def test_public_view_never_contains_the_contact_values():
    view = public_view(_case())
    text = fold(" ".join(str(value) for value in view.values()))
    for secret in ("Nguyễn Văn An", "0912345678", "an.nguyen@example.vn", "12 phố Hàng Bạc"):
        assert fold(secret) not in text

"""PAKN received outside Zalo: the intake form, the Zalo link by phone, and the offline follow-up.

A coordinator enters a PAKN received in person, on paper, by phone or by email. A citizen whose
phone is known on Zalo is linked and told there; any other citizen is informed by the channel the
PAKN came by, and the case page reminds staff of every step nobody has told them about yet.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases import other_channels
from models import (
    AttachmentState,
    Case,
    CaseAttachment,
    CaseEvent,
    CaseStatus,
    Field,
    MessageKind,
    OutboxMessage,
    Staff,
    Unit,
)
from tests import console_helpers
from tests.console_helpers import CITIZEN_ZALO_ID, XSS, csrf_from, login, page, post_action
from tests.delivery_helpers import make_citizen

clock = console_helpers.clock
demo = console_helpers.demo
other_handler = console_helpers.other_handler

INTAKE = "/admin/intake"
PDF = b"%PDF-1.4\n% don thu\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PHONE = "0912345678"
NOTICE = "Người dân không dùng Zalo: cần thông báo kết quả"
TODO = "Việc cần làm: thông báo cho người dân"
ERROR_OF = re.compile(r'<span class="field-error" id="f-([a-z_]+)-error">([^<]*)</span>')


@pytest.fixture
def coordinator(client, clock, demo):
    """The client, logged in as the demo coordinator."""
    login(client, "coordinator")
    return client


def field_id(session, code: str = "XAY-DUNG") -> int:
    return session.scalars(select(Field.id).where(Field.code == code)).one()


def unit_id(session, code: str) -> int:
    return session.scalars(select(Unit.id).where(Unit.code == code)).one()


def form_data(session, **values) -> dict:
    """A complete, valid intake form (a PAKN received by phone), with `values` changed."""
    data = {
        "channel": "phone",
        "received_at": "2026-11-27T09:15",
        "kind": "feedback",
        "field_id": str(field_id(session)),
        "unit_id": "",
        "title": "Công trình lấn chiếm vỉa hè",
        "content": "Công trình xây dựng tại số 5 Hàng Bạc để vật liệu lấn chiếm vỉa hè.",
        "location_address": "Số 5 Hàng Bạc, Hoàn Kiếm",
        "contact_name": "Nguyễn Văn An",
        "contact_phone": PHONE,
        "contact_address": "Số 1 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm",
        "contact_email": "",
        "consent": "1",
        "consent_mode": "verbal",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def submit(client, session, files: list[tuple[bytes, str]] | None = None, **values):
    """POST the intake form (with this session's CSRF token and optional scanned files)."""
    data = {"csrf_token": csrf_from(client, INTAKE), **form_data(session, **values)}
    if files:
        data["files"] = [(_stream(content), name) for content, name in files]
    return client.post(INTAKE, data=data, content_type="multipart/form-data")


def _stream(content: bytes):
    from io import BytesIO

    return BytesIO(content)


def only_case(session) -> Case:
    session.expire_all()
    return session.scalars(select(Case)).one()


def case_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Case))


def outbox(session, case: Case) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case.id).order_by(OutboxMessage.id)
        )
    )


def stored_files(app) -> list[Path]:
    root = Path(app.config["STORAGE_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def errors_of(html: str) -> dict[str, str]:
    return dict(ERROR_OF.findall(html))


# Who may enter PAKN


def test_anonymous_visitors_are_sent_to_the_login_page(client, demo):
    response = client.get(INTAKE)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/intake")


@pytest.mark.parametrize("role", ["handler", "leader", "admin"])
def test_only_coordinators_may_enter_pakn(client, clock, demo, role):
    login(client, role)
    token = csrf_from(client, "/admin/")

    assert client.get(INTAKE).status_code == 403
    response = client.post(INTAKE, data={"csrf_token": token, **form_data(demo)})

    assert response.status_code == 403
    assert case_count(demo) == 0
    assert "Tiếp nhận PAKN từ kênh khác" not in page(client, "/admin/")


def test_coordinator_sees_the_form_and_the_navigation_link(coordinator):
    html = page(coordinator, "/admin/")
    assert 'href="/admin/intake">Tiếp nhận PAKN từ kênh khác</a>' in html

    form = page(coordinator, INTAKE)

    assert "<h1>Tiếp nhận PAKN từ kênh khác</h1>" in form
    # Received "now" by default (10:00 in Hanoi on the fake clock), never later.
    assert 'value="2026-11-27T10:00" max="2026-11-27T10:00"' in form
    for label in ("Trực tiếp", "Văn bản giấy", "Điện thoại", "Thư điện tử"):
        assert f">{label}</option>" in form
    assert "Người dân đồng ý cho sử dụng thông tin cá nhân để xử lý PAKN" in form
    assert ">bằng văn bản</option>" in form and ">bằng lời nói</option>" in form
    # The unit is suggested from the field: each field names its receiving unit.
    assert "Xây dựng, trật tự đô thị (tiếp nhận: Sở Xây dựng)" in form
    assert 'enctype="multipart/form-data"' in form


def test_the_form_requires_the_csrf_token(coordinator, demo):
    response = coordinator.post(INTAKE, data=form_data(demo))

    assert response.status_code == 400
    assert case_count(demo) == 0


# A citizen known on Zalo


def test_a_citizen_known_on_zalo_is_linked_and_told_there(coordinator, demo, zalo):
    citizen = make_citizen(demo, CITIZEN_ZALO_ID, phone=PHONE)

    # Typed as the citizen said it on the phone: the number is normalised before the match.
    response = submit(coordinator, demo, contact_phone="+84 912 345 678")

    case = only_case(demo)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/cases/{case.code}"
    assert case.citizen_id == citizen.id
    assert case.channel == "phone"
    assert case.contact_phone == PHONE
    assert case.code == "PAKN.20261127.0001"
    assert case.received_at == datetime(2026, 11, 27, 2, 15, tzinfo=UTC)
    assert case.consent_text_version == "offline-v1:verbal"
    rows = outbox(demo, case)
    assert [row.kind for row in rows] == [MessageKind.ACKNOWLEDGEMENT]
    assert rows[0].citizen_id == citizen.id
    assert rows[0].payload["_context"]["case_code"] == case.code
    told = zalo.texts(CITIZEN_ZALO_ID)
    assert len(told) == 1
    assert "Ông/Bà gửi qua điện thoại ngày 27/11/2026" in told[0]
    assert f"Mã PAKN: {case.code}" in told[0]
    html = page(coordinator, f"/admin/cases/{case.code}")
    assert "Người dân dùng Zalo: đã gửi tin báo mã PAKN" in html
    assert NOTICE not in html and TODO not in html


def test_later_workflow_steps_reach_the_linked_citizen_on_zalo(coordinator, demo, zalo):
    make_citizen(demo, CITIZEN_ZALO_ID, phone=PHONE)
    submit(coordinator, demo)
    case = only_case(demo)

    response = post_action(
        coordinator, case.code, "transfer", {"unit_id": str(unit_id(demo, "STNMT"))}
    )

    assert response.status_code == 302
    told = zalo.texts(CITIZEN_ZALO_ID)
    assert len(told) == 2
    assert (
        told[1] == f"{case.code} đã được chuyển đến Sở Tài nguyên và Môi trường để xem xét, xử lý."
    )


def test_an_ambiguous_phone_links_no_one(coordinator, demo, zalo):
    make_citizen(demo, "1111111111111111111", phone=PHONE)
    make_citizen(demo, "2222222222222222222", phone=PHONE)

    submit(coordinator, demo)

    case = only_case(demo)
    assert case.citizen_id is None
    assert outbox(demo, case) == []
    assert zalo.sent == []


def test_a_citizen_who_blocked_the_oa_is_informed_offline(coordinator, demo, zalo):
    citizen = make_citizen(demo, CITIZEN_ZALO_ID, phone=PHONE)
    citizen.unreachable_reason = "blocked"
    demo.commit()

    submit(coordinator, demo)

    assert only_case(demo).citizen_id is None
    assert zalo.sent == []


# A citizen not on Zalo


def test_an_offline_citizen_gets_no_zalo_message_and_the_case_says_how_to_inform_them(
    coordinator, demo, app
):
    response = submit(
        coordinator,
        demo,
        channel="paper",
        received_at="2026-11-20T08:30",
        consent_mode="written",
        files=[(PDF, "Đơn phản ánh.pdf"), (JPEG, "anh-hien-truong.JPG")],
    )

    case = only_case(demo)
    assert response.status_code == 302
    assert case.citizen_id is None and case.channel == "paper"
    # Registered on the day it arrived, with its deadlines counted from then.
    assert case.code == "PAKN.20261120.0001"
    assert case.received_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert outbox(demo, case) == []
    received = demo.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    coordinator_id = demo.scalars(select(Staff.id).where(Staff.username == "dieuphoi")).one()
    assert received.action == "received"
    assert (received.actor, received.staff_id) == (f"staff:{coordinator_id}", coordinator_id)
    assert received.note == (
        "Tiếp nhận bằng văn bản giấy. Người dân đồng ý cho sử dụng thông tin cá nhân để xử lý "
        "PAKN (bằng văn bản). Nhập vào hệ thống lúc 27/11/2026 10:00."
    )
    html = page(coordinator, f"/admin/cases/{case.code}")
    assert "Đã vào sổ PAKN PAKN.20261120.0001. Người dân không dùng Zalo" in html
    assert (
        f"{NOTICE} bằng văn bản (địa chỉ Số 1 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm)." in html
    )
    assert f"{TODO} bằng văn bản" in html


def test_scanned_documents_are_stored_as_the_citizens_attachments(coordinator, demo, app):
    submit(coordinator, demo, files=[(PDF, "Đơn phản ánh.pdf"), (JPEG, "anh.jpg")])

    case = only_case(demo)
    attachments = demo.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.id)
    ).all()
    assert [(a.origin, a.state, a.content_type, a.file_name) for a in attachments] == [
        ("citizen", AttachmentState.STORED, "application/pdf", "Đơn phản ánh.pdf"),
        ("citizen", AttachmentState.STORED, "image/jpeg", "anh.jpg"),
    ]
    storage = Path(app.config["STORAGE_DIR"]).resolve()
    for attachment in attachments:
        path = Path(attachment.storage_path or "").resolve()
        assert path.is_relative_to(storage / "cases" / str(case.id))
    download = coordinator.get(f"/admin/cases/{case.code}/files/{attachments[0].id}")
    assert download.status_code == 200 and download.data == PDF


def test_the_reminder_follows_each_citizen_visible_step_until_ticked(coordinator, demo, clock):
    submit(coordinator, demo, channel="email", contact_email="An.Nguyen@Example.vn")
    case = only_case(demo)
    url = f"/admin/cases/{case.code}"
    html = page(coordinator, url)
    assert f"{NOTICE} qua thư điện tử (thư điện tử an.nguyen@example.vn)." in html
    assert f"{TODO} qua thư điện tử" in html  # the code is news to the citizen too
    assert '<option value="email" selected>Thư điện tử</option>' in html

    clock.advance(minutes=5)
    response = inform(coordinator, case.code, "email", "Đã gửi thư báo mã PAKN.")
    assert response.status_code == 302 and response.headers["Location"] == url
    html = page(coordinator, url)
    assert "Đã ghi nhận việc thông báo cho người dân." in html
    assert TODO not in html and NOTICE in html  # the channel stays on the page

    # An internal note is not news for the citizen: still nothing to do.
    post_action(coordinator, case.code, "comment", {"note": "Cần xác minh hiện trường"})
    assert TODO not in page(coordinator, url)

    post_action(coordinator, case.code, "transfer", {"unit_id": str(unit_id(demo, "STNMT"))})
    html = page(coordinator, url)
    assert f"{TODO} qua thư điện tử" in html
    pending = html.split(TODO, 1)[1].split("</ul>", 1)[0]
    assert "Chuyển đơn vị xử lý" in pending and "Tiếp nhận" not in pending

    assert (
        inform(coordinator, case.code, "email", "Đã gửi thư báo chuyển xử lý.").status_code == 302
    )
    assert TODO not in page(coordinator, url)
    informed = demo.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "informed_offline")
        .order_by(CaseEvent.id)
    ).all()
    assert [event.note for event in informed] == [
        "Đã thông báo cho người dân (thư điện tử): Đã gửi thư báo mã PAKN.",
        "Đã thông báo cho người dân (thư điện tử): Đã gửi thư báo chuyển xử lý.",
    ]
    assert not any(event.visible_to_citizen for event in informed)
    assert outbox(demo, only_case(demo)) == []


def test_the_unit_handler_sees_the_reminder_with_masked_contact_and_may_tick(client, clock, demo):
    login(client, "coordinator")
    submit(client, demo)
    case = only_case(demo)
    post_action(client, case.code, "transfer", {"unit_id": str(unit_id(demo, "SXD"))})
    console_helpers.logout(client)
    login(client, "handler")

    html = page(client, f"/admin/cases/{case.code}")

    assert f"{NOTICE} qua điện thoại (số điện thoại 09******78)." in html
    assert PHONE not in html
    assert inform(client, case.code, note="Đã gọi điện báo.").status_code == 302
    assert TODO not in page(client, f"/admin/cases/{case.code}")


def test_another_units_handler_cannot_tick(client, clock, demo, other_handler):
    login(client, "coordinator")
    submit(client, demo)
    code = only_case(demo).code
    console_helpers.logout(client)
    login(client, "other_handler")

    response = client.post(
        f"/admin/cases/{code}/informed",
        data={"csrf_token": csrf_from(client, "/admin/"), "done": "1", "note": "Đã gọi."},
    )

    assert response.status_code == 404
    assert informed_count(demo) == 0


def inform(client, code: str, channel: str = "phone", note: str = "Đã thông báo.", **extra):
    """Tick "Đã thông báo" on the case page."""
    data = {
        "csrf_token": csrf_from(client, f"/admin/cases/{code}"),
        "channel": channel,
        "note": note,
        "done": "1",
        **extra,
    }
    return client.post(f"/admin/cases/{code}/informed", data=data)


def informed_count(session) -> int:
    return session.scalar(select(func.count()).where(CaseEvent.action == other_channels.INFORMED))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"done": ""}, "Vui lòng đánh dấu “Đã thông báo”"),
        ({"note": "ok"}, "Vui lòng ghi lại nội dung đã thông báo"),
        ({"channel": "zalo"}, "Vui lòng chọn kênh đã dùng để thông báo."),
    ],
)
def test_an_incomplete_confirmation_is_refused(coordinator, demo, data, message):
    submit(coordinator, demo)
    code = only_case(demo).code

    response = inform(coordinator, code, **{"note": "Đã gọi điện báo mã.", **data})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert informed_count(demo) == 0


def test_nothing_to_confirm_once_told(coordinator, demo):
    submit(coordinator, demo)
    code = only_case(demo).code
    assert inform(coordinator, code).status_code == 302

    response = inform(coordinator, code)

    assert response.status_code == 422
    assert "không có việc thông báo nào đang chờ" in response.get_data(as_text=True)
    assert informed_count(demo) == 1


def test_the_confirmation_requires_the_csrf_token(coordinator, demo):
    submit(coordinator, demo)
    code = only_case(demo).code

    response = coordinator.post(f"/admin/cases/{code}/informed", data={"done": "1", "note": "x"})

    assert response.status_code == 400
    assert informed_count(demo) == 0


def test_zalo_cases_show_no_offline_notice(coordinator, demo):
    code = console_helpers.CaseFactory(demo)(channel="zalo")

    html = page(coordinator, f"/admin/cases/{code}")

    assert NOTICE not in html and TODO not in html


# Choices the form makes for the coordinator


def test_a_blank_unit_means_the_fields_receiving_unit(coordinator, demo):
    submit(coordinator, demo, field_id=str(field_id(demo, "DAT-DAI")))

    assert only_case(demo).unit_id == unit_id(demo, "STNMT")


def test_a_chosen_unit_wins_over_the_field(coordinator, demo):
    submit(coordinator, demo, unit_id=str(unit_id(demo, "Q-HK")), kind="petition")

    case = only_case(demo)
    assert case.unit_id == unit_id(demo, "Q-HK")
    assert case.kind.value == "petition" and case.status is CaseStatus.RECEIVED


def test_hidden_identity_and_email_are_kept(coordinator, demo):
    submit(
        coordinator,
        demo,
        channel="in_person",
        hide_identity="1",
        contact_email=" An.Nguyen@Example.VN ",
    )

    case = only_case(demo)
    assert case.hide_identity is True
    assert case.contact_email == "an.nguyen@example.vn"
    assert case.channel == "in_person"


# Validation: errors next to the fields, 422, nothing saved


INVALID = [
    (
        {"consent": None},
        "consent",
        "PAKN ẩn danh, không có thông tin người gửi, không được tiếp nhận",
    ),
    ({"consent_mode": ""}, "consent_mode", "bằng văn bản hay bằng lời nói"),
    ({"contact_phone": "12345"}, "contact_phone", "Số điện thoại không hợp lệ"),
    ({"contact_phone": ""}, "contact_phone", "Vui lòng nhập số điện thoại người gửi."),
    ({"received_at": "2026-11-27T10:01"}, "received_at", "không thể ở tương lai"),
    ({"received_at": "27/11/2026"}, "received_at", "Vui lòng nhập ngày giờ tiếp nhận"),
    ({"channel": "zalo"}, "channel", "Vui lòng chọn kênh tiếp nhận."),
    ({"channel": "email"}, "contact_email", "PAKN nhận qua thư điện tử"),
    ({"contact_email": "an@"}, "contact_email", "Địa chỉ thư điện tử không hợp lệ."),
    ({"contact_name": "1"}, "contact_name", "Vui lòng nhập họ và tên"),
    ({"contact_address": ""}, "contact_address", "Vui lòng nhập địa chỉ người gửi."),
    ({"title": "Ngắn"}, "title", "Tiêu đề dài từ 10 đến 200 ký tự."),
    ({"content": ""}, "content", "Vui lòng nhập nội dung."),
    ({"field_id": "999999"}, "field_id", "Vui lòng chọn lĩnh vực."),
    ({"unit_id": "abc"}, "unit_id", "Vui lòng chọn đơn vị đang hoạt động."),
    ({"kind": "complaint"}, "kind", "Vui lòng chọn loại"),
]


@pytest.mark.parametrize(("values", "name", "message"), INVALID, ids=[i[1] for i in INVALID])
def test_an_invalid_form_is_shown_again_with_the_error_and_saves_nothing(
    coordinator, demo, app, zalo, values, name, message
):
    make_citizen(demo, CITIZEN_ZALO_ID, phone=PHONE)

    response = submit(coordinator, demo, files=[(PDF, "don.pdf")], **values)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = errors_of(html)
    assert set(errors) == {name}, errors
    assert message in errors[name]
    assert "Chưa lưu: vui lòng sửa các mục được đánh dấu bên dưới." in html
    assert "Các tệp đã chọn chưa được lưu: vui lòng chọn lại." in html
    assert case_count(demo) == 0
    assert demo.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert stored_files(app) == []
    assert zalo.sent == []


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"PK\x03\x04 word", "don.docx", "chỉ nhận tệp PDF, JPG hoặc PNG."),
        (JPEG, "don.pdf", "nội dung tệp không đúng định dạng của tên tệp."),
        (b"", "trong.png", "tệp rỗng."),
        # Small limits keep the upload in memory (werkzeug spools larger test bodies to files).
        (PDF + b"\x00" * 2048, "lon.pdf", "tệp quá lớn (tối đa 2 KB)."),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_saved(make_app, demo, clock, content, name, message):
    app = make_app(ATTACHMENT_MAX_BYTES=2048)
    console_helpers.console_state(app).clock = clock
    client = app.test_client()
    login(client, "coordinator")

    response = submit(client, demo, files=[(PDF, "tot.pdf"), (content, name)])

    assert response.status_code == 422
    assert errors_of(response.get_data(as_text=True)) == {"files": f"Tệp “{name}”: {message}"}
    assert case_count(demo) == 0
    assert stored_files(app) == []


def test_too_many_files_are_refused(coordinator, demo):
    files = [(PDF, f"trang-{n}.pdf") for n in range(other_channels.MAX_SCANS + 1)]

    response = submit(coordinator, demo, files=files)

    assert response.status_code == 422
    assert errors_of(response.get_data(as_text=True)) == {
        "files": f"Chỉ đính kèm tối đa {other_channels.MAX_SCANS} tệp."
    }


def test_what_was_typed_is_shown_again_escaped(coordinator, demo):
    response = submit(coordinator, demo, title=f"Tiêu đề {XSS}", contact_phone="sai")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert XSS not in html
    assert "Tiêu đề &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="sai"' in html
    assert '<option value="phone" selected>Điện thoại</option>' in html

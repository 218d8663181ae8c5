"""The case page's action forms: which are offered, each action through the console, refusals,
CSRF, answer files and response templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases import workflow
from cases.templates import render, unknown_placeholders
from models import (
    Case,
    CaseAttachment,
    CaseEvent,
    CaseStatus,
    MessageKind,
    OutboxMessage,
    ResponseTemplate,
    Staff,
    Unit,
)
from tests import console_helpers
from tests.console_helpers import (
    action_forms,
    action_url,
    csrf_from,
    login,
    logout,
    page,
    post_action,
)

clock = console_helpers.clock
demo = console_helpers.demo
make_case = console_helpers.make_case
citizen = console_helpers.citizen
other_handler = console_helpers.other_handler

S = CaseStatus
ANSWER = "Sở Xây dựng đã kiểm tra hiện trường và yêu cầu chủ công trình tháo dỡ phần lấn chiếm."
PDF = b"%PDF-1.4\n% test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def state_of(session, code: str) -> tuple[CaseStatus, int, int]:
    """The case's status, its number of timeline entries and of queued messages."""
    session.expire_all()
    case = session.scalars(select(Case).where(Case.code == code)).one()
    events = session.scalar(select(func.count()).where(CaseEvent.case_id == case.id))
    messages = session.scalar(select(func.count()).where(OutboxMessage.case_id == case.id))
    return case.status, events, messages


def unit_id(session, code: str) -> int:
    return session.scalars(select(Unit.id).where(Unit.code == code)).one()


# Which forms each user sees


def test_coordinator_on_a_received_case_sees_the_intake_actions(client, make_case):
    code = make_case(status=S.RECEIVED)
    login(client, "coordinator")

    forms = action_forms(page(client, f"/admin/cases/{code}"))

    assert forms == {
        "reject",
        "transfer",
        "handle_own",
        "escalate",
        "merge",
        "comment",
        "mark_urgent",
    }


def test_the_field_suggested_unit_is_offered_preselected_and_can_be_confirmed(
    client, make_case, demo
):
    """The usual transfer confirms the unit the field suggested: it must be offered."""
    code = make_case(status=S.RECEIVED, unit="SXD")
    login(client, "coordinator")
    html = page(client, f"/admin/cases/{code}")
    sxd = unit_id(demo, "SXD")

    assert f'<option value="{sxd}" selected>Sở Xây dựng (đề xuất theo lĩnh vực)</option>' in html
    response = post_action(client, code, "transfer", {"unit_id": str(sxd)})

    assert response.status_code == 302
    status, _, _ = state_of(demo, code)
    assert status is S.TRANSFERRED
    logout(client)
    login(client, "handler")  # Sở Xây dựng's handler can now take it up
    assert "accept" in action_forms(page(client, f"/admin/cases/{code}"))


def test_handler_on_a_transferred_case_of_their_unit(client, make_case):
    code = make_case(status=S.TRANSFERRED)
    login(client, "handler")

    forms = action_forms(page(client, f"/admin/cases/{code}"))

    assert forms == {"accept", "return_to_coordinator", "progress", "comment"}


def test_leader_on_a_drafted_answer(client, make_case):
    code = make_case(status=S.ANSWER_DRAFTED, answer_text=ANSWER)
    login(client, "leader")

    html = page(client, f"/admin/cases/{code}")

    assert action_forms(html) == {
        "approve",
        "return_answer",
        "draft_answer",
        "extend",
        "progress",
        "comment",
        "mark_urgent",
    }
    assert "Dự thảo trả lời" in html and ANSWER in html


def test_leader_sends_approval_to_the_coordinator_where_configured(make_app, demo):
    app = make_app(ANSWER_CHECK_BY_COORDINATOR=True)
    client = app.test_client()
    code = console_helpers.CaseFactory(demo)(status=S.ANSWER_DRAFTED, answer_text=ANSWER)
    login(client, "leader")

    forms = action_forms(page(client, f"/admin/cases/{code}"))

    assert "approve_for_check" in forms and "approve" not in forms


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("coordinator", S.RECEIVED),
        ("coordinator", S.ANSWERED),
        ("handler", S.PROCESSING),
        ("handler", S.RECEIVED),
        ("leader", S.ANSWER_DRAFTED),
        ("leader", S.PUBLISHED),
    ],
)
def test_forms_are_exactly_the_allowed_actions(client, make_case, demo, role, status):
    code = make_case(status=status, answer_text=ANSWER)
    login(client, role)
    staff = demo.scalars(
        select(Staff).where(Staff.username == console_helpers.ACCOUNTS[role][0])
    ).one()
    case = demo.scalars(select(Case).where(Case.code == code)).one()

    expected = {a.name for a in workflow.allowed_actions(demo, staff, case)}

    assert action_forms(page(client, f"/admin/cases/{code}")) == expected


def test_a_closed_case_only_takes_internal_notes(client, make_case):
    code = make_case(status=S.REJECTED)
    login(client, "leader")

    html = page(client, f"/admin/cases/{code}")

    assert action_forms(html) == {"comment"}
    assert '<details class="action" id="thao-tac-comment" open>' in html  # the only form


# Each action through the console


TRANSITIONS = [
    (
        "coordinator",
        S.RECEIVED,
        "reject",
        {"reason": "unclear", "note": "Vui lòng gửi lại."},
        S.REJECTED,
        True,
    ),
    ("coordinator", S.RECEIVED, "transfer", {"unit_id": "STNMT"}, S.TRANSFERRED, True),
    ("coordinator", S.RECEIVED, "handle_own", {}, S.PROCESSING, True),
    ("handler", S.TRANSFERRED, "accept", {}, S.PROCESSING, True),
    (
        "handler",
        S.TRANSFERRED,
        "return_to_coordinator",
        {"note": "Không thuộc thẩm quyền"},
        S.RECEIVED,
        False,
    ),
    (
        "handler",
        S.PROCESSING,
        "request_info",
        {"note": "Đề nghị gửi ảnh chụp hiện trạng."},
        S.AWAITING_INFO,
        True,
    ),
    ("handler", S.AWAITING_INFO, "resume", {}, S.PROCESSING, False),
    ("handler", S.PROCESSING, "draft_answer", {"answer": ANSWER}, S.ANSWER_DRAFTED, False),
    ("leader", S.ANSWER_DRAFTED, "approve", {}, S.ANSWERED, True),
    (
        "leader",
        S.ANSWER_DRAFTED,
        "return_answer",
        {"note": "Bổ sung căn cứ pháp lý"},
        S.PROCESSING,
        False,
    ),
    ("coordinator", S.ANSWERED, "publish", {}, S.PUBLISHED, True),
    (
        "coordinator",
        S.PROCESSING,
        "escalate",
        {"target": "city", "note": "Vượt thẩm quyền của Sở, đề nghị UBND thành phố quyết định."},
        S.ESCALATED,
        True,
    ),
    ("coordinator", S.RECEIVED, "merge", {"target_code": "OTHER"}, S.MERGED, True),
    (
        "coordinator",
        S.ANSWERED,
        "reopen",
        {"note": "Người dân báo chưa được giải quyết"},
        S.PROCESSING,
        True,
    ),
    (
        "handler",
        S.PROCESSING,
        "progress",
        {"note": "Đã kiểm tra hiện trường, đang lập biên bản."},
        S.PROCESSING,
        True,
    ),
    ("handler", S.PROCESSING, "comment", {"note": "Ghi chú nội bộ"}, S.PROCESSING, False),
    (
        "leader",
        S.PROCESSING,
        "extend",
        {"days": "10", "note": "Cần thêm thời gian xác minh."},
        S.PROCESSING,
        True,
    ),
]


@pytest.mark.parametrize(
    ("role", "start", "name", "data", "target", "tells_citizen"),
    TRANSITIONS,
    ids=[t[2] for t in TRANSITIONS],
)
def test_each_action_changes_state_and_tells_the_citizen(
    client, make_case, demo, citizen, zalo, role, start, name, data, target, tells_citizen
):
    code = make_case(status=start, citizen_id=citizen.id, answer_text=ANSWER)
    other = make_case(status=S.PROCESSING)
    data = dict(data)
    if data.get("unit_id") == "STNMT":
        data["unit_id"] = str(unit_id(demo, "STNMT"))
    if data.get("target_code") == "OTHER":
        data["target_code"] = other.lower()  # codes are accepted in any case
    login(client, role)

    response = post_action(client, code, name, data)

    assert response.status_code == 302, response.get_data(as_text=True)
    # A case that leaves the user's scope sends them back to the queue.
    back = "/admin/" if name == "return_to_coordinator" else f"/admin/cases/{code}"
    assert response.headers["Location"] == back
    status, events, messages = state_of(demo, code)
    assert status is target
    assert events == 1
    assert (messages > 0) is tells_citizen
    event = demo.scalars(select(CaseEvent).join(Case).where(Case.code == code)).one()
    assert event.action == name
    label = workflow.ACTIONS[name].label
    flashed = page(client, back)
    assert f"Đã thực hiện “{label}”." in flashed or "Đã lưu dự thảo trả lời" in flashed


def test_answer_approval_queues_the_full_answer_and_sends_it(
    client, make_case, demo, citizen, zalo
):
    code = make_case(status=S.ANSWER_DRAFTED, citizen_id=citizen.id, answer_text=ANSWER)
    login(client, "leader")

    assert post_action(client, code, "approve").status_code == 302

    rows = demo.scalars(
        select(OutboxMessage)
        .join(Case)
        .where(Case.code == code, OutboxMessage.kind == MessageKind.ANSWER)
    ).all()
    assert rows and ANSWER in rows[0].payload["text"]
    assert any(ANSWER in text for text in zalo.texts(citizen.zalo_user_id))


# Refusals change nothing


@pytest.mark.parametrize(
    ("role", "start", "name", "data", "status", "message"),
    [
        (
            "handler",
            S.RECEIVED,
            "reject",
            {"reason": "unclear"},
            403,
            "Tài khoản không có quyền thực hiện thao tác này.",
        ),
        ("coordinator", S.RECEIVED, "publish", {}, 409, "Không thể"),
        ("leader", S.PROCESSING, "approve", {}, 409, "Không thể"),
        (
            "coordinator",
            S.RECEIVED,
            "reject",
            {"note": "thiếu lý do"},
            422,
            "Vui lòng chọn lý do không tiếp nhận.",
        ),
        (
            "coordinator",
            S.RECEIVED,
            "transfer",
            {"unit_id": "abc"},
            422,
            "Vui lòng chọn đơn vị xử lý.",
        ),
        (
            "coordinator",
            S.RECEIVED,
            "merge",
            {"target_code": "PAKN.20991231.9999"},
            422,
            "Vui lòng nhập mã PAKN hợp lệ",
        ),
        ("handler", S.PROCESSING, "request_info", {"note": "ngắn"}, 422, "tối thiểu 10 ký tự"),
        (
            "coordinator",
            S.PROCESSING,
            "escalate",
            {"note": "Báo cáo đủ dài để được nhận."},
            422,
            "Vui lòng chọn cơ quan báo cáo.",
        ),
    ],
)
def test_refused_actions_answer_the_workflow_status_and_change_nothing(
    client, make_case, demo, citizen, role, start, name, data, status, message
):
    code = make_case(status=start, citizen_id=citizen.id)
    login(client, role)

    response = post_action(client, code, name, data)

    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert message in html
    assert state_of(demo, code) == (start, 0, 0)


def test_a_refused_form_is_shown_open_with_what_was_typed(client, make_case):
    code = make_case(status=S.PROCESSING)
    login(client, "handler")

    response = post_action(client, code, "request_info", {"note": "Ảnh?"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<details class="action" id="thao-tac-request_info" open>' in html
    assert ">Ảnh?</textarea>" in html


def test_unknown_action_is_404(client, make_case):
    code = make_case()
    login(client, "coordinator")

    assert post_action(client, code, "delete_everything").status_code == 404


def test_other_units_handler_cannot_act_or_see(client, make_case, demo, other_handler):
    code = make_case(unit="SXD", status=S.TRANSFERRED)
    login(client, "other_handler")
    token = csrf_from(client, "/admin/")

    response = client.post(action_url(code, "accept"), data={"csrf_token": token})

    assert response.status_code == 404
    assert state_of(demo, code) == (S.TRANSFERRED, 0, 0)


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_actions_require_the_csrf_token(client, make_case, demo, token):
    code = make_case(status=S.RECEIVED)
    login(client, "coordinator")
    data = {"reason": "unclear"} | ({"csrf_token": token} if token else {})

    response = client.post(action_url(code, "reject"), data=data)

    assert response.status_code == 400
    assert state_of(demo, code) == (S.RECEIVED, 0, 0)


def test_actions_require_login(client, make_case, demo):
    code = make_case(status=S.RECEIVED)
    token = csrf_from(client)

    response = client.post(action_url(code, "reject"), data={"csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


# Answer files


def answer_files(session, code: str) -> list[CaseAttachment]:
    session.expire_all()
    return list(
        session.scalars(
            select(CaseAttachment)
            .join(Case)
            .where(Case.code == code, CaseAttachment.origin == "answer")
        )
    )


def stored_files(app) -> list[Path]:
    root = Path(app.config["STORAGE_DIR"])
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def draft_with_files(client, code: str, *files: tuple[bytes, str], answer: str = ANSWER):
    from io import BytesIO

    data = {"answer": answer, "files": [(BytesIO(content), name) for content, name in files]}
    return post_action(client, code, "draft_answer", data, content_type="multipart/form-data")


def test_draft_answer_stores_the_files(app, client, make_case, demo):
    code = make_case(status=S.PROCESSING)
    login(client, "handler")

    response = draft_with_files(client, code, (PDF, "Công văn trả lời.pdf"), (PNG, "anh.png"))

    assert response.status_code == 302
    files = answer_files(demo, code)
    assert sorted(f.content_type for f in files) == ["application/pdf", "image/png"]
    assert len(stored_files(app)) == 2
    html = page(client, f"/admin/cases/{code}")
    assert "Đã lưu dự thảo trả lời và 2 tệp đính kèm." in html
    assert "Công văn trả lời.pdf" in html
    assert state_of(demo, code)[0] is S.ANSWER_DRAFTED


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(b"MZ\x90\x00", "setup.exe")], "Chỉ nhận tệp PDF, Word, Excel, JPG hoặc PNG."),
        ([(PNG, "don.pdf")], "Nội dung tệp không đúng định dạng của tên tệp."),
        ([(PDF, "tot.pdf"), (b"%PDF" + b"x" * 2000, "lon.pdf")], "Tệp quá lớn"),
        ([(b"", "rong.pdf")], "Tệp rỗng."),
    ],
)
def test_a_refused_file_saves_nothing(app, client, make_case, demo, files, message):
    app.config["ANSWER_FILE_MAX_BYTES"] = 1024
    code = make_case(status=S.PROCESSING)
    login(client, "handler")

    response = draft_with_files(client, code, *files)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert state_of(demo, code) == (S.PROCESSING, 0, 0)
    assert answer_files(demo, code) == []
    assert stored_files(app) == []  # a file stored before the refusal is removed again


def test_a_short_answer_keeps_no_file(app, client, make_case, demo):
    code = make_case(status=S.PROCESSING)
    login(client, "handler")

    response = draft_with_files(client, code, (PDF, "tot.pdf"), answer="Ngắn")

    assert response.status_code == 422
    assert answer_files(demo, code) == [] and stored_files(app) == []


def test_the_draft_is_prefilled_with_the_current_answer(client, make_case):
    code = make_case(status=S.ANSWER_DRAFTED, answer_text=ANSWER)
    login(client, "handler")

    html = page(client, f"/admin/cases/{code}")

    assert f'name="answer" rows="12" required>{ANSWER}</textarea>' in html


# Response templates


@pytest.fixture
def templates(demo):
    """Templates for the answer (any field, another field, inactive) and for another action."""
    from models import Field

    other_field = demo.scalars(select(Field.id).where(Field.code == "Y-TE")).one()
    rows = {
        "general": ResponseTemplate(
            action="draft_answer",
            title="Trả lời chung",
            body="Kính gửi Ông/Bà {ho_ten}, về {ma_pakn} “{tieu_de}” ({linh_vuc}), "
            "{don_vi} trả lời trước ngày {han_tra_loi}.",
        ),
        "other_field": ResponseTemplate(
            action="draft_answer", field_id=other_field, title="Mẫu ngành y tế", body="Y tế"
        ),
        "inactive": ResponseTemplate(
            action="draft_answer", title="Mẫu cũ", body="Cũ", active=False
        ),
        "progress": ResponseTemplate(
            action="progress", title="Tiến độ", body="PAKN {ma_pakn} đang được xác minh."
        ),
    }
    demo.add_all(rows.values())
    demo.commit()
    return {name: row.id for name, row in rows.items()}


def test_template_picker_lists_the_templates_of_each_action(client, make_case, templates):
    code = make_case(status=S.PROCESSING)
    login(client, "handler")

    html = page(client, f"/admin/cases/{code}")

    assert f"?template={templates['general']}#thao-tac-draft_answer" in html
    assert f"?template={templates['progress']}#thao-tac-progress" in html
    assert "Mẫu ngành y tế" not in html and "Mẫu cũ" not in html


def test_choosing_a_template_fills_the_box_without_the_name_for_handlers(
    client, make_case, templates
):
    code = make_case(status=S.PROCESSING, title="Lấn chiếm <vỉa hè>")
    login(client, "handler")

    html = page(client, f"/admin/cases/{code}?template={templates['general']}")

    expected = (
        f"Kính gửi Ông/Bà, về {code} “Lấn chiếm &lt;vỉa hè&gt;” (Xây dựng, trật tự đô thị), "
        "Sở Xây dựng trả lời trước ngày 17/12/2026."
    )
    assert expected in html
    assert "Nguyễn Văn An" not in html
    assert '<details class="action" id="thao-tac-draft_answer" open>' in html


def test_coordinator_gets_the_name_in_the_template(client, make_case, templates):
    code = make_case(status=S.PROCESSING)
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{code}?template={templates['general']}")

    assert "Kính gửi Ông/Bà Nguyễn Văn An, về PAKN" in html


def test_a_template_of_another_field_or_action_is_ignored(client, make_case, templates):
    code = make_case(status=S.PROCESSING)
    login(client, "handler")

    plain = page(client, f"/admin/cases/{code}")
    for name in ("other_field", "inactive"):
        assert page(client, f"/admin/cases/{code}?template={templates[name]}") == plain
    assert page(client, f"/admin/cases/{code}?template=abc") == plain


def test_rendering_substitutes_known_names_only():
    values = {"ma_pakn": "PAKN.20261127.0001", "ho_ten": ""}

    assert render("Mã {ma_pakn}; {khac}; {ma_pakn.__class__}", values) == (
        "Mã PAKN.20261127.0001; {khac}; {ma_pakn.__class__}"
    )
    assert render("Kính gửi Ông/Bà {ho_ten}, mã {ma_pakn}.", values) == (
        "Kính gửi Ông/Bà, mã PAKN.20261127.0001."
    )
    assert unknown_placeholders("{ma_pakn} {ten} {ten} {0}") == ["ten"]

"""The case workflow: every transition, every refused one, audit rows, and what the citizen is told."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cases import notifications, workflow
from cases.demo import seed_demo
from cases.staff import create_staff
from cases.workflow import ACTIONS, InvalidInputError, NotAllowedError, WorkflowError
from models import (
    CaseEvent,
    CaseStatus,
    Citizen,
    Conversation,
    MessageKind,
    OutboxMessage,
    Staff,
    Unit,
    utcnow,
)
from tests.conftest import Webhook
from tests.factories import make_case

S = CaseStatus
USER = "2468458835291979220"


@pytest.fixture
def wsession(app):
    """A regular session (transactions, savepoints) for the workflow under test."""
    from handlers.runtime import get_runtime

    with get_runtime(app).sessions() as s:
        yield s


@pytest.fixture
def world(wsession, session):
    """Demo units and staff, one more handler in another unit, and a citizen's new case."""
    reader, session = session, wsession
    seed_demo(session)
    create_staff(session, "canbo.gt", "Cán bộ Giao thông", "SGTVT", ["handler"], "mat-khau-dai-1")
    now = utcnow()
    citizen = Citizen(zalo_user_id=USER, last_interaction_at=now)
    session.add(citizen)
    session.flush()
    session.add(Conversation(citizen_id=citizen.id, state="idle", draft={}, updated_at=now))
    case = make_case(
        session,
        citizen.id,
        seed=False,
        commit=False,
        title="Công trình lấn chiếm vỉa hè",
        content="Công trình số 5 lấn chiếm vỉa hè đã 2 tháng.",
    )
    session.commit()
    staff = {s.username: s for s in session.scalars(select(Staff))}
    session.commit()
    return {"case": case, "staff": staff, "session": session, "citizen": citizen, "reader": reader}


DEFAULT_SETTINGS = workflow.Settings()


def act(world, who: str, action: str, settings=DEFAULT_SETTINGS, **data):
    session = world["session"]
    try:
        event = workflow.perform(
            session, world["case"], world["staff"][who], action, data, utcnow(), settings
        )
    except WorkflowError:
        session.rollback()
        raise
    session.commit()
    return event


def told(world) -> list[str]:
    """Texts queued for the citizen so far (oldest first), read without holding a lock."""
    reader = world["reader"]
    reader.expire_all()
    rows = reader.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [r.payload.get("text", "") for r in rows]


def unit_id(world, code: str) -> int:
    return world["session"].scalars(select(Unit.id).where(Unit.code == code)).one()


def test_the_whole_way_from_receipt_to_publication(app, world, zalo):
    case = world["case"]
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "SXD"), note="Đúng thẩm quyền")
    assert case.status is S.TRANSFERRED and case.unit.code == "SXD"
    assert told(world)[-1] == f"{case.code} đã được chuyển đến Sở Xây dựng để xem xét, xử lý."

    act(world, "canbo.sxd", "accept")
    assert case.status is S.PROCESSING
    assert told(world)[-1] == f"{case.code} đang được Sở Xây dựng xử lý."

    act(
        world, "canbo.sxd", "request_info", note="Đề nghị cho biết số nhà chính xác của công trình."
    )
    assert case.status is S.AWAITING_INFO
    assert "Đề nghị cho biết số nhà chính xác" in told(world)[-1]
    assert (
        world["reader"]
        .scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
        .first()
        .kind
        is MessageKind.INFO_REQUEST
    )

    # The citizen answers in Zalo: attached to the case, and the handling resumes.
    world["session"].commit()
    Webhook(app.test_client()).text(USER, "Số nhà 5B, ngõ 12 phố Tràng Thi")
    world["session"].refresh(case)
    assert case.status is S.PROCESSING
    notes = [e.note for e in case.events if e.action == "citizen_info"]
    assert notes == ["Số nhà 5B, ngõ 12 phố Tràng Thi"]
    assert f"Cảm ơn Ông/Bà đã bổ sung thông tin. {case.code} tiếp tục được xử lý." in zalo.texts(
        USER
    )

    answer = "Kính gửi Ông/Bà. Sở Xây dựng đã kiểm tra và yêu cầu tháo dỡ phần lấn chiếm."
    act(world, "canbo.sxd", "draft_answer", answer=answer)
    assert case.status is S.ANSWER_DRAFTED and case.answer_text == answer
    before = len(told(world))
    act(world, "lanhdao.sxd", "approve")
    assert case.status is S.ANSWERED and case.answered_at is not None
    assert told(world)[before:] == [f"Kết quả trả lời {case.code} ({case.title}):\n\n{answer}"]

    act(world, "dieuphoi", "publish")
    assert case.status is S.PUBLISHED
    assert told(world)[-1] == f"Kết quả trả lời {case.code} đã được công khai."

    act(world, "dieuphoi", "reopen", note="Người dân phản ánh chưa được khắc phục")
    assert case.status is S.PROCESSING and case.answered_at is None
    world["session"].refresh(case)
    events = [(e.action, e.from_status, e.to_status) for e in case.events][-2:]
    assert events == [("publish", "answered", "published"), ("reopen", "published", "processing")]


def test_every_action_writes_one_audit_row_with_who_and_why(world):
    event = act(world, "dieuphoi", "reject", reason="complaint", note="Đề nghị gửi đơn khiếu nại")
    assert (event.action, event.from_status, event.to_status) == ("reject", "received", "rejected")
    assert event.staff_id == world["staff"]["dieuphoi"].id
    assert event.actor == f"staff:{world['staff']['dieuphoi'].id}"
    assert "Là khiếu nại, tố cáo" in event.note and "Đề nghị gửi đơn khiếu nại" in event.note
    assert told(world)[-1].startswith(f"{world['case'].code} không được tiếp nhận.\nLý do: ")


def test_handled_by_the_coordinators_own_unit(world):
    act(world, "dieuphoi", "handle_own")
    assert world["case"].status is S.PROCESSING and world["case"].unit.code == "VP-UBND"


def test_unit_returns_a_wrongly_transferred_case_without_telling_the_citizen(world):
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "SXD"))
    before = len(told(world))
    event = act(world, "lanhdao.sxd", "return_to_coordinator", note="Không thuộc thẩm quyền Sở")
    assert world["case"].status is S.RECEIVED and world["case"].unit.code == "VP-UBND"
    assert event.visible_to_citizen is False and len(told(world)) == before


def test_leader_returns_a_draft_with_a_comment(world):
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "SXD"))
    act(world, "canbo.sxd", "accept")
    act(world, "canbo.sxd", "draft_answer", answer="Dự thảo trả lời chưa đầy đủ căn cứ pháp lý.")
    act(world, "lanhdao.sxd", "return_answer", note="Bổ sung căn cứ pháp lý")
    assert world["case"].status is S.PROCESSING


def test_coordinator_checks_answers_where_configured(world):
    checks = workflow.Settings(coordinator_checks_answers=True)
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "SXD"))
    act(world, "canbo.sxd", "accept")
    act(world, "canbo.sxd", "draft_answer", answer="Kính gửi Ông/Bà, nội dung trả lời đầy đủ.")
    names = {
        a.name
        for a in workflow.allowed_actions(
            world["session"], world["staff"]["lanhdao.sxd"], world["case"], checks
        )
    }
    assert "approve_for_check" in names and "approve" not in names
    before = len(told(world))
    act(world, "lanhdao.sxd", "approve_for_check", settings=checks)
    assert world["case"].status is S.ANSWER_APPROVED and len(told(world)) == before
    act(world, "dieuphoi", "check_answer", settings=checks)
    assert world["case"].status is S.ANSWERED and len(told(world)) == before + 1


def test_escalation_and_resumption(world):
    act(
        world,
        "dieuphoi",
        "escalate",
        target="ministry",
        note="Kiến nghị sửa đổi thông tư thuộc thẩm quyền của Bộ Xây dựng.",
    )
    assert world["case"].status is S.ESCALATED
    assert world["case"].escalated_to == "Bộ, ngành có thẩm quyền"
    assert "đã được báo cáo Bộ, ngành có thẩm quyền" in told(world)[-1]
    act(world, "dieuphoi", "resume")
    assert world["case"].status is S.PROCESSING


def test_merge_into_another_case(world, wsession):
    session = wsession
    other = make_case(
        session,
        None,
        seed=False,
        commit=False,
        title="Lấn chiếm vỉa hè số 5",
        content="Công trình số 5 lấn chiếm vỉa hè.",
    )
    session.commit()
    with pytest.raises(InvalidInputError):
        act(world, "dieuphoi", "merge", target_code=world["case"].code)
    act(world, "dieuphoi", "merge", target_code=other.code.lower())
    assert world["case"].status is S.MERGED and world["case"].merged_into_id == other.id
    assert f"gộp vào {other.code}" in told(world)[-1]


def test_progress_note_reaches_the_citizen_and_a_comment_does_not(world):
    act(world, "dieuphoi", "handle_own")
    before = len(told(world))
    act(world, "dieuphoi", "comment", note="Chờ ý kiến phòng Quản lý đô thị")
    assert len(told(world)) == before
    act(world, "dieuphoi", "progress", note="Đoàn kiểm tra sẽ làm việc tại hiện trường tuần này.")
    assert told(world)[-1] == (
        f"Cập nhật tiến độ {world['case'].code}:\n"
        "Đoàn kiểm tra sẽ làm việc tại hiện trường tuần này."
    )


def test_long_answer_is_sent_in_full_split_at_2000_characters(world):
    act(world, "dieuphoi", "handle_own")
    paragraph = "Căn cứ quy định hiện hành, cơ quan đã kiểm tra và xử lý. " * 20
    answer = "\n".join([paragraph.strip()] * 4)
    act(world, "dieuphoi", "draft_answer", answer=answer)
    before = len(told(world))
    world["staff"]["dieuphoi"].roles = "coordinator,leader"
    act(world, "dieuphoi", "approve")
    parts = told(world)[before:]
    assert len(parts) >= 3 and all(len(p) <= 2000 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == (
        f"Kết quả trả lời {world['case'].code} ({world['case'].title}):{answer}"
    ).replace("\n", "").replace(" ", "")


def test_answer_attachments_are_uploaded_or_pointed_to(world, wsession, tmp_path):
    session = wsession
    from models import AttachmentState, CaseAttachment

    case = world["case"]
    small = tmp_path / "quyet-dinh.pdf"
    small.write_bytes(b"%PDF-1.4 small")
    big = tmp_path / "ban-ve.dwg"
    big.write_bytes(b"x" * 10)
    for path, ctype in ((small, "application/pdf"), (big, "application/acad")):
        session.add(
            CaseAttachment(
                case_id=case.id,
                media_type="file",
                origin="answer",
                source_url=f"staff:{path.name}",
                file_name=path.name,
                storage_path=str(path),
                stored_size=path.stat().st_size,
                content_type=ctype,
                state=AttachmentState.STORED,
            )
        )
    session.commit()
    session.refresh(case)
    rows = notifications.notify_answer(session, case, utcnow())
    session.commit()
    assert rows == 4  # answer, "files follow", the pdf upload, "ask the unit for ban-ve.dwg"
    payloads = [
        r.payload for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ][-3:]
    assert payloads[1]["_upload"]["path"] == str(small)
    assert payloads[1]["_upload"]["media_type"] == "file"
    assert "ban-ve.dwg" in payloads[2]["text"]


# --- refusals -----------------------------------------------------------------------------
WHO_MAY = {"coordinator": "dieuphoi", "handler": "canbo.sxd", "leader": "lanhdao.sxd"}


REFUSED = [
    (status, name)
    for name, spec in sorted(ACTIONS.items())
    for status in sorted(S, key=lambda s: s.value)
    if status not in spec.sources
]


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_an_action_from_a_state_it_does_not_start_from_is_refused_and_changes_nothing(
    world, action, status
):
    spec = ACTIONS[action]
    session, case = world["session"], world["case"]
    case.status = status
    case.unit_id = unit_id(world, "SXD")
    session.commit()
    staff = world["staff"][WHO_MAY[sorted(spec.roles)[0]]]
    staff.roles = ",".join(sorted(spec.roles))
    session.commit()
    events_before = len(session.scalars(select(CaseEvent)).all())
    outbox_before = len(told(world))
    with pytest.raises(WorkflowError) as error:
        workflow.perform(session, case, staff, action, {"note": "x" * 30}, utcnow())
    session.rollback()
    assert error.value.code == "invalid_transition" and error.value.status == 409
    session.refresh(case)
    assert case.status is status
    assert len(session.scalars(select(CaseEvent)).all()) == events_before
    assert len(told(world)) == outbox_before


@pytest.mark.parametrize(
    ("who", "action", "data"),
    [
        ("canbo.sxd", "transfer", {"unit_id": 1}),  # only coordinators classify
        ("lanhdao.sxd", "reject", {"reason": "unclear"}),
        ("admin", "handle_own", {}),  # administrators do not handle cases
        ("canbo.gt", "transfer", {"unit_id": 1}),
    ],
)
def test_roles_that_may_not_take_an_action_are_refused(world, who, action, data):
    with pytest.raises(NotAllowedError):
        act(world, who, action, **data)
    assert world["case"].status is S.RECEIVED


def test_another_units_staff_can_neither_see_nor_act(world):
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "SXD"))
    with pytest.raises(NotAllowedError) as error:
        act(world, "canbo.gt", "accept")
    assert error.value.code == "not_visible"
    assert world["case"].status is S.TRANSFERRED


def test_parent_unit_configured_to_include_subunits_acts_on_its_wards_cases(world, wsession):
    session = wsession
    district = session.scalars(select(Unit).where(Unit.code == "Q-HK")).one()
    create_staff(session, "canbo.hk", "Cán bộ quận", "Q-HK", ["handler"], "mat-khau-dai-2")
    session.commit()
    world["staff"] = {s.username: s for s in session.scalars(select(Staff))}
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "P-HB"))
    with pytest.raises(NotAllowedError):
        act(world, "canbo.hk", "accept")
    district.include_subunits = True
    session.commit()
    act(world, "canbo.hk", "accept")
    assert world["case"].status is S.PROCESSING


@pytest.mark.parametrize(
    ("action", "data", "code"),
    [
        ("reject", {}, "missing_reason"),
        ("reject", {"reason": "nonsense"}, "missing_reason"),
        ("transfer", {}, "missing_unit"),
        ("transfer", {"unit_id": 99999}, "missing_unit"),
        ("escalate", {"target": "ministry", "note": "ngắn"}, "missing_note"),
        ("merge", {"target_code": "PAKN.19990101.0001"}, "missing_target_code"),
    ],
)
def test_invalid_input_is_refused_and_changes_nothing(world, action, data, code):
    with pytest.raises(InvalidInputError) as error:
        act(world, "dieuphoi", action, **data)
    assert error.value.code == code and error.value.status == 422
    session = world["session"]
    session.refresh(world["case"])
    assert world["case"].status is S.RECEIVED
    assert [e.action for e in session.scalars(select(CaseEvent))] == ["received"]


def test_a_case_received_on_paper_notifies_nobody(world, wsession):
    session = wsession
    case = world["case"]
    case.citizen_id = None
    session.commit()
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "SXD"))
    assert told(world) == []
    assert case.status is S.TRANSFERRED


def test_allowed_actions_lists_only_what_this_user_may_do_now(world):
    session, case = world["session"], world["case"]

    def names(who):
        return {a.name for a in workflow.allowed_actions(session, world["staff"][who], case)}

    intake = {"reject", "transfer", "handle_own", "escalate", "merge", "comment", "mark_urgent"}
    assert names("dieuphoi") == intake
    assert names("canbo.sxd") == {"comment"}  # not yet sent to Sở Xây dựng: only a comment
    act(world, "dieuphoi", "transfer", unit_id=unit_id(world, "SXD"))
    assert "accept" in names("canbo.sxd") and "transfer" not in names("canbo.sxd")
    assert names("canbo.gt") == set()  # another unit's handler
    assert "transfer" not in names("dieuphoi")

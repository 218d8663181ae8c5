"""The satisfaction survey: asked by the worker once the answer reached the citizen, answered by
buttons (in any state) or by typing (when idle), reminded once, and acted on when unhappy."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot import texts, worker
from bot.conversation import IDLE, SUSPENDED
from bot.flows import submit, survey
from bot.zalo.messages import plain_text_of
from cases import workflow
from cases.clock import LOCAL_TZ
from cases.demo import seed_demo
from handlers.runtime import get_runtime
from models import (
    Case,
    CaseEvent,
    CaseStatus,
    MessageKind,
    OutboxMessage,
    OutboxState,
    StaffNotice,
    Unit,
    utcnow,
)
from tests.factories import make_case
from tests.test_flow_commands import MENU_TEXT, TITLE, Chat, buttons

ANSWER = "Kính gửi Ông/Bà. Sở Xây dựng đã kiểm tra và yêu cầu tháo dỡ phần lấn chiếm vỉa hè."
COMMENT = "Vỉa hè trước số 5 vẫn bị lấn chiếm."


@pytest.fixture
def chat(session, webhook, zalo) -> Chat:
    """Demo units and staff, and a citizen who follows the OA (idle, in the 7-day window)."""
    seed_demo(session)
    session.commit()
    chat = Chat(webhook, zalo, session)
    chat.follow()
    return chat


def answer_case(app, session, chat: Chat, deliver: bool = True) -> Case:
    """A case of the chat's citizen taken through to the answer, which is then sent."""
    case = make_case(session, chat.citizen().id)
    with get_runtime(app).sessions() as db:
        staff = {s.username: s for s in db.scalars(select(workflow.Staff))}
        sxd = db.scalars(select(Unit.id).where(Unit.code == "SXD")).one()
        current = db.get(Case, case.id)
        for who, action, data in (
            ("dieuphoi", "transfer", {"unit_id": sxd}),
            ("canbo.sxd", "accept", {}),
            ("canbo.sxd", "draft_answer", {"answer": ANSWER}),
            ("lanhdao.sxd", "approve", {}),
        ):
            workflow.perform(db, current, staff[who], action, data, utcnow())
        db.commit()
    if deliver:
        get_runtime(app).dispatcher.sweep()
    return case


def ask(app, chat: Chat, now: datetime | None = None) -> tuple[int, list[str]]:
    """Run the survey job at `now` and send what is due; return (asked, the questions queued)."""
    with get_runtime(app).sessions() as db, db.begin():
        last = db.scalar(select(func.max(OutboxMessage.id))) or 0
        asked = survey.ask_surveys(db, now or utcnow())
        rows = db.scalars(
            select(OutboxMessage).where(OutboxMessage.id > last).order_by(OutboxMessage.id)
        ).all()
    assert all(row.kind is MessageKind.SURVEY for row in rows)
    chat.messages = [{k: v for k, v in row.payload.items() if k != "_context"} for row in rows]
    get_runtime(app).dispatcher.sweep()
    return asked, [plain_text_of(m) or m.get("text") for m in chat.messages]


def fresh(session, case: Case) -> Case:
    session.expire_all()
    return session.get(Case, case.id)


def notices(session, kind: str) -> list[StaffNotice]:
    session.expire_all()
    return list(session.scalars(select(StaffNotice).where(StaffNotice.kind == kind)))


def resolved_question(case: Case, hint: str = texts.HOW_TO_CHOOSE, again: bool = False) -> str:
    ask_text = texts.SURVEY_ASK_AGAIN if again else texts.SURVEY_ASK_RESOLVED
    return "\n".join(
        [
            ask_text.format(code=case.code, title=case.title),
            "1. Đã giải quyết",
            "2. Chưa giải quyết",
            "3. Giải quyết một phần",
            hint,
        ]
    )


def rating_question(case: Case, hint: str = texts.HOW_TO_CHOOSE) -> str:
    return "\n".join(
        [
            f"Ông/Bà đánh giá thế nào về kết quả giải quyết {case.code}?",
            "1. Rất hài lòng",
            "2. Hài lòng",
            "3. Bình thường",
            "4. Không hài lòng",
            "5. Rất không hài lòng",
            hint,
        ]
    )


def thanks(case: Case) -> str:
    return texts.SURVEY_THANKS.format(code=case.code)


# --- asking -------------------------------------------------------------------------------------
def test_asked_once_the_answer_reached_the_citizen(app, session, chat):
    case = answer_case(app, session, chat, deliver=False)
    with get_runtime(app).sessions() as db, db.begin():
        assert survey.ask_surveys(db, utcnow()) == 0  # the answer is still in the outbox

    get_runtime(app).dispatcher.sweep()
    chat.zalo.clear()
    asked, received = ask(app, chat)

    assert (asked, received) == (1, [resolved_question(case)])
    assert chat.zalo.texts(chat.user) == received  # sent at once
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == MessageKind.SURVEY)
    ).one()
    assert (row.case_id, row.state) == (case.id, OutboxState.SENT)
    assert buttons(chat.messages[0]) == [
        f"#survey:{case.id}:yes",
        f"#survey:{case.id}:no",
        f"#survey:{case.id}:partly",
    ]
    assert chat.state == survey.RESOLVED
    assert fresh(session, case).survey_asked_at is not None
    assert ask(app, chat) == (0, [])


def test_not_asked_outside_the_zalo_window(app, session, chat):
    case = answer_case(app, session, chat)

    assert ask(app, chat, utcnow() + timedelta(days=8)) == (0, [])
    assert fresh(session, case).survey_asked_at is None


def test_reminded_once_after_three_days_never_a_third_time(app, session, chat):
    case = answer_case(app, session, chat)
    start = utcnow()
    assert ask(app, chat, start)[0] == 1

    assert ask(app, chat, start + timedelta(days=2, hours=23)) == (0, [])
    asked, received = ask(app, chat, start + timedelta(days=3))
    assert (asked, received) == (1, [resolved_question(case, again=True)])
    assert ask(app, chat, start + timedelta(days=6)) == (0, [])

    case = fresh(session, case)
    assert case.survey_reminded_at == start + timedelta(days=3)
    assert chat.state == survey.RESOLVED


def test_an_answered_survey_is_not_reminded(app, session, chat):
    case = answer_case(app, session, chat)
    start = utcnow()
    ask(app, chat, start)
    chat.say(f"#survey:{case.id}:yes")

    assert ask(app, chat, start + timedelta(days=3)) == (0, [])


def test_worker_job_asks_in_the_daytime_only(app, session, chat, monkeypatch):
    answer_case(app, session, chat)
    today = utcnow().astimezone(LOCAL_TZ).date()
    night = datetime.combine(today, time(23), LOCAL_TZ).astimezone(UTC)
    morning = datetime.combine(today, time(10), LOCAL_TZ).astimezone(UTC)

    monkeypatch.setattr(worker, "utcnow", lambda: night)
    assert worker.ask_satisfaction(app) is False
    monkeypatch.setattr(worker, "utcnow", lambda: morning)
    assert worker.ask_satisfaction(app) == 1


# --- answering by buttons and by typing ---------------------------------------------------------
def test_satisfied_citizen_answers_by_buttons(app, session, chat):
    case = answer_case(app, session, chat)
    ask(app, chat)

    assert chat.say(f"#survey:{case.id}:yes") == [rating_question(case)]
    assert buttons(chat.messages[0]) == [f"#rate:{case.id}:{n}" for n in (5, 4, 3, 2, 1)]
    assert chat.state == survey.RATING

    assert chat.say(f"#rate:{case.id}:4") == [texts.SURVEY_ASK_COMMENT]
    assert buttons(chat.messages[0]) == [f"#comment:{case.id}:skip"]
    assert chat.state == survey.COMMENT

    assert chat.say(f"#comment:{case.id}:skip") == [thanks(case)]
    assert chat.snapshot() == (IDLE, {})

    case = fresh(session, case)
    assert (case.resolved, case.rating, case.rating_comment) == ("yes", 4, None)
    assert case.survey_answered_at is not None and case.answered_at is not None
    assert case.status is CaseStatus.ANSWERED
    assert notices(session, "survey_unhappy") == []
    event = session.scalars(select(CaseEvent).where(CaseEvent.action == "survey_answered")).one()
    assert (event.actor, event.visible_to_citizen) == ("citizen", False)
    assert event.note == "Đã giải quyết; Hài lòng; không có"


@pytest.mark.parametrize(
    "verdict,typed_verdict,typed_rating,rating",
    [
        ("yes", "da giai quyet", "rat hai long", 5),
        ("yes", "1", "2", 4),
        ("partly", "Giải quyết một phần", "Bình thường", 3),
        ("partly", "mot phan", "3", 3),
    ],
)
def test_idle_citizen_answers_by_typing(
    app, session, chat, verdict, typed_verdict, typed_rating, rating
):
    case = answer_case(app, session, chat)
    ask(app, chat)

    assert chat.say(typed_verdict) == [rating_question(case)]
    assert chat.say(typed_rating) == [texts.SURVEY_ASK_COMMENT]
    assert chat.say("Cán bộ xử lý nhanh, nhiệt tình.") == [thanks(case)]

    case = fresh(session, case)
    assert (case.resolved, case.rating) == (verdict, rating)
    assert case.rating_comment == "Cán bộ xử lý nhanh, nhiệt tình."
    assert chat.state == IDLE


def test_typing_bo_qua_skips_the_comment(app, session, chat):
    case = answer_case(app, session, chat)
    ask(app, chat)
    chat.say("da giai quyet")
    chat.say("hai long")

    assert chat.say("bỏ qua") == [thanks(case)]
    assert fresh(session, case).rating_comment is None


def test_something_else_typed_leaves_the_survey_and_the_buttons_still_work(app, session, chat):
    case = answer_case(app, session, chat)
    ask(app, chat)

    assert chat.say("Xin chào") == [texts.UNKNOWN_OUTSIDE_FLOW, MENU_TEXT]
    assert chat.snapshot() == (IDLE, {})

    assert chat.say(f"#survey:{case.id}:yes") == [rating_question(case)]
    assert chat.state == survey.RATING


def test_menu_word_during_the_survey_starts_the_submission(app, session, chat):
    answer_case(app, session, chat)
    ask(app, chat)

    assert chat.say("gui phan anh")[0] == texts.SCOPE
    assert chat.state == submit.SCOPE


def test_buttons_work_mid_flow_without_changing_it(app, session, chat):
    case = answer_case(app, session, chat)
    chat.reach(submit.TITLE)
    before = chat.snapshot()
    touched = chat.conversation().updated_at

    asked, received = ask(app, chat)
    assert (asked, received) == (1, [resolved_question(case, texts.SURVEY_TAP_BUTTON)])
    assert chat.snapshot() == before

    assert chat.say(f"#survey:{case.id}:partly") == [rating_question(case, texts.SURVEY_TAP_BUTTON)]
    assert chat.snapshot() == before
    # Beside the flow a comment cannot be typed: the survey ends with the rating.
    assert chat.say(f"#rate:{case.id}:3") == [thanks(case)]
    assert chat.snapshot() == before
    assert chat.conversation().updated_at == touched

    chat.say(TITLE)
    assert chat.state == submit.CONTENT and chat.draft["title"] == TITLE
    case = fresh(session, case)
    assert (case.resolved, case.rating, case.survey_answered_at is not None) == ("partly", 3, True)


def test_a_draft_put_aside_survives_the_survey(app, session, chat):
    case = answer_case(app, session, chat)
    chat.reach(submit.TITLE)
    chat.say("menu")
    suspended = chat.draft[SUSPENDED]
    ask(app, chat)
    assert chat.state == survey.RESOLVED

    chat.say(f"#survey:{case.id}:yes")
    chat.say(f"#rate:{case.id}:5")
    chat.say(f"#comment:{case.id}:skip")

    assert chat.snapshot() == (IDLE, {SUSPENDED: suspended})


def test_a_finished_survey_is_not_answered_twice(app, session, chat):
    case = answer_case(app, session, chat)
    ask(app, chat)
    for payload in ("#survey:{id}:yes", "#rate:{id}:5", "#comment:{id}:skip"):
        chat.say(payload.format(id=case.id))

    assert chat.say(f"#rate:{case.id}:1") == [texts.SURVEY_ALREADY_ANSWERED.format(code=case.code)]
    assert fresh(session, case).rating == 5


@pytest.mark.parametrize("payload", ["#survey:999999:yes", "#rate:abc:5", "#survey::no"])
def test_button_for_an_unknown_case_is_refused_politely(app, session, chat, payload):
    answer_case(app, session, chat)
    chat.reach(submit.TITLE)
    before = chat.snapshot()

    assert chat.say(payload) == [texts.SURVEY_NOT_FOUND]
    assert chat.snapshot() == before


def test_another_citizens_case_cannot_be_rated(app, session, chat, webhook, zalo):
    case = answer_case(app, session, chat)
    ask(app, chat)
    other = Chat(webhook, zalo, session, user="1111111111111111111")

    assert other.say(f"#rate:{case.id}:1") == [texts.SURVEY_NOT_FOUND]
    assert fresh(session, case).rating is None


# --- unhappy citizens ---------------------------------------------------------------------------
def test_not_resolved_tells_the_coordinator_and_a_review_reopens_the_case(app, session, chat):
    case = answer_case(app, session, chat)
    ask(app, chat)
    chat.say(f"#survey:{case.id}:no")
    chat.say(f"#rate:{case.id}:3")

    review = texts.SURVEY_ASK_REVIEW.format(code=case.code)
    assert chat.say(COMMENT) == [
        "\n".join([review, "1. Đề nghị xem xét lại", "2. Không", texts.HOW_TO_CHOOSE])
    ]
    assert buttons(chat.messages[0]) == [f"#review:{case.id}:yes", f"#review:{case.id}:no"]
    assert chat.state == survey.REVIEW
    (unhappy,) = notices(session, "survey_unhappy")
    assert (unhappy.role, unhappy.unit_id) == ("coordinator", None)
    assert case.code in unhappy.title
    assert "Kết quả giải quyết: Chưa giải quyết." in unhappy.body
    assert "Mức độ hài lòng: Bình thường." in unhappy.body
    assert f"Ý kiến: {COMMENT}" in unhappy.body

    assert chat.say(f"#review:{case.id}:yes") == [
        texts.SURVEY_REOPENED.format(code=case.code),
        thanks(case),
    ]
    assert chat.state == IDLE
    case = fresh(session, case)
    assert case.status is CaseStatus.PROCESSING
    assert case.resolved == "no" and case.answered_at is None
    assert case.survey_asked_at is None and case.survey_answered_at is None
    event = session.scalars(select(CaseEvent).where(CaseEvent.action == "reopen_requested")).one()
    assert (event.actor, event.from_status, event.to_status, event.note) == (
        "citizen",
        "answered",
        "processing",
        COMMENT,
    )
    (reopened,) = notices(session, "reopen_requested")
    assert reopened.role == "coordinator" and case.code in reopened.title

    # Tapped again: the case is already being reviewed; nothing changes.
    assert chat.say(f"#review:{case.id}:yes") == [texts.SURVEY_STILL_OPEN.format(code=case.code)]
    assert len(notices(session, "reopen_requested")) == 1


def test_review_accepted_by_typing(app, session, chat):
    case = answer_case(app, session, chat)
    ask(app, chat)
    for typed in ("chua giai quyet", "khong hai long", "bo qua"):
        chat.say(typed)
    assert chat.state == survey.REVIEW

    assert chat.say("de nghi xem xet lai")[0] == texts.SURVEY_REOPENED.format(code=case.code)
    assert fresh(session, case).status is CaseStatus.PROCESSING


def test_low_rating_tells_the_coordinator_and_declining_the_review_keeps_the_answer(
    app, session, chat
):
    case = answer_case(app, session, chat)
    ask(app, chat)
    chat.say(f"#survey:{case.id}:yes")
    chat.say(f"#rate:{case.id}:1")
    replies = chat.say(f"#comment:{case.id}:skip")

    assert replies[0].startswith(texts.SURVEY_ASK_REVIEW.format(code=case.code))
    (unhappy,) = notices(session, "survey_unhappy")
    assert "Mức độ hài lòng: Rất không hài lòng." in unhappy.body
    assert "Ý kiến: không có" in unhappy.body

    assert chat.say(f"#review:{case.id}:no") == [thanks(case)]
    case = fresh(session, case)
    assert case.status is CaseStatus.ANSWERED and case.rating == 1
    assert notices(session, "reopen_requested") == []


def test_reopened_case_is_asked_about_its_next_answer(app, session, chat):
    case = answer_case(app, session, chat)
    ask(app, chat)
    for payload in ("#survey:{id}:no", "#rate:{id}:2", "#comment:{id}:skip", "#review:{id}:yes"):
        chat.say(payload.format(id=case.id))

    # A new answer goes out: the survey starts afresh for it.
    with get_runtime(app).sessions() as db:
        staff = {s.username: s for s in db.scalars(select(workflow.Staff))}
        current = db.get(Case, case.id)
        workflow.perform(
            db,
            current,
            staff["canbo.sxd"],
            "draft_answer",
            {"answer": ANSWER + " Lần 2."},
            utcnow(),
        )
        workflow.perform(db, current, staff["lanhdao.sxd"], "approve", {}, utcnow())
        db.commit()
    get_runtime(app).dispatcher.sweep()

    asked, received = ask(app, chat)
    assert (asked, received) == (1, [resolved_question(case)])
    case = fresh(session, case)
    assert (case.resolved, case.rating) == (None, None)

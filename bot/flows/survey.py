"""The citizen's verdict on the answer: resolved or not, a 5-level rating, a comment, a review.

The worker asks once the answer has reached the citizen (every ANSWER row of the case sent,
delivered or seen) while Zalo's 7-day window is open, and once more after 3 days if nothing was
answered — never a third time. Each question is a button template whose payloads
(`#survey:<case>:yes|no|partly`, `#rate:<case>:5..1`, `#comment:<case>:skip`,
`#review:<case>:yes|no`) work in any conversation state without disturbing it (`ANYWHERE`). When
the citizen is idle the conversation also enters the survey steps, so typed answers ("1",
"da giai quyet", "rat hai long") and the free-text comment work; anything else typed there leaves
the survey and is read as at the main menu (the buttons keep working).

"Chưa giải quyết" or a rating of 1–2 posts a coordinator notice (code, verdict, comment) and
offers a review; accepting it moves the case back to PROCESSING (a "reopen_requested" event by
the citizen, a second notice) and clears the survey so the next answer is asked about afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.channels import in_window
from bot.conversation import (
    IDLE,
    AnywhereHandler,
    Context,
    Goto,
    Incoming,
    Invalid,
    Option,
    Outcome,
    Reply,
    Step,
    choose,
    enter,
    menu_message,
)
from bot.delivery import enqueue
from bot.flows import menu
from bot.zalo import messages
from cases.notices import post_notice
from models import (
    Case,
    CaseEvent,
    CaseStatus,
    Citizen,
    MessageKind,
    OutboxMessage,
    OutboxState,
)

RESOLVED = "survey_resolved"
RATING = "survey_rating"
COMMENT = "survey_comment"
REVIEW = "survey_review"
CASE_KEY = "survey_case_id"
ASKED_KEY = "survey_at"
ASKABLE = (CaseStatus.ANSWERED, CaseStatus.PUBLISHED)
REACHED = (OutboxState.SENT, OutboxState.DELIVERED, OutboxState.SEEN)
REMIND_AFTER = timedelta(days=3)
COMMENT_MAX = 2000

VERDICTS = {
    "yes": texts.SURVEY_RESOLVED_YES,
    "no": texts.SURVEY_RESOLVED_NO,
    "partly": texts.SURVEY_RESOLVED_PARTLY,
}
RATINGS = {
    5: texts.SURVEY_VERY_SATISFIED,
    4: texts.SURVEY_SATISFIED,
    3: texts.SURVEY_NEUTRAL,
    2: texts.SURVEY_DISSATISFIED,
    1: texts.SURVEY_VERY_DISSATISFIED,
}
# Staff-facing words of the coordinators' notices.
UNHAPPY_TITLE = "{code}: người dân chưa hài lòng với kết quả giải quyết"
UNHAPPY_BODY = (
    "{code} — {title} ({unit}).\n"
    "Kết quả giải quyết: {verdict}.\nMức độ hài lòng: {rating}.\nÝ kiến: {comment}"
)
REVIEW_TITLE = "{code}: người dân đề nghị xem xét lại"
REVIEW_BODY = (
    "Người dân đề nghị xem xét lại {code} — {title} ({unit}); PAKN đã được mở lại, "
    "chuyển về trạng thái Đang xử lý.\nÝ kiến: {comment}"
)
NO_COMMENT = "không có"


# --- questions --------------------------------------------------------------------------------
def _resolved_options(case_id: int) -> tuple[Option, ...]:
    return (
        Option(f"{case_id}:yes", texts.SURVEY_RESOLVED_YES, aliases=("roi", "da xong")),
        Option(f"{case_id}:no", texts.SURVEY_RESOLVED_NO, aliases=("chua", "chua xong")),
        Option(f"{case_id}:partly", texts.SURVEY_RESOLVED_PARTLY, aliases=("mot phan",)),
    )


def _rating_options(case_id: int) -> tuple[Option, ...]:
    return tuple(Option(f"{case_id}:{n}", label) for n, label in RATINGS.items())


def _review_options(case_id: int) -> tuple[Option, ...]:
    return (
        Option(f"{case_id}:yes", texts.SURVEY_REVIEW_YES, aliases=("xem xet lai", "co")),
        Option(f"{case_id}:no", texts.SURVEY_REVIEW_NO, aliases=("khong can",)),
    )


def _skip_options(case_id: int) -> tuple[Option, ...]:
    return (Option(f"{case_id}:skip", texts.SURVEY_COMMENT_SKIP, aliases=("khong", "khong co")),)


def _question(text: str, options: tuple[Option, ...], prefix: str, conversing: bool) -> dict:
    # Beside another flow a typed answer would go to that flow: only the buttons work there.
    hint = texts.HOW_TO_CHOOSE if conversing else texts.SURVEY_TAP_BUTTON
    return menu_message(text, options, prefix, hint)


def _resolved_question(case: Case, conversing: bool, again: bool = False) -> dict:
    text = texts.SURVEY_ASK_AGAIN if again else texts.SURVEY_ASK_RESOLVED
    return _question(
        text.format(code=case.code, title=case.title),
        _resolved_options(case.id),
        "survey",
        conversing,
    )


def _send(ctx: Context, case: Case, message: dict) -> None:
    ctx.replies.append(Reply(message, MessageKind.REPLY, case.id))


def _say(ctx: Context, case: Case, text: str) -> None:
    ctx.say(text.format(code=case.code), case_id=case.id)


def _ask_rating(ctx: Context, case: Case, conversing: bool) -> None:
    question = texts.SURVEY_ASK_RATING.format(code=case.code)
    _send(ctx, case, _question(question, _rating_options(case.id), "rate", conversing))


def _ask_comment(ctx: Context, case: Case) -> None:
    skip = _skip_options(case.id)[0]
    _send(
        ctx,
        case,
        messages.buttons(texts.SURVEY_ASK_COMMENT, [(skip.label, f"#comment:{skip.key}")]),
    )


def _ask_review(ctx: Context, case: Case, conversing: bool) -> None:
    question = texts.SURVEY_ASK_REVIEW.format(code=case.code)
    _send(ctx, case, _question(question, _review_options(case.id), "review", conversing))


# --- answers ----------------------------------------------------------------------------------
def _is_unhappy(case: Case) -> bool:
    return case.resolved == "no" or (case.rating is not None and case.rating <= 2)


def _case_values(case: Case) -> dict[str, str]:
    return {
        "code": case.code,
        "title": case.title,
        "unit": case.unit.name if case.unit else "",
        "verdict": VERDICTS.get(case.resolved or "", NO_COMMENT),
        "rating": RATINGS.get(case.rating or 0, NO_COMMENT),
        "comment": case.rating_comment or NO_COMMENT,
    }


def _survey_key(case: Case) -> str:
    asked = case.survey_asked_at
    return f"{case.id}:{asked:%Y%m%d%H%M%S}" if asked else str(case.id)


def _next(ctx: Context, case: Case, conversing: bool) -> str | None:
    """Ask the first question not answered yet; return the step that waits for it."""
    if case.resolved is None:
        _send(ctx, case, _resolved_question(case, conversing))
        return RESOLVED
    if case.rating is None:
        _ask_rating(ctx, case, conversing)
        return RATING
    if conversing:
        _ask_comment(ctx, case)
        return COMMENT
    return _finish(ctx, case, conversing)  # beside another flow free text cannot be taken


def _finish(ctx: Context, case: Case, conversing: bool) -> str | None:
    """Record the verdict; when unhappy, tell the coordinators and offer a review."""
    case.survey_answered_at = ctx.now
    values = _case_values(case)
    ctx.session.add(
        CaseEvent(
            case_id=case.id,
            at=ctx.now,
            action="survey_answered",
            actor="citizen",
            note=f"{values['verdict']}; {values['rating']}; {values['comment']}",
            visible_to_citizen=False,
        )
    )
    if not _is_unhappy(case):
        _say(ctx, case, texts.SURVEY_THANKS)
        return None
    post_notice(
        ctx.session,
        "survey_unhappy",
        "coordinator",
        UNHAPPY_TITLE.format(**values),
        UNHAPPY_BODY.format(**values),
        ctx.now,
        dedup_key=f"survey_unhappy:{_survey_key(case)}",
    )
    _ask_review(ctx, case, conversing)
    return REVIEW


def _reopen(ctx: Context, case: Case) -> None:
    """The citizen asks for a review: back to PROCESSING, audited, coordinators told."""
    values = _case_values(case)
    key = _survey_key(case)
    from_status = case.status
    case.status = CaseStatus.PROCESSING
    # As the staff's "reopen": the answer is to be redone, and it will be asked about afresh.
    case.answered_at = None
    case.publish_due_on = None
    case.survey_asked_at = case.survey_reminded_at = case.survey_answered_at = None
    case.updated_at = ctx.now
    ctx.session.add(
        CaseEvent(
            case_id=case.id,
            at=ctx.now,
            action="reopen_requested",
            actor="citizen",
            from_status=from_status.value,
            to_status=CaseStatus.PROCESSING.value,
            note=case.rating_comment,
        )
    )
    post_notice(
        ctx.session,
        "reopen_requested",
        "coordinator",
        REVIEW_TITLE.format(**values),
        REVIEW_BODY.format(**values),
        ctx.now,
        dedup_key=f"reopen_requested:{key}",
    )


def _review(ctx: Context, case: Case, choice: str) -> None:
    if case.status not in ASKABLE:
        _say(ctx, case, texts.SURVEY_STILL_OPEN)
        return
    if case.survey_answered_at is None or not _is_unhappy(case) or choice not in ("yes", "no"):
        ctx.say(texts.INVALID_CHOICE)
        return
    if choice == "yes":
        _reopen(ctx, case)
        _say(ctx, case, texts.SURVEY_REOPENED)
    _say(ctx, case, texts.SURVEY_THANKS)


def _answer(
    ctx: Context,
    case: Case,
    prefix: str,
    choice: str,
    conversing: bool,
    comment: str | None = None,
) -> str | None:
    """Apply one answer to the case's survey and ask what follows; return the step to wait in."""
    if prefix == "review":
        _review(ctx, case, choice)
        return None
    if case.survey_answered_at is not None:
        _say(ctx, case, texts.SURVEY_ALREADY_ANSWERED)
        return None
    if case.survey_asked_at is None or case.status not in ASKABLE:
        _say(ctx, case, texts.SURVEY_STILL_OPEN)
        return None
    if prefix == "survey" and choice in VERDICTS:
        case.resolved = choice
    elif prefix == "rate" and choice.isdigit() and int(choice) in RATINGS:
        case.rating = int(choice)
    elif prefix == "comment" and choice == "skip":
        if case.resolved is not None and case.rating is not None:
            case.rating_comment = comment
            return _finish(ctx, case, conversing)
    else:
        ctx.say(texts.INVALID_CHOICE)
        return None
    return _next(ctx, case, conversing)


def _own_case(ctx: Context, case_id: object) -> Case | None:
    text = str(case_id or "")
    case = ctx.session.get(Case, int(text)) if text.isdigit() else None
    return case if case is not None and case.citizen_id == ctx.citizen.id else None


def _remember(ctx: Context, case: Case) -> None:
    ctx.draft[CASE_KEY] = case.id
    ctx.draft[ASKED_KEY] = ctx.now.isoformat()


def on_button(ctx: Context, incoming: Incoming, state: str, steps: dict[str, Step]) -> str:
    """A survey button, tapped at any step: answer it; move into the survey only from idle."""
    assert incoming.payload is not None
    prefix, key = incoming.payload
    case_id, _, choice = key.partition(":")
    case = _own_case(ctx, case_id)
    if case is None:
        ctx.say(texts.SURVEY_NOT_FOUND)
        return state
    conversing = state == IDLE or state in STEPS
    following = _answer(ctx, case, prefix, choice, conversing)
    if not conversing:
        return state
    if following is None:
        return enter(ctx, IDLE, steps, quiet=True)
    _remember(ctx, case)
    return following


# --- typed answers (the citizen was idle when asked) ------------------------------------------
def _survey_case(ctx: Context) -> Case | None:
    """The case the survey step asks about, while the question is fresh."""
    asked = ctx.draft.get(ASKED_KEY)
    if not asked or datetime.fromisoformat(asked) < ctx.now - ctx.settings.draft_ttl:
        return None  # long after the question, a typed word is about something else
    return _own_case(ctx, ctx.draft.get(CASE_KEY))


def _leave(ctx: Context, incoming: Incoming) -> Outcome:
    """Not an answer to the survey: read it as at the main menu (the buttons still work)."""
    ctx.draft.pop(CASE_KEY, None)
    ctx.draft.pop(ASKED_KEY, None)
    return menu.handle_idle(ctx, incoming) or Goto(IDLE, quiet=True)


def _then(ctx: Context, case: Case, following: str | None) -> Outcome:
    if following is None:
        return Goto(IDLE, quiet=True)
    _remember(ctx, case)
    return Goto(following, quiet=True)


def _typed_choice(
    options: Callable[[int], tuple[Option, ...]], prefix: str
) -> Callable[[Context, Incoming], Outcome]:
    def handle(ctx: Context, incoming: Incoming) -> Outcome:
        case = _survey_case(ctx)
        option = choose(options(case.id), incoming, prefix) if case is not None else None
        if case is None or option is None:
            return _leave(ctx, incoming)
        choice = option.key.partition(":")[2]
        return _then(ctx, case, _answer(ctx, case, prefix, choice, conversing=True))

    return handle


def handle_comment(ctx: Context, incoming: Incoming) -> Outcome:
    """Take the typed comment (or "bỏ qua") and conclude the survey."""
    case = _survey_case(ctx)
    if case is None:
        return _leave(ctx, incoming)
    if incoming.kind != "text" or not incoming.text.strip():
        return Invalid(texts.TEXT_EXPECTED)
    skipped = choose(_skip_options(case.id), incoming, "comment") is not None
    comment = None if skipped else incoming.text.strip()[:COMMENT_MAX]
    return _then(ctx, case, _answer(ctx, case, "comment", "skip", True, comment))


def _prompt(ask: Callable[[Context, Case], None]) -> Callable[[Context], None]:
    def prompt(ctx: Context) -> None:
        case = _survey_case(ctx)
        if case is None:
            menu.show_menu(ctx)
        else:
            ask(ctx, case)

    return prompt


STEPS = {
    step.name: step
    for step in (
        Step(
            RESOLVED,
            _prompt(lambda ctx, case: _send(ctx, case, _resolved_question(case, True))),
            _typed_choice(_resolved_options, "survey"),
            in_flow=False,
        ),
        Step(
            RATING,
            _prompt(lambda ctx, case: _ask_rating(ctx, case, True)),
            _typed_choice(_rating_options, "rate"),
            in_flow=False,
        ),
        Step(COMMENT, _prompt(_ask_comment), handle_comment, in_flow=False),
        Step(
            REVIEW,
            _prompt(lambda ctx, case: _ask_review(ctx, case, True)),
            _typed_choice(_review_options, "review"),
            in_flow=False,
        ),
    )
}
ANYWHERE: dict[str, AnywhereHandler] = {
    prefix: on_button for prefix in ("survey", "rate", "comment", "review")
}


# --- asking (the worker) ----------------------------------------------------------------------
def _answer_delivered():
    """The case's answer has reached the citizen: it has ANSWER rows, all of them sent."""
    rows = select(OutboxMessage.id).where(
        OutboxMessage.case_id == Case.id, OutboxMessage.kind == MessageKind.ANSWER
    )
    return rows.exists() & ~rows.where(OutboxMessage.state.not_in(REACHED)).exists()


def _is_first_askable(case: Case, now: datetime) -> bool:
    return case.status in ASKABLE and case.survey_asked_at is None


def _is_reminder_due(case: Case, now: datetime) -> bool:
    return (
        case.status in ASKABLE
        and case.survey_asked_at is not None
        and case.survey_asked_at <= now - REMIND_AFTER
        and case.survey_reminded_at is None
        and case.survey_answered_at is None
        and case.resolved is None
        and case.rating is None
    )


def _ask(
    session: Session, case: Case, now: datetime, due: Callable[[Case, datetime], bool]
) -> bool:
    """Send the first question for `case` if still `due` once locked; True if sent."""
    from bot.inbound import lock_conversation  # bot.inbound imports the flows

    citizen = session.get(Citizen, case.citizen_id)
    if citizen is None or not in_window(citizen, now):
        return False  # outside the window it would only be held; asked when they write again
    # The conversation first, then the case: the order the webhook takes them in.
    conversation = lock_conversation(session, citizen.id)
    case = session.scalars(
        select(Case)
        .where(Case.id == case.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if not due(case, now):
        return False  # another run got here first
    again = case.survey_asked_at is not None
    if again:
        case.survey_reminded_at = now
    else:
        case.survey_asked_at = now
        case.resolved = case.rating = case.rating_comment = None
    conversing = conversation.state in (IDLE, RESOLVED)
    message = _resolved_question(case, conversing, again)
    enqueue(session, citizen.id, message, kind=MessageKind.SURVEY, case_id=case.id, now=now)
    if conversing:
        conversation.state = RESOLVED
        conversation.draft = {
            **(conversation.draft or {}),
            CASE_KEY: case.id,
            ASKED_KEY: now.isoformat(),
        }
    return True


def ask_surveys(session: Session, now: datetime) -> int:
    """Ask about each answer that reached its citizen, and remind once after 3 days; return count."""
    first = session.scalars(
        select(Case)
        .where(
            Case.status.in_(ASKABLE),
            Case.citizen_id.is_not(None),
            Case.survey_asked_at.is_(None),
            _answer_delivered(),
        )
        .order_by(Case.id)
    ).all()
    again = session.scalars(
        select(Case)
        .where(
            Case.status.in_(ASKABLE),
            Case.citizen_id.is_not(None),
            Case.survey_asked_at <= now - REMIND_AFTER,
            Case.survey_reminded_at.is_(None),
            Case.survey_answered_at.is_(None),
            Case.resolved.is_(None),
            Case.rating.is_(None),
        )
        .order_by(Case.id)
    ).all()
    sent = sum(_ask(session, case, now, _is_first_askable) for case in first)
    sent += sum(_ask(session, case, now, _is_reminder_due) for case in again)
    session.flush()
    return sent

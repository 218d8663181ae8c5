"""The main menu (idle), the guide, FAQ answers, resuming a put-aside draft, adding to an open case.

What a citizen types outside a flow is read in this order: a main-menu choice (button, number or
words) or a guide topic (button or name); a case code; a shared contact card; then, when the
agency is waiting for this citizen's information, the text is that information; then a short
question matching an FAQ entry gets its answer and the menu; then, with an open case, "add to
it or start a new PAKN?"; else thanks and the menu. FAQ matching never runs inside a flow, and
comes after the awaiting case because the agency asked for that answer; it comes before the open
case offer because a matching text is a short question (narratives never match, see `bot.faq`).
"""

from __future__ import annotations

import logging

from bot import faq, texts
from bot.conversation import (
    IDLE,
    RESUME,
    SUSPENDED,
    Context,
    Goto,
    Incoming,
    Invalid,
    Option,
    Outcome,
    Step,
    choose,
    resume,
)
from bot.flows import guide, lookup
from bot.incoming import find_case_code
from cases import intake, workflow
from models import Case, CaseStatus, Faq

log = logging.getLogger(__name__)

MENU_OPTIONS = (
    Option(
        "submit",
        texts.MENU_SUBMIT,
        "Gửi phản ánh",
        aliases=("gui phan anh", "phan anh", "kien nghi", "gui pakn", "gui kien nghi"),
    ),
    Option("lookup", texts.MENU_LOOKUP, aliases=("tra cuu pakn", "tra cuu ket qua", "xem pakn")),
    Option("guide", texts.MENU_GUIDE, aliases=("huong dan su dung",)),
)
RESUME_OPTIONS = (
    Option("continue", texts.RESUME_CONTINUE, aliases=("tiep",)),
    Option(
        "restart",
        texts.RESUME_RESTART,
        aliases=(
            "lam lai",
            "bat dau",
        ),
    ),
)
ADD_INFO = "add_info"
GUIDE = "guide"
ADD_OR_NEW = "add_or_new"
FIRST_SUBMIT_STEP = "submit_scope"


def show_menu(ctx: Context) -> None:
    """Ask what the citizen wants to do."""
    ctx.ask(texts.MENU_QUESTION, MENU_OPTIONS, "menu")


def welcome(ctx: Context) -> None:
    """Greet a new follower and show the menu."""
    ctx.say(texts.WELCOME.format(agency=ctx.settings.agency))
    show_menu(ctx)


def show_guide(ctx: Context) -> None:
    """Show the guide's list of topics."""
    guide.show_index(ctx)


def handle_guide(ctx: Context, incoming: Incoming) -> Outcome:
    """Read a topic by number (the index's), else read the text as the main menu would."""
    # Long after the guide was shown, a number no longer refers to its list.
    recent = ctx.conversation.updated_at >= ctx.now - ctx.settings.draft_ttl
    if recent and incoming.kind == "text" and incoming.payload is None and incoming.norm.isdigit():
        topic = guide.chosen_topic(incoming, by_number=True)
        if topic is None:
            return Invalid(texts.INVALID_CHOICE)
        guide.show_topic(ctx, topic)
        return None
    return handle_idle(ctx, incoming) or Goto(IDLE, quiet=True)


def answer_faq(ctx: Context, entry: Faq) -> None:
    """Send an FAQ entry's question and answer, then the menu."""
    log.info("faq answered: faq_id=%s citizen_id=%s", entry.id, ctx.citizen.id)
    ctx.say(f"{entry.question}\n{entry.answer}")
    show_menu(ctx)


def start_submission(ctx: Context) -> Outcome:
    """Begin a new submission, or offer back the one put aside."""
    if ctx.draft.get(SUSPENDED):
        return RESUME
    return FIRST_SUBMIT_STEP


def handle_idle(ctx: Context, incoming: Incoming) -> Outcome:
    """Read a menu choice, a case code, or anything else (then offer the menu)."""
    option = choose(MENU_OPTIONS, incoming, "menu")
    if option is not None:
        if option.key == "submit":
            return start_submission(ctx)
        if option.key == "lookup":
            return lookup.show_list(ctx)
        show_guide(ctx)
        return Goto(GUIDE, quiet=True)
    if incoming.payload == (guide.PREFIX, guide.MAIN_MENU_KEY):
        return IDLE
    topic = guide.chosen_topic(incoming, by_number=False)
    if topic is not None:
        guide.show_topic(ctx, topic)
        return Goto(GUIDE, quiet=True)
    code = find_case_code(incoming.text) if incoming.kind == "text" else None
    if code is not None:
        lookup.show_case(ctx, code)
        return None
    if incoming.kind == "info":
        lookup.save_contact(ctx, incoming)
        ctx.say(texts.INFO_SAVED)
        return None
    open_cases = intake.open_cases(ctx.session, ctx.citizen.id)
    awaiting = next((c for c in open_cases if c.status is CaseStatus.AWAITING_INFO), None)
    if awaiting is not None and incoming.kind in ("text", "media"):
        # The agency asked this citizen for information: what they write now is the answer.
        intake.add_citizen_info(ctx.session, awaiting, ctx.now, incoming.text, incoming.attachments)
        workflow.citizen_replied(ctx.session, awaiting, ctx.now)
        ctx.draft["add_case_id"] = awaiting.id
        return Goto(ADD_INFO, quiet=True)
    entry = faq.find(ctx.session, incoming.text) if _is_typed(incoming) else None
    if entry is not None:
        answer_faq(ctx, entry)
        return None
    if open_cases and incoming.kind in ("text", "media"):
        ctx.draft["pending"] = {
            "case_id": open_cases[0].id,
            "text": incoming.text,
            "attachments": incoming.attachments,
        }
        return ADD_OR_NEW
    ctx.say(texts.UNKNOWN_OUTSIDE_FLOW)
    show_menu(ctx)
    return None


def _is_typed(incoming: Incoming) -> bool:
    return incoming.kind == "text" and incoming.payload is None


def prompt_resume(ctx: Context) -> None:
    """Offer to continue the draft put aside, or to start over."""
    from cases.clock import format_datetime

    since = format_datetime(ctx.conversation.updated_at)
    ctx.ask(texts.STALE_DRAFT.format(since=since), RESUME_OPTIONS, "resume")


def handle_resume(ctx: Context, incoming: Incoming) -> Outcome:
    """Continue the suspended draft at its step, or start a new one."""
    option = choose(RESUME_OPTIONS, incoming, "resume")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    if option.key == "continue":
        state = resume(ctx)
        return state or FIRST_SUBMIT_STEP
    ctx.draft = {}
    return FIRST_SUBMIT_STEP


def _pending_case(ctx: Context) -> Case | None:
    pending = ctx.draft.get("pending") or {}
    case = ctx.session.get(Case, pending.get("case_id") or 0)
    return case if case is not None and case.citizen_id == ctx.citizen.id else None


def _add_options(case: Case) -> tuple[Option, ...]:
    return (
        Option(
            "add", texts.ADD_TO_CASE.format(code=case.code), "Bổ sung PAKN", aliases=("bo sung",)
        ),
        Option("new", texts.ADD_NEW, "PAKN mới", aliases=("moi", "gui moi", "pakn moi")),
        Option("menu", texts.ADD_MENU, "Danh mục"),
    )


def prompt_add_or_new(ctx: Context) -> None:
    """Ask whether the message adds to the open case or starts a new PAKN."""
    case = _pending_case(ctx)
    if case is None:
        show_menu(ctx)
        return
    ctx.ask(texts.ADD_OR_NEW.format(code=case.code, title=case.title), _add_options(case), "add")


def handle_add_or_new(ctx: Context, incoming: Incoming) -> Outcome:
    """Attach the pending message to the case, start a new PAKN, or show the menu."""
    case = _pending_case(ctx)
    if case is None:
        return IDLE
    option = choose(_add_options(case), incoming, "add")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    if option.key == "add":
        pending = ctx.draft.pop("pending")
        intake.add_citizen_info(
            ctx.session, case, ctx.now, pending.get("text", ""), pending.get("attachments")
        )
        ctx.draft["add_case_id"] = case.id
        ctx.say(texts.ADD_NOTED.format(code=case.code))
        return Goto(ADD_INFO, quiet=True)
    ctx.draft.pop("pending", None)
    return FIRST_SUBMIT_STEP if option.key == "new" else IDLE


def prompt_add_info(ctx: Context) -> None:
    """Remind the citizen how to finish adding information."""
    case = ctx.session.get(Case, ctx.draft.get("add_case_id") or 0)
    if case is not None:
        ctx.say(texts.ADD_NOTED.format(code=case.code))


def handle_add_info(ctx: Context, incoming: Incoming) -> Outcome:
    """Attach each further message to the case until the citizen types "xong"."""
    case = ctx.session.get(Case, ctx.draft.get("add_case_id") or 0)
    stale = ctx.conversation.updated_at < ctx.now - ctx.settings.draft_ttl
    if case is None or case.citizen_id != ctx.citizen.id or stale:
        # Long after the last addition this is a new conversation, not more of the same.
        ctx.draft.pop("add_case_id", None)
        return handle_idle(ctx, incoming) or Goto(IDLE, quiet=True)
    if incoming.kind == "text" and incoming.norm in ("xong", "het", "ket thuc"):
        ctx.say(texts.ADD_DONE.format(code=case.code))
        return Goto(IDLE, quiet=True)
    if incoming.kind not in ("text", "media"):
        return Invalid(texts.MEDIA_NOT_ACCEPTED)
    intake.add_citizen_info(ctx.session, case, ctx.now, incoming.text, incoming.attachments)
    ctx.say(texts.ADD_MORE_NOTED.format(code=case.code))
    return None


STEPS = {
    step.name: step
    for step in (
        Step(IDLE, show_menu, handle_idle, in_flow=False),
        Step(RESUME, prompt_resume, handle_resume, in_flow=False),
        Step(ADD_OR_NEW, prompt_add_or_new, handle_add_or_new, in_flow=False),
        Step(ADD_INFO, prompt_add_info, handle_add_info, in_flow=False),
        Step(GUIDE, show_guide, handle_guide, in_flow=False),
    )
}

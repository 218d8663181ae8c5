"""Looking up the citizen's own PAKN: the list, and one case by number or code."""

from __future__ import annotations

from bot import texts
from bot.conversation import IDLE, Context, Goto, Outcome, Step
from bot.incoming import Incoming, find_case_code
from cases import intake
from cases.clock import format_date, format_datetime, local_date
from cases.contact import normalize_name, normalize_phone
from cases.status import status_label, timeline_label
from models import Case, CaseEvent

LOOKUP = "lookup"


def show_list(ctx: Context) -> Outcome:
    """List the citizen's PAKN and wait for a number or a code."""
    cases = intake.citizen_cases(ctx.session, ctx.citizen.id)
    if not cases:
        ctx.say(texts.NO_CASES)
        return Goto(IDLE)
    ctx.draft["lookup_codes"] = [case.code for case in cases]
    lines = [texts.CASE_LIST_HEADER]
    for n, case in enumerate(cases, 1):
        lines.append(
            texts.CASE_LIST_LINE.format(
                n=n,
                code=case.code,
                title=_short(case.title),
                status=status_label(case.status),
                received=format_date(local_date(case.received_at)),
            )
        )
    lines.append(texts.CASE_LIST_FOOTER)
    ctx.say("\n".join(lines))
    return Goto(LOOKUP, quiet=True)


def show_case(ctx: Context, code: str) -> None:
    """Show one of the citizen's cases: status in words, dates and the visible timeline."""
    case = intake.citizen_case_by_code(ctx.session, ctx.citizen.id, code)
    if case is None:
        ctx.say(texts.CASE_NOT_FOUND.format(code=code))
        return
    ctx.say(_detail(case))


def _detail(case: Case) -> str:
    lines = [
        texts.CASE_DETAIL.format(
            code=case.code,
            title=case.title,
            field=case.field.name,
            unit=case.unit.name,
            status=status_label(case.status),
            received=format_datetime(case.received_at),
            due=format_date(case.answer_due_on),
        )
    ]
    visible: list[CaseEvent] = [e for e in case.events if e.visible_to_citizen]
    if visible:
        lines.append(texts.CASE_TIMELINE_HEADER)
        lines.extend(
            texts.CASE_TIMELINE_LINE.format(at=format_datetime(e.at), what=timeline_label(e.action))
            for e in visible
        )
    return "\n".join(lines)


def handle_lookup(ctx: Context, incoming: Incoming) -> Outcome:
    """Show the case picked by number or code; anything else is read as at the main menu."""
    codes = ctx.draft.get("lookup_codes", [])
    norm = incoming.norm if incoming.kind == "text" else ""
    code = None
    if norm.isdigit() and 1 <= int(norm) <= len(codes):
        code = codes[int(norm) - 1]
    elif incoming.kind == "text":
        code = find_case_code(incoming.text)
    if code is not None:
        show_case(ctx, code)
        return None
    from bot.flows.menu import handle_idle

    ctx.draft.pop("lookup_codes", None)
    outcome = handle_idle(ctx, incoming)
    return outcome if outcome is not None else Goto(IDLE, quiet=True)


def save_contact(ctx: Context, incoming: Incoming) -> None:
    """Keep the contact data the citizen shared through Zalo's info card."""
    info = incoming.info or {}
    citizen = ctx.citizen
    citizen.name = normalize_name(info.get("name") or "") or citizen.name
    citizen.phone = normalize_phone(info.get("phone") or "") or citizen.phone
    citizen.address = (info.get("address") or "").strip()[:500] or citizen.address


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def prompt_lookup(ctx: Context) -> None:
    """Show the list again (when returning to this step)."""
    show_list(ctx)


STEPS = {LOOKUP: Step(LOOKUP, prompt_lookup, handle_lookup, in_flow=False)}

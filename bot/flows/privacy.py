"""The citizen's personal data in chat: "Dữ liệu của tôi" shows what is held, "Xóa dữ liệu"
deletes it after a one-tap confirmation.

Both work typed at any step, with or without diacritics (`bot.conversation.COMMANDS` opens the
step of the same name; a draft in progress is put aside as for "menu"), and the summary's buttons
(`#mydata:`) work at any step too. The confirmation's own buttons (`#erase:`) work only while it
is asked, so an old "Đồng ý xóa" tapped later deletes nothing; anything else typed there is
answered politely and the question asked again, and a confirmation left for longer than the
draft lifetime is asked again rather than taken.

Deleting withdraws consent: `cases.privacy.anonymise_citizen` removes the data everywhere and the
citizen row that held it no longer carries their Zalo id. So that the acknowledgement can still
reach them — the last message about their former data — the person gets a fresh, empty row with
their Zalo id and the engine answers there (`ctx.citizen` is swapped). Open cases are still
handled, but their answers can no longer be sent: the citizen is told so before confirming.
"""

from __future__ import annotations

from bot import texts
from bot.conversation import (
    IDLE,
    AnywhereHandler,
    Context,
    Goto,
    Incoming,
    Invalid,
    Option,
    Outcome,
    Step,
    choose,
    enter,
    suspend,
)
from cases import privacy
from cases.access import mask_address, mask_email
from cases.clock import format_datetime
from models import Citizen, Conversation, ErasureTrigger

VIEW = "privacy_view"
CONFIRM = "privacy_delete"
PREFIX = "mydata"  # "privacy" is the submission flow's identity question
CONFIRM_PREFIX = "erase"
PHONE_DIGITS_SHOWN = 3

VIEW_OPTIONS = (
    Option("delete", texts.PRIVACY_COMMAND_DELETE, aliases=("xoa",)),
    Option("menu", texts.PRIVACY_BACK, "Danh mục chính", aliases=("ve danh muc",)),
)
CONFIRM_OPTIONS = (
    Option("yes", texts.PRIVACY_CONFIRM_YES, aliases=("dong y", "co", "co xoa", "xoa")),
    Option("no", texts.PRIVACY_CONFIRM_NO, aliases=("khong", "khong dong y", "giu lai")),
)


def _masked_phone(phone: str) -> str:
    return "*" * max(len(phone) - PHONE_DIGITS_SHOWN, 0) + phone[-PHONE_DIGITS_SHOWN:]


def summary(ctx: Context) -> str:
    """What is held about the citizen, contact data partly masked, in a few lines."""
    held = privacy.citizen_data(ctx.session, ctx.citizen)
    contact = (
        (texts.PRIVACY_NAME, held.name),
        (texts.PRIVACY_PHONE, _masked_phone(held.phone) if held.phone else None),
        (texts.PRIVACY_ADDRESS, mask_address(held.address) if held.address else None),
        (texts.PRIVACY_EMAIL, mask_email(held.email) if held.email else None),
    )
    lines = [texts.PRIVACY_HEADER]
    lines += [f"• {label}: {value or texts.PRIVACY_NONE}" for label, value in contact]
    cases = texts.PRIVACY_CASES.format(count=len(held.case_codes))
    lines.append(f"{cases} ({', '.join(held.case_codes)})" if held.case_codes else cases)
    lines.append(texts.PRIVACY_MESSAGES.format(count=held.messages))
    lines.append(texts.PRIVACY_FILES.format(count=held.files))
    if held.consent_at is not None:
        lines.append(texts.PRIVACY_CONSENT.format(at=format_datetime(held.consent_at)))
    lines.append(texts.PRIVACY_PURPOSE)
    return "\n".join(lines)


def prompt_view(ctx: Context) -> None:
    """Show what is held and offer to delete it."""
    ctx.say(summary(ctx))
    ctx.ask(texts.PRIVACY_QUESTION, VIEW_OPTIONS, PREFIX)


def handle_view(ctx: Context, incoming: Incoming) -> Outcome:
    """Delete (after confirming) or go back; anything else is read as at the main menu."""
    option = choose(VIEW_OPTIONS, incoming, PREFIX)
    if option is not None:
        return CONFIRM if option.key == "delete" else IDLE
    from bot.flows.menu import handle_idle

    return handle_idle(ctx, incoming) or Goto(IDLE, quiet=True)


def _lookup_hint(ctx: Context, template: str, **values: str) -> str | None:
    url = ctx.settings.public_base_url
    return template.format(url=url, **values) if url else None


def prompt_confirm(ctx: Context) -> None:
    """Say plainly what deleting does (open cases' answers cannot be sent) and ask to confirm."""
    held = privacy.citizen_data(ctx.session, ctx.citizen)
    lines = [texts.PRIVACY_CONFIRM]
    if held.open_codes:
        lines.append(texts.PRIVACY_CONFIRM_OPEN.format(code=", ".join(held.open_codes)))
        lines.append(_lookup_hint(ctx, texts.PRIVACY_LOOKUP) or "")
    lines.append(texts.PRIVACY_CONFIRM_QUESTION)
    ctx.ask("\n".join(filter(None, lines)), CONFIRM_OPTIONS, CONFIRM_PREFIX)


def handle_confirm(ctx: Context, incoming: Incoming) -> Outcome:
    """Delete on "yes", keep on "no"; anything else: say so politely and ask again."""
    if ctx.conversation.updated_at < ctx.now - ctx.settings.draft_ttl:
        return Invalid(texts.PRIVACY_CONFIRM_STALE)
    option = choose(CONFIRM_OPTIONS, incoming, CONFIRM_PREFIX)
    if option is None:
        return Invalid(texts.PRIVACY_CONFIRM_UNCLEAR)
    if option.key == "no":
        ctx.say(texts.PRIVACY_KEPT)
        return IDLE
    erase(ctx)
    return Goto(IDLE, quiet=True)


def erase(ctx: Context) -> None:
    """Anonymise the citizen, give the person a fresh row, and acknowledge there."""
    held = privacy.citizen_data(ctx.session, ctx.citizen)
    zalo_user_id, follower = ctx.citizen.zalo_user_id, ctx.citizen.is_follower
    privacy.anonymise_citizen(
        ctx.session, ctx.citizen, ErasureTrigger.CHAT_REQUEST, "citizen", ctx.now
    )
    fresh = Citizen(
        zalo_user_id=zalo_user_id,
        is_follower=follower,
        last_interaction_at=ctx.now,  # they just wrote: the acknowledgement may go at once
        created_at=ctx.now,
    )
    ctx.session.add(fresh)
    ctx.session.flush()
    conversation = Conversation(citizen_id=fresh.id, state=IDLE, draft={}, updated_at=ctx.now)
    ctx.session.add(conversation)
    ctx.session.flush()
    ctx.citizen, ctx.conversation, ctx.draft = fresh, conversation, {}
    lines = [texts.PRIVACY_ERASED]
    if held.case_codes:
        lines.append(texts.PRIVACY_ERASED_CASES.format(count=len(held.case_codes)))
    if held.open_codes:
        code = ", ".join(held.open_codes)
        lines.append(_lookup_hint(ctx, texts.PRIVACY_ERASED_LOOKUP, code=code) or "")
    ctx.say("\n".join(filter(None, lines)))


def answer_anywhere(ctx: Context, incoming: Incoming, state: str, steps: dict[str, Step]) -> str:
    """The summary's buttons, tapped at any step: confirm the deletion, or the main menu."""
    payload = incoming.payload
    if steps[state].in_flow:
        suspend(ctx, state)
    if payload is not None and payload[1] == "delete":
        return enter(ctx, CONFIRM, steps)
    return enter(ctx, IDLE, steps)


STEPS = {
    step.name: step
    for step in (
        Step(VIEW, prompt_view, handle_view, in_flow=False),
        Step(CONFIRM, prompt_confirm, handle_confirm, in_flow=False),
    )
}
ANYWHERE: dict[str, AnywhereHandler] = {PREFIX: answer_anywhere}

"""The conversation engine: persisted state per citizen, steps as data, universal commands.

A step is a `Step(name, prompt, handle)`. `prompt(ctx)` asks the step's question; `handle(ctx,
incoming)` reads the citizen's answer and returns the next state's name, `Invalid(reason)` (the
engine says the reason and asks the same question again), `Goto(state, quiet=True)`, or None to
stay without asking again. State and draft live on the `Conversation` row, so a restart, a
second web process or a redelivered event never loses the citizen's place.

Universal commands work at any step, with or without diacritics: "menu", "hủy", "trợ giúp",
"quay lại". A draft untouched for longer than the TTL is offered back (continue or start over).
Some buttons work at any step too: `#menu:` payloads, and those whose prefix is registered in
the `anywhere` table passed to `run` (the satisfaction survey's, say) — their handler answers
and decides whether the conversation moves.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import texts
from bot.incoming import Incoming, normalize
from bot.zalo import messages
from models import Citizen, Conversation, MessageKind

IDLE = "idle"
RESUME = "resume"
SUSPENDED = "_suspended"
HISTORY = "_history"
EDITING = "_editing"

COMMANDS = {
    "menu": "menu",
    "danh muc": "menu",
    "huy": "cancel",
    "huy bo": "cancel",
    "cancel": "cancel",
    "tro giup": "help",
    "giup do": "help",
    "help": "help",
    "quay lai": "back",
    "tro lai": "back",
    "back": "back",
    # Personal data (bot/flows/privacy.py): these open the step of the same name.
    "du lieu cua toi": "privacy_view",
    "xem du lieu": "privacy_view",
    "xoa du lieu": "privacy_delete",
    "xoa du lieu cua toi": "privacy_delete",
}


@dataclass(frozen=True)
class BotSettings:
    """What the bot needs from the configuration."""

    agency: str
    hotline: str
    answer_days: int
    draft_ttl: timedelta
    info_card_image_url: str
    portal_url: str = "https://dichvucong.gov.vn"
    public_base_url: str = ""  # this server's public pages (the web lookup), for the guide
    # Days after closing when a case's personal data is anonymised (None: not configured).
    retention_days: int | None = None

    @classmethod
    def from_config(cls, config) -> BotSettings:
        """The bot's settings from the app configuration."""
        return cls(
            agency=config["AGENCY_NAME"],
            hotline=config["AGENCY_HOTLINE"],
            answer_days=config["ANSWER_DAYS"],
            draft_ttl=timedelta(hours=config["DRAFT_TTL_HOURS"]),
            info_card_image_url=config["INFO_CARD_IMAGE_URL"],
            portal_url=config["NATIONAL_PORTAL_URL"],
            public_base_url=config["PUBLIC_BASE_URL"],
            retention_days=config.get("PERSONAL_DATA_RETENTION_DAYS"),
        )


@dataclass
class Context:
    """Everything a step may read or change while handling one message."""

    session: Session
    citizen: Citizen
    conversation: Conversation
    settings: BotSettings
    now: datetime
    draft: dict[str, Any] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)

    def say(
        self, text: str, kind: MessageKind = MessageKind.REPLY, case_id: int | None = None
    ) -> None:
        """Queue a text reply, split at Zalo's 2,000-character limit."""
        for part in texts.split_text(text):
            self.replies.append(Reply(messages.text(part), kind, case_id))

    def ask(self, question: str, options: Sequence[Option], prefix: str) -> None:
        """Queue a question with its options as buttons and as a numbered list."""
        self.replies.append(Reply(menu_message(question, options, prefix)))

    def send(self, message: dict[str, Any]) -> None:
        """Queue a prepared Zalo message (a card, an image)."""
        self.replies.append(Reply(message))


@dataclass(frozen=True)
class Reply:
    """A message to queue for the citizen, with what it is about."""

    message: dict[str, Any]
    kind: MessageKind = MessageKind.REPLY
    case_id: int | None = None


@dataclass(frozen=True)
class Option:
    """One choice of a menu; `button` is the short title for the button (<= 20 characters)."""

    key: str
    label: str
    button: str = ""
    aliases: tuple[str, ...] = ()

    def matches(self, norm: str) -> bool:
        return norm == normalize(self.label) or norm in {normalize(a) for a in self.aliases}


@dataclass(frozen=True)
class Invalid:
    """The answer did not fit: tell the citizen why and ask the same question again."""

    reason: str


@dataclass(frozen=True)
class Goto:
    """Move to `state`; with `quiet`, without asking that state's question."""

    state: str
    quiet: bool = False


Outcome = str | Invalid | Goto | None


@dataclass(frozen=True)
class Step:
    """A state of the conversation: how to ask, and how to read the answer."""

    name: str
    prompt: Callable[[Context], None]
    handle: Callable[[Context, Incoming], Outcome]
    in_flow: bool = True  # part of a draft: may be resumed, "quay lại" returns here
    help: str = ""
    buttons: frozenset[str] = frozenset()  # payload prefixes this step's own buttons use


# Handles a button tapped at any step: (ctx, incoming, current state, steps) -> the state to be in.
AnywhereHandler = Callable[[Context, Incoming, str, dict[str, Step]], str]


def menu_message(
    question: str, options: Sequence[Option], prefix: str, hint: str = texts.HOW_TO_CHOOSE
) -> dict[str, Any]:
    """Render a menu as a button template whose text also lists the options by number."""
    lines = [question, *(f"{i}. {o.label}" for i, o in enumerate(options, 1)), hint]
    body = "\n".join(lines)
    if len(options) > messages.MAX_BUTTONS:
        return messages.text(body)
    return messages.buttons(
        body, [(o.button or o.label[:20], f"#{prefix}:{o.key}") for o in options]
    )


def choose(options: Sequence[Option], incoming: Incoming, prefix: str) -> Option | None:
    """Return the option the citizen picked by button, number or words (None if unclear)."""
    if incoming.kind != "text":
        return None
    payload = incoming.payload
    if payload is not None:
        return next((o for o in options if payload[0] == prefix and o.key == payload[1]), None)
    norm = incoming.norm
    if norm.isdigit():
        index = int(norm) - 1
        return options[index] if 0 <= index < len(options) else None
    return next((o for o in options if o.matches(norm)), None)


def run(
    ctx: Context,
    incoming: Incoming,
    steps: dict[str, Step],
    anywhere: Mapping[str, AnywhereHandler] | None = None,
) -> None:
    """Handle one message: universal commands and buttons first, then the current step."""
    conversation = ctx.conversation
    ctx.draft = copy.deepcopy(conversation.draft or {})
    state = conversation.state if conversation.state in steps else IDLE
    handler = _anywhere_handler(incoming, anywhere or {})
    command = _command(incoming)
    stale = conversation.updated_at < ctx.now - ctx.settings.draft_ttl
    if handler is not None:
        before = state
        state = handler(ctx, incoming, state, steps)
        if state == before and steps[state].in_flow:
            # Answered beside the flow: the draft is untouched and must not look freshly edited.
            return
    elif command is not None:
        state = _run_command(ctx, command, state, steps, incoming)
    elif steps[state].in_flow and stale:
        suspend(ctx, state)
        state = RESUME
        steps[state].prompt(ctx)
    else:
        state = _run_step(ctx, state, incoming, steps)
    conversation.state = state
    conversation.draft = ctx.draft
    conversation.updated_at = ctx.now


def _anywhere_handler(
    incoming: Incoming, anywhere: Mapping[str, AnywhereHandler]
) -> AnywhereHandler | None:
    payload = incoming.payload
    return anywhere.get(payload[0]) if payload is not None else None


def _run_step(ctx: Context, state: str, incoming: Incoming, steps: dict[str, Step]) -> str:
    step = steps[state]
    payload = incoming.payload
    if payload is not None and step.in_flow and payload[0] not in step.buttons:
        # A button from an earlier question: never take its payload as typed text.
        outcome: Outcome = Invalid(texts.OLD_BUTTON)
    else:
        outcome = step.handle(ctx, incoming)
    if outcome is None:
        return state
    if isinstance(outcome, Invalid):
        ctx.say(outcome.reason)
        step.prompt(ctx)
        return state
    target = outcome if isinstance(outcome, Goto) else Goto(outcome)
    return enter(ctx, target.state, steps, from_state=state, quiet=target.quiet)


def enter(
    ctx: Context,
    state: str,
    steps: dict[str, Step],
    from_state: str | None = None,
    quiet: bool = False,
) -> str:
    """Move to `state`, remember where we came from for "quay lại", and ask its question."""
    if state == IDLE:
        ctx.draft = {k: v for k, v in ctx.draft.items() if k == SUSPENDED}
    elif from_state and from_state != state and steps[from_state].in_flow and steps[state].in_flow:
        ctx.draft.setdefault(HISTORY, []).append(from_state)
    if not quiet:
        steps[state].prompt(ctx)
    return state


def _command(incoming: Incoming) -> str | None:
    if incoming.kind != "text":
        return None
    if incoming.payload is not None and incoming.payload[0] == "menu":
        return "menu_choice"  # a main-menu button, wherever it was tapped
    return COMMANDS.get(incoming.norm)


def _run_command(
    ctx: Context, command: str, state: str, steps: dict[str, Step], incoming: Incoming
) -> str:
    in_flow = steps[state].in_flow
    if command == "cancel":
        had_draft = in_flow or SUSPENDED in ctx.draft
        ctx.draft = {}
        ctx.say(texts.CANCELLED if had_draft else texts.NOTHING_TO_CANCEL)
        return enter(ctx, IDLE, steps)
    if command in ("menu", "menu_choice"):
        if in_flow:
            # Keep the draft: choosing "Gửi phản ánh" again offers to continue it.
            suspend(ctx, state)
        if command == "menu_choice":
            return _run_step(ctx, IDLE, incoming, steps)
        return enter(ctx, IDLE, steps)
    if command == "help":
        if not in_flow:
            return _run_step(ctx, IDLE, Incoming("text", text="#menu:guide"), steps)
        help_text = steps[state].help or texts.STEP_HELP.get(state, "")
        ctx.say("\n".join(filter(None, [help_text, texts.HELP_FOOTER])))
        steps[state].prompt(ctx)
        return state
    if command in steps:
        # A command with a step of its own ("dữ liệu của tôi"): the draft is put aside as for menu.
        if in_flow:
            suspend(ctx, state)
        return enter(ctx, command, steps)
    # back
    history = ctx.draft.get(HISTORY, [])
    if not in_flow or not history:
        return enter(ctx, IDLE, steps) if not in_flow else _restart_current(ctx, state, steps)
    previous = history.pop()
    ctx.draft.pop(EDITING, None)
    steps[previous].prompt(ctx)
    return previous


def _restart_current(ctx: Context, state: str, steps: dict[str, Step]) -> str:
    steps[state].prompt(ctx)
    return state


def suspend(ctx: Context, state: str) -> None:
    """Put the draft aside (with its step) so it can be offered back later."""
    ctx.draft = {SUSPENDED: {"state": state, "draft": ctx.draft}}


def resume(ctx: Context) -> str | None:
    """Restore a suspended draft; return its step, or None when there is none."""
    suspended = ctx.draft.get(SUSPENDED)
    if not suspended:
        return None
    ctx.draft = suspended["draft"]
    return suspended["state"]

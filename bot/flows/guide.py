"""The citizen guide ("Hướng dẫn"): an index of six topics and one short message per topic.

Zalo shows at most five buttons on a message, so the index is two button messages (topics 1–3,
then 4–6 and the main menu) numbered as one list. Each topic is one message ending with buttons
to related topics (or straight to submitting / looking up), the index and the main menu.

Every button is a `#menu:` payload, so like the main menu's it works at any step. Topic names are
read with or without diacritics wherever the main menu's words are; a number is read as a topic
only in the guide's own state (`bot.flows.menu` keeps the citizen there after a guide message),
since elsewhere numbers answer the question last asked.

The answer deadline is the default deadline policy's, read when the topic is shown, so the guide
never disagrees with the due date a new case gets; the portal and hotline come from the
configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import texts
from bot.conversation import Context, Incoming, Option, choose
from bot.zalo import messages
from cases import deadlines

PREFIX = "menu"  # the main menu's payload prefix: answered at any step
INDEX_KEY = "guide"
MAIN_MENU_KEY = "main"
INDEX_SPLIT = 3  # topics on the index's first message


@dataclass(frozen=True)
class Topic:
    """One topic: how it is chosen, what it says, and the buttons that follow it."""

    option: Option
    render: Callable[[Context], str]
    see_also: tuple[str, ...]  # keys of topics or of main-menu choices ("submit", "lookup")

    @property
    def key(self) -> str:
        return self.option.key


def _scope(ctx: Context) -> str:
    examples = texts.GUIDE_SCOPE_EXAMPLES.format(hotline=ctx.settings.hotline)
    return "\n".join([texts.GUIDE_TOPIC_SCOPE, texts.SCOPE, examples])


def _submit(ctx: Context) -> str:
    return texts.GUIDE_SUBMIT


def _lookup(ctx: Context) -> str:
    if not ctx.settings.public_base_url:
        return texts.GUIDE_LOOKUP
    web = texts.GUIDE_LOOKUP_WEB.format(url=ctx.settings.public_base_url)
    return f"{texts.GUIDE_LOOKUP}\n{web}"


def _deadline(ctx: Context) -> str:
    policy = deadlines.policy_for(ctx.session, None, ctx.settings.answer_days)
    days = texts.DAYS_WORKING if policy.answer_in_working_days else texts.DAYS_CALENDAR
    return texts.GUIDE_DEADLINE.format(
        classify_days=policy.classify_working_days, period=days.format(n=policy.answer_days)
    )


def _channels(ctx: Context) -> str:
    return texts.GUIDE_CHANNELS.format(
        agency=ctx.settings.agency, portal=ctx.settings.portal_url, hotline=ctx.settings.hotline
    )


def _privacy(ctx: Context) -> str:
    days = ctx.settings.retention_days
    retention = (
        texts.GUIDE_RETENTION_DAYS.format(retention_days=days)
        if days
        else texts.GUIDE_RETENTION_DEFAULT
    )
    return texts.GUIDE_PRIVACY.format(retention=retention)


TOPICS = (
    Topic(
        Option(
            "guide_scope",
            texts.GUIDE_TOPIC_SCOPE,
            aliases=("pakn la gi", "phan anh kien nghi la gi", "pham vi"),
        ),
        _scope,
        ("submit", "guide_submit", "guide_channels"),
    ),
    Topic(
        Option(
            "guide_submit",
            texts.GUIDE_TOPIC_SUBMIT,
            aliases=("cach gui pakn", "cach gui phan anh", "huong dan gui"),
        ),
        _submit,
        ("submit", "guide_lookup", "guide_deadline"),
    ),
    Topic(
        Option(
            "guide_lookup",
            texts.GUIDE_TOPIC_LOOKUP,
            aliases=("cach tra cuu pakn", "huong dan tra cuu"),
        ),
        _lookup,
        ("lookup", "guide_deadline", "guide_channels"),
    ),
    Topic(
        Option(
            "guide_deadline",
            texts.GUIDE_TOPIC_DEADLINE,
            aliases=("thoi han", "thoi han giai quyet", "thoi han xu ly"),
        ),
        _deadline,
        ("guide_lookup", "guide_channels", "guide_privacy"),
    ),
    Topic(
        Option(
            "guide_channels",
            texts.GUIDE_TOPIC_CHANNELS,
            aliases=("kenh chinh thuc", "duong day nong", "hotline", "cong dich vu cong"),
        ),
        _channels,
        ("guide_scope", "guide_submit", "guide_privacy"),
    ),
    Topic(
        Option(
            "guide_privacy",
            texts.GUIDE_TOPIC_PRIVACY,
            aliases=("bao ve du lieu ca nhan", "thong tin ca nhan"),
        ),
        _privacy,
        ("guide_scope", "guide_channels", "guide_submit"),
    ),
)
OPTIONS = tuple(topic.option for topic in TOPICS)
_BY_KEY = {topic.key: topic for topic in TOPICS}
# Buttons a topic may point to besides other topics: the main menu's own choices.
_ACTIONS = {"submit": texts.GUIDE_BUTTON_SUBMIT, "lookup": texts.GUIDE_BUTTON_LOOKUP}


def _button(key: str) -> tuple[str, str]:
    title = _BY_KEY[key].option.label if key in _BY_KEY else _ACTIONS[key]
    return title, f"#{PREFIX}:{key}"


def _numbered(header: str, first: int, topics: tuple[Topic, ...], footer: str = "") -> str:
    lines = [header, *(f"{first + i}. {t.option.label}" for i, t in enumerate(topics))]
    return "\n".join([*lines, footer] if footer else lines)


def show_index(ctx: Context) -> None:
    """Send the list of topics, numbered as one list over two button messages."""
    head, tail = TOPICS[:INDEX_SPLIT], TOPICS[INDEX_SPLIT:]
    ctx.send(
        messages.buttons(_numbered(texts.GUIDE_INDEX, 1, head), [_button(t.key) for t in head])
    )
    footer = texts.GUIDE_HOW_TO_CHOOSE
    body = _numbered(texts.GUIDE_INDEX_MORE, INDEX_SPLIT + 1, tail, footer)
    main = (texts.GUIDE_BUTTON_MAIN_MENU, f"#{PREFIX}:{MAIN_MENU_KEY}")
    ctx.send(messages.buttons(body, [*(_button(t.key) for t in tail), main]))


def show_topic(ctx: Context, topic: Topic) -> None:
    """Send one topic with buttons to related topics, the index and the main menu."""
    buttons = [
        *(_button(key) for key in topic.see_also),
        (texts.GUIDE_BUTTON_INDEX, f"#{PREFIX}:{INDEX_KEY}"),
        (texts.GUIDE_BUTTON_MAIN_MENU, f"#{PREFIX}:{MAIN_MENU_KEY}"),
    ]
    ctx.send(messages.buttons(topic.render(ctx), buttons))


def chosen_topic(incoming: Incoming, by_number: bool) -> Topic | None:
    """The topic picked by button or name (or, with `by_number`, by its number in the index)."""
    if incoming.kind != "text":
        return None
    if not by_number and incoming.payload is None and incoming.norm.isdigit():
        return None
    option = choose(OPTIONS, incoming, PREFIX)
    return _BY_KEY[option.key] if option is not None else None

"""Submitting a PAKN: scope, kind, field, unit, title, content, files, place, contact, consent.

Each step asks one question and reads one answer. After the summary the citizen may edit any
item; an edited item returns straight to the summary. The case is registered only on "Gửi PAKN",
and the acknowledgement with the code is queued in the same transaction, so it is sent only
after the case is committed.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from bot import texts
from bot.conversation import EDITING, IDLE, Context, Goto, Invalid, Option, Outcome, Step, choose
from bot.incoming import Incoming
from bot.zalo import messages
from cases import intake
from cases.clock import format_date, local_date
from cases.contact import mask_phone, normalize_email, normalize_name, normalize_phone
from cases.status import kind_label
from models import CaseKind, Field, MessageKind, Unit

SCOPE, KIND, FIELD, UNIT, UNIT_PICK = (
    "submit_scope",
    "submit_kind",
    "submit_field",
    "submit_unit",
    "submit_unit_pick",
)
TITLE, CONTENT, ATTACHMENTS, LOCATION = (
    "submit_title",
    "submit_content",
    "submit_attachments",
    "submit_location",
)
CONTACT, PHONE, ADDRESS, EMAIL = "submit_contact", "submit_phone", "submit_address", "submit_email"
CONSENT, PRIVACY, CONFIRM, EDIT = (
    "submit_consent",
    "submit_privacy",
    "submit_confirm",
    "submit_edit",
)

DONE_WORDS = ("xong", "het", "da xong", "hoan tat", "ket thuc")
SKIP_WORDS = ("bo qua", "khong", "khong co", "skip")

SCOPE_OPTIONS = (
    Option("continue", texts.SCOPE_CONTINUE, "Tiếp tục", aliases=("tiep tuc", "dong y", "ok")),
    Option(
        "complaint", texts.SCOPE_COMPLAINT, "Khiếu nại, tố cáo", aliases=("khieu nai", "to cao")
    ),
    Option("legal", texts.SCOPE_LEGAL, "Tư vấn pháp luật", aliases=("tu van",)),
)
KIND_OPTIONS = (
    Option(CaseKind.FEEDBACK.value, texts.KIND_FEEDBACK),
    Option(CaseKind.PETITION.value, texts.KIND_PETITION),
)
UNIT_OPTIONS = (
    Option("accept", texts.UNIT_ACCEPT, aliases=("ok", "co", "dung")),
    Option("other", texts.UNIT_OTHER, aliases=("khac", "don vi khac")),
)
ATTACHMENT_OPTIONS = (
    Option("done", texts.ATTACHMENT_DONE),
    Option("skip", texts.ATTACHMENT_SKIP),
)
CONSENT_OPTIONS = (
    Option("yes", texts.CONSENT_YES, aliases=("co", "ok", "dong y")),
    Option("no", texts.CONSENT_NO, aliases=("khong",)),
)
PRIVACY_OPTIONS = (
    Option("hide", texts.PRIVACY_HIDE, "Ẩn thông tin", aliases=("an", "co", "an danh")),
    Option("show", texts.PRIVACY_SHOW, "Không cần ẩn", aliases=("khong", "hien thi")),
)
CONFIRM_OPTIONS = (
    Option("send", texts.CONFIRM_SEND, aliases=("gui", "xac nhan", "dong y")),
    Option("edit", texts.CONFIRM_EDIT, aliases=("sua",)),
    Option("cancel", texts.CONFIRM_CANCEL),
)
EDIT_OPTIONS = (
    Option(KIND, texts.SUMMARY_KIND),
    Option(FIELD, texts.SUMMARY_FIELD),
    Option(UNIT_PICK, texts.SUMMARY_UNIT, aliases=("don vi",)),
    Option(TITLE, texts.SUMMARY_TITLE),
    Option(CONTENT, texts.SUMMARY_CONTENT),
    Option(ATTACHMENTS, texts.SUMMARY_ATTACHMENTS, aliases=("anh", "tep")),
    Option(LOCATION, texts.SUMMARY_LOCATION, aliases=("vi tri", "dia diem")),
    Option(CONTACT, texts.SUMMARY_CONTACT, aliases=("lien he", "thong tin lien he", "ho ten")),
    Option(PRIVACY, texts.SUMMARY_PRIVACY, aliases=("cong khai", "an danh")),
)


def then(ctx: Context, natural_next: str) -> str:
    """The next step, or back to the summary when the citizen is editing one item."""
    return CONFIRM if ctx.draft.get(EDITING) else natural_next


def _is(incoming: Incoming, words: tuple[str, ...]) -> bool:
    return incoming.kind == "text" and incoming.norm in words


# --- scope and kind ---------------------------------------------------------------------------
def prompt_scope(ctx: Context) -> None:
    ctx.say(texts.SCOPE)
    ctx.ask(texts.SCOPE_QUESTION, SCOPE_OPTIONS, "scope")


def handle_scope(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(SCOPE_OPTIONS, incoming, "scope")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    if option.key == "continue":
        return KIND
    redirect = texts.REDIRECT_COMPLAINT if option.key == "complaint" else texts.REDIRECT_LEGAL
    ctx.say(redirect.format(hotline=ctx.settings.hotline))
    return IDLE


def prompt_kind(ctx: Context) -> None:
    ctx.ask(f"{texts.ASK_KIND}\n{texts.KIND_HINT}", KIND_OPTIONS, "kind")


def handle_kind(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(KIND_OPTIONS, incoming, "kind")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    ctx.draft["kind"] = option.key
    return then(ctx, FIELD)


# --- field and unit ---------------------------------------------------------------------------
def _field_options(ctx: Context) -> list[Option]:
    fields = ctx.session.scalars(
        select(Field).where(Field.active.is_(True)).order_by(Field.sort_order, Field.name)
    )
    return [Option(str(f.id), f.name) for f in fields]


def _unit_options(ctx: Context) -> list[Option]:
    units = ctx.session.scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.sort_order, Unit.name)
    )
    return [Option(str(u.id), u.name) for u in units]


def prompt_field(ctx: Context) -> None:
    options = _field_options(ctx)
    if not options:
        ctx.say(texts.NO_FIELDS)
        return
    ctx.ask(texts.ASK_FIELD, options, "field")


def handle_field(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(_field_options(ctx), incoming, "field")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    field = ctx.session.get(Field, int(option.key))
    assert field is not None
    ctx.draft["field_id"] = field.id
    if ctx.draft.get(EDITING) and ctx.draft.get("unit_id"):
        return CONFIRM
    ctx.draft["unit_id"] = field.default_unit_id
    return UNIT if field.default_unit_id else UNIT_PICK


def prompt_unit(ctx: Context) -> None:
    unit = ctx.session.get(Unit, ctx.draft.get("unit_id") or 0)
    if unit is None:
        prompt_unit_pick(ctx)
        return
    ctx.ask(texts.ASK_UNIT.format(unit=unit.name), UNIT_OPTIONS, "unit")


def handle_unit(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(UNIT_OPTIONS, incoming, "unit")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    return then(ctx, TITLE) if option.key == "accept" else UNIT_PICK


def prompt_unit_pick(ctx: Context) -> None:
    ctx.ask(texts.ASK_UNIT_PICK, _unit_options(ctx), "unitpick")


def handle_unit_pick(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(_unit_options(ctx), incoming, "unitpick")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    ctx.draft["unit_id"] = int(option.key)
    return then(ctx, TITLE)


# --- title, content, attachments, location ----------------------------------------------------
def prompt_title(ctx: Context) -> None:
    ctx.say(texts.ASK_TITLE.format(min=texts.TITLE_MIN, max=texts.TITLE_MAX))


def handle_title(ctx: Context, incoming: Incoming) -> Outcome:
    if incoming.kind != "text":
        return Invalid(texts.TEXT_EXPECTED)
    title = " ".join(incoming.text.split())
    if len(title) < texts.TITLE_MIN:
        return Invalid(texts.TITLE_TOO_SHORT.format(min=texts.TITLE_MIN))
    if len(title) > texts.TITLE_MAX:
        return Invalid(texts.TITLE_TOO_LONG.format(max=texts.TITLE_MAX))
    ctx.draft["title"] = title
    return then(ctx, CONTENT)


# While an item is being edited, the new version is built aside ("_new_...") and replaces the old
# one only when finished, so backing out of the edit keeps what was there.
NEW_CONTENT, NEW_ATTACHMENTS = "_new_content", "_new_attachments"


def _content_key(ctx: Context) -> str:
    return NEW_CONTENT if ctx.draft.get(EDITING) else "content"


def _attachments_key(ctx: Context) -> str:
    return NEW_ATTACHMENTS if ctx.draft.get(EDITING) else "attachments"


def prompt_content(ctx: Context) -> None:
    question = texts.ASK_CONTENT_EDIT if ctx.draft.get(EDITING) else texts.ASK_CONTENT
    ctx.say(question.format(max=texts.number(texts.CONTENT_MAX)))


def handle_content(ctx: Context, incoming: Incoming) -> Outcome:
    key = _content_key(ctx)
    content = ctx.draft.get(key, "")
    if _is(incoming, DONE_WORDS):
        if len(content) < texts.CONTENT_MIN:
            ctx.say(texts.CONTENT_TOO_SHORT.format(min=texts.CONTENT_MIN))
            return None
        ctx.draft["content"] = ctx.draft.pop(key)
        return then(ctx, ATTACHMENTS)
    if incoming.kind == "media":
        # Photos sent while describing are kept, as if sent at the next step.
        _add_attachments(ctx, incoming)
        if not incoming.text:
            return None
    elif incoming.kind != "text":
        return Invalid(texts.TEXT_EXPECTED)
    if not incoming.text:
        return None
    combined = f"{content}\n{incoming.text}" if content else incoming.text
    if len(combined) > texts.CONTENT_MAX:
        ctx.say(texts.CONTENT_TOO_LONG.format(max=texts.number(texts.CONTENT_MAX)))
        return None
    ctx.draft[key] = combined
    ctx.say(texts.CONTENT_NOTED.format(length=len(combined), max=texts.number(texts.CONTENT_MAX)))
    return None


def _add_attachments(ctx: Context, incoming: Incoming) -> bool:
    stored = ctx.draft.setdefault(_attachments_key(ctx), [])
    room = texts.MAX_ATTACHMENTS - len(stored)
    if room <= 0:
        ctx.say(texts.ATTACHMENTS_FULL.format(max=texts.MAX_ATTACHMENTS))
        return False
    stored.extend(incoming.attachments[:room])
    ctx.say(texts.ATTACHMENT_NOTED.format(count=len(stored), max=texts.MAX_ATTACHMENTS))
    dropped = len(incoming.attachments) - room
    if dropped > 0:
        ctx.say(texts.ATTACHMENTS_PARTLY.format(max=texts.MAX_ATTACHMENTS, dropped=dropped))
    return True


def prompt_attachments(ctx: Context) -> None:
    question = texts.ASK_ATTACHMENTS_EDIT if ctx.draft.get(EDITING) else texts.ASK_ATTACHMENTS
    ctx.ask(question.format(max=texts.MAX_ATTACHMENTS), ATTACHMENT_OPTIONS, "files")


def handle_attachments(ctx: Context, incoming: Incoming) -> Outcome:
    if incoming.kind == "media":
        _add_attachments(ctx, incoming)
        return None
    if incoming.kind == "unsupported":
        return Invalid(texts.MEDIA_NOT_ACCEPTED)
    option = choose(ATTACHMENT_OPTIONS, incoming, "files")
    if option is None and _is(incoming, DONE_WORDS + SKIP_WORDS):
        option = ATTACHMENT_OPTIONS[0]
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    if ctx.draft.get(EDITING):
        ctx.draft["attachments"] = ctx.draft.pop(NEW_ATTACHMENTS, [])
    return then(ctx, LOCATION)


def prompt_location(ctx: Context) -> None:
    ctx.ask(texts.ASK_LOCATION, (Option("skip", texts.LOCATION_SKIP),), "place")


def handle_location(ctx: Context, incoming: Incoming) -> Outcome:
    if incoming.kind == "location":
        ctx.draft["location"] = {"lat": str(incoming.latitude), "lng": str(incoming.longitude)}
        return then(ctx, CONTACT)
    if incoming.kind != "text":
        return Invalid(texts.TEXT_EXPECTED)
    if incoming.payload == ("place", "skip") or _is(incoming, SKIP_WORDS):
        ctx.draft["location"] = None
        return then(ctx, CONTACT)
    address = " ".join(incoming.text.split())
    if len(address) < texts.ADDRESS_MIN:
        return Invalid(texts.ADDRESS_TOO_SHORT.format(min=texts.ADDRESS_MIN))
    if len(address) > texts.ADDRESS_MAX:
        return Invalid(texts.ADDRESS_TOO_LONG.format(max=texts.ADDRESS_MAX))
    ctx.draft["location"] = {"address": address}
    return then(ctx, CONTACT)


# --- contact ----------------------------------------------------------------------------------
def prompt_contact(ctx: Context) -> None:
    ctx.say(texts.ASK_CONTACT)
    ctx.send(
        messages.request_user_info(
            texts.INFO_CARD_TITLE.format(agency=ctx.settings.agency),
            texts.INFO_CARD_SUBTITLE,
            ctx.settings.info_card_image_url,
        )
    )


def _after_contact(ctx: Context) -> str:
    """The first contact item still missing, else what follows the contact items."""
    if not ctx.draft.get("phone"):
        return PHONE
    if not ctx.draft.get("address"):
        return ADDRESS
    if "email" not in ctx.draft:
        return EMAIL
    return then(ctx, CONSENT)


def handle_contact(ctx: Context, incoming: Incoming) -> Outcome:
    if incoming.kind == "info":
        info = incoming.info or {}
        name = normalize_name(info.get("name") or "")
        if name is None:
            return Invalid(texts.NAME_INVALID)
        ctx.draft.update(
            name=name,
            phone=normalize_phone(info.get("phone") or ""),
            address=(info.get("address") or "").strip()[: texts.ADDRESS_MAX] or None,
        )
        email = normalize_email(info.get("email") or "")
        if email:
            ctx.draft["email"] = email
        else:
            ctx.draft.pop("email", None)
        return _after_contact(ctx)
    if incoming.kind != "text":
        return Invalid(texts.TEXT_EXPECTED)
    name = normalize_name(incoming.text)
    if name is None:
        return Invalid(texts.NAME_INVALID)
    ctx.draft.update(name=name, phone=None, address=None)
    ctx.draft.pop("email", None)
    return PHONE


def prompt_phone(ctx: Context) -> None:
    ctx.say(texts.ASK_PHONE)


def handle_phone(ctx: Context, incoming: Incoming) -> Outcome:
    if incoming.kind != "text":
        return Invalid(texts.TEXT_EXPECTED)
    phone = normalize_phone(incoming.text)
    if phone is None:
        return Invalid(texts.PHONE_INVALID)
    ctx.draft["phone"] = phone
    return _after_contact(ctx)


def prompt_address(ctx: Context) -> None:
    ctx.say(texts.ASK_ADDRESS)


def handle_address(ctx: Context, incoming: Incoming) -> Outcome:
    if incoming.kind != "text":
        return Invalid(texts.TEXT_EXPECTED)
    address = " ".join(incoming.text.split())
    if len(address) < texts.ADDRESS_MIN:
        return Invalid(texts.ADDRESS_TOO_SHORT.format(min=texts.ADDRESS_MIN))
    if len(address) > texts.ADDRESS_MAX:
        return Invalid(texts.ADDRESS_TOO_LONG.format(max=texts.ADDRESS_MAX))
    ctx.draft["address"] = address
    return _after_contact(ctx)


def prompt_email(ctx: Context) -> None:
    ctx.ask(texts.ASK_EMAIL, (Option("skip", texts.EMAIL_SKIP),), "email")


def handle_email(ctx: Context, incoming: Incoming) -> Outcome:
    if incoming.kind != "text":
        return Invalid(texts.TEXT_EXPECTED)
    if incoming.payload == ("email", "skip") or _is(incoming, SKIP_WORDS):
        ctx.draft["email"] = None
        return _after_contact(ctx)
    email = normalize_email(incoming.text)
    if email is None:
        return Invalid(texts.EMAIL_INVALID)
    ctx.draft["email"] = email
    return _after_contact(ctx)


# --- consent, privacy, summary ----------------------------------------------------------------
def prompt_consent(ctx: Context) -> None:
    ctx.ask(texts.ASK_CONSENT, CONSENT_OPTIONS, "consent")


def handle_consent(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(CONSENT_OPTIONS, incoming, "consent")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    if option.key == "no":
        return Invalid(texts.CONSENT_REQUIRED)
    ctx.draft["consent"] = {"version": texts.CONSENT_VERSION, "at": ctx.now.isoformat()}
    return then(ctx, PRIVACY)


def prompt_privacy(ctx: Context) -> None:
    ctx.ask(texts.ASK_PRIVACY, PRIVACY_OPTIONS, "privacy")


def handle_privacy(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(PRIVACY_OPTIONS, incoming, "privacy")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    ctx.draft["hide_identity"] = option.key == "hide"
    return CONFIRM


def summary(ctx: Context) -> str:
    """The draft as the citizen will check it before sending."""
    draft = ctx.draft
    field = ctx.session.get(Field, draft.get("field_id") or 0)
    unit = ctx.session.get(Unit, draft.get("unit_id") or 0)
    content = draft.get("content", "")
    if len(content) > 300:
        content = content[:299] + "…"
    location = draft.get("location") or {}
    if "address" in location:
        place = location["address"]
    elif location:
        place = texts.SUMMARY_PIN.format(lat=location["lat"], lng=location["lng"])
    else:
        place = texts.SUMMARY_NONE
    contact = f"{draft.get('name')}, {mask_phone(draft.get('phone'))}"
    rows = [
        (texts.SUMMARY_KIND, kind_label(draft["kind"])),
        (texts.SUMMARY_FIELD, field.name if field else ""),
        (texts.SUMMARY_UNIT, unit.name if unit else ""),
        (texts.SUMMARY_TITLE, draft.get("title", "")),
        (texts.SUMMARY_CONTENT, content),
        (
            texts.SUMMARY_ATTACHMENTS,
            str(len(draft.get("attachments", [])))
            if draft.get("attachments")
            else texts.SUMMARY_NONE,
        ),
        (texts.SUMMARY_LOCATION, place),
        (texts.SUMMARY_CONTACT, contact),
        (texts.SUMMARY_ADDRESS, draft.get("address") or ""),
        (texts.SUMMARY_EMAIL, draft.get("email") or texts.SUMMARY_NONE),
        (
            texts.SUMMARY_PRIVACY,
            texts.SUMMARY_HIDDEN if draft.get("hide_identity") else texts.SUMMARY_SHOWN,
        ),
    ]
    return "\n".join([texts.CONFIRM_HEADER, *(f"• {k}: {v}" for k, v in rows)])


def prompt_confirm(ctx: Context) -> None:
    for key in (EDITING, NEW_CONTENT, NEW_ATTACHMENTS):
        ctx.draft.pop(key, None)
    ctx.say(summary(ctx))
    ctx.ask(texts.CONFIRM_QUESTION, CONFIRM_OPTIONS, "confirm")


def handle_confirm(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(CONFIRM_OPTIONS, incoming, "confirm")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    if option.key == "edit":
        return EDIT
    if option.key == "cancel":
        ctx.say(texts.CANCELLED)
        return IDLE
    return _submit(ctx)


def prompt_edit(ctx: Context) -> None:
    ctx.ask(texts.ASK_EDIT, EDIT_OPTIONS, "edit")


def handle_edit(ctx: Context, incoming: Incoming) -> Outcome:
    option = choose(EDIT_OPTIONS, incoming, "edit")
    if option is None:
        return Invalid(texts.INVALID_CHOICE)
    ctx.draft[EDITING] = True
    return option.key


# Every item the case needs, and the step that asks for it.
REQUIRED = (
    ("kind", KIND),
    ("field_id", FIELD),
    ("unit_id", UNIT_PICK),
    ("title", TITLE),
    ("content", CONTENT),
    ("name", CONTACT),
    ("phone", PHONE),
    ("address", ADDRESS),
    ("consent", CONSENT),
)


def _submit(ctx: Context) -> Outcome:
    draft = ctx.draft
    missing = next((step for key, step in REQUIRED if not draft.get(key)), None)
    if missing is not None:
        ctx.draft[EDITING] = True  # ask for it, then come back to the summary
        return missing
    location = draft.get("location") or {}
    submission = intake.Submission(
        kind=CaseKind(draft["kind"]),
        field_id=draft["field_id"],
        unit_id=draft["unit_id"],
        title=draft["title"],
        content=draft["content"],
        contact_name=draft["name"],
        contact_phone=draft["phone"],
        contact_address=draft["address"],
        contact_email=draft.get("email"),
        hide_identity=bool(draft.get("hide_identity")),
        location_address=location.get("address"),
        latitude=Decimal(location["lat"]) if "lat" in location else None,
        longitude=Decimal(location["lng"]) if "lng" in location else None,
        attachments=draft.get("attachments", []),
        consent_version=(draft.get("consent") or {}).get("version"),
    )
    case = intake.submit_case(
        ctx.session, submission, ctx.citizen.id, ctx.now, ctx.settings.answer_days
    )
    citizen = ctx.citizen
    citizen.name, citizen.phone, citizen.address = draft["name"], draft["phone"], draft["address"]
    citizen.email = draft.get("email") or citizen.email
    # Their consent to be contacted about their PAKN (what lets a phone template reach them).
    citizen.consent_at, citizen.consent_version = ctx.now, submission.consent_version
    ctx.say(
        texts.SUBMITTED.format(
            agency=ctx.settings.agency,
            code=case.code,
            received=format_date(local_date(case.received_at)),
            due=format_date(case.answer_due_on),
        ),
        kind=MessageKind.ACKNOWLEDGEMENT,
        case_id=case.id,
    )
    return Goto(IDLE, quiet=True)


STEPS = {
    step.name: step
    for step in (
        Step(SCOPE, prompt_scope, handle_scope, buttons=frozenset({"scope"})),
        Step(KIND, prompt_kind, handle_kind, buttons=frozenset({"kind"})),
        Step(FIELD, prompt_field, handle_field, buttons=frozenset({"field"})),
        Step(UNIT, prompt_unit, handle_unit, buttons=frozenset({"unit"})),
        Step(UNIT_PICK, prompt_unit_pick, handle_unit_pick, buttons=frozenset({"unitpick"})),
        Step(TITLE, prompt_title, handle_title),
        Step(CONTENT, prompt_content, handle_content),
        Step(ATTACHMENTS, prompt_attachments, handle_attachments, buttons=frozenset({"files"})),
        Step(LOCATION, prompt_location, handle_location, buttons=frozenset({"place"})),
        Step(CONTACT, prompt_contact, handle_contact),
        Step(PHONE, prompt_phone, handle_phone),
        Step(ADDRESS, prompt_address, handle_address),
        Step(EMAIL, prompt_email, handle_email, buttons=frozenset({"email"})),
        Step(CONSENT, prompt_consent, handle_consent, buttons=frozenset({"consent"})),
        Step(PRIVACY, prompt_privacy, handle_privacy, buttons=frozenset({"privacy"})),
        Step(CONFIRM, prompt_confirm, handle_confirm, buttons=frozenset({"confirm"})),
        Step(EDIT, prompt_edit, handle_edit, buttons=frozenset({"edit"})),
    )
}

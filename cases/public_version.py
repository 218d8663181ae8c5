"""The public version of a case: what `/cong-khai`, `/tra-cuu` and Open311 publish of it.

By default a case is published through `cases.redaction.public_view`: its title, question and
answer with personal data masked automatically. A coordinator may replace any of the three with
their own text (`Case.public_title`, `public_content`, `public_answer`); the originals are never
touched. A field saved exactly as the automatic masking gives it stays automatic (None), so the
masker keeps protecting whatever staff did not change; "reset" makes every field automatic again.

Staff text is published as written: the agency may mean to publish, say, its own switchboard
number, which the masker would hide. `findings` lists what the masker would still hide in the
staff text, so the console can warn before it is published (docs/decisions.md).

Flask-free: each function takes a session and `now`, only flushes, and leaves the commit to the
caller.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.redaction import MARKER, Known, known_values, public_view, redact
from models import Case, CaseEvent, CaseStatus, Staff

EDITABLE_STATUSES = frozenset({CaseStatus.ANSWERED, CaseStatus.PUBLISHED})
EDITED_ACTION = "public_edited"
RESET_ACTION = "public_reset"
# Stands in for the markers already in a text while it is masked again, so that the markers the
# masker adds can be told apart from them. A private-use character: never a word, never data.
_OLD_MARKER = "\ue000"

NOT_EDITABLE = (
    "Chỉ sửa được nội dung công khai khi phản ánh, kiến nghị đã được trả lời hoặc đã công khai."
)
REQUIRED = "Vui lòng nhập {label}."
TOO_LONG = "{label} tối đa {maximum} ký tự (hiện có {length} ký tự)."
EDITED_NOTE = "Đã sửa: {fields}."


class NotEditableError(Exception):
    """The case is not answered or published: there is no public version to edit yet."""

    status = 409

    def __init__(self) -> None:
        super().__init__(NOT_EDITABLE)
        self.message = NOT_EDITABLE


@dataclass(frozen=True)
class PublicField:
    """One editable part of the public version."""

    name: str  # the form field
    attribute: str  # the Case column holding the staff version
    view_key: str  # its key in `public_view`
    label: str
    maximum: int
    multiline: bool

    def original(self, case: Case) -> str:
        """The case's own text for this part (never published as it stands)."""
        source = {"title": case.title, "content": case.content, "answer": case.answer_text}
        return source[self.name] or ""

    def staff_version(self, case: Case) -> str | None:
        """The staff-written text, or None when the automatic masking is published."""
        return getattr(case, self.attribute)


FIELDS: tuple[PublicField, ...] = (
    PublicField("title", "public_title", "title", "Tiêu đề", 200, False),
    PublicField(
        "content", "public_content", "question", "Nội dung phản ánh, kiến nghị", 10_000, True
    ),
    PublicField("answer", "public_answer", "answer", "Kết quả trả lời", 20_000, True),
)


def is_editable(case: Case) -> bool:
    """Tell whether the case has a public version staff may edit (answered or published)."""
    return case.status in EDITABLE_STATUSES


def is_edited(case: Case) -> bool:
    """Tell whether any part of the public version was written by staff."""
    return any(field.staff_version(case) is not None for field in FIELDS)


def clean(field: PublicField, raw: str | None) -> str:
    """The text as stored: NFC, line breaks as LF, outer blanks removed; a title on one line."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    if not field.multiline:
        return " ".join(text.split())
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def automatic(case: Case) -> dict[str, str]:
    """What the automatic masking publishes of each part (as `clean` stores text)."""
    known = known_values(case)
    return {field.name: clean(field, redact(field.original(case), known)) for field in FIELDS}


def current(case: Case) -> dict[str, str]:
    """What is published of each part now: the staff version where there is one."""
    view = public_view(case)
    return {field.name: view[field.view_key] or "" for field in FIELDS}


def validate(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Return the cleaned values of a submitted form and its errors (Vietnamese), by field."""
    values, errors = {}, {}
    for field in FIELDS:
        value = values[field.name] = clean(field, form.get(field.name))
        if not value:
            errors[field.name] = REQUIRED.format(label=field.label.lower())
        elif len(value) > field.maximum:
            errors[field.name] = TOO_LONG.format(
                label=field.label, maximum=f"{field.maximum:,}".replace(",", "."), length=len(value)
            )
    return values, errors


def _record(
    session: Session, case: Case, staff: Staff, action: str, note: str | None, now: datetime
) -> None:
    case.updated_at = now  # Open311's updated_datetime: the published record changed
    session.add(CaseEvent.staff_note(case.id, staff.id, action, note, now))
    session.flush()


def save(
    session: Session, case: Case, staff: Staff, values: Mapping[str, str], now: datetime
) -> list[str]:
    """Store validated `values` as the public version; return the labels of the parts changed.

    A part equal to its automatic masking is stored as None (automatic). Nothing changed: nothing
    is recorded. Raises NotEditableError when the case is neither answered nor published.
    """
    if not is_editable(case):
        raise NotEditableError()
    masked = automatic(case)
    changed = []
    for field in FIELDS:
        value = values[field.name]
        stored = None if value == masked[field.name] else value
        if stored != field.staff_version(case):
            setattr(case, field.attribute, stored)
            changed.append(field.label.lower())
    if changed:
        _record(
            session, case, staff, EDITED_ACTION, EDITED_NOTE.format(fields=", ".join(changed)), now
        )
    return changed


def reset(session: Session, case: Case, staff: Staff, now: datetime) -> bool:
    """Publish the automatic masking of every part again; False when it already was."""
    if not is_editable(case):
        raise NotEditableError()
    if not is_edited(case):
        return False
    for field in FIELDS:
        setattr(case, field.attribute, None)
    _record(session, case, staff, RESET_ACTION, None, now)
    return True


def personal_data_found(text: str, known: Known | tuple = ()) -> list[str]:
    """The pieces of `text` the automatic masking would hide, in order, each once."""
    source = unicodedata.normalize("NFC", text).replace(MARKER, _OLD_MARKER)
    pieces = redact(source, known).split(MARKER)
    found: list[str] = []
    position = len(pieces[0])
    for index, piece in enumerate(pieces[1:], start=1):
        # The masked span ends where the next kept piece starts: at the end for the last piece,
        # else at its first occurrence (kept pieces between two masks are never blank).
        last = index == len(pieces) - 1
        end = len(source) - len(piece) if last else source.find(piece, position + 1)
        hidden = source[position:end].replace(_OLD_MARKER, MARKER).strip()
        if hidden and hidden not in found:
            found.append(hidden)
        position = end + len(piece)
    return found


def findings(case: Case) -> dict[str, list[str]]:
    """For each staff-written part, what the automatic masking would still hide in it."""
    known = known_values(case)
    result = {}
    for field in FIELDS:
        text = field.staff_version(case)
        found = personal_data_found(text, known) if text else []
        if found:
            result[field.name] = found
    return result


def answer_changed_since_edit(session: Session, case: Case) -> bool:
    """Tell whether the answer was sent again after staff wrote its public version (a reopened
    case answered anew), so the public answer may no longer match it."""
    if case.public_answer is None or case.answered_at is None:
        return False
    edited_at = session.scalar(
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == EDITED_ACTION)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        .limit(1)
    )
    return edited_at is not None and case.answered_at > edited_at

"""Response templates: which ones fit a case and an action, and their text with the case filled in.

A template body names case facts as `{placeholder}` (Vietnamese names, so administrators can read
them). Substitution is a plain lookup of known names: never `str.format`, whose attribute and
index syntax would let a template body reach into Python objects. Unknown names are reported by
`unknown_placeholders` (the admin form refuses them) and left untouched by `render`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cases.clock import format_date, local_date
from models import Case, ResponseTemplate

PLACEHOLDERS: dict[str, str] = {
    "ma_pakn": "Mã PAKN",
    "tieu_de": "Tiêu đề PAKN",
    "ho_ten": "Họ và tên người gửi",
    "don_vi": "Đơn vị xử lý",
    "linh_vuc": "Lĩnh vực",
    "ngay_tiep_nhan": "Ngày tiếp nhận (dd/mm/yyyy)",
    "han_tra_loi": "Hạn trả lời (dd/mm/yyyy)",
}
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Left behind when a value is blank, e.g. "Kính gửi Ông/Bà {ho_ten}," without a name.
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([,.;:!?])")
_DOUBLE_SPACE = re.compile(r"[ \t]{2,}")


def unknown_placeholders(body: str) -> list[str]:
    """Return the `{names}` in `body` that are not placeholders, in order of appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(body):
        if name not in PLACEHOLDERS and name not in seen:
            seen.append(name)
    return seen


def case_values(case: Case, contact_name: str) -> dict[str, str]:
    """Return the placeholder values of `case`; `contact_name` is what the reader may see."""
    return {
        "ma_pakn": case.code,
        "tieu_de": case.title,
        "ho_ten": contact_name,
        "don_vi": case.unit.name if case.unit else "",
        "linh_vuc": case.field.name if case.field else "",
        "ngay_tiep_nhan": format_date(local_date(case.received_at)),
        "han_tra_loi": format_date(case.answer_due_on),
    }


def render(body: str, values: dict[str, str]) -> str:
    """Return `body` with every known placeholder replaced by its value."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    text = PLACEHOLDER.sub(substitute, body)
    if any(not values.get(name) for name in PLACEHOLDER.findall(body)):
        text = _DOUBLE_SPACE.sub(" ", _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text))
    return text


def render_for_case(template: ResponseTemplate, case: Case, contact_name: str) -> str:
    """Return the template's body filled in for `case`."""
    return render(template.body, case_values(case, contact_name))


def templates_for(
    session: Session, case: Case, actions: Iterable[str]
) -> dict[str, list[ResponseTemplate]]:
    """Return the active templates of each action that fit the case's field (or any field)."""
    names = sorted(set(actions))
    found: dict[str, list[ResponseTemplate]] = {name: [] for name in names}
    if not names:
        return found
    rows = session.scalars(
        select(ResponseTemplate)
        .where(
            ResponseTemplate.active.is_(True),
            ResponseTemplate.action.in_(names),
            or_(ResponseTemplate.field_id.is_(None), ResponseTemplate.field_id == case.field_id),
        )
        # Templates written for this field come before the general ones.
        .order_by(ResponseTemplate.field_id.is_(None), ResponseTemplate.title, ResponseTemplate.id)
    )
    for template in rows:
        found[template.action].append(template)
    return found

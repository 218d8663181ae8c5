"""Factories for test data: a case submitted as the chat would, with sensible defaults."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.demo import seed_reference_data
from cases.intake import Submission, submit_case
from models import Case, CaseKind, Field, Unit, utcnow


def make_case(
    session,
    citizen_id: int | None = None,
    *,
    field: str = "XAY-DUNG",
    seed: bool = True,
    commit: bool = True,
    **overrides: Any,
) -> Case:
    """Submit a case (seeding units and fields first unless `seed` is False)."""
    if seed and session.scalar(select(Unit.id).limit(1)) is None:
        seed_reference_data(session)
    chosen = session.scalars(select(Field).where(Field.code == field)).one()
    values: dict[str, Any] = {
        "kind": CaseKind.FEEDBACK,
        "field_id": chosen.id,
        "unit_id": chosen.default_unit_id,
        "title": "Đèn đường hỏng",
        "content": "Đèn đường trước số 5 hỏng đã một tuần.",
        "contact_name": "Nguyễn Văn An",
        "contact_phone": "0912345678",
        "contact_address": "12 Hàng Bạc, Hà Nội",
    }
    values.update(overrides)
    now = values.pop("received_at", None) or utcnow()
    case = submit_case(session, Submission(**values), citizen_id, now, 20)
    if commit:
        session.commit()
    return case

"""Who may see which cases and the sender's contact data, and how hidden contact data is masked.

The one place where case permissions are decided, for the console and the API alike:
- coordinators see every case; handlers and leaders see the cases assigned to their unit, and
  to the units below it when their unit is configured to `include_subunits`;
- administrators manage configuration; they see cases only if they also hold a case role;
- contact data is shown in clear only to coordinators (the focal office), masked elsewhere.
Every query that lists or loads cases for a staff member goes through `visible_cases_filter`,
and every workflow action through `works_on`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session, object_session

from cases.contact import mask_phone
from models import Case, Staff, Unit

# Roles that work across all units (the focal office).
ALL_UNITS_ROLES = frozenset({"coordinator"})
# Roles that work on their own unit's cases only.
OWN_UNIT_ROLES = frozenset({"handler", "leader"})


def unit_scope(session: Session, staff: Staff) -> frozenset[int]:
    """The units whose cases `staff` works on: their own, plus those below it if configured."""
    unit = session.get(Unit, staff.unit_id)
    if unit is None:
        return frozenset()
    if not unit.include_subunits:
        return frozenset({unit.id})
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent_id, []).append(unit_id)
    scope, stack = set(), [unit.id]
    while stack:
        current = stack.pop()
        if current not in scope:
            scope.add(current)
            stack.extend(children.get(current, []))
    return frozenset(scope)


def visible_units(session: Session, staff: Staff) -> frozenset[int] | None:
    """The units whose cases `staff` may see (None: every unit)."""
    roles = staff.role_set
    if roles & ALL_UNITS_ROLES:
        return None
    if roles & OWN_UNIT_ROLES:
        return unit_scope(session, staff)
    return frozenset()


def visible_cases_filter(staff: Staff, session: Session | None = None) -> ColumnElement[bool]:
    """Return the WHERE clause selecting the cases `staff` may see."""
    roles = staff.role_set
    if roles & ALL_UNITS_ROLES:
        return true()
    if roles & OWN_UNIT_ROLES:
        session = session or object_session(staff)
        assert session is not None
        return Case.unit_id.in_(sorted(unit_scope(session, staff)))
    return false()


def can_see(session: Session, staff: Staff, case: Case) -> bool:
    """Tell whether `staff` may see `case` at all."""
    roles = staff.role_set
    if roles & ALL_UNITS_ROLES:
        return True
    return bool(roles & OWN_UNIT_ROLES) and case.unit_id in unit_scope(session, staff)


def works_on(session: Session, staff: Staff, case: Case) -> bool:
    """Tell whether the case is assigned to `staff`'s unit (or a unit below it, if configured)."""
    return case.unit_id in unit_scope(session, staff)


def visible_case(session: Session, staff: Staff, code: str) -> Case | None:
    """The case with `code` if `staff` may see it (None, exactly as for an unknown code)."""
    return session.scalars(
        select(Case).where(Case.code == code, visible_cases_filter(staff, session))
    ).first()


def can_see_contact(staff: Staff) -> bool:
    """Tell whether `staff` may read the sender's contact data in clear."""
    return bool(staff.role_set & ALL_UNITS_ROLES)


def mask_name(name: str) -> str:
    """Mask a person's name, keeping initials: "Nguyễn Văn An" -> "Ng**** V** A*"."""
    masked = []
    for position, word in enumerate(name.split()):
        keep = 2 if position == 0 and len(word) > 3 else 1
        masked.append(word[:keep] + "*" * max(len(word) - keep, 1))
    return " ".join(masked)


def mask_email(email: str) -> str:
    """Mask an e-mail address, keeping the first letter and the domain: "an@x.vn" -> "a***@x.vn"."""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_address(address: str) -> str:
    """Mask an address down to its last part (usually the district or city)."""
    head, comma, last = address.rpartition(",")
    if not comma or not head.strip():
        return "***"
    return f"***, {last.strip()}"


@dataclass(frozen=True)
class ContactView:
    """The sender's contact data as one staff member may see it."""

    name: str
    phone: str
    address: str
    email: str
    masked: bool


def contact_for(staff: Staff, case: Case) -> ContactView:
    """Return the case's contact data, masked unless `staff` may read it in clear."""
    if can_see_contact(staff):
        return ContactView(
            name=case.contact_name or "",
            phone=case.contact_phone or "",
            address=case.contact_address or "",
            email=case.contact_email or "",
            masked=False,
        )
    return ContactView(
        name=mask_name(case.contact_name) if case.contact_name else "",
        phone=mask_phone(case.contact_phone),
        address=mask_address(case.contact_address) if case.contact_address else "",
        email=mask_email(case.contact_email) if case.contact_email else "",
        masked=True,
    )

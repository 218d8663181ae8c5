"""Demo and reference data: a city's units, the usual fields (lĩnh vực), one account per role.

Both entry points are idempotent: rows are looked up by their code or username and only missing
ones are created, so running them again changes nothing (and never overwrites what an
administrator edited). Nothing here commits; the caller does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.staff import create_staff
from models import Field, Staff, Unit


@dataclass(frozen=True)
class DemoUnit:
    """A unit of the demo city; `parent` is the parent unit's code."""

    code: str
    name: str
    parent: str | None = None
    is_coordinator: bool = False


@dataclass(frozen=True)
class DemoField:
    """A field (lĩnh vực) with the code of the unit that receives it by default."""

    code: str
    name: str
    unit: str


@dataclass(frozen=True)
class DemoAccount:
    """A demo staff account and its (public, fixed) password."""

    username: str
    password: str
    roles: str
    full_name: str
    unit_code: str


# Parents come before their children so one pass can resolve `parent`.
UNITS = (
    DemoUnit("VP-UBND", "Văn phòng UBND thành phố", is_coordinator=True),
    DemoUnit("SXD", "Sở Xây dựng", "VP-UBND"),
    DemoUnit("STNMT", "Sở Tài nguyên và Môi trường", "VP-UBND"),
    DemoUnit("SGTVT", "Sở Giao thông vận tải", "VP-UBND"),
    DemoUnit("SYT", "Sở Y tế", "VP-UBND"),
    DemoUnit("SGDDT", "Sở Giáo dục và Đào tạo", "VP-UBND"),
    DemoUnit("Q-HK", "Quận Hoàn Kiếm", "VP-UBND"),
    DemoUnit("Q-BD", "Quận Ba Đình", "VP-UBND"),
    DemoUnit("P-HB", "Phường Hàng Bạc", "Q-HK"),
    DemoUnit("P-DB", "Phường Điện Biên", "Q-BD"),
)

FIELDS = (
    DemoField("DAT-DAI", "Đất đai", "STNMT"),
    DemoField("XAY-DUNG", "Xây dựng, trật tự đô thị", "SXD"),
    DemoField("GIAO-THONG", "Giao thông", "SGTVT"),
    DemoField("MOI-TRUONG", "Môi trường", "STNMT"),
    DemoField("Y-TE", "Y tế", "SYT"),
    DemoField("GIAO-DUC", "Giáo dục", "SGDDT"),
    DemoField("HO-TICH", "Hộ tịch, cư trú", "VP-UBND"),
    DemoField("THU-TUC", "Thủ tục hành chính", "VP-UBND"),
    DemoField("KHAC", "Lĩnh vực khác", "VP-UBND"),
)

# The passwords are public on purpose: this is demo data, never production data.
ACCOUNTS = (
    DemoAccount("admin", "demo-admin-2026", "admin", "Quản trị viên hệ thống", "VP-UBND"),
    DemoAccount("dieuphoi", "demo-coordinator-2026", "coordinator", "Trần Thị Mai", "VP-UBND"),
    DemoAccount("canbo.sxd", "demo-handler-2026", "handler", "Lê Văn Hùng", "SXD"),
    DemoAccount("lanhdao.sxd", "demo-leader-2026", "leader", "Phạm Minh Tuấn", "SXD"),
)


def seed_reference_data(session: Session) -> None:
    """Create the demo city's units and fields that do not exist yet."""
    units = {unit.code: unit for unit in session.scalars(select(Unit))}
    for order, spec in enumerate(UNITS, start=1):
        if spec.code in units:
            continue
        unit = Unit(
            code=spec.code,
            name=spec.name,
            parent=units[spec.parent] if spec.parent else None,
            is_coordinator=spec.is_coordinator,
            sort_order=order * 10,
        )
        session.add(unit)
        units[spec.code] = unit
    existing_fields = set(session.scalars(select(Field.code)))
    for order, spec in enumerate(FIELDS, start=1):
        if spec.code in existing_fields:
            continue
        session.add(
            Field(
                code=spec.code,
                name=spec.name,
                default_unit=units[spec.unit],
                sort_order=order * 10,
            )
        )
    session.flush()


def seed_demo(session: Session) -> list[DemoAccount]:
    """Create the reference data and one staff account per role; return their credentials."""
    seed_reference_data(session)
    existing = set(session.scalars(select(Staff.username)))
    for account in ACCOUNTS:
        if account.username not in existing:
            create_staff(
                session,
                account.username,
                account.full_name,
                account.unit_code,
                [account.roles],
                account.password,
            )
    return list(ACCOUNTS)

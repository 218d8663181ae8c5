"""Staff accounts: the create-staff CLI, validation, authentication, the login throttle, access rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from cases.access import (
    can_see_contact,
    contact_for,
    mask_address,
    mask_email,
    mask_name,
    visible_cases_filter,
)
from cases.demo import seed_reference_data
from cases.staff import StaffError, authenticate, create_staff
from models import Case, CaseKind, Field, Staff, Unit

PASSWORD = "mat-khau-du-dai"


@pytest.fixture
def cli(app, runner):
    """The CLI runner inside an app context, which `flask` itself pushes but `app.cli` does not."""
    with app.app_context():
        yield runner


@pytest.fixture
def reference(session):
    """The demo units and fields, committed."""
    seed_reference_data(session)
    session.commit()
    return session


def create_staff_args(**overrides: str) -> list[str]:
    options = {
        "--username": "nguyen.van.a",
        "--full-name": "Nguyễn Văn A",
        "--unit": "SXD",
        "--roles": "handler,leader",
        "--password": PASSWORD,
    }
    options.update(overrides)
    return ["create-staff", *[item for pair in options.items() for item in pair]]


def test_create_staff_cli_creates_account(reference, cli):
    result = cli.invoke(args=create_staff_args())

    assert result.exit_code == 0, result.output
    assert "nguyen.van.a" in result.output
    staff = reference.scalars(select(Staff).where(Staff.username == "nguyen.van.a")).one()
    assert staff.full_name == "Nguyễn Văn A"
    assert staff.unit.code == "SXD"
    assert staff.role_set == {"handler", "leader"}
    assert staff.password_hash != PASSWORD
    assert authenticate(reference, "nguyen.van.a", PASSWORD) is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"--unit": "NO-SUCH-UNIT"}, "Unknown unit code 'NO-SUCH-UNIT'"),
        ({"--roles": "handler,boss"}, "Unknown role(s) boss"),
        ({"--password": "short"}, "at least 10 "),
        ({"--password": "x" * 257}, "at most 256 characters"),
        ({"--username": "Ab"}, "Invalid username"),
    ],
)
def test_create_staff_cli_refuses_bad_input(reference, cli, overrides, message):
    result = cli.invoke(args=create_staff_args(**overrides))

    assert result.exit_code != 0
    assert message in result.output
    assert reference.scalars(select(Staff)).first() is None


def test_create_staff_validates_roles_and_names(reference):
    with pytest.raises(StaffError, match="at least one role"):
        create_staff(reference, "valid.name", "Tên", "SXD", [" ", ""], PASSWORD)
    with pytest.raises(StaffError, match="Invalid username"):
        create_staff(reference, "có.dấu", "Tên", "SXD", ["handler"], PASSWORD)
    with pytest.raises(StaffError, match="Invalid username"):
        create_staff(reference, "x" * 81, "Tên", "SXD", ["handler"], PASSWORD)
    with pytest.raises(StaffError, match="full name"):
        create_staff(reference, "valid.name", "  ", "SXD", ["handler"], PASSWORD)


def test_create_staff_normalises_roles_and_refuses_duplicates(reference):
    staff = create_staff(
        reference, "a.b-c_9", "Tên", "SXD", ["leader", " handler", "leader"], PASSWORD
    )
    assert staff.roles == "handler,leader"

    with pytest.raises(StaffError, match="already exists"):
        create_staff(reference, "a.b-c_9", "Khác", "SYT", ["handler"], PASSWORD)


def test_authenticate(reference):
    staff = create_staff(reference, "canbo", "Cán bộ", "SXD", ["handler"], PASSWORD)

    assert authenticate(reference, "canbo", PASSWORD) is staff
    assert authenticate(reference, "canbo", PASSWORD + "x") is None
    assert authenticate(reference, "nobody", PASSWORD) is None
    assert authenticate(reference, "canbo", "x" * 10_000) is None

    staff.active = False
    assert authenticate(reference, "canbo", PASSWORD) is None


def test_masking():
    assert mask_name("Nguyễn Văn An") == "Ng**** V** A*"
    assert mask_email("an.nguyen@example.vn") == "a***@example.vn"
    assert mask_email("not-an-email") == "***"
    assert mask_address("Số 1 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm") == "***, Quận Hoàn Kiếm"
    assert mask_address("Số 1 Hàng Bạc") == "***"


def test_visibility_and_contact_rules(reference):
    handler = create_staff(reference, "handler", "Cán bộ", "SXD", ["handler"], PASSWORD)
    coordinator = create_staff(reference, "coord", "Đầu mối", "VP-UBND", ["coordinator"], PASSWORD)
    nobody = Staff(
        username="x", full_name="x", password_hash="x", unit_id=handler.unit_id, roles=""
    )
    units = {unit.code: unit.id for unit in reference.scalars(select(Unit))}
    field_id = reference.scalars(select(Field.id).where(Field.code == "XAY-DUNG")).one()
    for number, unit in enumerate(("SXD", "SYT"), start=1):
        reference.add(
            Case(
                code=f"PAKN.20261127.{number:04d}",
                kind=CaseKind.FEEDBACK,
                field_id=field_id,
                unit_id=units[unit],
                title="Tiêu đề",
                content="Nội dung",
                contact_name="Nguyễn Văn An",
                contact_phone="0912345678",
                received_at=datetime(2026, 11, 27, 1, 0, tzinfo=UTC),
                answer_due_on=date(2026, 12, 17),
            )
        )
    reference.flush()

    def visible(staff: Staff) -> list[str]:
        query = select(Case.code).where(visible_cases_filter(staff)).order_by(Case.code)
        return list(reference.scalars(query))

    assert visible(handler) == ["PAKN.20261127.0001"]
    assert visible(coordinator) == ["PAKN.20261127.0001", "PAKN.20261127.0002"]
    assert visible(nobody) == []
    assert not can_see_contact(handler)
    case = reference.scalars(select(Case).where(Case.code == "PAKN.20261127.0001")).one()
    assert contact_for(handler, case).phone == "09******78"
    assert contact_for(handler, case).masked
    assert contact_for(coordinator, case).phone == "0912345678"
    assert contact_for(coordinator, case).name == "Nguyễn Văn An"

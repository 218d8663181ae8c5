"""The demo seed: idempotent, a realistic unit tree, fields with receiving units, one account per role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases.demo import seed_demo, seed_reference_data
from cases.staff import authenticate
from models import Field, Staff, Unit


@pytest.fixture
def cli(app, runner):
    """The CLI runner inside an app context, which `flask` itself pushes but `app.cli` does not."""
    with app.app_context():
        yield runner


def row_counts(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) for model in (Unit, Field, Staff)
    )


def test_seed_demo_is_idempotent(session):
    first = seed_demo(session)
    session.commit()
    counts = row_counts(session)
    hashes = dict(session.execute(select(Staff.username, Staff.password_hash)).all())

    second = seed_demo(session)
    session.commit()

    assert second == first
    assert row_counts(session) == counts == (10, 9, 4)
    assert dict(session.execute(select(Staff.username, Staff.password_hash)).all()) == hashes


def test_seed_demo_builds_the_unit_tree_and_fields(session):
    seed_demo(session)
    session.commit()
    units = {unit.code: unit for unit in session.scalars(select(Unit))}

    root = units["VP-UBND"]
    assert root.name == "Văn phòng UBND thành phố"
    assert root.is_coordinator and root.parent is None
    for code in ("SXD", "STNMT", "SGTVT", "SYT", "SGDDT", "Q-HK", "Q-BD"):
        assert units[code].parent is root
        assert not units[code].is_coordinator
    assert units["P-HB"].parent is units["Q-HK"]
    assert units["P-DB"].parent is units["Q-BD"]
    assert units["P-DB"].name == "Phường Điện Biên"

    fields = list(session.scalars(select(Field).order_by(Field.sort_order)))
    assert [f.code for f in fields] == [
        "DAT-DAI", "XAY-DUNG", "GIAO-THONG", "MOI-TRUONG", "Y-TE",
        "GIAO-DUC", "HO-TICH", "THU-TUC", "KHAC",
    ]  # fmt: skip
    receiving = {f.code: f.default_unit.code for f in fields}
    assert receiving["XAY-DUNG"] == "SXD"
    assert receiving["DAT-DAI"] == receiving["MOI-TRUONG"] == "STNMT"
    assert receiving["KHAC"] == "VP-UBND"
    assert fields[1].name == "Xây dựng, trật tự đô thị"


def test_seed_demo_accounts_log_in_with_their_roles(session):
    accounts = seed_demo(session)
    session.commit()

    assert {a.username: a.roles for a in accounts} == {
        "admin": "admin",
        "dieuphoi": "coordinator",
        "canbo.sxd": "handler",
        "lanhdao.sxd": "leader",
    }
    for account in accounts:
        staff = authenticate(session, account.username, account.password)
        assert staff is not None
        assert staff.role_set == {account.roles}
        assert staff.unit.code == account.unit_code


def test_seed_reference_data_creates_no_staff(session):
    assert seed_reference_data(session) is None
    seed_reference_data(session)
    session.commit()

    assert row_counts(session) == (10, 9, 0)


def test_seed_demo_cli_prints_credentials(cli, session):
    result = cli.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "dieuphoi" in result.output
    assert "demo-coordinator-2026" in result.output

    again = cli.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert row_counts(session) == (10, 9, 4)

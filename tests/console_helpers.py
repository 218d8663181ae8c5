"""Helpers for console tests: demo accounts, a fake clock, a case factory, login and page fetches.

Test modules import the fixtures they use (`clock`, `demo`, `make_case`) from here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from cases.demo import seed_demo
from handlers.console import console_state
from models import Case, CaseKind, Field, Unit

ACCOUNTS = {
    "handler": ("canbo.sxd", "demo-handler-2026"),
    "leader": ("lanhdao.sxd", "demo-leader-2026"),
    "coordinator": ("dieuphoi", "demo-coordinator-2026"),
    "admin": ("admin", "demo-admin-2026"),
}
XSS = "<script>alert(1)</script>"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app) -> FakeClock:
    """Replace the console's clock (login lifetime, throttle, overdue) with a fake one."""
    fake = FakeClock(datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    console_state(app).clock = fake
    return fake


@pytest.fixture
def demo(session):
    """The demo units, fields and accounts, committed."""
    seed_demo(session)
    session.commit()
    return session


class CaseFactory:
    """Creates committed cases with sensible defaults; codes follow PAKN.YYYYMMDD.NNNN."""

    def __init__(self, session) -> None:
        self.session = session
        self.seq = count(1)

    def create(self, unit: str = "SXD", field: str = "XAY-DUNG", **values) -> Case:
        """Create and commit a case; return it."""
        number = next(self.seq)
        unit_id = self.session.scalars(select(Unit.id).where(Unit.code == unit)).one()
        field_id = self.session.scalars(select(Field.id).where(Field.code == field)).one()
        defaults = {
            "code": f"PAKN.20261127.{number:04d}",
            "kind": CaseKind.FEEDBACK,
            "title": f"Phản ánh số {number}",
            "content": "Công trình xây dựng lấn chiếm vỉa hè.",
            "contact_name": "Nguyễn Văn An",
            "contact_phone": "0912345678",
            "contact_address": "Số 1 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm",
            "contact_email": "an.nguyen@example.vn",
            "received_at": datetime(2026, 11, 27, 1, 30, tzinfo=UTC) + timedelta(minutes=number),
            "answer_due_on": date(2026, 12, 17),
        }
        defaults.update(values)
        case = Case(field_id=field_id, unit_id=unit_id, **defaults)
        self.session.add(case)
        self.session.commit()
        return case

    def __call__(self, unit: str = "SXD", field: str = "XAY-DUNG", **values) -> str:
        """Create and commit a case; return its code."""
        return self.create(unit, field, **values).code


@pytest.fixture
def make_case(demo) -> CaseFactory:
    return CaseFactory(demo)


def csrf_from(client, path: str = "/admin/login") -> str:
    """Return the CSRF token rendered into the form at `path`."""
    match = CSRF_INPUT.search(client.get(path).get_data(as_text=True))
    assert match, "no CSRF field in the form"
    return match.group(1)


def login(client, role: str = "handler", password: str | None = None, **extra: str):
    """Log in as the demo account of `role`; return the response."""
    username, right_password = ACCOUNTS[role]
    data = {
        "username": username,
        "password": password or right_password,
        "csrf_token": csrf_from(client),
        **extra,
    }
    return client.post("/admin/login", data=data)


def logout(client) -> None:
    """Log out of the console."""
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/")})


def page(client, path: str) -> str:
    """GET `path`, check it answered 200 and return its HTML."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)

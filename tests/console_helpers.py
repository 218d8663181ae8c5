"""Helpers for console tests: demo accounts, a fake clock, a case factory, login and page fetches.

Test modules import the fixtures they use (`clock`, `demo`, `make_case`, `citizen`,
`other_handler`) from here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from cases.demo import seed_demo
from cases.staff import create_staff
from handlers.console import console_state
from models import Case, CaseKind, Citizen, Field, Staff, Unit
from tests.delivery_helpers import make_citizen

ACCOUNTS = {
    "handler": ("canbo.sxd", "demo-handler-2026"),
    "leader": ("lanhdao.sxd", "demo-leader-2026"),
    "coordinator": ("dieuphoi", "demo-coordinator-2026"),
    "admin": ("admin", "demo-admin-2026"),
    "other_handler": ("canbo.stnmt", "mat-khau-stnmt-2026"),  # see the `other_handler` fixture
}
XSS = "<script>alert(1)</script>"
CITIZEN_ZALO_ID = "2468458835291979220"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
ACTION_FORM = re.compile(r'action="/admin/cases/[^"/]+/actions/([a-z_]+)"')


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


@pytest.fixture
def citizen(demo) -> Citizen:
    """A citizen who wrote to the OA just now (so messages to them go out at once)."""
    return make_citizen(demo, CITIZEN_ZALO_ID)


@pytest.fixture
def other_handler(demo) -> Staff:
    """A handler of another unit (Sở Tài nguyên và Môi trường), committed."""
    username, password = ACCOUNTS["other_handler"]
    staff = create_staff(demo, username, "Cán bộ Môi trường", "STNMT", ["handler"], password)
    demo.commit()
    return staff


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


def action_url(code: str, name: str) -> str:
    """The console URL taking action `name` on the case `code`."""
    return f"/admin/cases/{code}/actions/{name}"


def post_action(client, code: str, name: str, data: dict | None = None, **kwargs):
    """POST an action form of the case page with this session's CSRF token."""
    form = {"csrf_token": csrf_from(client, f"/admin/cases/{code}"), **(data or {})}
    return client.post(action_url(code, name), data=form, **kwargs)


def action_forms(html: str) -> set[str]:
    """The names of the action forms on a case page."""
    return set(ACTION_FORM.findall(html))

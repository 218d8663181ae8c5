"""Urging a late unit from the coordinators' figures (`/admin/figures/units/<id>/urge`).

As of Friday 27/11/2026 10:00 in Hà Nội (the console clock), Sở Xây dựng has two overdue cases
(and one due later, one overdue but paused while the citizen is asked for information); Sở Tài
nguyên và Môi trường has one. Its handler (canbo.sxd) and another unit's handler linked their
Zalo account, as did the coordinator; its leader did not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from cases.urging import NOTICE_KIND, URGED_ACTION
from models import Case, CaseEvent, CaseStatus, MessageKind, OutboxMessage, Staff, StaffNotice, Unit
from tests import console_helpers
from tests.console_helpers import csrf_from, login, logout, page
from tests.delivery_helpers import make_citizen

demo = console_helpers.demo
clock = console_helpers.clock
make_case = console_helpers.make_case
other_handler = console_helpers.other_handler

HANDLER_ZALO = "9000000000000000001"
OTHER_ZALO = "9000000000000000002"
COORDINATOR_ZALO = "9000000000000000003"
MESSAGE = "Đề nghị Sở Xây dựng trả lời ngay các PAKN quá hạn và báo cáo trước 16 giờ hôm nay."
TITLE = "Đôn đốc: Sở Xây dựng có 2 PAKN quá hạn trả lời"


@dataclass
class Org:
    """The units' ids and the cases of the scenario."""

    sxd: int
    stnmt: int
    overdue: list[Case]  # SXD's, the latest first
    due_later: Case
    paused: Case
    other_overdue: Case  # STNMT's


def staff(session, username: str) -> Staff:
    return session.scalars(select(Staff).where(Staff.username == username)).one()


def unit_id(session, code: str) -> int:
    return session.scalars(select(Unit.id).where(Unit.code == code)).one()


@pytest.fixture
def org(demo, make_case, clock, other_handler, zalo) -> Org:
    processing = CaseStatus.PROCESSING
    overdue = [
        make_case.create(answer_due_on=date(2026, 11, 20), status=processing),
        make_case.create(answer_due_on=date(2026, 11, 25), status=processing),
    ]
    due_later = make_case.create(answer_due_on=date(2026, 12, 17), status=processing)
    paused = make_case.create(
        answer_due_on=date(2026, 11, 24),
        status=CaseStatus.AWAITING_INFO,
        paused_at=datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
    )
    other = make_case.create("STNMT", "DAT-DAI", answer_due_on=date(2026, 11, 2), status=processing)
    for username, zalo_id in (
        ("canbo.sxd", HANDLER_ZALO),
        ("canbo.stnmt", OTHER_ZALO),
        ("dieuphoi", COORDINATOR_ZALO),
    ):
        citizen = make_citizen(demo, zalo_id)
        staff(demo, username).zalo_citizen_id = citizen.id
    demo.commit()
    return Org(unit_id(demo, "SXD"), unit_id(demo, "STNMT"), overdue, due_later, paused, other)


def url(unit: int) -> str:
    return f"/admin/figures/units/{unit}/urge"


def urge(client, unit: int, message: str = MESSAGE, token: str | None = None):
    token = token if token is not None else csrf_from(client, "/admin/figures")
    return client.post(url(unit), data={"message": message, "csrf_token": token})


def notices(session) -> list[tuple[str, int | None, str]]:
    session.expire_all()
    rows = session.scalars(
        select(StaffNotice).where(StaffNotice.kind == NOTICE_KIND).order_by(StaffNotice.id)
    )
    return [(row.role, row.unit_id, row.title) for row in rows]


def urged_events(session) -> list[CaseEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.action == URGED_ACTION).order_by(CaseEvent.id)
        )
    )


def reminders(session) -> list[int]:
    """The Zalo citizen ids of the staff reminders queued."""
    session.expire_all()
    rows = session.scalars(
        select(OutboxMessage.citizen_id).where(OutboxMessage.kind == MessageKind.REMINDER)
    )
    return list(rows)


def assert_nothing_recorded(session) -> None:
    assert notices(session) == []
    assert urged_events(session) == []
    assert reminders(session) == []


# --- the form -----------------------------------------------------------------------------------
def test_the_form_lists_the_overdue_cases_and_starts_with_a_default_message(client, org):
    login(client, "coordinator")

    text = page(client, url(org.sxd))

    assert [case.code for case in org.overdue] == re.findall(
        r'data-label="Mã PAKN"><a href="/admin/cases/[^"]+">([^<]+)</a>', text
    )
    assert "PAKN quá hạn trả lời (2)" in text
    assert "Sở Xây dựng hiện có 2 PAKN đã quá hạn trả lời. Đề nghị lãnh đạo đơn vị" in text
    assert "Gửi tới 2 cán bộ xử lý và lãnh đạo của đơn vị" in text
    assert "qua Zalo cho 1 người đã liên kết tài khoản Zalo" in text


def test_the_figures_link_each_late_unit_to_its_urge_form(client, org):
    login(client, "coordinator")

    text = page(client, "/admin/figures")

    assert f'href="{url(org.sxd)}">Đôn đốc</a>' in text
    assert f'href="{url(org.stnmt)}">Đôn đốc</a>' in text
    assert text.count(">Đôn đốc</a>") == 2  # units without an overdue case have no link
    assert "Đôn đốc lần cuối" not in text


# --- urging -------------------------------------------------------------------------------------
def test_urging_tells_exactly_the_units_staff(client, demo, org, zalo):
    login(client, "coordinator")

    response = urge(client, org.sxd)

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/figures"
    assert notices(demo) == [("handler", org.sxd, TITLE), ("leader", org.sxd, TITLE)]
    figures = page(client, "/admin/figures")
    assert "Đã đôn đốc Sở Xây dựng: 2 PAKN quá hạn, thông báo tới 2 cán bộ" in figures
    assert "(1 người nhận qua Zalo)" in figures
    logout(client)
    for role in ("handler", "leader"):
        login(client, role)
        assert TITLE in page(client, "/admin/"), role
        logout(client)
    for role in ("other_handler", "coordinator"):
        login(client, role)
        assert TITLE not in page(client, "/admin/"), role
        logout(client)


def test_the_zalo_message_goes_to_the_units_linked_staff_only(client, demo, org, zalo):
    login(client, "coordinator")

    urge(client, org.sxd)

    handler = staff(demo, "canbo.sxd")
    assert reminders(demo) == [handler.zalo_citizen_id]
    assert [body["recipient"]["user_id"] for body in zalo.sent] == [HANDLER_ZALO]
    [text] = zalo.texts(HANDLER_ZALO)
    assert text.startswith(f"Nhắc việc: {TITLE}\n{MESSAGE}")
    for case in org.overdue:
        assert case.code in text
    assert org.due_later.code not in text and org.other_overdue.code not in text
    assert "Người đôn đốc: Trần Thị Mai, cán bộ đầu mối." in text


def test_each_overdue_case_of_the_unit_records_the_urge(client, demo, org, zalo):
    login(client, "coordinator")

    urge(client, org.sxd)

    events = urged_events(demo)
    assert sorted(event.case_id for event in events) == sorted(case.id for case in org.overdue)
    coordinator = staff(demo, "dieuphoi")
    for event in events:
        assert (event.staff_id, event.actor, event.note) == (
            coordinator.id,
            f"staff:{coordinator.id}",
            MESSAGE,
        )
        assert not event.visible_to_citizen
        assert event.at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    timeline = page(client, f"/admin/cases/{org.overdue[0].code}")
    assert re.search(
        r'<strong>Đã đôn đốc đơn vị</strong>\s*<span class="actor">Trần Thị Mai</span>\s*'
        r'<span class="internal">Nội bộ</span>',
        timeline,
    )
    assert MESSAGE in timeline
    # The citizen's public timeline does not show it.
    lookup = client.get("/tra-cuu", query_string={"ma": org.overdue[0].code})
    assert "đôn đốc" not in lookup.get_data(as_text=True).lower()


def test_the_figures_show_when_each_unit_was_last_urged(client, demo, org, zalo, clock):
    login(client, "coordinator")
    urge(client, org.sxd)

    text = page(client, "/admin/figures")

    row = re.search(r"Sở Xây dựng</a></td>(.*?)</tr>", text, re.S).group(1)
    assert "Đôn đốc lần cuối: 27/11/2026 10:00" in row
    other_row = re.search(r"Sở Tài nguyên và Môi trường</a></td>(.*?)</tr>", text, re.S).group(1)
    assert "Đôn đốc lần cuối" not in other_row
    assert "Đôn đốc lần cuối: 27/11/2026 10:00" in page(client, url(org.sxd))


def test_a_second_urge_within_ten_minutes_is_refused(client, demo, org, zalo, clock):
    login(client, "coordinator")
    urge(client, org.sxd)
    clock.advance(minutes=9, seconds=59)

    response = urge(client, org.sxd, "Nhắc lại lần nữa: đề nghị trả lời ngay.")

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Sở Xây dựng vừa được đôn đốc lúc 27/11/2026 10:00" in text
    assert "chỉ đôn đốc lại sau 10 phút" in text
    assert "Nhắc lại lần nữa: đề nghị trả lời ngay.</textarea>" in text  # kept as typed
    assert len(notices(demo)) == 2 and len(urged_events(demo)) == 2
    assert len(zalo.sent) == 1
    # Another unit is not held back, and the same unit may be urged again later.
    assert urge(client, org.stnmt).status_code == 302
    clock.advance(seconds=1)
    assert urge(client, org.sxd).status_code == 302
    assert len(notices(demo)) == 6 and len(urged_events(demo)) == 5


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", "Vui lòng nhập nội dung đôn đốc (tối thiểu 10 ký tự)."),
        ("   \r\n  ", "Vui lòng nhập nội dung đôn đốc (tối thiểu 10 ký tự)."),
        ("x" * 1001, "Nội dung đôn đốc tối đa 1000 ký tự (hiện có 1001 ký tự)."),
    ],
)
def test_an_unusable_message_is_refused(client, demo, org, message, error):
    login(client, "coordinator")

    response = urge(client, org.sxd, message)

    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert_nothing_recorded(demo)


def test_a_unit_without_overdue_cases_is_not_urged(client, demo, org):
    login(client, "coordinator")
    sgtvt = unit_id(demo, "SGTVT")

    response = urge(client, sgtvt)

    assert response.status_code == 409
    assert "hiện không có PAKN quá hạn trả lời nên không cần đôn đốc" in response.get_data(
        as_text=True
    )
    assert 'name="message"' not in page(client, url(sgtvt))
    assert_nothing_recorded(demo)


def test_the_form_needs_the_csrf_token(client, demo, org):
    login(client, "coordinator")

    for token in ("", "wrong"):
        assert urge(client, org.sxd, token=token).status_code == 400

    assert_nothing_recorded(demo)


@pytest.mark.parametrize("role", ["handler", "leader", "admin"])
def test_only_coordinators_may_urge(client, demo, org, role):
    login(client, role)

    assert client.get(url(org.sxd)).status_code == 403
    assert urge(client, org.sxd, token=csrf_from(client, "/admin/me")).status_code == 403
    assert_nothing_recorded(demo)


def test_anonymous_visitors_and_unknown_units(client, demo, org):
    response = client.get(url(org.sxd))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")

    login(client, "coordinator")
    assert client.get(url(999_999)).status_code == 404
    assert urge(client, 999_999).status_code == 404

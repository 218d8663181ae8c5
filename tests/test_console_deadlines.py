"""Deadline policies and the working calendar under /admin: access, CSRF, validation with 422,
the audit log, and that changes reach new cases only (policies) or the computed dates (calendar)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from cases import deadlines
from models import CalendarException, DeadlinePolicy, Field, Staff
from tests import console_helpers
from tests.console_helpers import csrf_from, login, page
from tests.factories import make_case

demo = console_helpers.demo
clock = console_helpers.clock

PAGES = ["/admin/deadlines", "/admin/deadlines/default", "/admin/calendar"]
POLICY = {
    "classify_working_days": "3",
    "answer_days": "30",
    "answer_in_working_days": "1",
    "progress_every_days": "5",
    "publish_working_days": "2",
    "urgent_takeup_hours": "8",
    "urgent_handle_hours": "4",
}


def post(client, path: str, data: dict):
    """POST an admin form with this session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_from(client, "/admin/deadlines"), **data})


def error_next_to(html: str, name: str) -> str:
    """The error message rendered next to the field `name`."""
    match = re.search(rf'<span class="field-error" id="f-{name}-error">([^<]+)</span>', html)
    assert match, f"no error next to {name}"
    return match.group(1)


def field(session, code: str) -> Field:
    return session.scalars(select(Field).where(Field.code == code)).one()


def policies(session) -> dict[int | None, DeadlinePolicy]:
    session.expire_all()
    return {row.field_id: row for row in session.scalars(select(DeadlinePolicy))}


def exceptions(session) -> dict[date, CalendarException]:
    session.expire_all()
    return {row.day: row for row in session.scalars(select(CalendarException))}


def submit(session, field_code: str, received: datetime):
    """Register a case of the field through the domain intake; return it, committed."""
    return make_case(session, field=field_code, seed=False, received_at=received)


@pytest.fixture
def admin(client, demo, clock):
    login(client, "admin")
    return client


# Access


@pytest.mark.parametrize("role", ["handler", "coordinator"])
def test_pages_are_403_for_other_roles(client, demo, role):
    login(client, role)
    token = csrf_from(client, "/admin/")
    item = field(demo, "DAT-DAI")

    for path in [*PAGES, f"/admin/deadlines/fields/{item.id}"]:
        assert client.get(path).status_code == 403
    refused = client.post(
        f"/admin/deadlines/fields/{item.id}", data={"csrf_token": token, **POLICY}
    )
    assert refused.status_code == 403
    day = {"csrf_token": token, "kind": "off", "day": "2026-12-07"}
    assert client.post("/admin/calendar", data=day).status_code == 403
    assert policies(demo) == {} and exceptions(demo) == {}


def test_pages_require_login(client, demo):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")


def test_admins_see_the_menu_and_pages(admin):
    html = page(admin, "/admin/units")

    assert 'href="/admin/deadlines"' in html and 'href="/admin/calendar"' in html
    for path in PAGES:
        page(admin, path)


def test_every_post_requires_the_csrf_token(admin, demo):
    item = field(demo, "DAT-DAI")
    demo.add(DeadlinePolicy(field_id=item.id))
    demo.add(CalendarException(day=date(2026, 12, 7), working=False, note=""))
    demo.commit()

    posts = [
        ("/admin/deadlines/default", POLICY),
        (f"/admin/deadlines/fields/{item.id}", POLICY),
        (f"/admin/deadlines/fields/{item.id}/delete", {}),
        ("/admin/calendar", {"kind": "off", "day": "2026-12-08"}),
        ("/admin/calendar/2026-12-07/delete", {}),
    ]
    for path, data in posts:
        for token in ({}, {"csrf_token": "wrong"}):
            assert admin.post(path, data={**data, **token}).status_code == 400
    assert set(policies(demo)) == {item.id}
    assert policies(demo)[item.id].answer_days == 20
    assert set(exceptions(demo)) == {date(2026, 12, 7)}


# Deadline policies


def test_list_shows_default_and_fields_following_it(admin, demo):
    html = page(admin, "/admin/deadlines")

    assert "Thay đổi chỉ áp dụng cho PAKN tiếp nhận sau thời điểm lưu." in html
    assert html.count("theo mặc định") == demo.scalar(select(func.count()).select_from(Field))


def test_create_field_policy_is_audited(admin, demo, clock, caplog):
    item = field(demo, "DAT-DAI")
    caplog.set_level(logging.INFO, logger="handlers")
    staff_id = demo.scalars(select(Staff.id).where(Staff.username == "admin")).one()

    response = post(admin, f"/admin/deadlines/fields/{item.id}", POLICY)

    assert response.status_code == 302 and response.headers["Location"] == "/admin/deadlines"
    row = policies(demo)[item.id]
    assert (row.classify_working_days, row.answer_days, row.answer_in_working_days) == (3, 30, True)
    assert row.updated_by_id == staff_id
    assert row.updated_at.replace(tzinfo=UTC) == clock.now
    line = next(r.getMessage() for r in caplog.records if "deadline policy changed" in r.message)
    assert f"staff_id={staff_id}" in line and "field=DAT-DAI" in line
    assert "answer_days=20→30" in line and "classify_working_days=5→3" in line
    assert "urgent_takeup_hours" not in line  # unchanged values are not listed
    html = page(admin, "/admin/deadlines")
    assert "30 ngày làm việc" in html


def test_edit_default_policy(admin, demo):
    response = post(admin, "/admin/deadlines/default", {**POLICY, "answer_days": "15"})

    assert response.status_code == 302
    assert policies(demo)[None].answer_days == 15
    html = page(admin, "/admin/deadlines/default")
    assert 'name="answer_days" type="number" value="15"' in html


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("answer_days", "0"),
        ("answer_days", "-3"),
        ("answer_days", "2.5"),
        ("answer_days", "mười"),
        ("answer_days", "181"),
        ("classify_working_days", ""),
        ("urgent_handle_hours", "9999"),
    ],
)
def test_policy_validation_is_422_and_saves_nothing(admin, demo, name, value):
    item = field(demo, "DAT-DAI")

    response = post(admin, f"/admin/deadlines/fields/{item.id}", {**POLICY, name: value})

    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), name).startswith("Nhập số nguyên từ 1")
    assert policies(demo) == {}


def test_form_redisplay_escapes_input(admin, demo):
    response = post(admin, "/admin/deadlines/default", {**POLICY, "answer_days": "<b>x</b>"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_delete_field_policy_falls_back_to_default(admin, demo, caplog):
    item = field(demo, "DAT-DAI")
    post(admin, f"/admin/deadlines/fields/{item.id}", POLICY)
    caplog.set_level(logging.INFO, logger="handlers")

    response = post(admin, f"/admin/deadlines/fields/{item.id}/delete", {})

    assert response.status_code == 302
    assert item.id not in policies(demo)
    assert any("deadline policy changed" in r.getMessage() for r in caplog.records)
    assert deadlines.policy_for(demo, item.id) == deadlines.Policy()
    assert post(admin, f"/admin/deadlines/fields/{item.id}/delete", {}).status_code == 404


def test_unknown_field_is_404(admin):
    assert admin.get("/admin/deadlines/fields/999999").status_code == 404


def test_new_cases_use_the_new_policy_older_cases_keep_theirs(admin, demo):
    received = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday
    older = submit(demo, "DAT-DAI", received)

    post(admin, f"/admin/deadlines/fields/{field(demo, 'DAT-DAI').id}", POLICY)
    newer = submit(demo, "DAT-DAI", received)

    demo.expire_all()
    assert older.deadline_policy["answer_days"] == 20 and older.answer_due_on == date(2026, 12, 17)
    assert older.classify_due_on == date(2026, 12, 4)
    assert newer.deadline_policy["answer_days"] == 30
    assert newer.deadline_policy["answer_in_working_days"] is True
    assert newer.classify_due_on == date(2026, 12, 2)
    # 30 working days from Fri 27/11/2026: 1/1/2027 is a holiday.
    assert newer.answer_due_on == date(2027, 1, 11)


# Calendar


def test_calendar_lists_the_year_and_public_holidays(admin, demo):
    demo.add(CalendarException(day=date(2027, 1, 4), working=False, note="Nghỉ bù <Tết>"))
    demo.add(CalendarException(day=date(2026, 12, 5), working=True, note="Làm bù"))
    demo.commit()

    html = page(admin, "/admin/calendar?year=2027")

    assert "04/01/2027" in html and "Nghỉ bù &lt;Tết&gt;" in html
    assert "05/12/2026" not in html
    assert "Tết Nguyên Đán" in html and "Tết Dương lịch" in html
    assert "Quốc khánh" in page(admin, "/admin/calendar?year=2026")
    assert "Thứ Bảy, 05/12/2026" in page(admin, "/admin/calendar?year=2026")


def test_add_and_delete_calendar_days(admin, demo, caplog):
    caplog.set_level(logging.INFO, logger="handlers")

    off = post(admin, "/admin/calendar", {"kind": "off", "day": "2026-12-07", "note": "Nghỉ thêm"})
    work = post(admin, "/admin/calendar", {"kind": "working", "day": "05/12/2026", "note": ""})

    assert off.status_code == 302 and off.headers["Location"] == "/admin/calendar?year=2026"
    assert work.status_code == 302
    rows = exceptions(demo)
    assert (rows[date(2026, 12, 7)].working, rows[date(2026, 12, 7)].note) == (False, "Nghỉ thêm")
    assert rows[date(2026, 12, 5)].working is True
    assert any("calendar day added" in r.getMessage() for r in caplog.records)

    assert post(admin, "/admin/calendar/2026-12-07/delete", {}).status_code == 302
    assert set(exceptions(demo)) == {date(2026, 12, 5)}
    assert post(admin, "/admin/calendar/2026-12-07/delete", {}).status_code == 404
    assert post(admin, "/admin/calendar/not-a-day/delete", {}).status_code == 404


@pytest.mark.parametrize(
    ("kind", "day", "message"),
    [
        ("working", "2026-12-07", "Ngày này vốn đã là ngày làm việc."),  # a Monday
        ("off", "2026-12-05", "Thứ Bảy, Chủ nhật vốn đã là ngày nghỉ."),  # a Saturday
        ("off", "2026-09-02", "Ngày này đã là ngày nghỉ lễ."),  # Quốc khánh
        ("off", "2026-12-03", "Ngày này đã có trong danh sách."),  # duplicate
        ("working", "2026-12-03", "Ngày này đã có trong danh sách."),
        ("off", "31/02/2026", "Ngày không hợp lệ (dd/mm/yyyy)."),
        ("off", "", "Ngày không hợp lệ (dd/mm/yyyy)."),
    ],
)
def test_calendar_refusals_are_422(admin, demo, kind, day, message):
    demo.add(CalendarException(day=date(2026, 12, 3), working=False, note="Có sẵn"))
    demo.commit()

    response = post(admin, "/admin/calendar", {"kind": kind, "day": day})

    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "day") == message
    assert set(exceptions(demo)) == {date(2026, 12, 3)}


def test_calendar_kind_is_required(admin, demo):
    response = post(admin, "/admin/calendar", {"kind": "holiday", "day": "2026-12-07"})

    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "kind") == "Vui lòng chọn loại ngày."
    assert exceptions(demo) == {}


def test_make_up_saturday_moves_a_computed_due_date(admin, demo):
    friday = date(2026, 12, 4)
    assert deadlines.load_calendar(demo).add_working_days(friday, 1) == date(2026, 12, 7)

    post(admin, "/admin/calendar", {"kind": "working", "day": "2026-12-05"})

    demo.expire_all()
    assert deadlines.load_calendar(demo).add_working_days(friday, 1) == date(2026, 12, 5)

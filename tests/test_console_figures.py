"""The coordinators' per-unit figures and each staff member's own page (linking their Zalo)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from models import CaseStatus, Staff, Unit
from tests import console_helpers
from tests.console_helpers import csrf_from, login, page

demo = console_helpers.demo
clock = console_helpers.clock
make_case = console_helpers.make_case
citizen = console_helpers.citizen

ROW = re.compile(
    r"<tr>\s*<td data-label=\"Đơn vị\"><a href=\"([^\"]+)\">([^<]+)</a></td>(.*?)</tr>", re.S
)
CELL = re.compile(r"<td data-label=\"[^\"]+\">([^<]*)</td>")
LINK_CODE = re.compile(r'<strong class="link-code">(CB-\d{6})</strong>')


def unit_id(session, code: str) -> int:
    return session.scalars(select(Unit.id).where(Unit.code == code)).one()


def table(html: str) -> list[tuple[str, str, list[str]]]:
    """The figures table as (link, unit name, cells) rows."""
    return [(link, name, CELL.findall(cells)) for link, name, cells in ROW.findall(html)]


def totals(html: str) -> list[str]:
    """The cells of the totals row."""
    row = re.search(r'<tr class="totals">(.*?)</tr>', html, re.S).group(1)
    return CELL.findall(row)


@pytest.fixture
def late_and_answered(make_case, clock):
    """Cases as of 27/11/2026: SXD 1 late, 1 open, 1 answered on time, 1 late; STNMT 2 late."""
    answered = CaseStatus.ANSWERED
    make_case(answer_due_on=date(2026, 11, 20), status=CaseStatus.PROCESSING)
    make_case(answer_due_on=date(2026, 12, 17), status=CaseStatus.PROCESSING)
    make_case(
        answer_due_on=date(2026, 11, 25),
        status=answered,
        answered_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )
    make_case(
        answer_due_on=date(2026, 11, 25),
        status=answered,
        answered_at=datetime(2026, 11, 25, 17, 30, tzinfo=UTC),  # 26/11 in Hà Nội
    )
    for _ in range(2):
        make_case("STNMT", "DAT-DAI", answer_due_on=date(2026, 11, 2), status=CaseStatus.PROCESSING)


# Figures


@pytest.mark.parametrize("role", ["handler", "leader", "admin"])
def test_figures_are_403_for_others(client, demo, role):
    login(client, role)

    assert client.get("/admin/figures").status_code == 403
    assert 'href="/admin/figures"' not in page(client, "/admin/")


def test_figures_require_login(client, demo):
    response = client.get("/admin/figures")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_figures_table(client, demo, late_and_answered):
    login(client, "coordinator")
    assert 'href="/admin/figures"' in page(client, "/admin/")

    html = page(client, "/admin/figures")

    rows = table(html)
    stnmt, sxd = unit_id(demo, "STNMT"), unit_id(demo, "SXD")
    assert rows[0] == (
        f"/admin/?unit={stnmt}&amp;due=overdue",
        "Sở Tài nguyên và Môi trường",
        ["2", "2", "0", "0", "—"],
    )
    assert rows[1] == (
        f"/admin/?unit={sxd}&amp;due=overdue",
        "Sở Xây dựng",
        ["2", "1", "1", "1", "50%"],
    )
    assert all(cells[1] == "0" for _, _, cells in rows[2:])
    assert totals(html) == ["4", "3", "1", "1", "50%"]
    for header in ("Đơn vị", "Đang xử lý", "Quá hạn", "Trả lời đúng hạn", "Trả lời quá hạn"):
        assert f"<th>{header}</th>" in html
    assert "<th>% đúng hạn</th>" in html


def test_figures_link_opens_the_units_overdue_queue(client, demo, late_and_answered):
    login(client, "coordinator")
    link = table(page(client, "/admin/figures"))[0][0].replace("&amp;", "&")

    html = page(client, link)

    assert "PAKN.20261127.0005" in html and "PAKN.20261127.0006" in html
    assert "PAKN.20261127.0001" not in html


# My account


@pytest.mark.parametrize("role", ["handler", "leader", "coordinator", "admin"])
def test_every_staff_member_sees_their_page(client, demo, role):
    login(client, role)

    html = page(client, "/admin/me")

    assert 'href="/admin/me"' in html
    assert "Tài khoản Zalo của bạn chưa được liên kết" in html
    assert LINK_CODE.search(html) is None


def test_me_requires_login(client, demo):
    assert client.get("/admin/me").status_code == 302
    assert client.post("/admin/me/link-code").status_code == 400  # no session: no CSRF token


def test_link_code_is_issued_and_shown(client, demo, clock):
    login(client, "handler")

    response = client.post(
        "/admin/me/link-code", data={"csrf_token": csrf_from(client, "/admin/me")}
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    code = LINK_CODE.search(html).group(1)
    assert "Gửi mã này cho Zalo OA của cơ quan trong vòng 15 phút" in html
    demo.expire_all()
    staff = demo.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    assert staff.link_code == code
    assert staff.link_code_expires_at.replace(tzinfo=UTC) == datetime(
        2026, 11, 27, 3, 15, tzinfo=UTC
    )


def test_link_code_requires_the_csrf_token(client, demo):
    login(client, "handler")

    for data in ({}, {"csrf_token": "wrong"}):
        assert client.post("/admin/me/link-code", data=data).status_code == 400
    demo.expire_all()
    staff = demo.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    assert staff.link_code is None


def test_linked_account_is_shown(client, demo, citizen):
    staff = demo.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    staff.zalo_citizen_id = citizen.id
    demo.commit()
    login(client, "handler")

    html = page(client, "/admin/me")

    assert "Tài khoản Zalo của bạn đã được liên kết" in html

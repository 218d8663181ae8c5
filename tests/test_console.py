"""The staff console: login, logout, throttle, CSRF, the queue, the case page and who sees what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cases.throttle import FailureThrottle
from handlers.console import console_state
from models import (
    AttachmentState,
    Case,
    CaseAttachment,
    CaseEvent,
    CaseKind,
    CaseStatus,
    LoginFailure,
)
from tests import console_helpers
from tests.console_helpers import ACCOUNTS, XSS, csrf_from, login, page

clock = console_helpers.clock
demo = console_helpers.demo
make_case = console_helpers.make_case


# Login, logout, throttle, CSRF


def test_login_page_is_vietnamese_and_sets_a_safe_cookie(client):
    response = client.get("/admin/login")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Đăng nhập dành cho cán bộ" in html
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert response.headers["X-Frame-Options"] == "DENY"


def test_login_success_opens_the_queue(client, demo):
    response = login(client, "handler")

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    html = page(client, "/admin/")
    assert "Lê Văn Hùng" in html
    assert "Sở Xây dựng" in html


def test_login_failure_is_generic_and_401(client, demo):
    wrong_password = login(client, "handler", password="sai-mat-khau-roi")
    unknown = client.post(
        "/admin/login",
        data={"username": "khong.co", "password": "x" * 12, "csrf_token": csrf_from(client)},
    )

    for response in (wrong_password, unknown):
        assert response.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_returns_to_next_but_never_off_site(client, demo, make_case):
    code = make_case()
    assert login(client, next=f"/admin/cases/{code}").headers["Location"] == f"/admin/cases/{code}"

    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/")})
    for target in ("https://evil.example/admin", "//evil.example/admin", "/elsewhere"):
        assert login(client, next=target).headers["Location"] == "/admin/"
        client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/")})


def test_login_throttle_locks_a_username_for_fifteen_minutes(client, demo, clock):
    for _ in range(5):
        assert login(client, "handler", password="sai-mat-khau-roi").status_code == 401
        clock.advance(minutes=2)

    locked = login(client, "handler")
    assert locked.status_code == 429
    assert "thử lại sau" in locked.get_data(as_text=True)
    assert int(locked.headers["Retry-After"]) > 0
    assert login(client, "coordinator").status_code == 302  # other users are not affected

    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/")})
    clock.advance(minutes=13)  # 15 minutes after the fifth failure
    assert login(client, "handler").status_code == 302


def test_failures_spread_beyond_the_window_do_not_lock(client, demo, clock):
    for _ in range(6):
        assert login(client, "handler", password="sai-mat-khau-roi").status_code == 401
        clock.advance(minutes=4)
    assert login(client, "handler").status_code == 302


def test_login_refuses_missing_or_wrong_csrf_token(client, demo):
    username, password = ACCOUNTS["handler"]
    csrf_from(client)  # the session has a token; the requests below do not echo it

    missing = client.post("/admin/login", data={"username": username, "password": password})
    wrong = client.post(
        "/admin/login", data={"username": username, "password": password, "csrf_token": "x" * 43}
    )

    for response in (missing, wrong):
        assert response.status_code == 400
        assert "Vui lòng tải lại trang" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_csrf_token_is_accepted_from_the_header(client, demo):
    username, password = ACCOUNTS["handler"]
    response = client.post(
        "/admin/login",
        data={"username": username, "password": password},
        headers={"X-CSRF-Token": csrf_from(client)},
    )
    assert response.status_code == 302


def test_logout_requires_the_csrf_token(client, demo):
    login(client)

    assert client.post("/admin/logout").status_code == 400
    assert client.post("/admin/logout", data={"csrf_token": "wrong"}).status_code == 400
    assert client.get("/admin/").status_code == 200

    response = client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login"
    assert "Bạn đã đăng xuất." in page(client, "/admin/login")
    assert client.get("/admin/").status_code == 302


def test_session_expires_after_twelve_hours(client, demo, clock):
    login(client)
    clock.advance(hours=11, minutes=59)
    assert client.get("/admin/").status_code == 200
    clock.advance(minutes=2)
    assert client.get("/admin/").status_code == 302


def test_deactivated_staff_is_logged_out(client, demo):
    from models import Staff

    login(client)
    staff = demo.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    staff.active = False
    demo.commit()

    assert client.get("/admin/").status_code == 302


# Queue and case page


@pytest.mark.parametrize("path", ["/admin/", "/admin/cases/PAKN.20261127.0001"])
def test_console_pages_require_login(client, demo, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_queue_lists_cases_in_local_time_with_status_words(client, make_case):
    code = make_case(
        received_at=datetime(2026, 11, 27, 17, 30, tzinfo=UTC), status=CaseStatus.AWAITING_INFO
    )
    login(client, "coordinator")

    html = page(client, "/admin/")

    assert code in html
    assert "28/11/2026 00:30" in html  # 17:30 UTC is already the next day in Vietnam
    assert "Chờ bổ sung thông tin" in html
    assert "Xây dựng, trật tự đô thị" in html
    assert "17/12/2026" in html


def test_queue_filters_by_status_and_text(client, make_case):
    waiting = make_case(title="Rác thải ở ngõ 5", status=CaseStatus.AWAITING_INFO)
    answered = make_case(title="Đèn đường hỏng", status=CaseStatus.ANSWERED)
    login(client, "coordinator")

    by_status = page(client, "/admin/?status=awaiting_info")
    assert waiting in by_status and answered not in by_status
    open_only = page(client, "/admin/?status=open")
    assert waiting in open_only and answered not in open_only
    by_code = page(client, f"/admin/?q={answered.lower()}")
    assert answered in by_code and waiting not in by_code
    by_text = page(client, "/admin/?q=đường hỏng")
    assert answered in by_text and waiting not in by_text
    wildcard = page(client, "/admin/?q=%25")
    assert waiting not in wildcard and answered not in wildcard
    unknown_status = page(client, "/admin/?status=bogus")
    assert waiting in unknown_status and answered in unknown_status


def test_queue_shows_fifty_newest_per_page(client, make_case):
    codes = [make_case() for _ in range(51)]
    login(client, "coordinator")

    first = page(client, "/admin/")
    second = page(client, "/admin/?page=2")

    assert codes[-1] in first and codes[1] in first
    assert codes[0] not in first
    assert codes[0] in second and codes[1] not in second
    assert "trang 1/2" in first
    assert "page=2" in first
    assert page(client, "/admin/?page=abc") == first


def test_handler_sees_only_their_units_cases(client, make_case):
    own = make_case(unit="SXD", title="Của Sở Xây dựng")
    other = make_case(unit="STNMT", field="MOI-TRUONG", title="Của Sở Tài nguyên")

    for role in ("handler", "leader"):
        login(client, role)
        queue = page(client, "/admin/")
        assert own in queue and other not in queue
        assert client.get(f"/admin/cases/{own}").status_code == 200
        hidden = client.get(f"/admin/cases/{other}")
        missing = client.get("/admin/cases/PAKN.20991231.9999")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_data() == missing.get_data()
        client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/")})


def test_coordinator_sees_every_unit(client, make_case):
    own = make_case(unit="SXD")
    other = make_case(unit="STNMT", field="MOI-TRUONG")
    login(client, "coordinator")

    queue = page(client, "/admin/")
    assert own in queue and other in queue
    assert client.get(f"/admin/cases/{other}").status_code == 200


def test_administrator_without_a_case_role_sees_no_case(client, make_case):
    code = make_case(unit="SXD")
    login(client, "admin")

    assert code not in page(client, "/admin/")
    assert client.get(f"/admin/cases/{code}").status_code == 404


def test_contact_data_masked_for_handler(client, make_case):
    code = make_case()
    login(client, "handler")

    html = page(client, f"/admin/cases/{code}")

    assert "09******78" in html
    assert "0912345678" not in html
    assert "Nguyễn Văn An" not in html
    assert "Ng**** V** A*" in html
    assert "an.nguyen@example.vn" not in html
    assert "Số 1 Hàng Bạc" not in html


def test_contact_data_visible_for_coordinator(client, make_case):
    code = make_case()
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{code}")

    assert "0912345678" in html
    assert "Nguyễn Văn An" in html
    assert "an.nguyen@example.vn" in html
    assert "Số 1 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm" in html


def test_citizen_text_is_escaped(client, make_case):
    code = make_case(
        title=f"Tiêu đề {XSS}",
        content=f"Nội dung {XSS}",
        contact_name=XSS,
        location_address=XSS,
    )
    login(client, "coordinator")

    for html in (page(client, "/admin/"), page(client, f"/admin/cases/{code}")):
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_case_page_shows_everything(client, make_case, demo, clock):
    code = make_case(
        kind=CaseKind.PETITION,
        status=CaseStatus.PROCESSING,
        location_address="Ngõ 5 Hàng Bạc",
        latitude=Decimal("21.033500"),
        longitude=Decimal("105.852000"),
        answer_due_on=date(2026, 11, 26),
    )
    case = demo.scalars(select(Case).where(Case.code == code)).one()
    demo.add_all(
        [
            CaseAttachment(
                case_id=case.id,
                media_type="image",
                source_url="https://photo-stal-1.zdn.vn/x/anh.jpg",
                file_name="anh.jpg",
                state=AttachmentState.STORED,
            ),
            CaseAttachment(
                case_id=case.id,
                media_type="file",
                source_url="javascript:alert(1)",
                file_name="don.pdf",
                state=AttachmentState.FAILED,
            ),
            CaseEvent(
                case_id=case.id,
                at=datetime(2026, 11, 27, 1, 31, tzinfo=UTC),
                action="received",
                actor="citizen",
                to_status="received",
                note="Gửi qua Zalo",
            ),
        ]
    )
    demo.commit()
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{code}")

    assert "Kiến nghị" in html
    assert "Đang xử lý" in html
    assert "Quá hạn" in html
    assert "Ngõ 5 Hàng Bạc" in html
    assert "https://www.openstreetmap.org/?mlat=21.033500&amp;mlon=105.852000" in html
    assert "anh.jpg" in html and "Đã lưu" in html
    assert "don.pdf" in html and "Không tải được" in html
    assert 'href="javascript:' not in html
    assert "Tiếp nhận phản ánh, kiến nghị" in html
    assert "27/11/2026 08:31" in html
    assert "Gửi qua Zalo" in html


def test_case_without_location_has_no_map_link(client, make_case):
    code = make_case()
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{code}")

    assert "openstreetmap" not in html
    assert "Người gửi không cung cấp địa điểm." in html


# The login throttle lives in the database


def test_throttle_holds_across_processes(make_app, client, demo, clock):
    other = make_app()  # a second web process on the same database
    console_state(other).clock = clock
    other_client = other.test_client()
    for browser in (client, other_client, client, other_client):
        assert login(browser, "handler", password="sai-mat-khau-roi").status_code == 401
        clock.advance(minutes=1)

    assert login(other_client, "handler", password="sai-mat-khau-roi").status_code == 401

    assert login(client, "handler").status_code == 429
    assert login(other_client, "handler").status_code == 429


def test_a_successful_login_clears_the_failures(client, demo, clock):
    for _ in range(4):
        login(client, "handler", password="sai-mat-khau-roi")
    assert login(client, "handler").status_code == 302
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/")})

    for _ in range(4):
        assert login(client, "handler", password="sai-mat-khau-roi").status_code == 401
    assert login(client, "handler").status_code == 302


def test_usernames_are_counted_without_case_or_spaces(client, demo, clock):
    for name in ("CANBO.SXD", " canbo.sxd", "Canbo.Sxd ", "canbo.sxd", "canbo.SXD"):
        client.post(
            "/admin/login",
            data={
                "username": name,
                "password": "sai-mat-khau-roi",
                "csrf_token": csrf_from(client),
            },
        )

    assert login(client, "handler").status_code == 429


def test_db_throttle_rules(app, clock):
    from handlers.runtime import get_runtime

    with get_runtime(app).sessions() as session:
        throttle = FailureThrottle(session, clock=clock)
        for _ in range(4):
            throttle.record_failure("canbo")
            clock.advance(minutes=1)
        assert throttle.locked_until("canbo") is None

        throttle.record_failure("canbo")
        assert throttle.locked_until("canbo") == clock.now + timedelta(minutes=15)
        assert throttle.locked_until("other") is None
        clock.advance(minutes=14, seconds=59)
        assert throttle.locked_until("canbo") is not None
        clock.advance(seconds=1)
        assert throttle.locked_until("canbo") is None

        # Far later, a failure prunes every row no rule can use any more.
        clock.advance(hours=1)
        throttle.record_failure("someone")
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1
        throttle.reset("someone")
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_a_very_long_username_is_throttled_not_crashed(client, demo):
    response = client.post(
        "/admin/login",
        data={
            "username": "x" * 500,
            "password": "sai-mat-khau-roi",
            "csrf_token": csrf_from(client),
        },
    )

    assert response.status_code == 401

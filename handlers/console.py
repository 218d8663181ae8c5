"""The staff console under /admin: shared machinery, login and logout, and the case queue.

Each view loads what it needs, checks access through `cases.access`, does the work, and commits
once. Logins use the signed Flask session cookie (HttpOnly, SameSite=Lax); every form carries a
CSRF token (`handlers.csrf`). Failed logins are throttled per username in the database
(`cases.throttle`), so the limit holds across web processes and restarts.

The console is several blueprints that behave as one: `console_blueprint()` gives each the same
CSRF check, template helpers, security headers and error pages. This module holds the `console`
blueprint (login, logout, the queue); `console_cases` the case page, its actions and attachment
downloads; `console_zalo` the OA connection; `admin` the organisation's settings.
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound, RequestEntityTooLarge

from bot.zalo.tokens import ROW_ID as TOKEN_ROW_ID
from cases import deadlines
from cases.access import unit_scope
from cases.clock import format_date, format_datetime, local_date
from cases.notices import notices_for
from cases.queue import (
    DUE_OVERDUE,
    DUE_SOON,
    DUE_SOON_DAYS,
    OPEN_FILTER,
    OPEN_STATUSES,
    QueueFilters,
    counts_exactly,
    filters_from_args,
    queue_page,
    register_sqlite_functions,
    status_counts,
    total_for,
)
from cases.staff import authenticate, credential_stamp
from cases.status import kind_label, status_label
from cases.throttle import FailureThrottle
from cases.undelivered import undelivered
from handlers import csrf
from handlers.runtime import db, get_runtime
from models import Case, CaseStatus, Field, Staff, TokenStatus, Unit, ZaloToken, utcnow

log = logging.getLogger(__name__)

PAGE_SIZE = 50
LOGIN_LIFETIME = timedelta(hours=12)
SESSION_STAFF_ID = "staff_id"
SESSION_LOGIN_AT = "login_at"
SESSION_STAMP = "stamp"  # cases.staff.credential_stamp at login

ROLE_LABELS = {
    "admin": "Quản trị hệ thống",
    "coordinator": "Cán bộ đầu mối",
    "handler": "Cán bộ xử lý",
    "leader": "Lãnh đạo đơn vị",
}
ROLE_MEANINGS = {
    "admin": "Quản lý đơn vị, cán bộ, lĩnh vực, mẫu trả lời và kết nối Zalo OA; không xem PAKN "
    "nếu không có thêm vai trò khác.",
    "coordinator": "Tiếp nhận, phân loại, chuyển xử lý, không tiếp nhận, kiểm tra và công khai kết "
    "quả, báo cáo cấp có thẩm quyền; xem PAKN của mọi đơn vị và thông tin liên hệ đầy đủ.",
    "handler": "Xử lý PAKN của đơn vị mình: đề nghị bổ sung thông tin, cập nhật tiến độ, dự thảo "
    "trả lời; thông tin liên hệ của người gửi được che.",
    "leader": "Phê duyệt hoặc trả lại dự thảo trả lời của đơn vị; xem PAKN của đơn vị mình.",
}
# Citizens see one wording for both; staff need to know whether the leader has approved.
STAFF_STATUS_NOTES = {
    CaseStatus.ANSWER_DRAFTED: "chờ duyệt",
    CaseStatus.ANSWER_APPROVED: "đã duyệt",
}
DUE_LABELS = {DUE_OVERDUE: "Quá hạn", DUE_SOON: f"Sắp đến hạn ({DUE_SOON_DAYS} ngày)"}

LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng."
LOGIN_LOCKED = (
    "Tài khoản này tạm thời không thể đăng nhập vì nhập sai quá nhiều lần. "
    "Vui lòng thử lại sau {until}."
)
INVALID_DATE = "Ngày không hợp lệ (dd/mm/yyyy); bộ lọc này không được áp dụng."
NOT_COUNTED = "Không đếm tổng số khi tìm theo nội dung."

ADMIN_ROLE = "admin"
NOTICES_SHOWN = 5
NOTICE_CASE_CODE = re.compile(r"PAKN\.\d{8}\.\d{4,}")


@dataclass
class ConsoleState:
    """Per-app console state: the clock (tests replace it; the login throttle reads it too)."""

    clock: Callable[[], datetime] = utcnow


def console_state(app: Flask | None = None) -> ConsoleState:
    """Return the console state of `app` (default: the current app)."""
    return (app or current_app).extensions["console"]


def now() -> datetime:
    """Return the console's current time (an aware UTC datetime)."""
    return console_state().clock()


def today() -> date:
    """Return the agency's calendar date per the console clock."""
    return local_date(now())


def local_time(value: datetime | None) -> str:
    """Format an aware UTC datetime as dd/mm/yyyy HH:MM in Vietnam's time zone ("" for None)."""
    return format_datetime(value) if value is not None else ""


def day_text(value: date | None) -> str:
    """Format a date as dd/mm/yyyy ("" for None)."""
    return format_date(value) if value is not None else ""


def staff_status_label(status: CaseStatus) -> str:
    """Return the status words, with the staff-only detail where citizens see one wording."""
    label = status_label(status)
    note = STAFF_STATUS_NOTES.get(status)
    return f"{label} ({note})" if note else label


def is_overdue(case: Case) -> bool:
    """Tell whether an open case is past its answer date, its clock running (console clock)."""
    return deadlines.is_overdue(case, today())


def is_due_soon(case: Case) -> bool:
    """Tell whether an open case, its clock running, is due today or within a few days."""
    days_left = (case.answer_due_on - today()).days
    running = case.status in OPEN_STATUSES and case.paused_at is None
    return running and 0 <= days_left <= DUE_SOON_DAYS


def is_admin(staff: Staff | None) -> bool:
    """Tell whether `staff` administers the system (and so the Zalo OA connection)."""
    return staff is not None and ADMIN_ROLE in staff.role_set


def token_status() -> TokenStatus:
    """Return the OA token pair's status with one small query in the request's session."""
    # Read through the request session, not `TokenStore.info()`: on SQLite the request already
    # holds the write lock (BEGIN IMMEDIATE), which a second connection would wait for.
    status = db().scalar(select(ZaloToken.status).where(ZaloToken.id == TOKEN_ROW_ID))
    if status is not None:
        return status
    # No row yet: the token store creates it from the configured pair on first use.
    config = current_app.config
    seeded = config.get("ZALO_ACCESS_TOKEN") and config.get("ZALO_REFRESH_TOKEN")
    return TokenStatus.OK if seeded else TokenStatus.MISSING


def _template_helpers() -> dict:
    staff = g.get("staff")
    return {
        "local_time": local_time,
        "local_date": day_text,
        "status_label": staff_status_label,
        "kind_label": kind_label,
        "is_overdue": is_overdue,
        "is_due_soon": is_due_soon,
        "role_labels": ROLE_LABELS,
        "current_staff": staff,
        "is_admin": is_admin(staff),
        # Anonymous visitors (the login page) are not told about the OA's state.
        "token_status": token_status() if staff is not None else None,
    }


def _security_headers(response):
    # Console pages carry personal data: no caching, no framing, no scripts from anywhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A page whose form leads to Zalo's consent page must allow that redirect target; a view
    # that serves a file sets its own, stricter policy.
    form_action = " ".join(["'self'", *g.get("form_action_origins", ())])
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; frame-ancestors 'none'; form-action {form_action}; base-uri 'none'",
    )
    return response


def _error_page(error):
    return render_template("console/error.html", error=error), error.code


def console_blueprint(name: str, import_name: str, url_prefix: str = "/admin") -> Blueprint:
    """Create a console blueprint: CSRF on every form, shared helpers, headers and error pages."""
    blueprint = Blueprint(name, import_name, url_prefix=url_prefix)
    csrf.protect(blueprint)
    blueprint.context_processor(_template_helpers)
    blueprint.after_request(_security_headers)
    for error in (csrf.CSRFError, Forbidden, NotFound, RequestEntityTooLarge):
        blueprint.register_error_handler(error, _error_page)
    return blueprint


bp = console_blueprint("console", __name__)


@bp.record_once
def _on_register(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    app.extensions["console"] = ConsoleState()
    register_sqlite_functions(get_runtime(app).engine)
    # The console is the only user of the session cookie; these make it unreadable to scripts
    # and absent from cross-site POSTs. A deployment may still choose SameSite=Strict.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if str(app.config.get("PUBLIC_BASE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True


def current_staff() -> Staff | None:
    """Return the logged-in, active staff account of this session, or None."""
    staff_id = session.get(SESSION_STAFF_ID)
    login_at = session.get(SESSION_LOGIN_AT)
    if not isinstance(staff_id, int) or not isinstance(login_at, int):
        return None
    if now().timestamp() - login_at > LOGIN_LIFETIME.total_seconds():
        return None
    staff = db().get(Staff, staff_id)
    if staff is None or not staff.active:
        return None
    if not hmac.compare_digest(str(session.get(SESSION_STAMP, "")), credential_stamp(staff)):
        return None  # the password changed since this session logged in
    return staff


def login_required(view: Callable) -> Callable:
    """Send anonymous visitors to the login page (and back after it); put the account in `g.staff`."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        staff = current_staff()
        if staff is None:
            target = request.full_path if request.query_string else request.path
            return redirect(url_for("console.login", next=target))
        g.staff = staff
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable) -> Callable:
    """Like `login_required`, and answer 403 to staff who are not administrators."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not is_admin(g.staff):
            log.warning("console admin page refused: staff_id=%s path=%s", g.staff.id, request.path)
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapped)


def _safe_next(target: str | None) -> str:
    # Only ever return to a console path on this site: never an open redirect.
    if target and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/admin/"):
            return target
    return url_for("console.index")


def _login_page(status: int, headers: dict[str, str] | None = None, **values):
    return render_template("console/login.html", **values), status, headers or {}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on POST, check the credentials under the failure throttle."""
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("console/login.html", next=request.args.get("next", ""))

    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    next_url = request.form.get("next", "")
    session_ = db()
    throttle = FailureThrottle(session_, clock=now)

    locked_until = throttle.locked_until(username)
    if locked_until is not None:
        log.warning("console login refused while locked: username=%s", username[:80])
        retry_after = max(1, math.ceil((locked_until - now()).total_seconds()))
        return _login_page(
            429,
            {"Retry-After": str(retry_after)},
            error=LOGIN_LOCKED.format(until=local_time(locked_until)),
            username=username,
            next=next_url,
        )

    staff = authenticate(session_, username, password) if username and password else None
    if staff is None:
        throttle.record_failure(username)
        session_.commit()
        log.info("console login failed: username=%s", username[:80])
        return _login_page(401, error=LOGIN_FAILED, username=username, next=next_url)

    throttle.reset(username)
    session_.commit()
    # A fresh session on login: nothing from before (including the CSRF token) carries over.
    session.clear()
    session[SESSION_STAFF_ID] = staff.id
    session[SESSION_LOGIN_AT] = int(now().timestamp())
    session[SESSION_STAMP] = credential_stamp(staff)
    log.info("console login: staff_id=%s", staff.id)
    return redirect(_safe_next(next_url))


@bp.post("/logout")
def logout():
    """End the session and return to the login page."""
    session.clear()
    flash("Bạn đã đăng xuất.")
    return redirect(url_for("console.login"))


# The queue


def _page_number(raw: str | None) -> int:
    try:
        return min(max(1, int(raw or 1)), 1_000_000)
    except ValueError:
        return 1


@dataclass(frozen=True)
class NoticeView:
    """A staff notice with its body cut into text and case codes (which become links)."""

    title: str
    created_at: datetime
    segments: list[tuple[str, bool]]


def notice_view(title: str, body: str, created_at: datetime) -> NoticeView:
    """Split a notice body around the PAKN codes it mentions, so the page can link them."""
    segments: list[tuple[str, bool]] = []
    position = 0
    for match in NOTICE_CASE_CODE.finditer(body):
        if match.start() > position:
            segments.append((body[position : match.start()], False))
        segments.append((match.group(), True))
        position = match.end()
    if position < len(body):
        segments.append((body[position:], False))
    return NoticeView(title, created_at, segments)


def selectable_units(staff: Staff) -> list[Unit]:
    """The units `staff` may filter the queue by: every unit for coordinators, else their scope."""
    query = select(Unit).order_by(Unit.sort_order, Unit.name)
    if "coordinator" not in staff.role_set:
        query = query.where(Unit.id.in_(sorted(unit_scope(db(), staff))))
    return list(db().scalars(query))


@dataclass(frozen=True)
class StatusChip:
    """One status with its count, linking to the queue filtered by it."""

    value: str
    label: str
    count: int | None  # None: not counted (a free-text search)
    current: bool


def status_chips(filters: QueueFilters, counts: dict[CaseStatus, int] | None) -> list[StatusChip]:
    """The "all", "open" and per-status counts shown above the queue (None: not counted)."""

    def count(status: str) -> int | None:
        return total_for(status, counts) if counts is not None else None

    chips = [
        StatusChip("", "Tất cả", count(""), filters.status == ""),
        StatusChip(OPEN_FILTER, "Chưa kết thúc", count(OPEN_FILTER), filters.status == OPEN_FILTER),
    ]
    chips += [
        StatusChip(
            member.value,
            staff_status_label(member),
            count(member.value),
            filters.status == member.value,
        )
        for member in CaseStatus
    ]
    return chips


@bp.get("/")
@login_required
def index():
    """Show the staff's notices and the queue: filtered, counted per status, 50 a page."""
    session_ = db()
    staff: Staff = g.staff
    filters, invalid_dates = filters_from_args(request.args)
    page = _page_number(request.args.get("page"))
    offset = (page - 1) * PAGE_SIZE
    counts: dict[CaseStatus, int] | None = None
    total: int | None = None
    pages: int | None = None
    cases: list[Case] = []
    if counts_exactly(filters):
        counts = status_counts(session_, staff, filters, today())
        total = total_for(filters.status, counts)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if total and page <= pages:
            cases = queue_page(session_, staff, filters, today(), PAGE_SIZE, offset)
        has_next = page < pages
    else:
        # A free-text search is not counted (that reads every case); one case more than a
        # page tells whether there is a next page.
        cases = queue_page(session_, staff, filters, today(), PAGE_SIZE + 1, offset)
        has_next = len(cases) > PAGE_SIZE
        cases = cases[:PAGE_SIZE]
    notices = [
        notice_view(notice.title, notice.body, notice.created_at)
        for notice in notices_for(session_, staff.role_set, staff.unit_id, NOTICES_SHOWN)
    ]
    args = filters.as_args()
    return render_template(
        "console/index.html",
        cases=cases,
        undelivered_since=undelivered(session_, [case.id for case in cases]) if cases else {},
        notices=notices,
        total=total,
        page=page,
        pages=pages,
        has_next=has_next,
        not_counted_message=NOT_COUNTED,
        filters=filters,
        args=args,
        chips=status_chips(filters, counts),
        args_without_status={k: v for k, v in args.items() if k != "status"},
        units=selectable_units(staff),
        fields=list(session_.scalars(select(Field).order_by(Field.sort_order, Field.name))),
        due_labels=DUE_LABELS,
        invalid_dates=invalid_dates,
        invalid_date_message=INVALID_DATE,
    )

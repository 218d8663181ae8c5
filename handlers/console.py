"""The staff console under /admin: login and logout, the case queue and the case page.

Each view loads what it needs, checks access through `cases.access`, and renders. Logins use the
signed Flask session cookie (HttpOnly, SameSite=Lax); every form carries a CSRF token
(`handlers.csrf`). Failed logins are throttled per username by `cases.staff.LoginThrottle`, which
lives in process memory for now.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
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
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.exceptions import NotFound

from cases.access import contact_for, visible_cases_filter
from cases.clock import format_date, format_datetime, local_date
from cases.staff import LoginThrottle, authenticate
from cases.status import kind_label, status_label
from handlers import csrf
from handlers.runtime import db
from models import CLOSED_STATUSES, AttachmentState, Case, CaseStatus, Staff, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/admin")
csrf.protect(bp)

PAGE_SIZE = 50
LOGIN_LIFETIME = timedelta(hours=12)
SESSION_STAFF_ID = "staff_id"
SESSION_LOGIN_AT = "login_at"
OPEN_FILTER = "open"

ROLE_LABELS = {
    "admin": "Quản trị hệ thống",
    "coordinator": "Cán bộ đầu mối",
    "handler": "Cán bộ xử lý",
    "leader": "Lãnh đạo đơn vị",
}
# Citizens see one wording for both; staff need to know whether the leader has approved.
STAFF_STATUS_NOTES = {
    CaseStatus.ANSWER_DRAFTED: "chờ duyệt",
    CaseStatus.ANSWER_APPROVED: "đã duyệt",
}
ATTACHMENT_STATE_LABELS = {
    AttachmentState.PENDING: "Đang tải về",
    AttachmentState.STORED: "Đã lưu",
    AttachmentState.FAILED: "Không tải được",
}
MEDIA_TYPE_LABELS = {"image": "Ảnh", "file": "Tệp"}
CHANNEL_LABELS = {
    "zalo": "Zalo",
    "phone": "Điện thoại",
    "email": "Thư điện tử",
    "paper": "Văn bản giấy",
    "web": "Cổng thông tin",
}
ACTOR_LABELS = {"citizen": "Người gửi", "system": "Hệ thống"}
# Timeline actions written by `cases`; an action missing here is shown by its code.
ACTION_LABELS = {
    "received": "Tiếp nhận phản ánh, kiến nghị",
    "citizen_info": "Người gửi bổ sung thông tin",
}

LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng."
LOGIN_LOCKED = (
    "Tài khoản này tạm thời không thể đăng nhập vì nhập sai quá nhiều lần. "
    "Vui lòng thử lại sau {until}."
)


@dataclass
class ConsoleState:
    """Per-app console state: the clock (tests replace it) and the login throttle."""

    clock: Callable[[], datetime] = utcnow
    throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        # Read the clock through the state so that replacing `clock` also moves the throttle.
        self.throttle = LoginThrottle(clock=lambda: self.clock())


@bp.record_once
def _on_register(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    app.extensions["console"] = ConsoleState()
    # The console is the only user of the session cookie; these make it unreadable to scripts
    # and absent from cross-site POSTs. A deployment may still choose SameSite=Strict.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if str(app.config.get("PUBLIC_BASE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True


def console_state(app: Flask | None = None) -> ConsoleState:
    """Return the console state of `app` (default: the current app)."""
    return (app or current_app).extensions["console"]


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
    """Tell whether an open case is past its answer date (today per the console clock)."""
    return case.is_open and case.answer_due_on < local_date(console_state().clock())


@bp.context_processor
def _template_helpers() -> dict:
    return {
        "local_time": local_time,
        "local_date": day_text,
        "status_label": staff_status_label,
        "kind_label": kind_label,
        "is_overdue": is_overdue,
        "role_labels": ROLE_LABELS,
        "current_staff": g.get("staff"),
    }


@bp.after_request
def _security_headers(response):
    # Console pages carry personal data: no caching, no framing, no scripts from anywhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return response


@bp.errorhandler(csrf.CSRFError)
@bp.errorhandler(NotFound)
def _error_page(error):
    return render_template("console/error.html", error=error), error.code


def current_staff() -> Staff | None:
    """Return the logged-in, active staff account of this session, or None."""
    staff_id = session.get(SESSION_STAFF_ID)
    login_at = session.get(SESSION_LOGIN_AT)
    if not isinstance(staff_id, int) or not isinstance(login_at, int):
        return None
    if console_state().clock().timestamp() - login_at > LOGIN_LIFETIME.total_seconds():
        return None
    staff = db().get(Staff, staff_id)
    if staff is None or not staff.active:
        return None
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


def _safe_next(target: str | None) -> str:
    # Only ever return to a console path on this site: never an open redirect.
    if target and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/admin/"):
            return target
    return url_for("console.index")


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
    state = console_state()

    locked_until = state.throttle.locked_until(username)
    if locked_until is not None:
        log.warning("console login refused while locked: username=%s", username)
        message = LOGIN_LOCKED.format(until=local_time(locked_until))
        retry_after = max(1, math.ceil((locked_until - state.clock()).total_seconds()))
        page = render_template(
            "console/login.html", error=message, username=username, next=next_url
        )
        return page, 429, {"Retry-After": str(retry_after)}

    staff = authenticate(db(), username, password) if username and password else None
    if staff is None:
        state.throttle.record_failure(username)
        log.info("console login failed: username=%s", username)
        page = render_template(
            "console/login.html", error=LOGIN_FAILED, username=username, next=next_url
        )
        return page, 401

    state.throttle.reset(username)
    # A fresh session on login: nothing from before (including the CSRF token) carries over.
    session.clear()
    session[SESSION_STAFF_ID] = staff.id
    session[SESSION_LOGIN_AT] = int(state.clock().timestamp())
    log.info("console login: staff_id=%s", staff.id)
    return redirect(_safe_next(next_url))


@bp.post("/logout")
def logout():
    """End the session and return to the login page."""
    session.clear()
    flash("Bạn đã đăng xuất.")
    return redirect(url_for("console.login"))


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_clause(q: str) -> ColumnElement[bool]:
    # Case-insensitive substring search; SQLite folds only ASCII letters (so "Đ" != "đ" there).
    pattern = f"%{_escape_like(q)}%"
    return or_(
        Case.code.ilike(pattern, escape="\\"),
        Case.title.ilike(pattern, escape="\\"),
        Case.content.ilike(pattern, escape="\\"),
    )


def _status_clause(status: str) -> ColumnElement[bool] | None:
    if status == OPEN_FILTER:
        return Case.status.not_in(CLOSED_STATUSES)
    if status in {member.value for member in CaseStatus}:
        return Case.status == CaseStatus(status)
    return None


def queue_query(staff: Staff, status: str = "", q: str = "") -> Select:
    """Return the query of the cases `staff` may see, filtered by status and search text."""
    query = select(Case).where(visible_cases_filter(staff))
    status_clause = _status_clause(status)
    if status_clause is not None:
        query = query.where(status_clause)
    if q:
        query = query.where(_search_clause(q))
    return query


@bp.get("/")
@login_required
def index():
    """Show the queue: the newest cases first, filtered by status and text, 50 a page."""
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()[:200]
    page = _page_number(request.args.get("page"))
    query = queue_query(g.staff, status, q)
    session = db()
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    cases = session.scalars(
        query.options(joinedload(Case.field), joinedload(Case.unit))
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    statuses = [(OPEN_FILTER, "Chưa kết thúc")] + [
        (member.value, staff_status_label(member)) for member in CaseStatus
    ]
    return render_template(
        "console/index.html",
        cases=cases,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        status=status if _status_clause(status) is not None else "",
        q=q,
        statuses=statuses,
    )


def _map_url(case: Case) -> str | None:
    if case.latitude is None or case.longitude is None:
        return None
    lat, lon = case.latitude, case.longitude
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


def _link_url(url: str | None) -> str | None:
    # Only web links become clickable: a crafted `javascript:` URL must stay inert text.
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


def _actor_names(case: Case) -> dict[str, str]:
    ids = {
        int(event.actor.removeprefix("staff:"))
        for event in case.events
        if event.actor.startswith("staff:") and event.actor.removeprefix("staff:").isdigit()
    }
    names = dict(ACTOR_LABELS)
    if ids:
        for staff in db().scalars(select(Staff).where(Staff.id.in_(ids))):
            names[f"staff:{staff.id}"] = staff.full_name
    return names


def _status_words(value: str | None) -> str:
    if not value:
        return ""
    try:
        return staff_status_label(CaseStatus(value))
    except ValueError:
        return value


@bp.get("/cases/<code>")
@login_required
def case_page(code: str):
    """Show one case with its contact data (masked unless allowed), attachments and timeline."""
    query = (
        select(Case)
        .where(Case.code == code, visible_cases_filter(g.staff))
        .options(
            joinedload(Case.field),
            joinedload(Case.unit),
            selectinload(Case.attachments),
            selectinload(Case.events),
        )
    )
    case = db().scalars(query).first()
    if case is None:
        # The same answer whether the case does not exist or is not this user's to see.
        abort(404)
    return render_template(
        "console/case.html",
        case=case,
        contact=contact_for(g.staff, case),
        map_url=_map_url(case),
        actors=_actor_names(case),
        link_url=_link_url,
        status_words=_status_words,
        action_labels=ACTION_LABELS,
        channel_label=CHANNEL_LABELS.get(case.channel, case.channel),
        attachment_states=ATTACHMENT_STATE_LABELS,
        media_types=MEDIA_TYPE_LABELS,
    )

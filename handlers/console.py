"""The staff console under /admin: login and logout, the case queue, the case page, Zalo OA tokens.

Each view loads what it needs, checks access through `cases.access`, and renders. Logins use the
signed Flask session cookie (HttpOnly, SameSite=Lax); every form carries a CSRF token
(`handlers.csrf`). Failed logins are throttled per username by `cases.staff.LoginThrottle`, which
lives in process memory for now.

Delivery to citizens is shown from the outbox ledger (`bot.delivery`): the case page lists every
message of the case with its fate, and the queue flags cases whose messages are held or failed.
Every page warns when the OA token pair is unusable; administrators reconnect the OA on
/admin/zalo, by pasting a pair or through Zalo's consent page (OAuth with PKCE). Tokens are never
shown, kept in the session or logged: only the PKCE verifier and the state wait in the session.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
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
from werkzeug.exceptions import Forbidden, NotFound

from bot.delivery import undelivered, undelivered_case_ids
from bot.zalo.client import TokenPair
from bot.zalo.errors import OAuthError, ZaloError
from bot.zalo.tokens import ROW_ID as TOKEN_ROW_ID
from cases.access import contact_for, visible_cases_filter
from cases.clock import format_date, format_datetime, local_date
from cases.notices import notices_for
from cases.staff import LoginThrottle, authenticate
from cases.status import kind_label, status_label
from handlers import csrf
from handlers.runtime import db, get_runtime
from models import (
    CLOSED_STATUSES,
    AttachmentState,
    Case,
    CaseStatus,
    HoldReason,
    MessageKind,
    OutboxMessage,
    OutboxState,
    Staff,
    TokenStatus,
    ZaloToken,
    utcnow,
)

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

ADMIN_ROLE = "admin"
NOTICES_SHOWN = 5
NOTICE_CASE_CODE = re.compile(r"PAKN\.\d{8}\.\d{4,}")
UNDELIVERED_FILTER = "1"

# Outbox rows, as staff read them.
OUTBOX_STATE_LABELS = {
    OutboxState.PENDING: "Chờ gửi",
    OutboxState.SENDING: "Đang gửi",
    OutboxState.SENT: "Đã gửi",
    OutboxState.DELIVERED: "Đã nhận",
    OutboxState.SEEN: "Đã xem",
    OutboxState.HELD: "Đang giữ lại (chưa gửi được)",
    OutboxState.FAILED: "Gửi thất bại",
}
MESSAGE_KIND_LABELS = {
    MessageKind.REPLY: "Tin trả lời",
    MessageKind.ACKNOWLEDGEMENT: "Xác nhận tiếp nhận",
    MessageKind.STATUS_UPDATE: "Cập nhật tiến độ",
    MessageKind.INFO_REQUEST: "Đề nghị bổ sung thông tin",
    MessageKind.ANSWER: "Kết quả trả lời",
    MessageKind.REMINDER: "Nhắc việc",
    MessageKind.SURVEY: "Khảo sát mức độ hài lòng",
}
DELIVERY_CHANNEL_LABELS = {
    "consultation": "Tin tư vấn",
    "template": "Tin mẫu theo Zalo ID",
    "phone": "Tin mẫu qua số điện thoại",
}
HOLD_REASON_LABELS = {
    HoldReason.OUTSIDE_WINDOW: "quá 7 ngày người dân không tương tác",
    HoldReason.UNREACHABLE: "người dân đã chặn OA / không liên lạc được",
    HoldReason.OUT_OF_QUOTA: "hết hạn mức gửi tin",
}
EXCERPT_LENGTH = 120

# The OA token pair, as staff read it (never the tokens themselves).
TOKEN_STATUS_LABELS = {
    TokenStatus.OK: "Đang hoạt động",
    TokenStatus.MISSING: "Chưa kết nối",
    TokenStatus.REFRESH_FAILED: "Hết hiệu lực (Zalo từ chối làm mới)",
}
TOKEN_SOURCE_LABELS = {
    "env": "Tệp cấu hình (.env)",
    "refresh": "Tự động làm mới",
    "console": "Dán trên trang quản trị",
    "cli": "Dòng lệnh",
    "consent": "Cấp quyền qua Zalo",
}
DEFAULT_EXPIRES_IN = 90000
MAX_TOKEN_LENGTH = 4096
SESSION_CONSENT = "zalo_consent"
# Zalo's consent code lives minutes; a pending consent older than this is refused.
CONSENT_LIFETIME = timedelta(minutes=15)
PASTE_INVALID = "Vui lòng dán đủ access token và refresh token."
EXPIRES_INVALID = "Thời hạn access token phải là số giây từ 60 đến 7.776.000 (90 ngày)."
PASTE_DONE = "Đã lưu cặp token mới. Tin nhắn đang chờ sẽ được gửi tiếp."
CONSENT_DONE = (
    "Đã kết nối Zalo OA qua trang cấp quyền của Zalo. Tin nhắn đang chờ sẽ được gửi tiếp."
)
CONSENT_STATE_MISMATCH = (
    "Không kết nối được: yêu cầu cấp quyền không khớp hoặc đã quá hạn (tham số state không hợp "
    "lệ). Vui lòng bấm “Kết nối OA qua Zalo” để làm lại."
)
CONSENT_NO_CODE = (
    "Không kết nối được: Zalo không trả về mã cấp quyền (có thể quản trị viên OA đã từ chối). "
    "Vui lòng thử lại."
)
CONSENT_REFUSED = (
    "Zalo từ chối mã cấp quyền ({detail}). Vui lòng bấm “Kết nối OA qua Zalo” để làm lại."
)
CONSENT_UNREACHABLE = "Không liên lạc được với Zalo ({detail}). Vui lòng thử lại sau ít phút."


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


@bp.context_processor
def _template_helpers() -> dict:
    staff = g.get("staff")
    return {
        "local_time": local_time,
        "local_date": day_text,
        "status_label": staff_status_label,
        "kind_label": kind_label,
        "is_overdue": is_overdue,
        "role_labels": ROLE_LABELS,
        "current_staff": staff,
        "is_admin": is_admin(staff),
        # Anonymous visitors (the login page) are not told about the OA's state.
        "token_status": token_status() if staff is not None else None,
    }


@bp.after_request
def _security_headers(response):
    # Console pages carry personal data: no caching, no framing, no scripts from anywhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    # A page whose form leads to Zalo's consent page must allow that redirect target.
    form_action = " ".join(["'self'", *g.get("form_action_origins", ())])
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; frame-ancestors 'none'; form-action {form_action}; base-uri 'none'"
    )
    return response


@bp.errorhandler(csrf.CSRFError)
@bp.errorhandler(Forbidden)
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


def _undelivered_clause() -> ColumnElement[bool]:
    return Case.id.in_(undelivered_case_ids())


def queue_query(
    staff: Staff, status: str = "", q: str = "", undelivered_only: bool = False
) -> Select:
    """Return the query of the cases `staff` may see, filtered by status, text and delivery."""
    query = select(Case).where(visible_cases_filter(staff))
    status_clause = _status_clause(status)
    if status_clause is not None:
        query = query.where(status_clause)
    if q:
        query = query.where(_search_clause(q))
    if undelivered_only:
        query = query.where(_undelivered_clause())
    return query


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


@bp.get("/")
@login_required
def index():
    """Show the staff's notices and the queue: newest cases first, filtered, 50 a page."""
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()[:200]
    undelivered_only = request.args.get("undelivered") == UNDELIVERED_FILTER
    page = _page_number(request.args.get("page"))
    query = queue_query(g.staff, status, q, undelivered_only)
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
    notices = [
        notice_view(notice.title, notice.body, notice.created_at)
        for notice in notices_for(session, g.staff.role_set, g.staff.unit_id, NOTICES_SHOWN)
    ]
    status = status if _status_clause(status) is not None else ""
    filters = {
        "status": status or None,
        "q": q or None,
        "undelivered": UNDELIVERED_FILTER if undelivered_only else None,
    }
    return render_template(
        "console/index.html",
        cases=cases,
        undelivered_since=undelivered(session, [case.id for case in cases]) if cases else {},
        notices=notices,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        status=status,
        q=q,
        undelivered_only=undelivered_only,
        filters=filters,
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


@dataclass(frozen=True)
class DeliveryView:
    """One outbox row of a case, in the words staff read."""

    queued_at: datetime
    kind: str
    excerpt: str
    state: str
    state_label: str
    state_at: datetime | None
    channel: str
    attempts: int
    reason: str


def message_excerpt(payload: dict[str, Any]) -> str:
    """Return the start of a queued message's text, or what it carries when it has none."""
    attachment = payload.get("attachment") or {}
    inner = attachment.get("payload") or {}
    text = payload.get("text") or inner.get("text")
    if isinstance(text, str) and text.strip():
        text = " ".join(text.split())
        return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"
    upload = payload.get("_upload") or {}
    if upload:
        label = "Ảnh" if upload.get("media_type") == "image" else "Tệp"
        return f"[{label}] {upload.get('name') or ''}".strip()
    if attachment.get("type") == "file":
        return "[Tệp]"
    if inner.get("template_type") == "media":
        return "[Ảnh]"
    if inner.get("template_type") == "request_user_info":
        return "[Thẻ đề nghị chia sẻ thông tin liên hệ]"
    return "—"


def zalo_error_words(code: int | None, message: str | None) -> str:
    """Describe a Zalo error for staff: its code and Zalo's own message."""
    message = (message or "").strip()
    if code is None:
        return f"Lỗi: {message}" if message else "Lỗi không rõ"
    # The ledger keeps `str(error)`, which already starts with the code.
    message = message.removeprefix(f"Zalo error {code}:").strip()
    return f"Zalo báo lỗi {code}: {message}" if message else f"Zalo báo lỗi {code}"


def delivery_reason(row: OutboxMessage) -> str:
    """Say why a row is held, failed or waiting for a retry ("" when nothing is wrong)."""
    if row.state is OutboxState.HELD:
        words = HOLD_REASON_LABELS.get(row.held_reason) or "chưa rõ lý do"  # type: ignore[arg-type]
        if row.last_error_code is not None:
            words += f" (mã lỗi Zalo {row.last_error_code})"
        return f"Giữ lại vì {words}"
    if row.state is OutboxState.FAILED:
        return zalo_error_words(row.last_error_code, row.last_error)
    if row.state is OutboxState.PENDING and row.attempts and row.last_error:
        before = (
            f"Lần gửi trước bị lỗi {row.last_error_code}"
            if row.last_error_code is not None
            else "Lần gửi trước bị gián đoạn"
        )
        return f"{before}; sẽ gửi lại lúc {local_time(row.next_attempt_at)}"
    return ""


def _state_time(row: OutboxMessage) -> datetime | None:
    return {
        OutboxState.SENT: row.sent_at,
        OutboxState.DELIVERED: row.delivered_at,
        OutboxState.SEEN: row.seen_at,
        OutboxState.HELD: row.held_since,
    }.get(row.state)


def delivery_view(row: OutboxMessage) -> DeliveryView:
    """Describe one outbox row for the case page."""
    return DeliveryView(
        queued_at=row.queued_at,
        kind=MESSAGE_KIND_LABELS.get(row.kind, str(row.kind)),
        excerpt=message_excerpt(row.payload or {}),
        state=row.state.value,
        state_label=OUTBOX_STATE_LABELS.get(row.state, row.state.value),
        state_at=_state_time(row),
        channel=DELIVERY_CHANNEL_LABELS.get(row.channel or "", row.channel or "—"),
        attempts=row.attempts,
        reason=delivery_reason(row),
    )


def case_deliveries(case_id: int) -> list[DeliveryView]:
    """Every message queued for the citizen about this case, in sending order."""
    rows = db().scalars(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case_id)
        .order_by(OutboxMessage.queued_at, OutboxMessage.id)
    )
    return [delivery_view(row) for row in rows]


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
        deliveries=case_deliveries(case.id),
        undelivered_since=undelivered(db(), [case.id]).get(case.id),
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


# Zalo OA connection (administrators)


def _end_read_transaction() -> None:
    # The token store works on its own connection; on SQLite the request session's transaction
    # (BEGIN IMMEDIATE) holds the write lock, so end it first. Nothing is pending: this commits
    # no change, and keeps loaded objects usable (expire_on_commit=False).
    db().commit()


def callback_url() -> str:
    """Return the consent callback URL, which must also be registered in the Zalo app."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("console.zalo_callback")


def code_challenge(verifier: str) -> str:
    """Return the PKCE S256 challenge of `verifier`: base64url(sha256(verifier)), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _oauth_origin() -> str:
    parts = urlsplit(current_app.config["ZALO_OAUTH_BASE"])
    return f"{parts.scheme}://{parts.netloc}"


def _render_zalo_page(error: str | None = None, expires_in: str = str(DEFAULT_EXPIRES_IN)):
    _end_read_transaction()
    info = get_runtime().tokens.info()
    g.form_action_origins = (_oauth_origin(),)
    expires_at = info.access_expires_at
    page = render_template(
        "console/zalo.html",
        info=info,
        status_labels=TOKEN_STATUS_LABELS,
        source_label=TOKEN_SOURCE_LABELS.get(info.source or "", info.source or "—"),
        expired=expires_at is not None and expires_at <= console_state().clock(),
        callback_url=callback_url(),
        error=error,
        expires_in=expires_in,
    )
    return page, 400 if error else 200


def _back_to_zalo_page(message: str, category: str = "message"):
    # Zalo's messages are short, but the flash travels in the session cookie: keep it bounded.
    flash(message[:500], category)
    return redirect(url_for("console.zalo_page"))


@bp.get("/zalo")
@admin_required
def zalo_page():
    """Show the OA token pair's state, the paste form and the consent button."""
    return _render_zalo_page()


def _pasted_pair() -> TokenPair | str:
    """Return the pair from the paste form, or the message saying what is wrong with it."""
    access = request.form.get("access_token", "").strip()
    refresh = request.form.get("refresh_token", "").strip()
    if not access or not refresh or max(len(access), len(refresh)) > MAX_TOKEN_LENGTH:
        return PASTE_INVALID
    raw = request.form.get("expires_in", "").strip() or str(DEFAULT_EXPIRES_IN)
    try:
        expires_in = int(raw)
    except ValueError:
        return EXPIRES_INVALID
    if not 60 <= expires_in <= 90 * 86400:
        return EXPIRES_INVALID
    return TokenPair(access, refresh, expires_in)


@bp.post("/zalo/tokens")
@admin_required
def zalo_paste():
    """Store a token pair pasted from Zalo's API Explorer."""
    pair = _pasted_pair()
    if isinstance(pair, str):
        # The tokens are never echoed back into the page.
        return _render_zalo_page(error=pair, expires_in=request.form.get("expires_in", "")[:12])
    staff_id = g.staff.id
    _end_read_transaction()
    get_runtime().tokens.replace(pair, "console")
    log.warning("Zalo token pair pasted in the console: staff_id=%s", staff_id)
    return _back_to_zalo_page(PASTE_DONE)


@bp.post("/zalo/connect")
@admin_required
def zalo_connect():
    """Start Zalo's OA consent flow: keep a PKCE verifier and a state, go to Zalo's page."""
    verifier = secrets.token_urlsafe(64)  # 86 characters, within PKCE's 43 to 128
    state = secrets.token_urlsafe(32)
    session[SESSION_CONSENT] = {
        "verifier": verifier,
        "state": state,
        "at": int(console_state().clock().timestamp()),
    }
    url = get_runtime().zalo.authorization_url(
        redirect_uri=callback_url(), code_challenge=code_challenge(verifier), state=state
    )
    log.info("Zalo consent started: staff_id=%s", g.staff.id)
    return redirect(url)


def _pending_verifier(state: str) -> str | None:
    """Take the pending consent out of the session; its verifier if `state` matches in time."""
    pending = session.pop(SESSION_CONSENT, None)
    if not isinstance(pending, dict):
        return None
    expected, verifier, at = pending.get("state"), pending.get("verifier"), pending.get("at")
    if not isinstance(expected, str) or not isinstance(verifier, str) or not isinstance(at, int):
        return None
    if console_state().clock().timestamp() - at > CONSENT_LIFETIME.total_seconds():
        return None
    if not hmac.compare_digest(state.encode(), expected.encode()):
        return None
    return verifier


@bp.get("/zalo/callback")
@admin_required
def zalo_callback():
    """Finish the consent flow: check the state, trade the code for a pair, store it."""
    staff_id = g.staff.id
    verifier = _pending_verifier(request.args.get("state", ""))
    code = request.args.get("code", "")
    _end_read_transaction()  # no lock is held while Zalo answers
    if verifier is None:
        log.warning("Zalo consent callback refused (state): staff_id=%s", staff_id)
        return _back_to_zalo_page(CONSENT_STATE_MISMATCH, "error")
    if not code:
        log.warning("Zalo consent callback without a code: staff_id=%s", staff_id)
        return _back_to_zalo_page(CONSENT_NO_CODE, "error")
    try:
        pair = get_runtime().zalo.exchange_code(code, verifier)
    except OAuthError as error:
        log.warning("Zalo refused the consent code: staff_id=%s code=%s", staff_id, error.code)
        detail = error.message if error.code is None else f"mã lỗi {error.code}: {error.message}"
        return _back_to_zalo_page(CONSENT_REFUSED.format(detail=detail), "error")
    except ZaloError as error:
        log.warning("Zalo consent exchange failed: staff_id=%s %s", staff_id, type(error).__name__)
        return _back_to_zalo_page(CONSENT_UNREACHABLE.format(detail=error), "error")
    get_runtime().tokens.replace(pair, "consent")
    log.warning("Zalo OA connected through the consent page: staff_id=%s", staff_id)
    return _back_to_zalo_page(CONSENT_DONE)

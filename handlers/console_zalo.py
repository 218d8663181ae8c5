"""The Zalo OA connection pages under /admin/zalo (administrators only).

Every console page warns when the OA token pair is unusable; administrators reconnect the OA
here, by pasting a pair or through Zalo's consent page (OAuth with PKCE). Tokens are never shown,
kept in the session or logged: only the PKCE verifier and the state wait in the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from bot.zalo.client import TokenPair
from bot.zalo.errors import OAuthError, ZaloError
from handlers.console import admin_required, console_blueprint, console_state
from handlers.runtime import db, get_runtime
from models import TokenStatus

log = logging.getLogger(__name__)

bp = console_blueprint("console_zalo", __name__)

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


def _end_read_transaction() -> None:
    # The token store works on its own connection; on SQLite the request session's transaction
    # (BEGIN IMMEDIATE) holds the write lock, so end it first. Nothing is pending: this commits
    # no change, and keeps loaded objects usable (expire_on_commit=False).
    db().commit()


def callback_url() -> str:
    """Return the consent callback URL, which must also be registered in the Zalo app."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("console_zalo.zalo_callback")


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
    return redirect(url_for("console_zalo.zalo_page"))


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

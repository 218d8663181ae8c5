"""CSRF protection for HTML forms, opted into per blueprint with `protect(bp)`.

A random token is kept in the (signed) Flask session and rendered into every form as the hidden
field `csrf_token`; scripts may send it as the `X-CSRF-Token` header instead. Every state-changing
request to a protected blueprint must echo it. Nothing is registered app-wide: the webhook and
the bearer-token API, which have no cookie session, stay untouched.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, request, session
from werkzeug.exceptions import BadRequest

SESSION_KEY = "_csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CSRFError(BadRequest):
    """The request did not carry this session's CSRF token."""

    description = (
        "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và thử lại."
    )


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def check_csrf() -> None:
    """Raise CSRFError when a state-changing request lacks the session's token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FORM_FIELD) or request.headers.get(HEADER)
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CSRFError()


def protect(bp: Blueprint) -> None:
    """Check the token before every unsafe request to `bp` and expose `csrf_token()` to its templates."""
    bp.before_request(check_csrf)
    bp.context_processor(lambda: {"csrf_token": csrf_token})

"""A stand-in of the Zalo OA Open API for sandbox mode, under `/_sandbox/zalo`.

Same paths, same JSON and the same habits as Zalo (errors as HTTP 200 with a negative `error`),
so the production client runs unchanged against it. Every request is kept as a `SandboxRecord`;
the simulator reads them to show the bot's replies. Uploaded files are `SandboxMedia`, served back
under `/media/<token>/<name>` as Zalo's CDN would serve them.

It also plays the Zalo behaviours the delivery ledger must cope with, kept in the database so
that every web worker agrees:
- the 7-day window: `message/cs` answers -230 once the citizen's last interaction (`SandboxUser`,
  set by the simulator) is more than 7 days old; template messages are not window-limited;
- single-use refresh tokens (`SandboxToken`): a refresh issues a new pair and kills the old
  refresh AND access tokens at once; a revoked grant refuses everything until a new consent;
- injected failures (`SandboxFault`): the next N `message/cs` calls answer an error a developer
  chose in the simulator, the citizen's own faults first, then faults meant for anyone.

These are machine APIs: no login and no CSRF, like Zalo's; the access token is the only check.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, jsonify, redirect, request, send_file
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from bot.zalo import messages
from handlers.runtime import db
from models import (
    Citizen,
    InboundEvent,
    SandboxFault,
    SandboxMedia,
    SandboxRecord,
    SandboxToken,
    SandboxUser,
    utcnow,
)

bp = Blueprint("sandbox", __name__, url_prefix="/_sandbox/zalo")

MAX_TEXT = messages.MAX_TEXT
MAX_BUTTONS = messages.MAX_BUTTONS
IMAGE_MAX_BYTES = 1024 * 1024
FILE_MAX_BYTES = 5 * 1024 * 1024
FILE_EXTENSIONS = {"pdf", "doc", "docx", "csv"}
TEMPLATE_TYPES = {"button", "media", "request_user_info"}
SAFE_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
}
OAUTH_RECORD = "oauth/access_token"
RATE_LIMIT = 4000
# The fixed quota the stand-in reports; callers must read it, never assume it.
QUOTA = {"quota_type": "reply", "remain": "7", "total": "8"}
WINDOW = timedelta(days=7)
OUTSIDE_WINDOW = (-230, "User has not interacted with the OA in the past 7 days")
HTTP_500 = 500
# The failures the simulator can inject into the next consultation sends (500: an HTTP 500).
FAULT_MESSAGES = {
    -32: "Your application reached limit call api",
    -200: "Sending message failed",
    -201: "Parameter is invalid",
    -216: "Access token is invalid",
    -217: "User has blocked the OA",
    OUTSIDE_WINDOW[0]: OUTSIDE_WINDOW[1],
    HTTP_500: "Internal Server Error",
}


class SandboxError(Exception):
    """A request Zalo would refuse: carries Zalo's error code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """Zalo's error body."""
        return {"error": self.code, "message": self.message}


def new_token() -> str:
    """A random opaque id, like Zalo's message ids and upload tokens."""
    return secrets.token_hex(16)


def now_ms() -> str:
    """The current time as Zalo writes it: epoch milliseconds, as a string."""
    return str(int(time.time() * 1000))


def sandbox_dir() -> Path:
    """The folder holding the sandbox's 'CDN' files."""
    return Path(current_app.config["STORAGE_DIR"]) / "sandbox"


def media_url(media: SandboxMedia) -> str:
    """The public URL of a stored file, as the bot will see it in an event."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return f"{base}{bp.url_prefix}/media/{media.token}/{media.file_name}"


def safe_content_type(file_name: str) -> str:
    """A content type from the extension, only from the short list browsers cannot abuse."""
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return SAFE_CONTENT_TYPES.get(extension, "application/octet-stream")


def image_kind(data: bytes) -> str | None:
    """Return "jpg" or "png" when the bytes are one, else None (the name alone proves nothing)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def store_media(file_name: str, data: bytes) -> SandboxMedia:
    """Write `data` under the sandbox folder and add its SandboxMedia row (the caller commits)."""
    token = new_token()
    name = secure_filename(file_name) or "file"
    relative = Path(token) / name
    target = sandbox_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    media = SandboxMedia(
        token=token,
        file_name=name,
        content_type=safe_content_type(name),
        storage_path=str(relative),
        size=len(data),
    )
    db().add(media)
    return media


def _record(endpoint: str, zalo_user_id: str | None, body: Any, response: dict[str, Any]) -> None:
    """Keep what was received and answered, then commit (one commit per request)."""
    if not isinstance(body, dict):
        body = {"raw": body}
    if zalo_user_id is not None and len(zalo_user_id) > 40:
        zalo_user_id = None
    session = db()
    session.add(
        SandboxRecord(endpoint=endpoint, zalo_user_id=zalo_user_id, body=body, response=response)
    )
    session.commit()


def _check_access_token() -> None:
    """Refuse like Zalo when the `access_token` header is not the live grant's access token."""
    token = request.headers.get("access_token", "")
    pair = live_pair(db())
    if token and pair is not None and _same(token, pair[0]):
        return
    raise SandboxError(-216, "Access token is invalid")


def _same(given: str, expected: str | None) -> bool:
    """Compare secrets in constant time (bytes, so any header text is accepted)."""
    return secrets.compare_digest(given.encode(), (expected or "").encode())


def _json_body() -> Any:
    return request.get_json(silent=True, force=True)


def _success(user_id: str | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"message_id": new_token(), "user_id": user_id, "sent_time": now_ms()}
    data.update(extra)
    data["quota"] = dict(QUOTA)
    return {"error": 0, "message": "Success", "data": data}


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise SandboxError(-201, f"{what} is invalid!")


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _recipient_of(body: Any) -> str | None:
    recipient = body.get("recipient") if isinstance(body, dict) else None
    user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
    return user_id if isinstance(user_id, str) and user_id.strip() else None


def validate_cs_message(body: Any) -> str:
    """Check a consultation-message body as Zalo does; return the recipient's user id."""
    _require(isinstance(body, dict), "body")
    recipient = body.get("recipient")
    _require(isinstance(recipient, dict) and _nonempty_str(recipient.get("user_id")), "user_id")
    user_id = str(recipient["user_id"])
    message = body.get("message")
    _require(isinstance(message, dict), "message")
    _require("attachments" not in message, "attachments")
    text = message.get("text")
    attachment = message.get("attachment")
    if text is not None:
        _require(isinstance(text, str), "text")
        if len(unicodedata.normalize("NFC", text)) > MAX_TEXT:
            raise SandboxError(-210, f"text exceeds the limit of {MAX_TEXT} characters")
    if attachment is None:
        _require(_nonempty_str(text), "text")
        return user_id
    _validate_attachment(attachment, has_text=bool(text))
    return user_id


def _validate_attachment(attachment: Any, has_text: bool) -> None:
    _require(isinstance(attachment, dict), "attachment")
    payload = attachment.get("payload")
    _require(isinstance(payload, dict), "payload")
    kind = attachment.get("type")
    if kind == "file":
        _require(not has_text, "text")
        _require(_nonempty_str(payload.get("token")), "token")
        return
    _require(kind == "template", "attachment type")
    template_type = payload.get("template_type")
    _require(template_type in TEMPLATE_TYPES, "template_type")
    # Only an image may carry a caption; the other templates hold their own text.
    _require(template_type == "media" or not has_text, "text")
    if template_type == "button":
        _validate_buttons(payload)
        return
    elements = payload.get("elements")
    _require(isinstance(elements, list) and len(elements) == 1, "elements")
    element = elements[0]
    _require(isinstance(element, dict), "element")
    if template_type == "media":
        _require(element.get("media_type") == "image", "media_type")
        _require(
            _nonempty_str(element.get("url")) or _nonempty_str(element.get("attachment_id")), "url"
        )
    else:
        _require(_nonempty_str(element.get("title")), "title")


def _validate_buttons(payload: dict[str, Any]) -> None:
    _require(_nonempty_str(payload.get("text")), "text")
    if len(unicodedata.normalize("NFC", payload["text"])) > MAX_TEXT:
        raise SandboxError(-210, f"text exceeds the limit of {MAX_TEXT} characters")
    buttons = payload.get("buttons")
    _require(isinstance(buttons, list) and 1 <= len(buttons) <= MAX_BUTTONS, "buttons")
    for button in buttons:
        _require(isinstance(button, dict) and _nonempty_str(button.get("title")), "button title")
        _require(isinstance(button.get("type"), str), "button type")
        _require(isinstance(button.get("payload"), str | dict), "button payload")


# --- Zalo-side state: the window, the token grant, injected faults ---------------------------
# Domain operations only flush; the request handler that calls them commits.


def record_interaction(session: Session, user_id: str, now: datetime) -> None:
    """Note that the citizen interacted with the OA at `now` (a message, a tap, a follow...)."""
    user = session.get(SandboxUser, user_id)
    if user is not None:
        user.last_interaction_at = now
        return
    try:
        with session.begin_nested():
            session.add(SandboxUser(zalo_user_id=user_id, last_interaction_at=now))
    except IntegrityError:
        # The same citizen's other action, in another worker, created the row first.
        user = session.get(SandboxUser, user_id, populate_existing=True)
        assert user is not None
        user.last_interaction_at = now


def last_interaction(session: Session, user_id: str) -> datetime | None:
    """When Zalo last saw the citizen interact with the OA (None: never)."""
    user = session.get(SandboxUser, user_id)
    return user.last_interaction_at if user is not None else None


def is_in_window(session: Session, user_id: str, now: datetime) -> bool:
    """True while Zalo still accepts a consultation message to this citizen."""
    last = last_interaction(session, user_id)
    # Sandbox convenience, not Zalo: a citizen the sandbox never saw (a test, a chat from before
    # the sandbox kept interactions) counts as having interacted just now.
    return last is None or now - last <= WINDOW


def age_user(session: Session, user_id: str, days: int, now: datetime) -> datetime:
    """Move the citizen's last interaction `days` back (from now if never seen); return it."""
    last = (last_interaction(session, user_id) or now) - timedelta(days=days)
    record_interaction(session, user_id, last)
    return last


def _config_pair() -> tuple[str, str]:
    config = current_app.config
    return config["ZALO_ACCESS_TOKEN"] or "", config["ZALO_REFRESH_TOKEN"] or ""


def _active_token(session: Session) -> SandboxToken | None:
    return session.scalars(
        select(SandboxToken)
        .where(SandboxToken.active.is_(True))
        .order_by(SandboxToken.generation.desc())
        .limit(1)
    ).first()


def _has_tokens(session: Session) -> bool:
    return session.scalars(select(SandboxToken.id).limit(1)).first() is not None


def live_pair(session: Session) -> tuple[str, str] | None:
    """The (access, refresh) pair Zalo accepts now; None while the grant is revoked."""
    row = _active_token(session)
    if row is not None:
        return row.access_token, row.refresh_token
    if _has_tokens(session):
        return None
    # Nothing issued yet: the configured pair is the live one; it is stored once replaced.
    return _config_pair()


def token_generation(session: Session) -> int:
    """How many pairs were issued after the configured one (0: still the configured pair)."""
    generation = session.scalars(
        select(SandboxToken.generation).order_by(SandboxToken.generation.desc()).limit(1)
    ).first()
    return generation or 0


def _retire_live(
    session: Session, reason: str, now: datetime, refresh_token: str | None = None
) -> int | None:
    """Retire the live pair (only if `refresh_token`, when given, is its refresh token).

    Return the retired pair's generation, or None when there was no such live pair.
    """
    row = _active_token(session)
    if row is None:
        if _has_tokens(session):
            return None
        access, refresh = _config_pair()
        if refresh_token is not None and not (refresh_token and _same(refresh_token, refresh)):
            return None
        session.add(
            SandboxToken(
                generation=0,
                access_token=access,
                refresh_token=refresh,
                active=False,
                grant="config",
                retired_reason=reason,
                retired_at=now,
            )
        )
        # Two workers storing generation 0 at once collide here (unique generation).
        session.flush()
        return 0
    if refresh_token is not None and not _same(refresh_token, row.refresh_token):
        return None
    generation = row.generation
    # Of two workers retiring the same pair at once, only one still finds it active.
    retired = session.execute(
        update(SandboxToken)
        .where(SandboxToken.id == row.id, SandboxToken.active.is_(True))
        .values(active=False, retired_reason=reason, retired_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expire(row)
    return generation if retired else None


def _issue_pair(
    session: Session, generation: int, grant: str, now: datetime, code: str | None = None
) -> dict[str, Any]:
    """Store a new live pair and answer it as Zalo's OAuth does (expires_in is a string)."""
    row = SandboxToken(
        generation=generation,
        access_token=new_token(),
        refresh_token=new_token(),
        active=True,
        grant=grant,
        code=code,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return {
        "access_token": row.access_token,
        "refresh_token": row.refresh_token,
        "expires_in": "90000",
    }


def revoke_grant(session: Session, now: datetime) -> None:
    """End the live grant, as when its refresh token expired: every token is refused from now."""
    _retire_live(session, "revoked", now)


def set_fault(session: Session, code: int, times: int, user_id: str | None) -> SandboxFault:
    """Make the next `times` consultation sends (to `user_id`, or to anyone) fail with `code`.

    Replaces the faults still pending for the same target, so the page shows one clear state.
    """
    clear_faults(session, user_id)
    fault = SandboxFault(code=code, remaining=times, zalo_user_id=user_id)
    session.add(fault)
    session.flush()
    return fault


def clear_faults(session: Session, user_id: str | None) -> None:
    """Drop the faults pending for `user_id` (None: the faults meant for anyone)."""
    target = (
        SandboxFault.zalo_user_id.is_(None)
        if user_id is None
        else SandboxFault.zalo_user_id == user_id
    )
    session.execute(delete(SandboxFault).where(target).execution_options(synchronize_session=False))


def pending_faults(session: Session, user_id: str | None) -> list[SandboxFault]:
    """The faults a send to `user_id` would meet, in the order it meets them."""
    target = SandboxFault.zalo_user_id.is_(None)
    if user_id is not None:
        target = or_(target, SandboxFault.zalo_user_id == user_id)
    return list(
        session.scalars(
            select(SandboxFault)
            .where(SandboxFault.remaining > 0, target)
            # The citizen's own faults first (False sorts before True), then the oldest.
            .order_by(SandboxFault.zalo_user_id.is_(None), SandboxFault.id)
        )
    )


def take_fault(session: Session, user_id: str | None) -> int | None:
    """Use up one pending fault for a send to `user_id`; return its code (None: no fault)."""
    for fault in pending_faults(session, user_id):
        # Conditional, so two workers never both use up the last count of one fault.
        taken = session.execute(
            update(SandboxFault)
            .where(SandboxFault.id == fault.id, SandboxFault.remaining > 0)
            .values(remaining=SandboxFault.remaining - 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.expire(fault)
        if taken:
            return fault.code
    return None


@bp.after_request
def rate_limit_headers(response):
    """Report a rate limit the way Zalo does, so the client's header parsing is exercised."""
    if request.endpoint != "sandbox.media":
        # setdefault: an injected -32 has already reported an exhausted limit.
        response.headers.setdefault("X-RateLimit-Limit", str(RATE_LIMIT))
        response.headers.setdefault("X-RateLimit-Remain", str(RATE_LIMIT - 1))
    return response


@bp.post("/v3.0/oa/message/cs")
def message_cs():
    """Accept a consultation message (text, buttons, image, info card or file) like Zalo.

    A pending injected fault answers instead, once the access token has passed; a citizen
    outside the 7-day window is refused with -230.
    """
    body = _json_body()
    # Known before validation, so a refused message still shows in that citizen's simulator chat.
    user_id = _recipient_of(body)
    session = db()
    fault = None
    try:
        _check_access_token()
        fault = take_fault(session, user_id)
        if fault is not None:
            raise SandboxError(fault, FAULT_MESSAGES[fault])
        validate_cs_message(body)
        if user_id is not None and not is_in_window(session, user_id, utcnow()):
            raise SandboxError(*OUTSIDE_WINDOW)
        answer = _success(user_id)
    except SandboxError as error:
        answer = error.body()
    if fault == HTTP_500:
        _record("message/cs", user_id, body, {"http_status": HTTP_500, "injected": True})
        return current_app.response_class("Internal Server Error", 500, mimetype="text/plain")
    _record("message/cs", user_id, body, {**answer, "injected": True} if fault else answer)
    response = jsonify(answer)
    if fault == -32:
        response.headers["X-RateLimit-Remain"] = "0"
    return response


@bp.post("/v3.0/oa/message/template")
def message_template():
    """Accept a template message by Zalo user id (ZBS), recorded for the simulator."""
    body = _json_body()
    user_id = None
    try:
        _check_access_token()
        _require(isinstance(body, dict) and _nonempty_str(body.get("user_id")), "user_id")
        user_id = str(body["user_id"])
        _require(_nonempty_str(str(body.get("template_id") or "")), "template_id")
        _require(isinstance(body.get("template_data", {}), dict), "template_data")
        answer = _success(user_id)
    except SandboxError as error:
        answer = error.body()
    _record("message/template", user_id, body, answer)
    return jsonify(answer)


@bp.post("/business/message/template")
def business_template():
    """Accept a ZNS template message by phone; shown to the citizen whose phone matches."""
    body = _json_body()
    user_id = None
    try:
        _check_access_token()
        _require(isinstance(body, dict) and _nonempty_str(body.get("phone")), "phone")
        _require(_nonempty_str(str(body.get("template_id") or "")), "template_id")
        _require(isinstance(body.get("template_data", {}), dict), "template_data")
        user_id = _zalo_user_by_phone(body["phone"])
        answer = _success(user_id, msg_id=new_token())
    except SandboxError as error:
        answer = error.body()
    _record("business/message/template", user_id, body, answer)
    return jsonify(answer)


def _phone_variants(phone: str) -> set[str]:
    digits = "".join(ch for ch in phone if ch.isdigit())
    national = "0" + digits[2:] if digits.startswith("84") else digits
    international = "84" + national[1:] if national.startswith("0") else digits
    return {digits, national, international, "+" + international}


def _zalo_user_by_phone(phone: str) -> str | None:
    """The simulated citizen who gave this phone number, so the simulator can show the message."""
    return (
        db()
        .scalars(
            select(Citizen.zalo_user_id).where(Citizen.phone.in_(_phone_variants(phone))).limit(1)
        )
        .first()
    )


def _uploaded_file() -> tuple[FileStorage, bytes]:
    upload = request.files.get("file")
    _require(upload is not None and bool(upload.filename), "file")
    assert upload is not None
    return upload, upload.read()


@bp.post("/v2.0/oa/upload/image")
def upload_image():
    """Store a jpg/png of at most 1 MB and answer its attachment id."""
    answer: dict[str, Any]
    meta: dict[str, Any] = {}
    try:
        _check_access_token()
        upload, data = _uploaded_file()
        meta = {"file_name": upload.filename, "size": len(data)}
        kind = image_kind(data)
        _require(kind is not None, "file type")
        if len(data) > IMAGE_MAX_BYTES:
            raise SandboxError(-210, "file size exceeds the limit of 1MB")
        stem = Path(secure_filename(upload.filename or "")).stem or "image"
        media = store_media(f"{stem}.{kind}", data)
        answer = {"error": 0, "message": "Success", "data": {"attachment_id": media.token}}
    except SandboxError as error:
        answer = error.body()
    _record("upload/image", None, meta, answer)
    return jsonify(answer)


@bp.post("/v2.0/oa/upload/file")
def upload_file():
    """Store a pdf/doc/docx/csv of at most 5 MB and answer its token."""
    answer: dict[str, Any]
    meta: dict[str, Any] = {}
    try:
        _check_access_token()
        upload, data = _uploaded_file()
        meta = {"file_name": upload.filename, "size": len(data)}
        name = secure_filename(upload.filename or "")
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        _require(extension in FILE_EXTENSIONS, "file type")
        if len(data) > FILE_MAX_BYTES:
            raise SandboxError(-210, "file size exceeds the limit of 5MB")
        media = store_media(name, data)
        answer = {"error": 0, "message": "Success", "data": {"token": media.token}}
    except SandboxError as error:
        answer = error.body()
    _record("upload/file", None, meta, answer)
    return jsonify(answer)


@bp.get("/v3.0/oa/user/detail")
def user_detail():
    """Answer a citizen's profile; shared_info is what they last sent through the info card."""
    raw = request.args.get("data", "")
    user_id = None
    try:
        _check_access_token()
        try:
            query = json.loads(raw)
        except ValueError:
            query = None
        _require(
            isinstance(query, dict) and _nonempty_str(str(query.get("user_id") or "")), "user_id"
        )
        assert isinstance(query, dict)
        user_id = str(query["user_id"])
        answer = {"error": 0, "message": "Success", "data": _profile(user_id)}
    except SandboxError as error:
        answer = error.body()
    _record("user/detail", user_id, {"data": raw}, answer)
    return jsonify(answer)


def _profile(user_id: str) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "user_id_by_app": user_id_by_app(user_id),
        "display_name": f"Người dân thử nghiệm {user_id[-4:]}",
        "user_is_follower": True,
        "avatar": "",
        "user_last_interaction_date": (last_interaction(db(), user_id) or utcnow()).strftime(
            "%d/%m/%Y"
        ),
        "shared_info": _shared_info(user_id),
    }


def _shared_info(user_id: str) -> dict[str, Any]:
    body = (
        db()
        .scalars(
            select(InboundEvent.body)
            .where(
                InboundEvent.zalo_user_id == user_id, InboundEvent.event_name == "user_submit_info"
            )
            .order_by(InboundEvent.id.desc())
            .limit(1)
        )
        .first()
    )
    try:
        info = json.loads(body or "{}").get("info")
    except (ValueError, AttributeError):
        info = None
    return info if isinstance(info, dict) else {}


def user_id_by_app(user_id: str) -> str:
    """A stable stand-in for Zalo's per-app user id (a different number from the OA's user id)."""
    digest = int(hashlib.sha256(f"by-app:{user_id}".encode()).hexdigest(), 16)
    return str(10**18 + digest % (9 * 10**18))


@bp.post("/oauth/v4/oa/access_token")
def oauth_access_token():
    """Exchange a refresh token (or an authorisation code) for a fresh pair, like Zalo's OAuth."""
    form = request.form.to_dict()
    try:
        answer = _oauth_answer(form)
    except IntegrityError:
        # Another worker used the same grant at the same instant: single use, so this one loses.
        db().rollback()
        answer = REFRESH_REFUSED if form.get("grant_type") == "refresh_token" else CODE_REFUSED
    # Keep the form but never the secret header.
    _record(OAUTH_RECORD, None, form, answer)
    return jsonify(answer)


def _oauth_error(
    code: int, name: str, reason: str, description: str | None = None
) -> dict[str, Any]:
    return {
        "error": code,
        "error_name": name,
        "error_reason": reason,
        "error_description": description or reason,
    }


REFRESH_REFUSED = _oauth_error(
    -14020, "Invalid refresh token", "refresh_token is expired or used", "Refresh token is invalid"
)
CODE_REFUSED = _oauth_error(-14019, "Invalid code", "code is invalid")


def _oauth_answer(form: dict[str, str]) -> dict[str, Any]:
    config = current_app.config
    if form.get("app_id") != config["ZALO_APP_ID"]:
        return _oauth_error(-14001, "Invalid app_id", "app_id is invalid")
    if not _same(request.headers.get("secret_key", ""), config["ZALO_APP_SECRET"]):
        return _oauth_error(-14014, "Invalid secret key", "secret_key is invalid")
    session, now = db(), utcnow()
    grant = form.get("grant_type")
    if grant == "refresh_token":
        retired = _retire_live(
            session, "refreshed", now, refresh_token=form.get("refresh_token", "")
        )
        if retired is None:
            return dict(REFRESH_REFUSED)
        return _issue_pair(session, retired + 1, grant, now)
    if grant == "authorization_code":
        # Any non-empty code is a consent in the sandbox; it is kept with the pair it bought.
        code = form.get("code", "").strip()
        if not code:
            return dict(CODE_REFUSED)
        if not form.get("code_verifier", "").strip():
            return _oauth_error(-14019, "Invalid code", "code_verifier is invalid")
        # A new consent replaces whatever grant was live (or revoked).
        _retire_live(session, "replaced", now)
        return _issue_pair(session, token_generation(session) + 1, grant, now, code=code[:500])
    return _oauth_error(-14003, "Invalid grant_type", "grant_type is invalid")


@bp.get("/oauth/v4/oa/permission")
def oauth_permission():
    """Play an OA admin who consents at once: back to `redirect_uri` with a fresh `code`.

    Only redirects into this app (no open redirect). The code is an opaque value; the token
    endpoint accepts any non-empty code with a `code_verifier`.
    """
    redirect_uri = request.args.get("redirect_uri", "")
    if not redirect_uri.startswith(current_app.config["PUBLIC_BASE_URL"] + "/"):
        abort(400)
    if request.args.get("app_id") != current_app.config["ZALO_APP_ID"]:
        abort(400)
    query = urlencode(
        {
            "code": new_token(),
            "oa_id": current_app.config["ZALO_OA_ID"],
            "state": request.args.get("state", ""),
        }
    )
    _record("oauth/permission", None, request.args.to_dict(), {"redirect": True})
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{query}")


@bp.get("/media/<token>/<file_name>")
def media(token: str, file_name: str):
    """Serve a stored file like a CDN, with headers that stop a browser from sniffing or running it."""
    item = db().scalars(select(SandboxMedia).where(SandboxMedia.token == token)).first()
    if item is None or item.file_name != file_name:
        abort(404)
    root = sandbox_dir().resolve()
    path = (root / item.storage_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    content_type = safe_content_type(item.file_name)
    inline = content_type.startswith("image/")
    response = send_file(
        path,
        mimetype=content_type,
        as_attachment=not inline,
        download_name=item.file_name,
        max_age=3600,
    )
    if inline:
        response.headers["Content-Disposition"] = f'inline; filename="{item.file_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

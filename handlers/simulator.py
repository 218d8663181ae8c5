"""The Zalo chat simulator (sandbox mode only): pretend citizens talk to the bot from a web page.

Each action becomes the event Zalo would send, in Zalo's envelope, signed with the sandbox's own
OA secret key and posted through the real webhook endpoint. The bot's answers reach the sandbox
stand-in of the Zalo API (`handlers.sandbox`), and the page polls them back as chat bubbles,
together with the citizen's own events so a reload shows the whole conversation.

Developer controls play what Zalo would do over days or on a bad day: age a citizen past the
7-day window (at "Zalo" and in the app's own `Citizen` row alike), make the next sends fail with
a chosen Zalo error, and revoke the OA's refresh token.

A developer tool: no login and no CSRF, but it only ever signs with the configured sandbox
secret, and refuses to run at all outside sandbox mode.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select

from bot.zalo.signature import signature_header
from handlers import sandbox
from handlers.runtime import db
from models import Citizen, InboundEvent, SandboxMedia, SandboxRecord, utcnow

bp = Blueprint("simulator", __name__)

MAX_USER_ID = 40
MAX_TEXT = 4000
MAX_FIELD = 300
MESSAGE_ENDPOINTS = ("message/cs", "message/template", "business/message/template")
CITIZEN_EVENTS = (
    "user_send_text",
    "user_send_image",
    "user_send_file",
    "user_send_location",
    "user_submit_info",
    "follow",
    "unfollow",
)
INFO_FIELDS = ("name", "phone", "address", "ward", "district", "city")
PAGE_SIZE = 200
QUERY_BUTTONS = ("oa.query.show", "oa.query.hide")
# The page offers these steps back in time; the API takes any whole number up to the maximum.
AGE_CHOICES = (1, 3, 8)
MAX_AGE_DAYS = 60
MAX_FAULT_TIMES = 5
FAULT_CHOICES = (
    (-32, "-32 · Vượt giới hạn gọi API"),
    (-200, "-200 · Gửi tin thất bại"),
    (-216, "-216 · Access token không hợp lệ"),
    (-230, "-230 · Quá 7 ngày không tương tác"),
    (-217, "-217 · Người dân đã chặn OA"),
    (-201, "-201 · Tham số không hợp lệ"),
    (sandbox.HTTP_500, "HTTP 500 · Máy chủ Zalo lỗi"),
)


class BadRequest(Exception):
    """The page sent something the simulator cannot turn into an event (message in Vietnamese)."""


@bp.before_request
def sandbox_only():
    """Never sign events outside sandbox mode, even if the blueprint were registered by mistake."""
    if not current_app.config.get("SANDBOX"):
        abort(404)


@bp.errorhandler(BadRequest)
def bad_request(error: BadRequest):
    """Answer the page with the reason, as JSON."""
    return jsonify(error=str(error)), 400


@bp.get("/simulator")
def page():
    """Show the chat simulator."""
    return render_template(
        "simulator.html",
        oa_id=current_app.config["ZALO_OA_ID"],
        age_choices=AGE_CHOICES,
        fault_choices=FAULT_CHOICES,
        max_fault_times=MAX_FAULT_TIMES,
    )


# --- sending ------------------------------------------------------------------------------


def _user_id(value: Any) -> str:
    if not isinstance(value, str) or not value.isdigit() or len(value) > MAX_USER_ID:
        raise BadRequest("Mã người dân không hợp lệ (chỉ gồm chữ số).")
    return value


def _text(value: Any, what: str, limit: int = MAX_TEXT, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"{what} không hợp lệ.")
    value = value.strip()
    if required and not value:
        raise BadRequest(f"Thiếu {what.lower()}.")
    if len(value) > limit:
        raise BadRequest(f"{what} quá dài (tối đa {limit} ký tự).")
    return value


def _envelope(user_id: str, event_name: str, message: dict[str, Any] | None) -> dict[str, Any]:
    """A user->OA event in Zalo's envelope, with a fresh msg_id and an epoch-ms timestamp."""
    config = current_app.config
    body: dict[str, Any] = {
        "app_id": config["ZALO_APP_ID"],
        "sender": {"id": user_id},
        "user_id_by_app": sandbox.user_id_by_app(user_id),
        "recipient": {"id": config["ZALO_OA_ID"]},
        "event_name": event_name,
    }
    if message is not None:
        body["message"] = {**message, "msg_id": uuid.uuid4().hex}
    body["timestamp"] = sandbox.now_ms()
    return body


def _follow(user_id: str) -> dict[str, Any]:
    config = current_app.config
    return {
        "oa_id": config["ZALO_OA_ID"],
        "follower": {"id": user_id},
        "user_id_by_app": sandbox.user_id_by_app(user_id),
        "event_name": "follow",
        "source": "oa_profile",
        "app_id": config["ZALO_APP_ID"],
        "timestamp": sandbox.now_ms(),
    }


def _text_event(user_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return _envelope(user_id, "user_send_text", {"text": _text(data.get("text"), "Nội dung")})


def _button_event(user_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A tap on a query button arrives as a text event carrying the button's payload."""
    record_id, index = data.get("record_id"), data.get("index")
    if not isinstance(record_id, int) or not isinstance(index, int):
        raise BadRequest("Thiếu nút được bấm.")
    record = db().get(SandboxRecord, record_id)
    buttons = _buttons_of(record.body) if record and record.zalo_user_id == user_id else []
    if not 0 <= index < len(buttons) or buttons[index]["type"] not in QUERY_BUTTONS:
        raise BadRequest("Nút này không gửi tin nhắn.")
    return _envelope(user_id, "user_send_text", {"text": buttons[index]["payload"]})


def _image_event(user_id: str, data: dict[str, Any]) -> dict[str, Any]:
    token = _text(data.get("token"), "Ảnh", limit=64)
    media = db().scalars(select(SandboxMedia).where(SandboxMedia.token == token)).first()
    if media is None or not media.content_type.startswith("image/"):
        raise BadRequest("Không tìm thấy ảnh đã tải lên.")
    url = sandbox.media_url(media)
    message: dict[str, Any] = {
        "attachments": [{"type": "image", "payload": {"url": url, "thumbnail": url}}]
    }
    caption = _text(data.get("text"), "Chú thích", required=False)
    if caption:
        message["text"] = caption
    return _envelope(user_id, "user_send_image", message)


def _coordinate(value: Any, what: str, bound: float) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{what} không hợp lệ.") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise BadRequest(f"{what} không hợp lệ.")
    return f"{number:.7f}"


def _location_event(user_id: str, data: dict[str, Any]) -> dict[str, Any]:
    coordinates = {
        "latitude": _coordinate(data.get("latitude"), "Vĩ độ", 90),
        "longitude": _coordinate(data.get("longitude"), "Kinh độ", 180),
    }
    attachment = {"type": "location", "payload": {"coordinates": coordinates}}
    return _envelope(user_id, "user_send_location", {"text": "", "attachments": [attachment]})


def _info_event(user_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The flat answer to a request_user_info card (Zalo's form requires name and phone)."""
    info = {
        field: _text(data.get(field), label, MAX_FIELD, required=field in ("name", "phone"))
        for field, label in zip(
            INFO_FIELDS,
            ("Họ và tên", "Số điện thoại", "Địa chỉ", "Phường/Xã", "Quận/Huyện", "Tỉnh/Thành phố"),
            strict=True,
        )
    }
    body = _envelope(user_id, "user_submit_info", None)
    body["info"] = info
    return body


EVENT_BUILDERS = {
    "text": _text_event,
    "button": _button_event,
    "image": _image_event,
    "location": _location_event,
    "info": _info_event,
    "follow": lambda user_id, _data: _follow(user_id),
}


def deliver(event: dict[str, Any]) -> int:
    """Sign `event` with the sandbox secret and post it through the real webhook; return its status."""
    config = current_app.config
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    headers = signature_header(
        config["ZALO_APP_ID"], raw, event["timestamp"], config["ZALO_OA_SECRET_KEY"]
    )
    # In-process through the whole WSGI stack, so a one-worker server never waits on itself.
    response = current_app.test_client().post(
        "/webhook/zalo", data=raw, headers=headers, content_type="application/json"
    )
    response.close()
    return response.status_code


def _json_request() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("Yêu cầu phải là JSON.")
    return data


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{what} phải là số nguyên từ {low} đến {high}.")
    return value


@bp.post("/simulator/api/send")
def send():
    """Turn one action of the page into a signed Zalo event and deliver it to the webhook."""
    data = _json_request()
    user_id = _user_id(data.get("user_id"))
    kind = data.get("kind")
    builder = EVENT_BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise BadRequest("Loại thao tác không hợp lệ.")
    event = builder(user_id, data)
    # Every action of the citizen counts for Zalo as an interaction: it reopens the 7-day window.
    sandbox.record_interaction(db(), user_id, utcnow())
    # Commit before delivering: on SQLite the open transaction holds the write lock the webhook needs.
    db().commit()
    started = time.monotonic()
    status = deliver(event)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    if status != 200:
        current_app.logger.warning(
            "simulator: webhook answered %s to %s", status, event["event_name"]
        )
    return jsonify(
        webhook_status=status,
        event_name=event["event_name"],
        msg_id=event.get("message", {}).get("msg_id"),
        elapsed_ms=elapsed_ms,
    )


@bp.post("/simulator/api/upload")
def upload():
    """Keep a photo the citizen picked, as if Zalo had put it on its CDN; return its token and URL."""
    picked = request.files.get("file")
    if picked is None or not picked.filename:
        raise BadRequest("Chưa chọn ảnh.")
    data = picked.read(current_app.config["ATTACHMENT_MAX_BYTES"] + 1)
    if len(data) > current_app.config["ATTACHMENT_MAX_BYTES"]:
        raise BadRequest("Ảnh quá lớn.")
    kind = sandbox.image_kind(data)
    if kind is None:
        raise BadRequest("Chỉ gửi được ảnh JPG hoặc PNG.")
    stem = picked.filename.rsplit(".", 1)[0]
    media = sandbox.store_media(f"{stem}.{kind}", data)
    db().commit()
    return jsonify(token=media.token, url=sandbox.media_url(media), name=media.file_name)


# --- playing Zalo: time, failures, the token grant ---------------------------------------


@bp.post("/simulator/api/age")
def age():
    """Move the citizen's last interaction `days` back, at "Zalo" and in the app's own record."""
    data = _json_request()
    user_id = _user_id(data.get("user_id"))
    days = _whole(data.get("days"), "Số ngày", 1, MAX_AGE_DAYS)
    session = db()
    sandbox.age_user(session, user_id, days, utcnow())
    citizen = session.scalars(select(Citizen).where(Citizen.zalo_user_id == user_id)).first()
    # The app's channel plan must see what Zalo sees, so its own record moves by as much.
    if citizen is not None and citizen.last_interaction_at is not None:
        citizen.last_interaction_at -= timedelta(days=days)
    session.commit()
    return jsonify(state_of(user_id))


@bp.post("/simulator/api/fault")
def fault():
    """Make the next `times` consultation sends fail with `code` (to `user_id` only, if given)."""
    data = _json_request()
    code = data.get("code")
    if isinstance(code, bool) or not isinstance(code, int) or code not in sandbox.FAULT_MESSAGES:
        raise BadRequest("Loại lỗi giả lập không hợp lệ.")
    times = _whole(data.get("times", 1), "Số lần", 1, MAX_FAULT_TIMES)
    user_id = _optional_user_id(data.get("user_id"))
    sandbox.set_fault(db(), code, times, user_id)
    db().commit()
    return jsonify(code=code, times=times, user_id=user_id)


@bp.post("/simulator/api/fault/clear")
def clear_fault():
    """Drop the faults a send to `user_id` would meet (its own and those meant for anyone)."""
    data = _json_request()
    user_id = _optional_user_id(data.get("user_id"))
    session = db()
    sandbox.clear_faults(session, None)
    if user_id is not None:
        sandbox.clear_faults(session, user_id)
    session.commit()
    return jsonify(cleared=True)


@bp.post("/simulator/api/revoke-token")
def revoke_token():
    """End the OA's grant, as when its refresh token expired: an OA admin must connect again."""
    sandbox.revoke_grant(db(), utcnow())
    db().commit()
    return jsonify(revoked=True)


@bp.get("/simulator/api/state")
def state():
    """What "Zalo" holds about one citizen and the OA's grant, for the page's tool panel."""
    return jsonify(state_of(_user_id(request.args.get("user_id"))))


def _optional_user_id(value: Any) -> str | None:
    return None if value in (None, "") else _user_id(value)


def state_of(user_id: str) -> dict[str, Any]:
    """The window, the pending faults and the token grant, as seen by a send to `user_id`."""
    session, now = db(), utcnow()
    last = sandbox.last_interaction(session, user_id)
    app_last = session.scalars(
        select(Citizen.last_interaction_at).where(Citizen.zalo_user_id == user_id)
    ).first()
    return {
        "last_interaction_at": last.isoformat() if last else None,
        "idle_hours": int((now - last).total_seconds() // 3600) if last else None,
        "app_last_interaction_at": app_last.isoformat() if app_last else None,
        "in_window": sandbox.is_in_window(session, user_id, now),
        "faults": [
            {"code": f.code, "remaining": f.remaining, "only_this_citizen": bool(f.zalo_user_id)}
            for f in sandbox.pending_faults(session, user_id)
        ],
        "token": {
            "generation": sandbox.token_generation(session),
            "live": sandbox.live_pair(session) is not None,
        },
    }


# --- the transcript -----------------------------------------------------------------------


def _buttons_of(body: dict[str, Any]) -> list[dict[str, str]]:
    payload = _template_payload(body)
    if payload.get("template_type") != "button" or not isinstance(payload.get("buttons"), list):
        return []
    out = []
    for button in payload["buttons"]:
        if not isinstance(button, dict):
            continue
        value = button.get("payload")
        kind = str(button.get("type", ""))
        if isinstance(value, dict):
            # oa.open.url/phone carry an object; only query buttons send text back.
            value = value.get("url") or value.get("phone_code") or ""
        out.append(
            {"title": str(button.get("title", "")), "type": kind, "payload": str(value or "")}
        )
    return out


def _template_payload(body: dict[str, Any]) -> dict[str, Any]:
    message = body.get("message") if isinstance(body, dict) else None
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    return payload if isinstance(payload, dict) else {}


def _media_url_by_token(token: str) -> str | None:
    media = db().scalars(select(SandboxMedia).where(SandboxMedia.token == token)).first()
    return sandbox.media_url(media) if media else None


def _bot_bubble(record: SandboxRecord) -> dict[str, Any]:
    """What the citizen would see for one message the bot sent (or an error Zalo answered)."""
    bubble: dict[str, Any] = {
        "id": f"oa-{record.id}",
        "record_id": record.id,
        "from": "oa",
        "at": record.created_at.isoformat(),
    }
    response = record.response if isinstance(record.response, dict) else {}
    injected = ", lỗi giả lập" if response.get("injected") else ""
    if "http_status" in response:
        text = f"Máy chủ Zalo lỗi (HTTP {response['http_status']}{injected})"
        return {**bubble, "from": "system", "kind": "error", "text": text}
    error = response.get("error")
    if error != 0:
        message = response.get("message") or response.get("error_description")
        text = f"Zalo từ chối ({error}{injected}): {message}"
        return {**bubble, "from": "system", "kind": "error", "text": text}
    if record.endpoint != "message/cs":
        return {**bubble, **_template_bubble(record)}
    message = record.body.get("message", {})
    attachment = message.get("attachment")
    if not attachment:
        return {**bubble, "kind": "text", "text": message.get("text", "")}
    payload = attachment.get("payload", {})
    if attachment.get("type") == "file":
        token = payload.get("token", "")
        return {
            **bubble,
            "kind": "file",
            "text": "Tệp đính kèm",
            "file_url": _media_url_by_token(token),
        }
    template_type = payload.get("template_type")
    if template_type == "button":
        return {
            **bubble,
            "kind": "buttons",
            "text": payload.get("text", ""),
            "buttons": _buttons_of(record.body),
        }
    element = (payload.get("elements") or [{}])[0]
    if template_type == "media":
        url = element.get("url") or _media_url_by_token(element.get("attachment_id", ""))
        return {**bubble, "kind": "image", "image_url": url, "text": message.get("text", "")}
    return {
        **bubble,
        "kind": "info_request",
        "text": element.get("title", ""),
        "subtitle": element.get("subtitle", ""),
        "image_url": element.get("image_url") or None,
    }


def _template_bubble(record: SandboxRecord) -> dict[str, Any]:
    """A template message (ZNS), by Zalo user id or by phone: its id and its parameters."""
    data = record.body.get("template_data")
    fields = (
        [{"name": str(key), "value": str(value)} for key, value in data.items()]
        if isinstance(data, dict)
        else []
    )
    title = f"Tin mẫu (ZNS) #{record.body.get('template_id', '')}"
    return {
        "kind": "template",
        "title": title,
        "template_id": str(record.body.get("template_id", "")),
        "channel": "phone" if record.endpoint.startswith("business/") else "user_id",
        "fields": fields,
        "text": "\n".join([title, *(f"{f['name']}: {f['value']}" for f in fields)]),
    }


def _citizen_bubble(event: InboundEvent, tapped: dict[str, str]) -> dict[str, Any] | None:
    """What the citizen did, from the event as the webhook stored it."""
    try:
        body = json.loads(event.body)
    except ValueError:
        return None
    bubble: dict[str, Any] = {
        "id": f"me-{event.id}",
        "event_id": event.id,
        "from": "user",
        "event_name": event.event_name,
        "at": event.received_at.isoformat(),
    }
    message = body.get("message") or {}
    attachments = message.get("attachments") or [{}]
    payload = attachments[0].get("payload") or {}
    name = event.event_name
    if name == "user_send_text":
        text = message.get("text", "")
        if text in tapped:
            # Zalo hides an oa.query.hide payload; the citizen saw a tap on the button's title.
            return {**bubble, "kind": "text", "text": tapped[text], "button_payload": text}
        return {**bubble, "kind": "text", "text": text}
    if name == "user_send_image":
        return {
            **bubble,
            "kind": "image",
            "image_url": payload.get("url"),
            "text": message.get("text", ""),
        }
    if name == "user_send_file":
        return {
            **bubble,
            "kind": "file",
            "text": payload.get("name", ""),
            "file_url": payload.get("url"),
        }
    if name == "user_send_location":
        point = payload.get("coordinates") or {}
        return {
            **bubble,
            "kind": "location",
            "latitude": point.get("latitude"),
            "longitude": point.get("longitude"),
        }
    if name == "user_submit_info":
        info = body.get("info") or {}
        return {**bubble, "kind": "info", "info": {k: info.get(k, "") for k in INFO_FIELDS}}
    return {**bubble, "from": "system", "kind": name}


def _cursor(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        raise BadRequest("Con trỏ không hợp lệ.") from None


@bp.get("/simulator/api/messages")
def messages():
    """List new bubbles of one citizen's chat: the bot's messages after `after`, theirs after `after_event`."""
    user_id = _user_id(request.args.get("user_id"))
    after, after_event = (
        _cursor(request.args.get("after")),
        _cursor(request.args.get("after_event")),
    )
    session = db()
    records = session.scalars(
        select(SandboxRecord)
        .where(
            SandboxRecord.zalo_user_id == user_id,
            SandboxRecord.endpoint.in_(MESSAGE_ENDPOINTS),
            SandboxRecord.id > after,
        )
        .order_by(SandboxRecord.id)
        .limit(PAGE_SIZE)
    ).all()
    events = session.scalars(
        select(InboundEvent)
        .where(
            InboundEvent.zalo_user_id == user_id,
            InboundEvent.event_name.in_(CITIZEN_EVENTS),
            InboundEvent.id > after_event,
        )
        .order_by(InboundEvent.id)
        .limit(PAGE_SIZE)
    ).all()
    tapped = _tapped_buttons(user_id) if events else {}
    timed = [(record.created_at, _bot_bubble(record)) for record in records]
    timed += [(event.received_at, _citizen_bubble(event, tapped)) for event in events]
    timed.sort(key=lambda pair: pair[0])
    return jsonify(
        messages=[bubble for _at, bubble in timed if bubble is not None],
        after=records[-1].id if records else after,
        after_event=events[-1].id if events else after_event,
    )


def _tapped_buttons(user_id: str) -> dict[str, str]:
    """Payload -> title of the hidden query buttons the bot offered this citizen."""
    bodies = db().scalars(
        select(SandboxRecord.body).where(
            SandboxRecord.zalo_user_id == user_id, SandboxRecord.endpoint == "message/cs"
        )
    )
    return {
        button["payload"]: button["title"]
        for body in bodies
        for button in _buttons_of(body)
        if button["type"] == "oa.query.hide" and button["payload"]
    }

"""Builders for the `message` object of Zalo's consultation-message API (one attachment each)."""

from __future__ import annotations

from typing import Any

MAX_TEXT = 2000
MAX_BUTTONS = 5


def text(body: str) -> dict[str, Any]:
    """A plain text message (the caller keeps it under 2,000 characters)."""
    return {"text": body}


def buttons(body: str, options: list[tuple[str, str]]) -> dict[str, Any]:
    """A button template: `options` are (title, payload) pairs sent back as text when tapped."""
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": body,
                "buttons": [
                    {"title": title, "type": "oa.query.hide", "payload": payload}
                    for title, payload in options[:MAX_BUTTONS]
                ],
            },
        }
    }


def request_user_info(title: str, subtitle: str, image_url: str) -> dict[str, Any]:
    """The card asking the citizen to share name, phone and address (answered by user_submit_info)."""
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "request_user_info",
                "elements": [{"title": title, "subtitle": subtitle, "image_url": image_url}],
            },
        }
    }


def image(
    *, url: str | None = None, attachment_id: str | None = None, caption: str = ""
) -> dict[str, Any]:
    """An image by public URL or by an uploaded attachment id."""
    element: dict[str, Any] = {"media_type": "image"}
    if attachment_id:
        element["attachment_id"] = attachment_id
    else:
        element["url"] = url
    message: dict[str, Any] = {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "media", "elements": [element]},
        }
    }
    if caption:
        message["text"] = caption
    return message


def file(token: str) -> dict[str, Any]:
    """A file previously uploaded through /v2.0/oa/upload/file."""
    return {"attachment": {"type": "file", "payload": {"token": token}}}


def plain_text_of(message: dict[str, Any]) -> str | None:
    """The text a button template carries, so it can be resent as plain text if refused."""
    payload = message.get("attachment", {}).get("payload", {})
    if payload.get("template_type") == "button":
        return payload.get("text")
    return None

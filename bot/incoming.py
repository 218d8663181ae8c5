"""What the citizen sent, reduced to what the conversation needs, and text normalisation.

Commands and menu choices must work typed with or without diacritics, so every comparison is
made on `normalize(text)`: NFD without combining marks, đ -> d, lower case, punctuation to spaces.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.zalo import events

CODE_PATTERN = re.compile(r"\bPAKN[.\s]?(\d{8})[.\s]?(\d{4})\b", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """Return `text` lower-cased, without diacritics or punctuation, single-spaced."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", bare.lower()).split())


def find_case_code(text: str) -> str | None:
    """Return the PAKN code written in `text` (tolerating spaces or missing dots), canonical form."""
    match = CODE_PATTERN.search(text)
    return f"PAKN.{match.group(1)}.{match.group(2)}" if match else None


@dataclass
class Incoming:
    """One inbound message, in the terms the steps use."""

    kind: str  # text, media, location, info, unsupported
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    info: dict[str, str | None] | None = None

    @property
    def norm(self) -> str:
        return normalize(self.text)

    @property
    def payload(self) -> tuple[str, str] | None:
        """(prefix, key) when the text is a button payload such as '#menu:submit'."""
        if self.kind == "text" and self.text.startswith("#") and ":" in self.text:
            prefix, _, key = self.text[1:].partition(":")
            return prefix.strip(), key.strip()
        return None


MEDIA_TYPES = {
    events.ImageEvent: "image",
    events.GifEvent: "image",
    events.FileEvent: "file",
}


def from_event(event: events.ZaloEvent) -> Incoming | None:
    """Convert a citizen's message event to an Incoming (None for events that are not messages)."""
    if isinstance(event, events.TextEvent):
        return Incoming("text", text=unicodedata.normalize("NFC", event.text or "").strip())
    if isinstance(event, events.LocationEvent):
        return Incoming("location", latitude=event.latitude, longitude=event.longitude)
    if isinstance(event, events.SubmitInfoEvent):
        info = {
            "name": _nfc(event.name),
            "phone": event.phone,
            "address": _nfc(_join_address(event)),
            "email": event.email,
        }
        return Incoming("info", info=info)
    media_type = MEDIA_TYPES.get(type(event))
    if media_type is not None:
        assert isinstance(event, events.MediaEvent)
        attachments = [
            {
                "media_type": media_type,
                "url": att.url,
                "name": att.name,
                "size": att.size,
                "file_type": att.file_type,
            }
            for att in event.attachments
            if att.url
        ]
        return Incoming("media", text=event.caption or "", attachments=attachments)
    if isinstance(event, events.MediaEvent):
        return Incoming("unsupported")
    return None


def _nfc(value: str | None) -> str | None:
    return unicodedata.normalize("NFC", value) if value else value


def _join_address(event: events.SubmitInfoEvent) -> str | None:
    parts = [p for p in (event.address, event.ward, event.district, event.city) if p]
    return ", ".join(parts) or None

"""Validation and normalisation of the contact data a citizen gives (phone, email, name)."""

from __future__ import annotations

import re
import unicodedata

_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
# Mobile numbers: 03x, 05x, 07x, 08x, 09x + 8 digits; landlines: 02 + 9 digits.
_MOBILE = re.compile(r"0[35789][0-9]{8}")
_LANDLINE = re.compile(r"02[0-9]{9}")
_EMAIL = re.compile(
    r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+"
)
# Letters (any script), digits for business names, and the punctuation names carry.
_NAME = re.compile(r"[\w][\w .,'&\-]*")
_LETTER = re.compile(r"[^\W\d_]")


def normalize_phone(raw: str) -> str | None:
    """Return a Vietnamese phone number as 0xxxxxxxxx, or None when it is not one."""
    # NFKC turns full-width digits (from some keyboards) into ASCII ones.
    digits = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw).strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    return None


def international_phone(phone: str) -> str:
    """Return a normalised 0xxxxxxxxx number as 84xxxxxxxxx (the form Zalo's phone APIs take)."""
    return "84" + phone[1:] if phone.startswith("0") else phone


def normalize_email(raw: str) -> str | None:
    """Return the email address lower-cased, or None when it is not one."""
    value = raw.strip()
    return value.lower() if len(value) <= 200 and _EMAIL.fullmatch(value) else None


def normalize_name(raw: str) -> str | None:
    """Return a person's or organisation's name tidied, or None when it does not look like one."""
    value = " ".join(unicodedata.normalize("NFC", raw).split())
    if not 2 <= len(value) <= 100 or not _NAME.fullmatch(value):
        return None
    if len(_LETTER.findall(value)) < 2:
        return None
    return value


def mask_phone(phone: str | None) -> str:
    """Return a phone number with all but the first two and last two digits hidden."""
    if not phone:
        return ""
    return phone[:2] + "*" * max(len(phone) - 4, 0) + phone[-2:]

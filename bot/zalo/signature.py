"""Webhook signature of Zalo OA events (`X-ZEvent-Signature`).

Zalo signs each event with `mac=<hex>` where hex is the plain SHA-256 (not an HMAC) of
app_id + raw body + timestamp + OA secret key, concatenated as bytes.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-ZEvent-Signature"
_MAC_PREFIX = "mac="


def compute_signature(app_id: str, raw_body: bytes, timestamp: str, secret_key: str) -> str:
    """Return the hex SHA-256 Zalo expects for this body."""
    digest = hashlib.sha256()
    digest.update(app_id.encode("utf-8"))
    digest.update(raw_body)
    digest.update(timestamp.encode("utf-8"))
    digest.update(secret_key.encode("utf-8"))
    return digest.hexdigest()


def verify_signature(
    header_value: str | None, app_id: str, raw_body: bytes, timestamp: str, secret_key: str
) -> bool:
    """Check a signature header (with or without `mac=`) in constant time."""
    if not header_value:
        return False
    received = header_value.strip()
    if received[: len(_MAC_PREFIX)].lower() == _MAC_PREFIX:
        received = received[len(_MAC_PREFIX) :].strip()
    if not received:
        return False
    expected = compute_signature(app_id, raw_body, timestamp, secret_key)
    # Hex digests are case-insensitive; compare_digest needs ASCII str on both sides.
    return hmac.compare_digest(received.lower().encode("utf-8"), expected.encode("ascii"))


def signature_header(
    app_id: str, raw_body: bytes, timestamp: str, secret_key: str
) -> dict[str, str]:
    """Build the signature header Zalo would send with this body."""
    return {
        SIGNATURE_HEADER: _MAC_PREFIX + compute_signature(app_id, raw_body, timestamp, secret_key)
    }

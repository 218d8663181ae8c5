"""Tests for the webhook signature (plain SHA-256 over app_id + body + timestamp + secret)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from bot.zalo.signature import compute_signature, signature_header, verify_signature

FIXTURES = Path(__file__).parent / "fixtures" / "zalo"
APP_ID = "3608465249409039670"
SECRET = "oa-secret-key"


@pytest.fixture
def signed_body() -> tuple[bytes, str, str]:
    """Return a fixture body as raw bytes, its timestamp and its expected hex signature."""
    raw = (FIXTURES / "user_send_text.json").read_bytes()
    timestamp = json.loads(raw)["timestamp"]
    expected = hashlib.sha256(
        APP_ID.encode() + raw + timestamp.encode() + SECRET.encode()
    ).hexdigest()
    return raw, timestamp, expected


def test_compute_signature_is_plain_sha256_of_the_concatenation(signed_body):
    raw, timestamp, expected = signed_body

    signature = compute_signature(APP_ID, raw, timestamp, SECRET)

    assert signature == expected
    assert signature != hmac.new(SECRET.encode(), APP_ID.encode() + raw, "sha256").hexdigest()


def test_compute_signature_known_vector():
    assert compute_signature("a", b"{}", "1", "s") == hashlib.sha256(b"a{}1s").hexdigest()


@pytest.mark.parametrize(
    "template",
    ["mac={}", "{}", "MAC={}", "Mac={}", "  mac={}  ", "mac= {}", "\tmac={}\n"],
    ids=["prefixed", "bare", "upper-prefix", "mixed-prefix", "spaces", "space-after", "tabs"],
)
def test_verify_accepts_header_with_or_without_prefix(signed_body, template):
    raw, timestamp, expected = signed_body

    assert verify_signature(template.format(expected), APP_ID, raw, timestamp, SECRET)


def test_verify_accepts_uppercase_hex(signed_body):
    raw, timestamp, expected = signed_body

    assert verify_signature("mac=" + expected.upper(), APP_ID, raw, timestamp, SECRET)


def test_verify_rejects_wrong_secret(signed_body):
    raw, timestamp, expected = signed_body

    assert not verify_signature("mac=" + expected, APP_ID, raw, timestamp, "other-secret")


def test_verify_rejects_tampered_byte(signed_body):
    raw, timestamp, expected = signed_body
    tampered = bytearray(raw)
    tampered[raw.index(b"T")] = ord(b"t")

    assert not verify_signature("mac=" + expected, APP_ID, bytes(tampered), timestamp, SECRET)


def test_verify_rejects_other_timestamp_or_app(signed_body):
    raw, timestamp, expected = signed_body

    assert not verify_signature(expected, APP_ID, raw, timestamp + "1", SECRET)
    assert not verify_signature(expected, "1" + APP_ID, raw, timestamp, SECRET)


@pytest.mark.parametrize("header", [None, "", "   ", "mac=", "mac=abc", "mac=ữ"])
def test_verify_rejects_missing_or_malformed_header(signed_body, header):
    raw, timestamp, _ = signed_body

    assert not verify_signature(header, APP_ID, raw, timestamp, SECRET)


def test_signature_header_round_trips(signed_body):
    raw, timestamp, expected = signed_body

    header = signature_header(APP_ID, raw, timestamp, SECRET)

    assert header == {"X-ZEvent-Signature": "mac=" + expected}
    assert verify_signature(header["X-ZEvent-Signature"], APP_ID, raw, timestamp, SECRET)

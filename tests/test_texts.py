"""The citizen-facing sentences: NFC, no "bot", Vietnamese numbers, and splitting at 2,000."""

from __future__ import annotations

import re
import string
import unicodedata

import pytest

from bot import texts

LIMIT = texts.MAX_MESSAGE
SENTENCE = "Đường Hàng Bạc ngập nước sau mưa, rác thải trôi vào nhà dân, đề nghị xử lý sớm."


def constants() -> dict[str, str]:
    """Every string the module defines (the step help table included), by name."""
    found = {
        name: value
        for name, value in vars(texts).items()
        if isinstance(value, str) and name.isupper()
    }
    found |= {f"STEP_HELP[{key}]": value for key, value in texts.STEP_HELP.items()}
    return found


def assert_rejoins(parts: list[str], original: str) -> None:
    """The parts, in order, are the NFC text with only whitespace dropped at each cut."""
    text = unicodedata.normalize("NFC", original).strip()
    position = 0
    for part in parts:
        gap = len(text[position:]) - len(text[position:].lstrip())
        position += gap
        assert text[position : position + len(part)] == part
        position += len(part)
    assert position == len(text)


def test_every_sentence_is_nfc():
    for name, value in constants().items():
        assert unicodedata.is_normalized("NFC", value), name


def test_no_sentence_calls_the_agency_a_bot():
    for name, value in constants().items():
        assert not re.search(r"\b(chat)?bot\b", value, re.IGNORECASE), name


def test_every_sentence_addresses_the_citizen_politely():
    for name, value in constants().items():
        assert not re.search(r"\b(bạn|mày|em)\b", value, re.IGNORECASE), name


def test_placeholders_are_known_names():
    allowed = {
        "agency",
        "hotline",
        "answer_days",
        "since",
        "min",
        "max",
        "length",
        "count",
        "unit",
        "code",
        "title",
        "n",
        "status",
        "received",
        "due",
        "field",
        "at",
        "what",
        "lat",
        "lng",
        "dropped",
        "name",
        # the guide
        "url",
        "portal",
        "period",
        "classify_days",
        "retention",
        "retention_days",
    }
    for name, value in constants().items():
        fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        assert fields <= allowed, name


def test_short_messages_fit_one_zalo_message():
    for name, value in constants().items():
        assert len(value) <= LIMIT, name


@pytest.mark.parametrize(
    "value,expected",
    [
        (5000, "5.000"),
        (0, "0"),
        (999, "999"),
        (1000, "1.000"),
        (2000, "2.000"),
        (1234567, "1.234.567"),
    ],
)
def test_number_uses_dots_between_thousands(value, expected):
    assert texts.number(value) == expected


# --- split_text ---------------------------------------------------------------------------------
def test_short_text_is_one_part_in_nfc():
    decomposed = unicodedata.normalize("NFD", SENTENCE)

    assert texts.split_text(f"  {decomposed}\n") == [SENTENCE]


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_text_gives_no_part(text):
    assert texts.split_text(text) == []


@pytest.mark.parametrize(
    "length,parts", [(LIMIT, 1), (LIMIT + 1, 2), (2 * LIMIT, 2), (2 * LIMIT + 1, 3)]
)
def test_text_without_breaks_is_cut_at_the_limit(length, parts):
    text = "Đ" * length

    result = texts.split_text(text)

    assert len(result) == parts
    assert all(len(p) <= LIMIT for p in result)
    assert "".join(result) == text


def test_long_text_is_cut_at_line_breaks():
    lines = [f"{n:03d}. {SENTENCE}" for n in range(120)]
    text = "\n".join(lines)

    result = texts.split_text(text)

    assert len(result) > 1
    assert all(len(p) <= LIMIT for p in result)
    assert_rejoins(result, text)
    for part in result:
        # Every part is a run of whole lines.
        assert part.split("\n")[0] in lines and part.split("\n")[-1] in lines


def test_long_paragraph_is_cut_between_words():
    words = (SENTENCE + " ") * 80
    text = words.strip()

    result = texts.split_text(text)

    assert len(result) > 1
    assert all(len(p) <= LIMIT for p in result)
    assert_rejoins(result, text)
    vocabulary = set(text.split())
    for part in result:
        assert part.split()[0] in vocabulary and part.split()[-1] in vocabulary
        assert part == part.strip()


def test_line_break_wins_over_a_later_space():
    first = "a " * 700 + "b"  # 1401 characters, a line break after it
    text = first + "\n" + "c " * 400 + "d"

    result = texts.split_text(text)

    assert result[0] == first
    assert_rejoins(result, text)


def test_a_line_break_too_early_is_passed_over_for_a_space():
    text = "Tiêu đề\n" + " ".join(["từ"] * 1500)

    result = texts.split_text(text)

    assert len(result[0]) > LIMIT // 2
    assert all(len(p) <= LIMIT for p in result)
    assert_rejoins(result, text)


def test_decomposed_vietnamese_is_measured_and_cut_in_nfc():
    nfc = "\n".join([SENTENCE] * 60)
    nfd = unicodedata.normalize("NFD", nfc)
    assert len(nfd) > len(nfc)

    result = texts.split_text(nfd)

    assert all(unicodedata.is_normalized("NFC", p) for p in result)
    assert all(len(p) <= LIMIT for p in result)
    assert len(result) == len(texts.split_text(nfc))
    assert_rejoins(result, nfd)
    assert not any(unicodedata.combining(p[0]) for p in result)


@pytest.mark.parametrize("limit", [50, 100, 333])
def test_every_character_is_kept_for_any_limit(limit):
    text = "\n".join(f"{SENTENCE} {n}" for n in range(40)) + " " + "x" * 400

    result = texts.split_text(text, limit=limit)

    assert all(0 < len(p) <= limit for p in result)
    assert_rejoins(result, text)

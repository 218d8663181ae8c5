"""Masking personal data in free text before it is published, and what of a case may be published.

`redact(text, known)` replaces with `MARKER` what identifies a person (Law 91/2025/QH15):
- the sender's own values when given (`Known`: names, phones, e-mails, addresses), compared
  without case or diacritics, so "NGUYEN VAN AN" is masked for "Nguyễn Văn An";
- a name: the whole name (spaces optional), any run of two or more of its words when written
  with capitals ("Văn An"), and one of its words right after a form of address ("ông An");
- third parties' names after a form of address: "ông Trần Văn Bình" (one capitalised word or
  more after a lower-case "ông", "bà", "anh", "chị"...; two or more after a capitalised one, which
  also starts street names such as "Bà Triệu");
- phone numbers however written (0912345678, 0912 345 678, 091.234.5678, +84 912 345 678,
  84912345678, (024) 3825 3536, old 11-digit mobiles); e-mail addresses;
- identity numbers: CCCD (12 digits, starting with the 0 of a province code, groups allowed),
  CMND (9 digits written together), passports (a letter and 7 digits);
- street addresses: the house number, alley numbers and the street name after them ("số 12 phố
  Hàng Bạc", "12 Hàng Bạc", "ngõ 5 ngách 3", "nhà số 7"), and "tổ 4", "thôn Đông", "xóm 2"...
  Ward, district and city names are kept: they are not personal and readers need them.

Deliberately left alone: dates (12/05/2026), amounts (500.000 đồng), legal references
(Nghị định 20/2008/NĐ-CP, Điều 5), case codes, hotlines (1900 1234), numbered wards (Phường 12).

Known limits (why staff can still edit the public version): a street number written without a
street name ("nhà tôi ở số 12") after "số" alone, names of third parties without a form of
address, and numbers an agency wants published (its own switchboard is masked like any phone).
Partial names can over-mask a phrase that happens to spell them ("công Văn An ninh").

Every view of the text used for matching (lower case, and lower case without diacritics) has the
same length as the NFC text, so a match in any view is a span of the text itself.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from cases.contact import normalize_phone
from cases.status import kind_label, status_label
from models import Case

MARKER = "[đã ẩn]"
ANONYMOUS = "Ẩn danh"
COORDINATE_STEP = Decimal("0.0001")  # about 11 m: the place, not the doorstep


class Known(NamedTuple):
    """The sender's own values, masked wherever they appear."""

    names: Sequence[str | None] = ()
    phones: Sequence[str | None] = ()
    emails: Sequence[str | None] = ()
    addresses: Sequence[str | None] = ()


# --- text views ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in "đĐ":
        return "d"
    if char.isspace():
        return " "
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    ).lower()
    if len(bare) == 1:
        return bare
    return _lower_char(char)


@functools.lru_cache(maxsize=4096)
def _lower_char(char: str) -> str:
    if char.isspace():
        return " "
    lower = char.lower()
    # Some capitals lower-case to two characters (İ); keep the views aligned with the text.
    return lower if len(lower) == 1 else char


def fold(text: str) -> str:
    """Return `text` lower-cased without diacritics (đ -> d), one character per character."""
    return "".join(map(_fold_char, unicodedata.normalize("NFC", text)))


def lower(text: str) -> str:
    """Return `text` lower-cased (NFC), one character per character."""
    return "".join(map(_lower_char, unicodedata.normalize("NFC", text)))


class _Views:
    """The NFC text and its aligned lower-case and folded views."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = lower(text)
        self.folded = fold(text)

    def is_capitalised(self, position: int) -> bool:
        return self.text[position].isupper()


Span = tuple[int, int]

# --- phones, e-mails, identity numbers ---------------------------------------------------------

# Between two digits of a phone number: nothing, one of " .-", or the ")" closing an area code.
_SEP = r"(?:[ .\-]|\) ?)?"
_NOT_AFTER_NUMBER = r"(?<![\w+/])(?<!\d[.,])"
_NATIONAL = rf"(?:[12](?:{_SEP}\d){{9}}|[1-9](?:{_SEP}\d){{8}})(?!\d)"
_PHONE = re.compile(
    _NOT_AFTER_NUMBER + r"(?:(?:\+ ?84|\(\+?84\)|84)[ .\-]?(?:\(0\) ?|0[ .\-]?)?|\(?0)" + _NATIONAL
)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_CCCD = re.compile(_NOT_AFTER_NUMBER + r"0\d{2}(?:[ .\-]?\d){9}(?!\d)")
_CURRENCY_AFTER = r"(?!\s?(?:d\b|dong|vnd|trieu|ty|nghin|ngan|usd|%))"
_CMND = re.compile(_NOT_AFTER_NUMBER + r"\d{9}(?![\w/]|[.,]\d)" + _CURRENCY_AFTER)
_PASSPORT = re.compile(r"(?<![\w/])[a-z]\d{7}(?![\w/])")


def _pattern_spans(pattern: re.Pattern[str], view: str) -> list[Span]:
    return [match.span() for match in pattern.finditer(view)]


def _contact_number_spans(views: _Views) -> list[Span]:
    spans: list[Span] = []
    for pattern in (_PHONE, _EMAIL, _CCCD, _CMND, _PASSPORT):
        spans += _pattern_spans(pattern, views.folded)
    return spans


# --- addresses -------------------------------------------------------------------------------

# House numbers: 12, 12A, 12/3, 12-14, 5B/2/1; a 4-digit part after a slash is a year, not a house.
_NUM = r"\d{1,4}[a-z]?(?:[/\-]\d{1,3}[a-z]?){0,3}(?![\w/]|[.,:]\d)"
_BEFORE_NUM = r"(?<![\w/.,:\-])"
_ALLEY = rf"(?:ngõ|ngo|ngách|ngach|hẻm|hem|kiệt|kiet)\s*(?:số\s*|so\s*)?{_NUM}"
_STRONG_HOUSE = rf"(?:nhà số|nha so|số nhà|so nha|căn hộ(?: số)?|can ho(?: so)?)\s*{_NUM}"
_ADDRESS_START = re.compile(
    rf"(?<!\w)(?P<strong>{_STRONG_HOUSE}|{_ALLEY})"
    rf"|(?P<weak>(?<!\w)(?:số|so|nhà|nha)\s*{_NUM}|{_BEFORE_NUM}{_NUM})"
)
_ALLEY_NEXT = re.compile(rf"[ ,]*{_ALLEY}")
_STREET_WORD = re.compile(r"[ ,]*(?:phố|pho|đường|duong|đg\.?|đ\.)\s+")
_NEIGHBOURHOOD = re.compile(
    r"(?<!\w)(?:tổ dân phố|to dan pho|tổ|khu phố|khu pho|thôn|thon|xóm|xom|ấp|khối)"
    rf"\s+(?:số\s+)?(?:{_NUM})?"
)
_TOKEN = re.compile(r"[^\W\d_][\w']*")
_STREET_NUMBER = re.compile(r"\d{1,3}(?:/\d{1,2})?(?!\w)")
# Capitalised words that follow a number without being a street: units, documents, measures.
# fmt: off
_NOT_A_STREET = frozenset((
    "phường", "quận", "huyện", "xã", "thị", "thành", "tp", "tỉnh", "sở", "phòng", "ubnd", "ủy",
    "ban", "luật", "nghị", "quyết", "thông", "điều", "khoản", "điểm", "chương", "mục", "tháng",
    "năm", "ngày", "giờ", "bộ", "chính", "người", "hộ", "lần", "trang", "tầng", "km", "ha",
    "triệu", "tỷ", "đồng", "vnd", "pakn", "công", "văn", "bản", "tờ",
))
# fmt: on
# Words before a number that make it a date, an article or a count, not a house number.
# fmt: off
_NOT_A_HOUSE_AFTER = frozenset((
    "ngày", "tháng", "năm", "điều", "khoản", "điểm", "chương", "mục", "lúc", "quý", "thứ", "lần",
    "phường", "quận", "nghị", "định", "thông", "tư", "quyết", "luật",
))
# fmt: on
_ADMIN_WORD = r"(?:phường|quận|huyện|xã|thị xã|thị trấn|thành phố|tp\.?|tỉnh)(?!\w)"
# At the start of an address part, plain spellings and abbreviations are unambiguous too.
_ADMIN_START = re.compile(
    rf"(?:{_ADMIN_WORD}|(?:phuong|p\.|quan|q\.|huyen|xa|thi xa|thi tran|thanh pho|tinh)(?!\w))"
)
_SUBWARD_START = re.compile(
    r"(?:số|so|nhà|nha|ngõ|ngo|ngách|ngach|hẻm|hem|kiệt|kiet|tổ|to|thôn|thon|xóm|xom|ấp|"
    r"khu phố|khu pho|khối|căn hộ|can ho)(?!\w)"
)
_LONE_NUMBER = re.compile(rf"(?:(?:số nhà|so nha|nhà số|nha so|số|so|nhà|nha)\s*)?{_NUM}")
_HOUSE_PREFIX = re.compile(r"(?:số nhà|so nha|nhà số|nha so|số|so|nhà|nha)\s*(?=\d)")


def _previous_word(views: _Views, start: int) -> str:
    match = re.search(r"(\w+)\W*$", views.lower[:start])
    return match.group(1) if match else ""


def _street_name_end(views: _Views, position: int, after_keyword: bool) -> tuple[int, int]:
    """Return (end, words) of the capitalised street name starting at `position`.

    In a text typed without any capital, a street keyword is followed by two words whatever
    their case (most street names have two syllables; the house number is masked anyway).
    """
    end, words = position, 0
    lower_case_text = after_keyword and views.text == views.lower
    while words < (2 if lower_case_text else 5):
        gap = re.match(r" +", views.text[end:]) if words else None
        at = end + (gap.end() if gap else 0)
        token = _TOKEN.match(views.text, at)
        if token is None:
            number = _STREET_NUMBER.match(views.text, at) if after_keyword and not words else None
            if number is None:
                break
            end, words = number.end(), words + 1
            continue
        if views.lower[at : token.end()] in _NOT_A_STREET or not (
            lower_case_text or views.is_capitalised(at)
        ):
            break
        end, words = token.end(), words + 1
    return end, words


def _extend_address(views: _Views, end: int) -> tuple[int, bool, int]:
    """Extend a house number over alleys and the street; return (end, had_keyword, name words)."""
    while alley := _ALLEY_NEXT.match(views.lower, end):
        end = alley.end()
    keyword = _STREET_WORD.match(views.lower, end)
    if keyword:
        name_end, words = _street_name_end(views, keyword.end(), after_keyword=True)
        return (name_end if words else len(views.lower[: keyword.end()].rstrip())), True, words
    space = re.match(r" *", views.text[end:])
    start = end + (space.end() if space else 0)
    name_end, words = _street_name_end(views, start, after_keyword=False)
    return (name_end if words else end), False, words


def _address_spans(views: _Views) -> list[Span]:
    spans: list[Span] = []
    for match in _ADDRESS_START.finditer(views.lower):
        strong = match.group("strong") is not None
        start, end = match.span()
        had_alley = _ALLEY_NEXT.match(views.lower, end) is not None
        new_end, had_keyword, words = _extend_address(views, end)
        if strong:
            spans.append((start, new_end))
            continue
        if _previous_word(views, start) in _NOT_A_HOUSE_AFTER:
            continue
        with_so = views.lower[start].isalpha()
        if had_alley or had_keyword or words >= 2 or (with_so and words >= 1):
            spans.append((start, new_end))
    for match in _NEIGHBOURHOOD.finditer(views.lower):
        start, end = match.span()
        if views.lower[end - 1].isdigit():
            spans.append((start, end))
            continue
        keyword = views.lower[start:end].split()[0]
        if keyword in ("tổ", "to", "khối"):
            continue  # "tổ công tác", "khối lượng": only numbered ones are places
        name_end, words = _street_name_end(views, end, after_keyword=False)
        if words:
            spans.append((start, name_end))
    return spans


# --- names -----------------------------------------------------------------------------------

# Forms of address and introductions after which a capitalised word is a person's name.
_ADDRESSING = re.compile(
    r"(?<!\w)(?:ông/bà|ông|bà|anh|chị|cô|chú|bác|cụ|em|cháu|tôi là|tên tôi là|tên là|tôi tên là|"
    r"tôi tên|họ và tên|họ tên|người gửi)\s*:?\s+"
)
_ADDRESSING_PLAIN = re.compile(
    r"(?<!\w)(?:ong/ba|ong|ba|anh|chi|co|chu|bac|cu|em|chau|toi la|ten toi la|ten la|"
    r"ho va ten|ho ten)\s*:?\s+"
)
# Titles and bodies written with a capital after "ông"/"bà": "ông Chủ tịch", "bà Giám đốc".
# fmt: off
_NOT_A_NAME = frozenset((
    "chủ", "phó", "giám", "trưởng", "bí", "tổ", "cán", "thủ", "hiệu", "chánh", "kế", "tổng", "ủy",
    "ubnd", "sở", "phòng", "ban", "người",
))
# fmt: on
# Place words before "Bà"/"Ông" that make it part of a name of a place: "phố Bà Triệu".
# fmt: off
_PLACE_WORDS = frozenset((
    "phố", "đường", "chợ", "phường", "xã", "quận", "huyện", "tỉnh", "ngõ", "hẻm", "cầu", "khu",
    "thôn", "làng", "xóm", "trường", "chùa", "đền", "đình", "bến", "núi", "sông", "hồ", "tp",
    "cống", "lăng",
))
# fmt: on
_PUBLIC_FIGURES = ("hồ chí minh",)


def _has_diacritics(views: _Views) -> bool:
    return views.folded != views.lower


def _capitalised_words(views: _Views, position: int, limit: int = 4) -> tuple[int, int]:
    """Return (end, count) of the run of capitalised words starting at `position`."""
    end, count = position, 0
    while count < limit:
        at = end
        if count:
            gap = re.match(r" ", views.text[end:])
            if gap is None:
                break
            at = end + 1
        token = _TOKEN.match(views.text, at)
        if token is None or not views.is_capitalised(at):
            break
        end, count = token.end(), count + 1
    return end, count


def _addressing_matches(views: _Views) -> Iterable[re.Match[str]]:
    yield from _ADDRESSING.finditer(views.lower)
    if not _has_diacritics(views):
        yield from _ADDRESSING_PLAIN.finditer(views.lower)


def _third_party_spans(views: _Views) -> list[Span]:
    spans: list[Span] = []
    for match in _addressing_matches(views):
        start, name_start = match.span()
        if _previous_word(views, start) in _PLACE_WORDS:
            continue
        first = _TOKEN.match(views.lower, name_start)
        if first is None or first.group() in _NOT_A_NAME:
            continue
        end, count = _capitalised_words(views, name_start)
        if views.lower[name_start:end] in _PUBLIC_FIGURES:
            continue
        honorific_capitalised = views.text[start] != views.lower[start]
        if count >= (2 if honorific_capitalised else 1):
            spans.append((name_start, end))
    return spans


def _words(value: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", fold(value))


def _name_spans(views: _Views, name: str) -> list[Span]:
    words = _words(name)
    spans: list[Span] = []
    if len(words) >= 2:
        whole = re.compile(r"(?<!\w)" + r"\s*".join(map(re.escape, words)) + r"(?!\w)")
        spans += _pattern_spans(whole, views.folded)
    spans += _partial_name_spans(views, words)
    spans += _addressed_name_spans(views, words)
    return spans


def _partial_name_spans(views: _Views, words: list[str]) -> list[Span]:
    """Runs of two or more consecutive name words of 2+ letters, written with capitals."""
    spans: list[Span] = []
    for first in range(len(words)):
        for last in range(first + 2, len(words) + 1):
            run = words[first:last]
            if len(run) == len(words) or any(len(word) < 2 for word in run):
                continue
            pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, run)) + r"(?!\w)")
            for match in pattern.finditer(views.folded):
                starts = [
                    match.start() + word.start()
                    for word in re.finditer(r"\w+", views.folded[match.start() : match.end()])
                ]
                if all(views.is_capitalised(at) for at in starts):
                    spans.append(match.span())
    return spans


def _addressed_name_spans(views: _Views, words: list[str]) -> list[Span]:
    """A capitalised name word right after a form of address: "ông An", "chị Mai"."""
    long_words = sorted({word for word in words if len(word) >= 2}, key=len, reverse=True)
    if not long_words:
        return []
    alternatives = "|".join(map(re.escape, long_words))
    run = re.compile(rf"(?:{alternatives})(?:\s+(?:{alternatives}))*(?!\w)")
    spans: list[Span] = []
    for match in _addressing_matches(views):
        name = run.match(views.folded, match.end())
        if name and views.is_capitalised(name.start()):
            spans.append(name.span())
    return spans


# --- the sender's own contact values ---------------------------------------------------------


def _phone_spans(views: _Views, phone: str) -> list[Span]:
    digits = normalize_phone(phone) or re.sub(r"\D", "", phone)
    if len(digits) < 8:
        return []
    variants = {digits, digits.lstrip("0"), "84" + digits.lstrip("0")}
    spans: list[Span] = []
    for variant in variants:
        pattern = re.compile(r"(?<!\d)" + _SEP.join(variant) + r"(?!\d)")
        spans += _pattern_spans(pattern, views.folded)
    return spans


def _email_spans(views: _Views, email: str) -> list[Span]:
    value = fold(email.strip())
    if "@" not in value:
        return []
    pattern = re.compile(r"(?<![\w.+\-])" + re.escape(value) + r"(?![\w\-])")
    return _pattern_spans(pattern, views.folded)


def personal_address_parts(address: str) -> list[str]:
    """Return the personal head of an address (house, alley, hamlet), without ward or city."""
    text = unicodedata.normalize("NFC", " ".join(address.split()))
    head: list[str] = []
    parts = [p.strip() for p in text.split(",")]
    for index, part in enumerate(parts):
        if index and _LONE_NUMBER.fullmatch(parts[index - 1].lower()):
            part = f"{parts[index - 1]} {part}"  # "12, Hàng Bạc": the number belongs to the street
            head.pop()
        lower = part.lower()
        if not part or _ADMIN_START.match(lower):
            break
        inner = re.search(r"\s" + _ADMIN_WORD, lower)
        if inner:
            part = part[: inner.start()].strip()
        if not (re.search(r"\d", part) or _SUBWARD_START.match(lower)):
            break
        head.append(part)
        if inner:
            break
    return head


def _address_value_spans(views: _Views, address: str) -> list[Span]:
    head = personal_address_parts(address)
    if not head:
        return []
    parts = [_HOUSE_PREFIX.sub("", head[0].lower(), count=1), *head[1:]]
    spans: list[Span] = []
    for tokens in map(_words_and_numbers, [", ".join(parts), *parts]):
        if len(tokens) < 2:
            continue  # a lone "12" or "Đông" is not specific enough to mask everywhere
        body = r"[\s,]*".join(map(re.escape, tokens))
        prefix = r"(?:(?:so nha|nha so|so|nha)\s*)?"
        pattern = re.compile(rf"(?<!\w){prefix}{body}(?!\w)")
        spans += _pattern_spans(pattern, views.folded)
    return spans


def _words_and_numbers(value: str) -> list[str]:
    return re.findall(r"\w+", fold(value))


def _known_spans(views: _Views, known: Known) -> list[Span]:
    spans: list[Span] = []
    for name in filter(None, known.names):
        spans += _name_spans(views, name)
    for phone in filter(None, known.phones):
        spans += _phone_spans(views, phone)
    for email in filter(None, known.emails):
        spans += _email_spans(views, email)
    for address in filter(None, known.addresses):
        spans += _address_value_spans(views, address)
    return spans


# --- putting it together ---------------------------------------------------------------------


def _merge(spans: list[Span], text: str) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact(text: str | None, known: Known | tuple = ()) -> str:
    """Return `text` with the personal data it contains replaced by MARKER."""
    known = known if isinstance(known, Known) else Known(*known)
    return _replace(
        text,
        lambda views: (
            _contact_number_spans(views)
            + _address_spans(views)
            + _third_party_spans(views)
            + _known_spans(views, known)
        ),
    )


def mask_sender(text: str | None, known: Known) -> str:
    """Return `text` with the sender's own values and any phone, e-mail or ID number masked.

    What handlers read: third-party names and street addresses stay, since they are the matter
    of the case (the place of the incident, the person complained about).
    """
    return _replace(text, lambda views: _contact_number_spans(views) + _known_spans(views, known))


def _replace(text: str | None, find: Callable[[_Views], list[Span]]) -> str:
    if not text:
        return text or ""
    views = _Views(unicodedata.normalize("NFC", text))
    out, cursor = [], 0
    for start, end in _merge(find(views), views.text):
        out += [views.text[cursor:start], MARKER]
        cursor = end
    out.append(views.text[cursor:])
    return "".join(out)


def known_values(case: Case) -> Known:
    """Return the sender's values of `case` (as submitted, and as their Zalo profile has them)."""
    citizen = case.citizen
    return Known(
        names=[
            case.contact_name,
            citizen.name if citizen else None,
            citizen.display_name if citizen else None,
        ],
        phones=[case.contact_phone, citizen.phone if citizen else None],
        emails=[case.contact_email, citizen.email if citizen else None],
        addresses=[case.contact_address, citizen.address if citizen else None],
    )


def initials(name: str | None) -> str:
    """Return a name's initials as "N.V.A." (ANONYMOUS when there is no name)."""
    letters = [word[0].upper() for word in _name_words(name or "")]
    return "".join(f"{letter}." for letter in letters) or ANONYMOUS


def _name_words(name: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", unicodedata.normalize("NFC", name))


def public_coordinate(value: Decimal | None) -> Decimal | None:
    """Round a coordinate to 4 decimals (about 11 m)."""
    if value is None:
        return None
    return Decimal(value).quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)


def public_view(case: Case) -> dict[str, Any]:
    """Return what of `case` may be published: the staff-edited public text, or the redacted one.

    Never the sender's name, phone, e-mail or address: the sender is ANONYMOUS when they asked
    to hide their identity, and initials otherwise.
    """
    known = known_values(case)

    def published(public: str | None, original: str | None) -> str | None:
        if public is not None:
            return public
        return redact(original, known) if original else None

    hidden = case.hide_identity
    return {
        "code": case.code,
        "kind": kind_label(case.kind),
        "title": published(case.public_title, case.title),
        "question": published(case.public_content, case.content),
        "answer": published(case.public_answer, case.answer_text),
        "field": case.field.name,
        "field_code": case.field.code,
        "unit": case.unit.name,
        "status": case.status.value,
        "status_label": status_label(case.status),
        "received_at": case.received_at,
        "answer_due_on": case.answer_due_on,
        "answered_at": case.answered_at,
        "published_at": case.published_at,
        "updated_at": case.updated_at,
        "sender": ANONYMOUS if hidden else initials(case.contact_name),
        "location": redact(case.location_address, known) if case.location_address else None,
        "latitude": None if hidden else public_coordinate(case.latitude),
        "longitude": None if hidden else public_coordinate(case.longitude),
    }

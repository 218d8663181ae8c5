"""Validation and normal forms of the contact data citizens give: phone, email, name."""

from __future__ import annotations

import unicodedata

import pytest

from cases.contact import (
    international_phone,
    mask_phone,
    normalize_email,
    normalize_name,
    normalize_phone,
)


@pytest.mark.parametrize(
    "raw,normal",
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("091.234.5678", "0912345678"),
        ("091-234-5678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("  0987654321  ", "0987654321"),
        ("0321234567", "0321234567"),
        ("0561234567", "0561234567"),
        ("0701234567", "0701234567"),
        ("0812345678", "0812345678"),
        ("02438253536", "02438253536"),
        ("(024) 3825 3536", "02438253536"),
        ("+842438253536", "02438253536"),
        ("842438253536", "02438253536"),
    ],
)
def test_valid_phone_numbers_have_one_normal_form(raw, normal):
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "091234567",  # 9 digits
        "09123456789",  # 11 digits
        "01234567890",  # the old 01x mobile prefixes were retired in 2018
        "0123456789",
        "0412345678",  # 04 is no mobile prefix, and landlines are 02 + 9 digits
        "0612345678",
        "0212345678",  # a landline one digit short
        "abc",
        "091234567a",
        "",
        "   ",
        "+1 650 253 0000",
        "8491234567",  # 84 + 8 digits
        "0912345678 hoặc 0987654321",
    ],
)
def test_invalid_phone_numbers_are_refused(raw):
    assert normalize_phone(raw) is None


@pytest.mark.parametrize("raw", ["09１２３４５６７８", "09١٢٣٤٥٦٧٨"])
def test_phone_with_non_ascii_digits_is_refused_or_made_ascii(raw):
    assert normalize_phone(raw) in (None, "0912345678")


@pytest.mark.parametrize(
    "phone,international",
    [
        ("0912345678", "84912345678"),
        ("02438253536", "842438253536"),
        ("84912345678", "84912345678"),
    ],
)
def test_international_phone(phone, international):
    assert international_phone(phone) == international


def test_international_phone_of_every_valid_form_is_the_same():
    forms = ["0912345678", "0912 345 678", "+84912345678", "84912345678"]
    assert {international_phone(normalize_phone(f) or "") for f in forms} == {"84912345678"}


@pytest.mark.parametrize(
    "phone,masked",
    [
        ("0912345678", "09******78"),
        ("02438253536", "02*******36"),
        (None, ""),
        ("", ""),
    ],
)
def test_mask_phone_hides_all_but_two_digits_at_each_end(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    "raw,normal",
    [
        ("an.nguyen@example.vn", "an.nguyen@example.vn"),
        ("An.Nguyen@Example.VN", "an.nguyen@example.vn"),
        ("  binh@so-xay-dung.hanoi.gov.vn ", "binh@so-xay-dung.hanoi.gov.vn"),
        ("ten+pakn@gmail.com", "ten+pakn@gmail.com"),
        ("a@b.co", "a@b.co"),
    ],
)
def test_valid_email_is_lower_cased(raw, normal):
    assert normalize_email(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "an",
        "an@",
        "@example.com",
        "an@example",
        "an@example.",
        "an @example.com",
        "an@@example.com",
        "an@exa mple.com",
        "an@-example.com",
        "an@example..com",
        "a" * 65 + "@example.com",  # local part over 64 characters
        "an@" + "b" * 64 + ".com",  # a domain label over 63 characters
        "a" * 60 + "@" + ("b" * 60 + ".") * 3 + "com",  # over 200 characters
    ],
)
def test_invalid_email_is_refused(raw):
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    "raw,normal",
    [
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("  Trần   Thị  Bình ", "Trần Thị Bình"),
        ("Đặng Thị Ngọc Hoà", "Đặng Thị Ngọc Hoà"),
        ("Lê Ư", "Lê Ư"),
        ("Công ty TNHH 3T", "Công ty TNHH 3T"),
        ("Công ty Cổ phần Xây dựng số 1 Hà Nội", "Công ty Cổ phần Xây dựng số 1 Hà Nội"),
        ("Hộ kinh doanh Bình & An", "Hộ kinh doanh Bình & An"),
        ("O'Neil Trần", "O'Neil Trần"),
        ("Nguyễn-Văn A.", "Nguyễn-Văn A."),
        ("An", "An"),
        ("Đ" * 100, "Đ" * 100),
    ],
)
def test_valid_names_are_tidied(raw, normal):
    assert normalize_name(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "A",
        "Đ",
        "12345",
        "0912345678",
        "1 2",
        "!!!",
        "@an",
        "An <script>",
        "An; DROP",
        "An 😀",
        "Đ" * 101,
        "#kind:feedback",
        "A1",
    ],
)
def test_invalid_names_are_refused(raw):
    assert normalize_name(raw) is None


def test_decomposed_vietnamese_name_is_accepted_in_nfc():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")

    assert normalize_name(decomposed) == "Nguyễn Văn An"

"""The public pages in a real browser (phone-sized), against a live server with seeded cases.

A citizen looks up their PAKN by code, then with the last 4 digits of their phone; a visitor
browses the published answers, filters them by field and by keyword, and opens one.
Every wait is a Playwright wait on what the page shows; nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from handlers.public import public_state
from handlers.runtime import get_runtime
from tests.browser import chromium, live_server, require_chromium
from tests.test_public import NOW, FakeClock, seed_cases

TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module's tests."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def served(make_app):
    """An app with the public tests' cases, served on a live 127.0.0.1 port."""
    require_chromium()
    with live_server() as server:
        app = make_app(PUBLIC_BASE_URL=server.url)
        with get_runtime(app).sessions() as session:
            seed_cases(session)
        public_state(app).clock = FakeClock(NOW)
        server.serve(app)
        yield app, server


@pytest.fixture
def page(browser, served):
    """A fresh phone-sized page (own cookies) on the live server."""
    _app, server = served
    context = browser.new_context(base_url=server.url, viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def expect_():
    """Playwright's `expect` with this module's timeout."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    return expect


def fits_the_phone(page) -> bool:
    """Tell whether the page needs no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_citizen_looks_up_their_pakn_then_sees_it_whole_with_their_digits(page):
    expect = expect_()
    page.goto("/tra-cuu")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tra cứu phản ánh, kiến nghị")
    assert fits_the_phone(page)

    page.get_by_label("Mã PAKN").fill("pakn 20261127 0001")
    page.get_by_role("button", name="Tra cứu").click()
    card = page.locator(".case-card")
    expect(card.get_by_role("heading", level=2)).to_have_text("PAKN PAKN.20261127.0001")
    expect(page).to_have_url(re.compile(r"/tra-cuu\?ma=PAKN\.20261127\.0001$"))
    expect(card.locator(".status")).to_have_text("Đã công khai kết quả")
    expect(card.locator(".facts")).to_contain_text("Sở Giao thông vận tải")
    expect(card.locator(".answer-text")).to_contain_text("đã thay đèn tín hiệu")
    expect(card.locator(".timeline li")).to_have_count(4)
    expect(page.get_by_role("heading", name="Nội dung Ông/Bà đã gửi")).to_have_count(0)
    expect(card).not_to_contain_text("Nguyễn Văn An")
    assert fits_the_phone(page)

    # The form keeps the code; the digits go in a POST body, never in the address bar.
    expect(page.get_by_label("Mã PAKN")).to_have_value("PAKN.20261127.0001")
    page.get_by_label("4 số cuối điện thoại").fill("5678")
    page.get_by_role("button", name="Tra cứu").click()
    own = page.locator(".own")
    expect(own.get_by_role("heading", name="Nội dung Ông/Bà đã gửi")).to_be_visible()
    expect(own).to_contain_text("Tôi là Nguyen Van An")
    expect(own.locator(".facts")).to_contain_text("09******78")
    expect(page.locator(".timeline")).to_contain_text("anh An vui lòng chờ thêm")
    assert "5678" not in page.url

    page.get_by_label("4 số cuối điện thoại").fill("1111")
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.get_by_role("alert")).to_contain_text("Không tìm thấy PAKN phù hợp")
    expect(page.locator(".case-card")).to_have_count(0)


def test_a_visitor_browses_and_filters_the_published_answers(page):
    expect = expect_()
    page.goto("/tra-cuu")
    page.get_by_role("link", name="Kết quả công khai").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kết quả trả lời phản ánh, kiến nghị")
    expect(page.locator("#result-count")).to_have_text("Có 14 kết quả · trang 1/2.")
    expect(page.locator(".published-item")).to_have_count(10)
    first = page.locator(".published-item").first
    expect(first).to_contain_text("Người gửi")
    expect(first).to_contain_text("N.V.A.")
    expect(first).not_to_contain_text("Nguyễn Văn An")
    assert fits_the_phone(page)

    page.get_by_label("Lĩnh vực").select_option(label="Y tế")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.locator("#result-count")).to_have_text("Có 4 kết quả.")
    expect(page).to_have_url(re.compile(r"field=Y-TE"))
    items = page.locator(".published-item")
    expect(items).to_have_count(4)
    for index in range(4):
        expect(items.nth(index)).to_contain_text("Lĩnh vực: Y tế")
    expect(page.get_by_label("Lĩnh vực")).to_have_value("Y-TE")

    page.get_by_role("link", name="Xóa bộ lọc").click()
    page.get_by_label("Từ khóa").fill("den tin hieu")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.locator("#result-count")).to_have_text("Có 1 kết quả.")
    page.locator(".published-title a").click()
    expect(page).to_have_url(re.compile(r"/cong-khai/PAKN\.20261127\.0001$"))
    expect(page.locator(".published-item")).to_contain_text(
        "Kết quả trả lời của Sở Giao thông vận tải"
    )
    expect(page.locator(".published-item")).to_contain_text("Kinh phí 5.000.000 đồng.")
    assert fits_the_phone(page)

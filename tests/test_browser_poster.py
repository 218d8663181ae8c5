"""The poster in a real browser: the QR code on screen decodes to the OA link; it prints on one A4.

Chromium renders `/poster` from a live server; the screenshot is decoded with zxing-cpp, exactly
as a phone camera would read the printed sheet, and the page printed to PDF (A4, as a browser
prints it) has exactly one page. Every wait is a Playwright wait; nothing sleeps.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import chromium, live_server, require_chromium
from tests.conftest import OA_ID

TIMEOUT_MS = 15_000
# A4 at the 96 dpi CSS uses: 210 mm x 297 mm.
A4_VIEWPORT = {"width": 794, "height": 1123}
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module's tests."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def served(make_app):
    """The app, with its real-OA test configuration, served on a live 127.0.0.1 port."""
    require_chromium()
    with live_server() as server:
        app = make_app(
            PUBLIC_BASE_URL=server.url,
            AGENCY_NAME="Ủy ban nhân dân thành phố Hà Nội",
            AGENCY_HOTLINE="1900 1234",
        )
        server.serve(app)
        yield server


@pytest.fixture
def page(browser, served):
    """A fresh A4-sized page on the live server."""
    context = browser.new_context(base_url=served.url, viewport=A4_VIEWPORT, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def decode_qr_codes(png: bytes) -> list[str]:
    """Return the text of every QR code found in a PNG image."""
    zxingcpp = pytest.importorskip("zxingcpp", reason="the QR test needs zxing-cpp (dev extras)")
    image_module = pytest.importorskip("PIL.Image", reason="the QR test needs Pillow (dev extras)")
    with image_module.open(io.BytesIO(png)) as image:
        found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in found]


def test_the_qr_code_on_the_poster_opens_the_oa_chat(page):
    from playwright.sync_api import expect

    page.goto("/poster")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gửi phản ánh, kiến nghị qua Zalo")
    expect(page.locator(".qr-frame svg")).to_be_visible()

    screenshot = page.screenshot(full_page=True)

    assert decode_qr_codes(screenshot) == [f"https://zalo.me/{OA_ID}"]


def test_the_poster_prints_on_exactly_one_a4_page(page, served):
    from playwright.sync_api import expect

    page.goto("/poster")
    expect(page.locator(".steps li")).to_have_count(3)
    expect(page.locator(".lookup")).to_have_text(f"{served.url}/tra-cuu")

    pdf = page.pdf(format="A4")

    assert pdf.startswith(b"%PDF")
    assert len(PDF_PAGE.findall(pdf)) == 1


def test_the_printed_page_still_carries_a_readable_qr_code(page):
    from playwright.sync_api import expect

    page.emulate_media(media="print")
    page.goto("/poster")
    expect(page.locator(".qr-frame svg")).to_be_visible()
    box = page.locator(".qr-frame svg").bounding_box()

    # 80 mm on paper: large enough for a phone held at arm's length.
    assert box is not None and box["width"] == pytest.approx(80 * 96 / 25.4, abs=2)
    assert decode_qr_codes(page.screenshot(full_page=True)) == [f"https://zalo.me/{OA_ID}"]

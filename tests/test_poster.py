"""The printable poster `/poster`: public, built from the configuration, escaped, no navigation.

The browser test (test_browser_poster.py) decodes the printed QR code itself; here the page is
checked as HTML, and the QR code it embeds is checked to decode to the OA's chat link.
"""

from __future__ import annotations

import io

import pytest

from config import SANDBOX_OA_ID
from handlers.poster import oa_chat_url, qr_code, qr_svg
from tests.conftest import OA_ID
from tests.console_helpers import XSS

OA_LINK = f"https://zalo.me/{OA_ID}"
STEPS = (
    "Quét mã QR bằng ứng dụng Zalo",
    "Bấm «Gửi phản ánh, kiến nghị»",
    "Giữ mã PAKN để tra cứu kết quả",
)


@pytest.fixture
def poster_app(make_app):
    return make_app(
        AGENCY_NAME="UBND thành phố Hà Nội",
        AGENCY_HOTLINE="1900 1234",
        PUBLIC_BASE_URL="https://pakn.hanoi.gov.vn",
    )


def test_the_poster_is_public_and_says_everything_a_citizen_needs(poster_app):
    response = poster_app.test_client().get("/poster")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert '<html lang="vi">' in html
    assert '<p class="agency">UBND thành phố Hà Nội</p>' in html
    assert "<h1>Gửi phản ánh, kiến nghị qua Zalo</h1>" in html
    for step in STEPS:
        assert f"<strong>{step}</strong>" in html
    assert html.index(STEPS[0]) < html.index(STEPS[1]) < html.index(STEPS[2])
    assert '<strong class="hotline">1900 1234</strong>' in html
    assert '<strong class="lookup">https://pakn.hanoi.gov.vn/tra-cuu</strong>' in html
    assert f'<a href="{OA_LINK}">zalo.me/{OA_ID}</a>' in html
    assert "/static/poster.css" in html
    assert "Bản thử nghiệm" not in html


def test_the_page_embeds_the_qr_code_of_the_oa_link(poster_app):
    html = poster_app.test_client().get("/poster").get_data(as_text=True)

    assert str(qr_svg(qr_code(OA_LINK))) in html
    assert html.count("<svg") == 1


def test_the_qr_code_decodes_to_the_oa_link():
    zxingcpp = pytest.importorskip("zxingcpp", reason="the QR test needs zxing-cpp (dev extras)")
    image_module = pytest.importorskip("PIL.Image", reason="the QR test needs Pillow (dev extras)")
    png = io.BytesIO()
    qr_code(OA_LINK).save(png, kind="png", scale=6)
    png.seek(0)

    with image_module.open(png) as image:
        found = zxingcpp.read_barcodes(image.convert("L"))

    assert [(code.format, code.text) for code in found] == [
        (zxingcpp.BarcodeFormat.QRCode, OA_LINK)
    ]


def test_the_oa_link_follows_the_configuration(make_app):
    assert oa_chat_url({"ZALO_OA_ID": "123"}) == "https://zalo.me/123"
    assert oa_chat_url(make_app().config) == OA_LINK


def test_in_sandbox_mode_the_poster_links_the_sandbox_oa_and_says_it_is_a_test(make_app):
    app = make_app(ZALO_APP_ID=None)

    html = app.test_client().get("/poster").get_data(as_text=True)

    sandbox_link = f"https://zalo.me/{SANDBOX_OA_ID}"
    assert f'<a href="{sandbox_link}">' in html
    assert str(qr_svg(qr_code(sandbox_link))) in html
    assert "Bản thử nghiệm: mã QR dẫn tới Zalo OA thử nghiệm" in html


def test_configured_text_is_escaped(make_app):
    app = make_app(AGENCY_NAME=f"UBND {XSS}", AGENCY_HOTLINE=XSS)

    html = app.test_client().get("/poster").get_data(as_text=True)

    assert XSS not in html
    assert "UBND &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_poster_has_no_navigation_scripts_or_outside_resources(poster_app):
    response = poster_app.test_client().get("/poster")

    html = response.get_data(as_text=True)
    for absent in ("<nav", "<script", "<form", "Đăng xuất", "http://", "//fonts."):
        assert absent not in html, absent
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "style-src 'self'" in policy


def test_the_stylesheet_prints_on_a4(poster_app):
    response = poster_app.test_client().get("/static/poster.css")

    css = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200
    assert "@page { size: A4 portrait;" in css
    assert "@media print" in css

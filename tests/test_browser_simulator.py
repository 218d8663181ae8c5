"""The chat simulator in a real browser, against a live sandbox server.

A pretend citizen follows the OA, taps the menu buttons, types, sends a photo, shares a location,
fills the info card and submits a whole PAKN, then sees the case code in the bot's bubble.
The tool panel injects a Zalo error, ages the citizen past the 7-day window and revokes the
token; a template message shows as its own bubble.
Every wait is a Playwright wait on what the page shows; nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot import texts
from cases.demo import seed_reference_data
from handlers.runtime import get_runtime
from models import Case, InboundEvent
from tests.browser import (
    TIMEOUT_MS,
    bot_bubble,
    chromium,
    expect_,
    field_number,
    open_simulator,
    serve_sandbox,
    tap,
    type_text,
)
from tests.test_sandbox import tiny_png


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module's tests."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def served(make_app):
    """A sandbox app with reference data, served on a live 127.0.0.1 port."""
    with serve_sandbox(make_app, seed_reference_data) as served:
        yield served


@pytest.fixture
def page(browser, served):
    """A fresh browser page (own localStorage) on the live server."""
    app, server = served
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def test_follow_shows_the_welcome_menu_and_a_tap_sends_its_payload(page, served):
    app, _server = served
    expect = expect_()
    user_id = open_simulator(page)
    assert re.fullmatch(r"[1-9]\d{18}", user_id)
    expect(page.locator(".sim-header")).to_contain_text(app.config["AGENCY_NAME"])

    page.get_by_role("button", name="Quan tâm OA").click()
    expect(page.locator('.bubble[data-kind="follow"]')).to_contain_text("Bạn đã quan tâm")
    menu = bot_bubble(page, texts.MENU_QUESTION)
    expect(menu.get_by_role("button")).to_have_count(3)
    expect(menu.get_by_role("button", name="Gửi phản ánh", exact=True)).to_be_visible()

    menu.get_by_role("button", name="Gửi phản ánh", exact=True).click()
    expect(bot_bubble(page, "Khiếu nại, tố cáo và yêu cầu tư vấn pháp luật")).to_be_visible()
    # The tap shows as the citizen's bubble with the button's title, as in Zalo.
    expect(page.locator('.bubble[data-from="user"]').last).to_have_text("👆 Gửi phản ánh")
    with get_runtime(app).sessions() as session:
        names = session.scalars(
            select(InboundEvent.event_name)
            .where(InboundEvent.zalo_user_id == user_id)
            .order_by(InboundEvent.id)
        ).all()
        tap_body = session.scalars(
            select(InboundEvent.body).where(InboundEvent.event_name == "user_send_text")
        ).one()
    assert names == ["follow", "user_send_text"]
    assert '"text": "#menu:submit"' in tap_body

    # The transcript survives a reload; a second citizen starts with an empty chat.
    page.reload()
    expect(bot_bubble(page, texts.MENU_QUESTION)).to_be_visible()
    page.get_by_role("button", name="+ Thêm người dân").click()
    expect(page.get_by_role("tab")).to_have_count(2)
    expect(page.locator("#empty-note")).to_be_visible()
    expect(page.locator(".bubble")).to_have_count(0)
    page.get_by_role("tab").first.click()
    expect(bot_bubble(page, texts.MENU_QUESTION)).to_be_visible()


def test_a_whole_pakn_through_the_simulator_ends_with_its_code(page, served):
    app, _server = served
    expect = expect_()
    open_simulator(page)
    page.get_by_role("button", name="Quan tâm OA").click()

    tap(page, texts.MENU_QUESTION, "Gửi phản ánh")
    tap(page, texts.SCOPE_CONTINUE, "Tiếp tục")
    tap(page, texts.ASK_KIND, texts.KIND_FEEDBACK)
    expect(bot_bubble(page, texts.ASK_FIELD)).to_be_visible()
    type_text(page, field_number(app, "GIAO-THONG"))
    tap(page, "Sở Giao thông vận tải", texts.UNIT_ACCEPT)

    expect(bot_bubble(page, "tiêu đề ngắn gọn")).to_be_visible()
    type_text(page, "Đèn tín hiệu hỏng tại ngã tư")
    expect(bot_bubble(page, "trình bày nội dung")).to_be_visible()
    type_text(page, "Đèn tín hiệu giao thông tại ngã tư Hàng Bạc - Hàng Đào đã hỏng ba ngày.")
    expect(bot_bubble(page, "Đã ghi nhận")).to_be_visible()
    type_text(page, "xong")

    expect(bot_bubble(page, "tối đa 10 ảnh")).to_be_visible()
    page.locator("#photo-input").set_input_files(
        files=[{"name": "den-hong.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    photo = page.locator('.bubble[data-from="user"][data-kind="image"] img')
    expect(photo).to_have_attribute(
        "src", re.compile(r"/_sandbox/zalo/media/[0-9a-f]{32}/den-hong\.png$")
    )
    # The photo really loads from the sandbox "CDN".
    page.wait_for_function("() => document.querySelector('.bubble-user img').naturalWidth === 1")
    expect(bot_bubble(page, "Đã nhận 1/10 tệp")).to_be_visible()
    tap(page, "tối đa 10 ảnh", texts.ATTACHMENT_DONE)

    expect(bot_bubble(page, "Sự việc xảy ra ở đâu")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept("21.0340, 105.8500"))
    page.get_by_role("button", name="Nhập tọa độ…").click()
    expect(page.locator('.bubble[data-kind="location"]')).to_contain_text("21.0340000, 105.8500000")

    card = page.locator('.bubble[data-kind="info_request"]').last
    card.get_by_role("button", name="Chia sẻ thông tin").click()
    card.get_by_label("Họ và tên").fill("Nguyễn Văn An")
    card.get_by_label("Số điện thoại").fill("0912345678")
    card.get_by_label("Địa chỉ").fill("12 Hàng Bạc, Hoàn Kiếm, Hà Nội")
    card.get_by_role("button", name="Gửi thông tin").click()
    expect(page.locator('.bubble[data-kind="info"]')).to_contain_text("Nguyễn Văn An")

    tap(page, "địa chỉ email", texts.EMAIL_SKIP)
    tap(page, "Luật Bảo vệ dữ liệu cá nhân", texts.CONSENT_YES)
    tap(page, texts.ASK_PRIVACY, "Không cần ẩn")
    summary = bot_bubble(page, texts.CONFIRM_HEADER)
    expect(summary).to_contain_text("Đèn tín hiệu hỏng tại ngã tư")
    expect(summary).to_contain_text("vị trí đã chia sẻ (21.0340000, 105.8500000)")
    tap(page, texts.CONFIRM_EDIT, texts.CONFIRM_SEND)

    acknowledgement = bot_bubble(page, "Mã PAKN:")
    expect(acknowledgement).to_contain_text(re.compile(r"Mã PAKN: PAKN\.\d{8}\.\d{4}"))
    code = re.search(r"PAKN\.\d{8}\.\d{4}", acknowledgement.inner_text()).group(0)
    with get_runtime(app).sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.code == code
        assert case.title == "Đèn tín hiệu hỏng tại ngã tư"
        assert case.contact_name == "Nguyễn Văn An"
        assert len(case.attachments) == 1
    expect(page.locator("#status")).to_have_text("")
    expect(page.locator('.bubble[data-kind="error"]')).to_have_count(0)


def test_the_tool_panel_plays_zalo_on_a_bad_day(page, served):
    app, server = served
    expect = expect_()
    user_id = open_simulator(page)
    page.get_by_role("button", name="Quan tâm OA").click()
    expect(bot_bubble(page, texts.MENU_QUESTION)).to_be_visible()

    page.get_by_text("Công cụ thử nghiệm").click()
    state_line = page.locator("#sim-state")
    expect(state_line).to_contain_text("trong cửa sổ 7 ngày")
    expect(state_line).to_contain_text("Token OA: còn hiệu lực (thế hệ 0)")

    # An injected failure for this citizen: the bot's next reply is refused, as an error line.
    page.get_by_label("Loại lỗi").select_option("-200")
    page.get_by_role("button", name="Đặt lỗi").click()
    expect(state_line).to_contain_text("-200 × 1 (người dân này)")
    type_text(page, "Xin chào")
    expect(page.locator('.bubble[data-kind="error"]').first).to_contain_text(
        "Zalo từ chối (-200, lỗi giả lập)"
    )
    expect(state_line).to_contain_text("Lỗi giả lập: không có")

    # A template message (ZNS) is its own bubble, parameters listed.
    answer = page.request.post(
        server.url + "/_sandbox/zalo/v3.0/oa/message/template",
        data={"user_id": user_id, "template_id": "321", "template_data": {"ma_pakn": "PAKN.1"}},
        headers={"access_token": app.config["ZALO_ACCESS_TOKEN"]},
    )
    assert answer.json()["error"] == 0
    template = page.locator(".bubble-template")
    expect(template).to_contain_text("Tin mẫu (ZNS) #321")
    expect(template.locator("dt")).to_have_text(["ma_pakn"])
    expect(template.locator("dd")).to_have_text(["PAKN.1"])

    # Eight days later the citizen is outside the window.
    page.get_by_role("button", name="Lùi thời gian 8 ngày").click()
    expect(state_line).to_contain_text("8 ngày trước · ngoài cửa sổ 7 ngày")
    page.get_by_label("Số ngày lùi").select_option("3")
    expect(page.get_by_role("button", name="Lùi thời gian 3 ngày")).to_be_visible()

    page.get_by_role("button", name="Thu hồi refresh token").click()
    expect(state_line).to_contain_text("Token OA: đã thu hồi")
    expect(page.locator("#status")).to_have_text("")

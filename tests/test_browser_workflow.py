"""One case from a citizen's chat to the answer, in real browsers against a live sandbox server.

A citizen submits a PAKN in the chat simulator. The coordinator logs in, finds it in the queue
and transfers it to Sở Xây dựng; the handler of that unit takes it and asks for information; the
citizen answers in the chat and the handler sees the answer on the case page, the case back to
"Đang xử lý"; the handler drafts the answer, the unit's leader approves it, and the whole answer
arrives in the citizen's chat. Each person has their own browser context (cookies, storage), and
staff log in through the login form as people do.

Every wait is a Playwright wait on what a page shows; nothing sleeps. Console pages are not live:
a staff member reloads once the citizen's chat shows the bot has taken the citizen's message in.

At the end the test takes a screenshot of the leader's case page and of the citizen's chat, for
the staff handbook. They go to pytest's temporary folder; with SAVE_SCREENSHOTS=1 they replace
docs/screenshots/console-case.png and docs/screenshots/simulator-answer.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot import texts
from cases.demo import seed_demo
from cases.notifications import TEXTS
from tests.browser import (
    DESKTOP,
    PHONE,
    act,
    bot_bubble,
    case_status,
    chromium,
    expect_,
    field_number,
    log_in,
    open_pages,
    open_simulator,
    screenshot_dir,
    serve_sandbox,
    tap,
    timeline_entry,
    type_text,
)

TITLE = "Công trình xây dựng thi công ban đêm gây ồn"
CONTENT = (
    "Công trình xây nhà trong ngõ 42 phố Hàng Bạc thi công cả ban đêm, máy khoan "
    "và xe chở vật liệu gây ồn đến khuya. Đề nghị cơ quan chức năng kiểm tra."
)
PLACE = "Ngõ 42 phố Hàng Bạc, Hoàn Kiếm"
QUESTION = "Ông/Bà cho biết công trình thi công ồn vào khung giờ nào và từ ngày nào?"
REPLY = "Thi công từ 22 giờ đến khoảng 2 giờ sáng, liên tục từ đầu tháng này."
ANSWER = (
    "Sở Xây dựng đã kiểm tra công trình tại ngõ 42 phố Hàng Bạc và lập biên bản vi phạm "
    "về thời gian thi công.\n\n"
    "Chủ đầu tư đã cam kết chỉ thi công từ 6 giờ đến 22 giờ; Sở sẽ tiếp tục giám sát."
)


@pytest.fixture
def served(make_app):
    """A sandbox app with the demo city and its staff accounts, served on a live port."""
    with serve_sandbox(make_app, seed_demo) as served:
        yield served


@pytest.fixture
def new_page(served) -> Iterator[Callable[..., Any]]:
    """Open a page in a browser context of its own (one per person); all closed at the end."""
    _app, server = served
    with chromium() as browser, open_pages(browser, server.url) as open_page:
        yield open_page


def submit_case(page, app) -> str:
    """As a citizen in the simulator, send a PAKN in "Lĩnh vực khác"; return its code."""
    expect = expect_()
    open_simulator(page)
    page.get_by_role("button", name="Quan tâm OA").click()
    tap(page, texts.MENU_QUESTION, "Gửi phản ánh")
    tap(page, texts.SCOPE_CONTINUE, "Tiếp tục")
    tap(page, texts.ASK_KIND, texts.KIND_FEEDBACK)
    expect(bot_bubble(page, texts.ASK_FIELD)).to_be_visible()
    # The citizen does not know whose business this is: it goes to the coordinating office.
    type_text(page, field_number(app, "KHAC"))
    tap(page, "Văn phòng UBND thành phố", texts.UNIT_ACCEPT)
    expect(bot_bubble(page, "tiêu đề ngắn gọn")).to_be_visible()
    type_text(page, TITLE)
    expect(bot_bubble(page, "trình bày nội dung")).to_be_visible()
    type_text(page, CONTENT)
    expect(bot_bubble(page, "Đã ghi nhận")).to_be_visible()
    type_text(page, "xong")
    tap(page, "tối đa 10 ảnh", texts.ATTACHMENT_SKIP)
    expect(bot_bubble(page, "Sự việc xảy ra ở đâu")).to_be_visible()
    type_text(page, PLACE)

    card = page.locator('.bubble[data-kind="info_request"]').last
    card.get_by_role("button", name="Chia sẻ thông tin").click()
    card.get_by_label("Họ và tên").fill("Nguyễn Văn An")
    card.get_by_label("Số điện thoại").fill("0912345678")
    card.get_by_label("Địa chỉ").fill("12 Hàng Bạc, Hoàn Kiếm, Hà Nội")
    card.get_by_role("button", name="Gửi thông tin").click()
    tap(page, "địa chỉ email", texts.EMAIL_SKIP)
    tap(page, "Luật Bảo vệ dữ liệu cá nhân", texts.CONSENT_YES)
    tap(page, texts.ASK_PRIVACY, "Không cần ẩn")
    expect(bot_bubble(page, texts.CONFIRM_HEADER)).to_contain_text(TITLE)
    tap(page, texts.CONFIRM_EDIT, texts.CONFIRM_SEND)

    acknowledgement = bot_bubble(page, "Mã PAKN:")
    expect(acknowledgement).to_contain_text(re.compile(r"Mã PAKN: PAKN\.\d{8}\.\d{4}"))
    return re.search(r"PAKN\.\d{8}\.\d{4}", acknowledgement.inner_text()).group(0)


def test_a_case_from_the_citizens_chat_to_the_leaders_approved_answer(served, new_page, tmp_path):
    app, _server = served
    expect = expect_()
    citizen = new_page(PHONE)
    code = submit_case(citizen, app)
    case_path = f"/admin/cases/{code}"

    # The coordinator finds the new case in the queue and sends it to Sở Xây dựng.
    coordinator = new_page(DESKTOP)
    log_in(coordinator, "/admin/", "dieuphoi", "demo-coordinator-2026", "Trần Thị Mai")
    row = coordinator.locator("table.queue tbody tr").filter(has_text=code)
    expect(row).to_contain_text(TITLE)
    expect(row).to_contain_text("Văn phòng UBND thành phố")
    expect(row.locator(".status")).to_have_text("Đã tiếp nhận")
    row.get_by_role("link", name=code).click()
    expect(coordinator.locator("h1.case-title")).to_have_text(TITLE)
    act(
        coordinator,
        "transfer",
        "Chuyển đơn vị xử lý",
        lambda form: form.get_by_label("Đơn vị xử lý").select_option(label="Sở Xây dựng"),
    )
    expect(case_status(coordinator)).to_have_text("Đã chuyển đơn vị xử lý")
    transferred = TEXTS["transferred"].format(code=code, unit="Sở Xây dựng")
    expect(bot_bubble(citizen, "đã được chuyển đến Sở Xây dựng")).to_have_text(transferred)

    # The unit's handler finds it in their own queue, takes it and asks for information.
    handler = new_page(DESKTOP)
    log_in(handler, "/admin/", "canbo.sxd", "demo-handler-2026", "Lê Văn Hùng")
    row = handler.locator("table.queue tbody tr").filter(has_text=code)
    expect(row.locator(".status")).to_have_text("Đã chuyển đơn vị xử lý")
    row.get_by_role("link", name=code).click()
    act(handler, "accept", "Nhận xử lý")
    expect(case_status(handler)).to_have_text("Đang xử lý")
    expect(bot_bubble(citizen, "đang được Sở Xây dựng xử lý")).to_be_visible()
    act(
        handler,
        "request_info",
        "Đề nghị bổ sung thông tin",
        lambda form: form.get_by_label("Nội dung đề nghị người dân bổ sung").fill(QUESTION),
    )
    expect(case_status(handler)).to_have_text("Chờ bổ sung thông tin")
    expect(bot_bubble(citizen, "đề nghị Ông/Bà bổ sung thông tin")).to_contain_text(QUESTION)

    # The citizen answers in the chat; the bot says the case goes on.
    type_text(citizen, REPLY)
    expect(citizen.locator('.bubble[data-from="user"]').last).to_have_text(REPLY)
    resumed = TEXTS["resumed"].format(code=code)
    expect(bot_bubble(citizen, "Cảm ơn Ông/Bà đã bổ sung thông tin")).to_have_text(resumed)

    # The handler's case page shows the answer, in the conversation and the timeline.
    handler.reload()
    expect(case_status(handler)).to_have_text("Đang xử lý")
    said = handler.locator("#hoi-thoai li.bubble-citizen").filter(has_text=REPLY)
    expect(said.locator(".bubble-text")).to_have_text(REPLY)
    expect(timeline_entry(handler, "Người gửi bổ sung thông tin").locator(".note")).to_have_text(
        REPLY
    )
    expect(
        timeline_entry(handler, "Người gửi đã bổ sung thông tin, tiếp tục xử lý").locator(
            ".transition"
        )
    ).to_have_text("Chờ bổ sung thông tin → Đang xử lý")

    # The handler drafts the answer; nothing reaches the citizen yet.
    act(
        handler,
        "draft_answer",
        "Lưu dự thảo trả lời",
        lambda form: form.get_by_label(re.compile("^Nội dung trả lời")).fill(ANSWER),
    )
    expect(case_status(handler)).to_have_text("Đang hoàn thiện kết quả trả lời (chờ duyệt)")
    expect(handler.locator("#tin-nhan")).not_to_contain_text("Kết quả trả lời PAKN")

    # The leader reads the draft and approves it: the answer goes out.
    leader = new_page(DESKTOP)
    log_in(leader, case_path, "lanhdao.sxd", "demo-leader-2026", "Phạm Minh Tuấn")
    expect(leader.locator("#tra-loi h2")).to_have_text("Dự thảo trả lời")
    expect(leader.locator("#tra-loi .answer-text")).to_have_text(ANSWER)
    act(leader, "approve", "Phê duyệt và gửi trả lời")
    expect(case_status(leader)).to_have_text("Đã trả lời")
    expect(leader.locator("#tra-loi h2")).to_have_text("Kết quả trả lời")

    # The citizen's chat shows the whole answer, word for word.
    answered = TEXTS["answered"].format(code=code, title=TITLE, answer=ANSWER)
    answer_bubble = bot_bubble(citizen, f"Kết quả trả lời {code}")
    expect(answer_bubble).to_have_text(answered)
    # A browser sends a textarea's line breaks as CRLF, and the answer goes out as it was typed.
    assert answer_bubble.text_content().replace("\r\n", "\n") == answered
    expect(citizen.locator('.bubble[data-kind="error"]')).to_have_count(0)
    expect(citizen.locator("#status")).to_have_text("")

    # The leader's page lists the answer among the messages sent to the citizen.
    leader.reload()
    expect(leader.locator("#tin-nhan table.delivery")).to_contain_text(f"Kết quả trả lời {code}")

    folder = screenshot_dir(tmp_path)
    leader.screenshot(path=str(folder / "console-case.png"), full_page=True)
    answer_bubble.scroll_into_view_if_needed()
    citizen.screenshot(path=str(folder / "simulator-answer.png"))

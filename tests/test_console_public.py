"""The coordinators' page for the public version of a case (`/admin/cases/<code>/public`).

The case's texts hold its sender's name, phone, e-mail, ID number and address: the page starts
from their automatic masking, and what staff save is what `/cong-khai`, `/tra-cuu` and Open311
publish, while the originals stay as they were.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cases.public_version import EDITED_ACTION, RESET_ACTION, personal_data_found
from cases.redaction import MARKER, known_values, redact
from models import Case, CaseEvent, CaseStatus
from tests import console_helpers
from tests.console_helpers import XSS, csrf_from, login, page

demo = console_helpers.demo
clock = console_helpers.clock
make_case = console_helpers.make_case
other_handler = console_helpers.other_handler

TITLE = "Ông Nguyễn Văn An phản ánh công trình lấn chiếm vỉa hè"
CONTENT = (
    "Tôi là Nguyễn Văn An, nhà ở số 12 phố Hàng Bạc, phường Hàng Bạc. Công trình bên cạnh lấn "
    "chiếm vỉa hè.\nLiên hệ 0912 345 678 hoặc an.nguyen@example.vn, CCCD 001092012345."
)
ANSWER = (
    "Trả lời ông An (điện thoại 0912345678): Sở Xây dựng đã kiểm tra, lập biên bản và yêu cầu "
    "chủ công trình tháo dỡ phần lấn chiếm trước ngày 20/12/2026."
)
PERSONAL = ["Nguyễn Văn An", "0912 345 678", "0912345678", "an.nguyen@example.vn", "001092012345"]
PERSONAL += ["số 12 phố Hàng Bạc", "ông An"]
EDITED = {
    "title": "Công trình lấn chiếm vỉa hè phố Hàng Bạc",
    "content": "Người dân phản ánh một công trình xây dựng lấn chiếm vỉa hè phố Hàng Bạc.",
    "answer": "Sở Xây dựng đã lập biên bản và yêu cầu tháo dỡ phần lấn chiếm trước 20/12/2026.",
}
FIELD = re.compile(
    r'<(?:textarea|input) id="f-(title|content|answer)"[^>]*?(?:value="([^"]*)"[^>]*>|>([^<]*)'
    r"</textarea>)"
)
ARTICLE = re.compile(r'<article class="published-item">.*?</article>', re.S)


def personal_case(make_case, status: CaseStatus, **values) -> Case:
    """A case of SXD whose title, content and answer are full of personal data."""
    return make_case.create(
        title=TITLE,
        content=CONTENT,
        answer_text=ANSWER,
        status=status,
        answered_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
        **values,
    )


@pytest.fixture
def answered(make_case, clock) -> Case:
    return personal_case(make_case, CaseStatus.ANSWERED)


@pytest.fixture
def published(make_case, clock) -> Case:
    return personal_case(
        make_case, CaseStatus.PUBLISHED, published_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    )


def url(case: Case, suffix: str = "") -> str:
    return f"/admin/cases/{case.code}/public{suffix}"


def form_values(text: str) -> dict[str, str]:
    """The title, content and answer the form shows, as the browser reads them."""
    return {name: html.unescape(value or body) for name, value, body in FIELD.findall(text)}


def save(client, case: Case, values: dict[str, str], token: str | None = None):
    token = token if token is not None else csrf_from(client, url(case))
    return client.post(url(case), data={**values, "csrf_token": token})


def reload(session, case: Case) -> Case:
    session.expire_all()
    return session.get(Case, case.id)


def events(session, case: Case, action: str) -> list[CaseEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == action)
        )
    )


def assert_untouched(session, case: Case) -> None:
    """The originals as submitted, and no staff version."""
    fresh = reload(session, case)
    assert (fresh.title, fresh.content, fresh.answer_text) == (TITLE, CONTENT, ANSWER)
    assert (fresh.public_title, fresh.public_content, fresh.public_answer) == (None, None, None)


# --- the page -----------------------------------------------------------------------------------
def test_the_form_starts_from_the_automatic_masking(client, demo, answered):
    login(client, "coordinator")

    text = page(client, url(answered))

    known = known_values(answered)
    shown = form_values(text)
    assert shown == {
        "title": redact(TITLE, known),
        "content": redact(CONTENT, known),
        "answer": redact(ANSWER, known),
    }
    masked = " ".join(shown.values())
    assert masked.count(MARKER) >= 6
    for secret in PERSONAL:
        assert secret not in masked, secret
    # The originals are beside it, for comparison, and the case page links here.
    assert html.escape(CONTENT, quote=False) in text
    assert "Che tự động" in text and "Bản gốc, không công khai" in text
    case_page = page(client, f"/admin/cases/{answered.code}")
    assert f'href="{url(answered)}"' in case_page
    assert "Xem và sửa nội dung công khai" in case_page


def test_the_preview_is_exactly_the_public_page(client, demo, published):
    login(client, "coordinator")

    preview = ARTICLE.search(page(client, url(published))).group()

    public = ARTICLE.search(client.get(f"/cong-khai/{published.code}").get_data(as_text=True))
    assert preview == public.group()
    assert "0912" not in preview and "Nguyễn Văn An" not in preview


def test_saving_changes_every_public_view_and_keeps_the_originals(client, demo, published):
    login(client, "coordinator")

    response = save(client, published, EDITED)

    assert response.status_code == 302
    assert response.headers["Location"] == url(published)
    fresh = reload(demo, published)
    assert (fresh.title, fresh.content, fresh.answer_text) == (TITLE, CONTENT, ANSWER)
    assert (fresh.public_title, fresh.public_content, fresh.public_answer) == (
        EDITED["title"],
        EDITED["content"],
        EDITED["answer"],
    )
    listed = client.get("/cong-khai").get_data(as_text=True)
    one = client.get(f"/cong-khai/{published.code}").get_data(as_text=True)
    for body in (listed, one):
        assert EDITED["title"] in body and EDITED["content"] in body
        assert "Sở Xây dựng đã kiểm tra" not in body  # the masked original answer is gone
    assert EDITED["answer"] in one
    lookup = client.get("/tra-cuu", query_string={"ma": published.code}).get_data(as_text=True)
    assert EDITED["title"] in lookup and EDITED["answer"] in lookup
    open311 = client.get(f"/open311/v2/requests/{published.code}.json").json[0]
    assert (open311["description"], open311["status_notes"]) == (
        EDITED["content"],
        EDITED["answer"],
    )
    # Recorded on the timeline with the editor; the page now says the text is the staff's.
    [event] = events(demo, published, EDITED_ACTION)
    assert event.staff_id is not None and not event.visible_to_citizen
    assert event.note == "Đã sửa: tiêu đề, nội dung phản ánh, kiến nghị, kết quả trả lời."
    edit_page = page(client, url(published))
    assert "Đã lưu nội dung công khai" in edit_page
    assert form_values(edit_page) == EDITED
    assert "Do cán bộ sửa" in edit_page
    case_page = page(client, f"/admin/cases/{published.code}")
    assert re.search(
        r'<strong>Sửa nội dung công khai</strong>\s*<span class="actor">Trần Thị Mai</span>',
        case_page,
    )


def test_a_part_saved_as_masked_stays_automatic(client, demo, published):
    login(client, "coordinator")
    shown = form_values(page(client, url(published)))

    save(client, published, {**shown, "title": EDITED["title"]})

    fresh = reload(demo, published)
    assert fresh.public_title == EDITED["title"]
    assert (fresh.public_content, fresh.public_answer) == (None, None)
    [event] = events(demo, published, EDITED_ACTION)
    assert event.note == "Đã sửa: tiêu đề."
    # Saving again what is published changes nothing and records nothing.
    response = save(client, published, form_values(page(client, url(published))))
    assert response.status_code == 302
    assert "Nội dung công khai không thay đổi." in page(client, url(published))
    assert len(events(demo, published, EDITED_ACTION)) == 1


def test_line_breaks_typed_in_a_browser_are_stored_as_lf(client, demo, published):
    login(client, "coordinator")
    content = "Người dân phản ánh:\r\nCông trình lấn chiếm vỉa hè phố Hàng Bạc."

    save(client, published, {**EDITED, "content": f"  {content}\r\n"})

    assert reload(demo, published).public_content == content.replace("\r\n", "\n")


def test_reset_publishes_the_automatic_masking_again(client, demo, published):
    login(client, "coordinator")
    save(client, published, EDITED)
    token = csrf_from(client, url(published))

    response = client.post(url(published, "/reset"), data={"csrf_token": token})

    assert response.status_code == 302
    assert_untouched(demo, published)
    assert len(events(demo, published, RESET_ACTION)) == 1
    one = client.get(f"/cong-khai/{published.code}").get_data(as_text=True)
    assert EDITED["title"] not in one and MARKER in one
    text = page(client, url(published))
    assert "Đã khôi phục nội dung công khai tự động" in text
    assert "Khôi phục bản tự động" not in text  # nothing left to reset
    # A second reset has nothing to do and records nothing.
    client.post(url(published, "/reset"), data={"csrf_token": token})
    assert len(events(demo, published, RESET_ACTION)) == 1


@pytest.mark.parametrize(
    ("values", "field", "error"),
    [
        ({**EDITED, "title": "   "}, "title", "Vui lòng nhập tiêu đề."),
        ({**EDITED, "answer": ""}, "answer", "Vui lòng nhập kết quả trả lời."),
        (
            {**EDITED, "content": "x" * 10_001},
            "content",
            "Nội dung phản ánh, kiến nghị tối đa 10.000 ký tự (hiện có 10001 ký tự).",
        ),
        (
            {**EDITED, "title": "T" * 201},
            "title",
            "Tiêu đề tối đa 200 ký tự (hiện có 201 ký tự).",
        ),
    ],
)
def test_invalid_input_is_shown_again_and_saves_nothing(
    client, demo, published, values, field, error
):
    login(client, "coordinator")

    response = save(client, published, values)

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert error in text
    assert f'aria-describedby="f-{field}-error"' in text
    shown = form_values(text)
    for name in ("title", "content", "answer"):
        if name != field:
            assert shown[name] == values[name]  # what was typed is kept
    assert_untouched(demo, published)
    assert events(demo, published, EDITED_ACTION) == []


def test_forms_need_the_csrf_token(client, demo, published):
    login(client, "coordinator")
    save(client, published, EDITED, token=csrf_from(client, url(published)))
    before = reload(demo, published).public_title

    for token in ("", "wrong"):
        assert (
            save(client, published, {**EDITED, "title": "Tiêu đề khác hẳn"}, token).status_code
            == 400
        )
        reset = client.post(url(published, "/reset"), data={"csrf_token": token})
        assert reset.status_code == 400

    assert reload(demo, published).public_title == before == EDITED["title"]
    assert events(demo, published, RESET_ACTION) == []


@pytest.mark.parametrize("role", ["handler", "leader"])
def test_the_units_handlers_and_leaders_are_refused(client, demo, published, role):
    login(client, role)
    token = csrf_from(client, "/admin/")

    assert client.get(url(published)).status_code == 403
    assert client.post(url(published), data={**EDITED, "csrf_token": token}).status_code == 403
    assert client.post(url(published, "/reset"), data={"csrf_token": token}).status_code == 403
    assert_untouched(demo, published)
    assert "Xem và sửa nội dung công khai" not in page(client, f"/admin/cases/{published.code}")


def test_a_case_out_of_scope_is_not_found(client, demo, published, other_handler):
    login(client, "other_handler")

    assert client.get(url(published)).status_code == 404
    assert client.get("/admin/cases/PAKN.20991231.0001/public").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, demo, published):
    response = client.get(url(published))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_citizen_text_is_escaped(client, demo, make_case, clock):
    case = make_case.create(
        title=f"Phản ánh {XSS}",
        content=f"Nội dung có mã độc {XSS} cần kiểm tra.",
        answer_text=f"Trả lời: đã xử lý {XSS} xong.",
        status=CaseStatus.ANSWERED,
        answered_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
    )
    login(client, "coordinator")
    save(client, case, {**EDITED, "content": f"Bản sửa vẫn có {XSS} để kiểm tra."})

    text = page(client, url(case))

    assert XSS not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# --- staff text is published as written, with a warning -----------------------------------------
def test_personal_data_left_in_staff_text_is_published_with_a_warning(client, demo, published):
    login(client, "coordinator")
    content = "Người dân phản ánh lấn chiếm vỉa hè. Đường dây nóng của Sở: 0243 825 3536."

    save(
        client,
        published,
        {**EDITED, "content": content, "answer": f"{EDITED['answer']} ({MARKER})"},
    )

    text = page(client, url(published))
    assert "vẫn có thể chứa thông tin cá nhân" in text
    assert "<mark>0243 825 3536</mark>" in text
    assert text.count("<mark>") == 1  # the marker kept from the masking is not a finding
    assert content in client.get(f"/cong-khai/{published.code}").get_data(as_text=True)


def test_personal_data_found_lists_what_the_masker_hides():
    text = f"Ông Trần Văn Bình ({MARKER}) gọi 0912 345 678, thư a.b@example.vn; hết."

    assert personal_data_found(text) == ["Trần Văn Bình", "0912 345 678", "a.b@example.vn"]
    assert personal_data_found("Không có gì cần che.") == []
    assert personal_data_found("0912345678") == ["0912345678"]


def test_an_answer_sent_again_after_editing_is_flagged(client, demo, published, clock):
    login(client, "coordinator")
    save(client, published, EDITED)
    assert "Kết quả trả lời đã được gửi lại" not in page(client, url(published))

    fresh = reload(demo, published)
    fresh.answered_at = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # reopened and answered anew
    demo.commit()

    assert "Kết quả trả lời đã được gửi lại" in page(client, url(published))


# --- states and the publish flow ----------------------------------------------------------------
def test_an_open_case_has_no_public_version_to_edit(client, demo, make_case, clock):
    case = make_case.create(status=CaseStatus.PROCESSING)
    login(client, "coordinator")

    text = page(client, url(case))

    assert "Chỉ sửa được nội dung công khai khi" in text
    assert 'name="title"' not in text
    assert "Xem và sửa nội dung công khai" not in page(client, f"/admin/cases/{case.code}")
    assert save(client, case, EDITED).status_code == 409
    assert reload(demo, case).public_title is None


def test_review_edit_then_publish(client, demo, answered):
    login(client, "coordinator")
    text = page(client, url(answered))
    assert 'action="/admin/cases/' + answered.code + '/actions/publish"' in text
    assert "Sau khi công khai kết quả, trang công khai sẽ hiển thị như sau." in text
    save(client, answered, EDITED)

    token = csrf_from(client, url(answered))
    response = client.post(
        f"/admin/cases/{answered.code}/actions/publish", data={"csrf_token": token}
    )

    assert response.status_code == 302
    assert reload(demo, answered).status == CaseStatus.PUBLISHED
    one = client.get(f"/cong-khai/{answered.code}").get_data(as_text=True)
    assert EDITED["title"] in one and EDITED["answer"] in one
    assert "/actions/publish" not in page(client, url(answered))

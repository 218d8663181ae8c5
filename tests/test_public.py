"""The public pages: `/tra-cuu` (lookup by code, own detail with the last 4 phone digits,
throttling) and `/cong-khai` (published answers, search, filters, paging).

Seeded cases mention their sender's name, phone, e-mail and address in the title, the content
and the answer; no public page may contain any of them, however written.
The helpers here (clock, seeds, leak check) are shared with the Open311 and browser tests.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cases.demo import seed_reference_data
from cases.redaction import MARKER, fold
from handlers.public import CLIENT_BUDGET, public_state
from models import Case, CaseEvent, CaseKind, CaseStatus, Field, PublicLookup, Unit

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
NOT_FOUND_TEXT = "Không tìm thấy PAKN phù hợp với thông tin đã nhập."

AN = {
    "name": "Nguyễn Văn An",
    "phone": "0912345678",
    "email": "an.nguyen@example.vn",
    "address": "Số 12 phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm",
}
BINH = {
    "name": "Trần Thị Bình",
    "phone": "0987654321",
    "email": "binh.tran@example.vn",
    "address": "Số 7 ngõ 5 Trần Phú, Phường Điện Biên, Quận Ba Đình",
}
# Everything that identifies the two senders, as written in the seeds and as a reader could
# search for it; `assert_no_personal_data` also tries each without diacritics and spaces.
SECRETS = [
    "Nguyễn Văn An",
    "Văn An",
    "ông An",
    "0912345678",
    "912 345 678",
    "an.nguyen@example.vn",
    "Số 12 phố Hàng Bạc",
    "12 Hàng Bạc",
    "001092012345",
    "Trần Thị Bình",
    "Thị Bình",
    "bà Bình",
    "0987654321",
    "binh.tran@example.vn",
    "Số 7 ngõ 5 Trần Phú",
    "ngõ 5 Trần Phú",
    "Lê Văn Cường",
    "0903111222",
]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock(app) -> FakeClock:
    """Replace the public pages' clock with a fake one."""
    fake = FakeClock(NOW)
    public_state(app).clock = fake
    return fake


@dataclass
class Seeded:
    """The codes of the seeded cases."""

    published: str  # An's: originals full of personal data, published redacted
    edited: str  # Bình's: published with a staff-edited public version, identity hidden
    answered: str  # An's: answered, not published
    processing: str  # An's: being handled, with an internal note
    others: list[str]  # Cường's published cases, for paging and filters


def _ids(session, model, code: str) -> int:
    return session.scalars(select(model.id).where(model.code == code)).one()


def add_case(session, code: str, field: str, unit: str, sender: dict, **values) -> Case:
    """Add a case of `sender` (a dict of name, phone, email, address) and return it."""
    received = values.pop("received_at", datetime(2026, 11, 27, 1, 30, tzinfo=UTC))
    case = Case(
        code=code,
        kind=values.pop("kind", CaseKind.FEEDBACK),
        field_id=_ids(session, Field, field),
        unit_id=_ids(session, Unit, unit),
        contact_name=sender["name"],
        contact_phone=sender["phone"],
        contact_email=sender["email"],
        contact_address=sender["address"],
        received_at=received,
        answer_due_on=values.pop("answer_due_on", date(2026, 12, 25)),
        updated_at=values.pop("updated_at", received + timedelta(days=5)),
        **values,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(
            case_id=case.id, at=received, action="received", actor="citizen", to_status="received"
        )
    )
    return case


def seed_cases(session) -> Seeded:
    """Seed the reference data and the cases of this module; commit."""
    seed_reference_data(session)
    published = add_case(
        session,
        "PAKN.20261127.0001",
        "GIAO-THONG",
        "SGTVT",
        AN,
        status=CaseStatus.PUBLISHED,
        title="Ông Nguyễn Văn An phản ánh đèn tín hiệu hỏng trước Số 12 phố Hàng Bạc",
        content=(
            "Tôi là Nguyen Van An, nhà ở số 12 phố Hàng Bạc, phường Hàng Bạc.\n"
            "Đèn tín hiệu giao thông tại ngã tư Hàng Bạc - Hàng Đào đã hỏng ba ngày. "
            "Liên hệ 0912.345.678 hoặc AN.NGUYEN@example.vn. CCCD 001092012345."
        ),
        answer_text=(
            "Trả lời ông An (điện thoại +84 912 345 678): Sở Giao thông vận tải đã thay đèn "
            "tín hiệu tại ngã tư Hàng Bạc - Hàng Đào ngày 20/11/2026 theo Nghị định "
            "100/2019/NĐ-CP. Kinh phí 5.000.000 đồng."
        ),
        location_address="Ngã tư Hàng Bạc - Hàng Đào, trước 12 Hàng Bạc",
        latitude=Decimal("21.034012"),
        longitude=Decimal("105.852351"),
        answered_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        published_at=datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
    )
    session.add_all(
        [
            CaseEvent(
                case_id=published.id,
                at=datetime(2026, 11, 28, 2, 0, tzinfo=UTC),
                action="transfer",
                actor="staff:1",
                note="Chuyển Sở GTVT",
            ),
            CaseEvent(
                case_id=published.id,
                at=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
                action="progress",
                actor="staff:1",
                note="Đang thay đèn; anh An vui lòng chờ thêm.",
            ),
            CaseEvent(
                case_id=published.id,
                at=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
                action="note",
                actor="staff:1",
                visible_to_citizen=False,
                note="Nội bộ: gọi 0912345678 cho Nguyễn Văn An",
            ),
            CaseEvent(
                case_id=published.id,
                at=datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
                action="publish",
                actor="staff:1",
            ),
        ]
    )
    edited = add_case(
        session,
        "PAKN.20261127.0002",
        "MOI-TRUONG",
        "STNMT",
        BINH,
        status=CaseStatus.PUBLISHED,
        hide_identity=True,
        title="Bà Trần Thị Bình báo rác tồn đọng ở Số 7 ngõ 5 Trần Phú",
        content="Tôi là Trần Thị Bình, SĐT 0987654321, email binh.tran@example.vn. Rác tồn đọng.",
        answer_text="Trả lời bà Bình: đã thu gom rác tại Số 7 ngõ 5 Trần Phú.",
        public_title="Rác thải tồn đọng tại khu dân cư phường Điện Biên",
        public_content="Người dân phản ánh rác thải tồn đọng nhiều ngày tại khu dân cư.",
        public_answer="Công ty môi trường đã thu gom rác và bố trí lịch thu gom hằng ngày.",
        location_address="Số 7 ngõ 5 Trần Phú",
        latitude=Decimal("21.031111"),
        longitude=Decimal("105.841111"),
        received_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        answered_at=datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        published_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
    )
    answered = add_case(
        session,
        "PAKN.20261127.0003",
        "XAY-DUNG",
        "SXD",
        AN,
        status=CaseStatus.ANSWERED,
        title="Nguyễn Văn An: công trình lấn chiếm vỉa hè",
        content="Công trình cạnh nhà tôi (12 Hàng Bạc) lấn chiếm vỉa hè. SĐT 0912345678.",
        answer_text="Trả lời ông Nguyễn Văn An: đã lập biên bản.",
        answered_at=datetime(2026, 12, 5, 2, 0, tzinfo=UTC),
    )
    processing = add_case(
        session,
        "PAKN.20261127.0004",
        "XAY-DUNG",
        "SXD",
        AN,
        status=CaseStatus.PROCESSING,
        title="Ông Nguyễn Văn An hỏi về giấy phép xây dựng",
        content="Nhà tôi ở Số 12 phố Hàng Bạc. Gọi 0912345678.",
        answer_due_on=date(2026, 12, 5),
        extended_days=0,
    )
    others = []
    for number in range(12):
        field, unit = ("Y-TE", "SYT") if number % 3 == 0 else ("GIAO-THONG", "SGTVT")
        day = datetime(2026, 11, 1, 2, 0, tzinfo=UTC) + timedelta(days=number)
        case = add_case(
            session,
            f"PAKN.20261101.{number + 1:04d}",
            field,
            unit,
            {
                "name": "Lê Văn Cường",
                "phone": "0903111222",
                "email": None,
                "address": "Số 3 Lý Thái Tổ, Quận Hoàn Kiếm",
            },
            status=CaseStatus.PUBLISHED,
            title=f"Phản ánh số {number + 1} của Lê Văn Cường về ổ gà",
            content=f"Ổ gà trên đường Lý Thái Tổ, đoạn số {number + 1}. Gọi 0903111222.",
            answer_text=f"Đã vá ổ gà đoạn số {number + 1}.",
            received_at=day,
            answered_at=day + timedelta(days=3),
            published_at=day + timedelta(days=4),
        )
        others.append(case.code)
    session.commit()
    return Seeded(published.code, edited.code, answered.code, processing.code, others)


@pytest.fixture
def seeded(session) -> Seeded:
    return seed_cases(session)


def _squeeze(text: str) -> str:
    return re.sub(r"[\s.\-()+]+", "", text)


def response_text(response) -> str:
    """The body as a reader sees it: HTML entities and JSON escapes decoded."""
    body = response.get_data(as_text=True)
    if response.mimetype == "application/json":
        body = json.dumps(json.loads(body), ensure_ascii=False)
    return html.unescape(body)


def assert_no_personal_data(response, secrets: list[str] = SECRETS, echo: str = "") -> None:
    """Fail when the body contains a secret, as written, without diacritics or without spaces.

    `echo` is what the visitor typed (a search box shows it back); it is not checked.
    """
    text = response_text(response).replace(echo, "") if echo else response_text(response)
    folded = fold(text)
    squeezed = _squeeze(folded)
    found = [
        secret
        for secret in secrets
        if secret in text or fold(secret) in folded or _squeeze(fold(secret)) in squeezed
    ]
    assert not found, f"{response.request.path}: {found}"


def csrf_token(client) -> str:
    """Return the CSRF token of the lookup form (and start the session that holds it)."""
    page = client.get("/tra-cuu").get_data(as_text=True)
    return CSRF_INPUT.search(page).group(1)


def post_lookup(client, code: str, digits: str = "", **environ):
    """Post the lookup form as a browser does."""
    token = csrf_token(client)
    return client.post(
        "/tra-cuu",
        data={"ma": code, "so_cuoi": digits, "csrf_token": token},
        environ_base=environ,
    )


def alert(response) -> str:
    """The text of the page's alert box ("" when none)."""
    match = re.search(r'<p class="alert" role="alert">(.*?)</p>', response.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else ""


# --- /tra-cuu --------------------------------------------------------------------------------


def test_the_lookup_form_is_a_vietnamese_page_for_phones(client):
    response = client.get("/tra-cuu")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="vi">' in page and 'name="viewport"' in page
    assert "Tra cứu phản ánh, kiến nghị" in page
    assert "4 số cuối điện thoại" in page
    assert 'method="post"' in page and CSRF_INPUT.search(page)
    assert "public.css" in page


def test_a_code_shows_progress_and_the_published_answer_without_personal_data(
    client, seeded, clock
):
    response = client.get(f"/tra-cuu?ma={seeded.published}")
    page = response_text(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    for expected in (
        "PAKN PAKN.20261127.0001",
        "Đã công khai kết quả",
        "Giao thông",
        "Sở Giao thông vận tải",
        "27/11/2026",  # received
        "25/12/2026",  # answer due
        "Đã chuyển đơn vị xử lý",
        "Cập nhật tiến độ",
        "Kết quả trả lời đã công khai",
        "đã thay đèn tín hiệu tại ngã tư Hàng Bạc - Hàng Đào ngày 20/11/2026",
        "Công khai ngày 02/12/2026",
    ):
        assert expected in page, expected
    # The timeline shows what happened, not the officers' notes.
    assert "Chuyển Sở GTVT" not in page and "Nội bộ" not in page
    assert "Đang thay đèn" not in page
    assert_no_personal_data(response)


def test_the_code_is_read_however_it_is_typed(client, seeded, clock):
    for typed in ("pakn.20261127.0001", " PAKN 20261127 0001 ", "pakn20261127.1", "20261127.0001"):
        response = client.get("/tra-cuu", query_string={"ma": typed})
        assert response.status_code == 200, typed
        assert "PAKN PAKN.20261127.0001" in response.get_data(as_text=True)
    bad = client.get("/tra-cuu?ma=PAKN.2026.01")
    assert bad.status_code == 400
    assert "Mã PAKN chưa đúng định dạng" in alert(bad)


def test_an_answered_case_says_the_answer_went_to_the_sender(client, seeded, clock):
    response = client.get(f"/tra-cuu?ma={seeded.answered}")
    page = response_text(response)
    assert "Đã trả lời — kết quả đã gửi đến người gửi qua Zalo" in page
    assert "đã lập biên bản" not in page
    assert "lấn chiếm" not in page  # the content is the sender's: only after the digits
    assert_no_personal_data(response)


def test_an_open_case_past_its_due_date_shows_overdue(client, seeded, clock):
    response = client.get(f"/tra-cuu?ma={seeded.processing}")
    page = response_text(response)
    assert "Đang xử lý" in page and "Quá hạn" in page and "05/12/2026" in page
    assert "Kết quả trả lời" not in page
    assert_no_personal_data(response)


def test_the_last_four_digits_show_the_sender_their_own_case(client, seeded, clock):
    response = post_lookup(client, seeded.published, "5678")
    page = response_text(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Nội dung Ông/Bà đã gửi" in page
    assert "Tôi là Nguyen Van An, nhà ở số 12 phố Hàng Bạc" in page
    assert "Trả lời ông An (điện thoại +84 912 345 678)" in page
    assert "Nguyễn Văn An" in page and AN["address"] in page and AN["email"] in page
    # The phone proved ownership; the rest of it is not shown back.
    assert "09******78" in page and AN["phone"] not in page
    # Notes meant for the sender are shown; internal ones are not.
    assert "Đang thay đèn; anh An vui lòng chờ thêm." in page
    assert "Nội bộ" not in page


def test_digits_are_read_with_spaces_and_other_digits_are_refused(client, seeded, clock):
    assert "Nội dung Ông/Bà đã gửi" in response_text(post_lookup(client, seeded.published, "56 78"))
    bad = post_lookup(client, seeded.published, "12a4")
    assert bad.status_code == 400 and "4 chữ số cuối" in alert(bad)


def test_an_unknown_code_and_wrong_digits_get_the_same_answer(client, seeded, clock):
    unknown = client.get("/tra-cuu?ma=PAKN.20261127.0999")
    unknown_posted = post_lookup(client, "PAKN.20261127.0999", "5678")
    wrong = post_lookup(client, seeded.published, "1234")
    for response in (unknown, unknown_posted, wrong):
        assert response.status_code == 404
        assert alert(response).startswith(NOT_FOUND_TEXT)
        page = response_text(response)
        assert "Sở Giao thông vận tải" not in page and "Đã công khai kết quả" not in page
        assert_no_personal_data(response)
    assert alert(unknown) == alert(wrong) == alert(unknown_posted)


def test_a_form_without_digits_redirects_to_the_code_only_page(client, seeded, clock):
    response = post_lookup(client, "pakn 20261127 0001")
    assert response.status_code == 303
    assert response.headers["Location"] == "/tra-cuu?ma=PAKN.20261127.0001"


def test_the_form_needs_its_csrf_token(client, seeded, clock):
    response = client.post("/tra-cuu", data={"ma": seeded.published, "so_cuoi": "5678"})
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in alert(response)
    assert "Nội dung Ông/Bà đã gửi" not in response_text(response)


def test_digits_never_travel_in_a_url(client, seeded, clock):
    response = client.get(f"/tra-cuu?ma={seeded.published}&so_cuoi=5678")
    assert "Nội dung Ông/Bà đã gửi" not in response_text(response)
    page = client.get("/tra-cuu").get_data(as_text=True)
    assert re.search(r'<form class="lookup-form" method="post"', page)


def test_enumeration_is_throttled_per_client(client, seeded, clock):
    # Failed lookups count double: 10 misses spend the budget of 20.
    for number in range(CLIENT_BUDGET.limit // 2):
        assert client.get(f"/tra-cuu?ma=PAKN.20261126.{number + 1:04d}").status_code == 404
    refused = client.get(f"/tra-cuu?ma={seeded.published}")
    assert refused.status_code == 429
    assert alert(refused) == "Ông/Bà đã tra cứu quá nhiều lần. Vui lòng thử lại sau 10 phút."
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    assert "Sở Giao thông vận tải" not in response_text(refused)
    # Another client is not affected.
    other = client.get(f"/tra-cuu?ma={seeded.published}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    # Refusals are not recorded, so waiting out the window is enough.
    clock.advance(minutes=10, seconds=1)
    assert client.get(f"/tra-cuu?ma={seeded.published}").status_code == 200


def test_successful_lookups_count_once(client, seeded, clock):
    for _ in range(CLIENT_BUDGET.limit):
        assert client.get(f"/tra-cuu?ma={seeded.published}").status_code == 200
        clock.advance(seconds=1)
    assert client.get(f"/tra-cuu?ma={seeded.published}").status_code == 429


def test_wrong_digits_for_one_code_are_limited_across_clients(client, seeded, clock):
    for number in range(10):
        address = f"10.0.1.{number}"
        response = post_lookup(client, seeded.published, f"{1000 + number}", REMOTE_ADDR=address)
        assert response.status_code == 404
    # Even the right digits from a fresh client wait now: the code is locked for a day.
    locked = post_lookup(client, seeded.published, "5678", REMOTE_ADDR="10.0.2.1")
    assert locked.status_code == 429
    assert alert(locked) == "Ông/Bà đã tra cứu quá nhiều lần. Vui lòng thử lại sau 24 giờ."
    # The code alone still shows its progress.
    assert client.get(f"/tra-cuu?ma={seeded.published}").status_code == 200
    clock.advance(hours=24, seconds=1)
    assert post_lookup(client, seeded.published, "5678", REMOTE_ADDR="10.0.2.1").status_code == 200


def test_the_throttle_stores_a_keyed_hash_not_the_address(client, seeded, clock, session):
    client.get(f"/tra-cuu?ma={seeded.published}", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    rows = session.scalars(select(PublicLookup)).all()
    assert len(rows) == 1
    assert re.fullmatch(r"[0-9a-f]{64}", rows[0].client_hash)
    assert rows[0].failed is False and rows[0].at == NOW
    # Rows older than any budget can use are forgotten when new ones are written.
    clock.advance(days=2)
    client.get("/tra-cuu?ma=PAKN.20261126.0001")
    assert session.scalar(select(func.count()).select_from(PublicLookup)) == 1


# --- /cong-khai ------------------------------------------------------------------------------


def _titles(response) -> list[str]:
    page = response.get_data(as_text=True)
    return [
        html.unescape(title.strip())
        for title in re.findall(r'<h2 class="published-title">\s*<a [^>]*>(.*?)</a>', page, re.S)
    ]


def test_published_answers_are_listed_newest_first_and_paged(client, seeded):
    first = client.get("/cong-khai")
    assert first.status_code == 200
    page = response_text(first)
    assert "Có 14 kết quả · trang 1/2." in page
    titles = _titles(first)
    assert len(titles) == 10
    assert titles[0] == f"Ông {MARKER} phản ánh đèn tín hiệu hỏng trước {MARKER}"
    assert titles[1] == "Rác thải tồn đọng tại khu dân cư phường Điện Biên"
    assert "Trang sau ›" in page
    second = client.get("/cong-khai?page=2")
    assert len(_titles(second)) == 4
    assert "‹ Trang trước" in response_text(second)
    # Not published: never listed.
    assert "lấn chiếm" not in page and "giấy phép xây dựng" not in page
    for response in (first, second):
        assert_no_personal_data(response)


def test_a_published_item_shows_the_question_answer_and_initials(client, seeded):
    page = response_text(client.get("/cong-khai"))
    assert "Đèn tín hiệu giao thông tại ngã tư Hàng Bạc - Hàng Đào đã hỏng ba ngày." in page
    assert "Kết quả trả lời của Sở Giao thông vận tải" in page
    assert "Kinh phí 5.000.000 đồng." in page
    assert "N.V.A." in page
    assert "Ngã tư Hàng Bạc - Hàng Đào, trước [đã ẩn]" in page


def test_the_staff_edited_version_is_what_is_published(client, seeded):
    response = client.get(f"/cong-khai/{seeded.edited}")
    page = response_text(response)
    assert response.status_code == 200
    assert "Rác thải tồn đọng tại khu dân cư phường Điện Biên" in page
    assert "Người dân phản ánh rác thải tồn đọng nhiều ngày tại khu dân cư." in page
    assert "Công ty môi trường đã thu gom rác và bố trí lịch thu gom hằng ngày." in page
    assert "Ẩn danh" in page and "T.T.B." not in page
    assert "báo rác tồn đọng" not in page  # the original title is not published
    assert_no_personal_data(response)


def test_a_case_page_exists_only_once_published(client, seeded):
    assert client.get(f"/cong-khai/{seeded.published}").status_code == 200
    for code in (seeded.answered, seeded.processing, "PAKN.20261127.0999", "khong-phai-ma"):
        response = client.get(f"/cong-khai/{code}")
        assert response.status_code == 404
        assert_no_personal_data(response)


def test_search_finds_published_words_with_or_without_diacritics(client, seeded):
    for query in ("đèn tín hiệu", "DEN TIN HIEU", "hàng đào thay đèn"):
        response = client.get("/cong-khai", query_string={"q": query})
        assert _titles(response) == [f"Ông {MARKER} phản ánh đèn tín hiệu hỏng trước {MARKER}"]
        assert "Có 1 kết quả." in response_text(response)
        assert_no_personal_data(response)
    by_code = client.get("/cong-khai", query_string={"q": "PAKN.20261127.0002"})
    assert _titles(by_code) == ["Rác thải tồn đọng tại khu dân cư phường Điện Biên"]


def test_search_cannot_find_a_case_by_its_senders_data(client, seeded):
    # The originals contain these, the published text does not: no result may betray them.
    for query in (
        "Nguyễn Văn An",
        "nguyen van an",
        "0912345678",
        "an.nguyen@example.vn",
        "12 phố Hàng Bạc",
        "Trần Thị Bình",
        "báo rác tồn đọng",
        "Lê Văn Cường",
        "0903111222",
        MARKER,
        "ẩn",
    ):
        response = client.get("/cong-khai", query_string={"q": query})
        assert _titles(response) == [], query
        assert "Không có kết quả nào phù hợp." in response_text(response)
        assert_no_personal_data(response, echo=query)


def test_filters_by_field_unit_and_period(client, seeded):
    health = client.get("/cong-khai?field=Y-TE")
    assert len(_titles(health)) == 4
    assert all("ổ gà" in title for title in _titles(health))
    assert 'value="Y-TE" selected' in health.get_data(as_text=True)
    environment = client.get("/cong-khai?unit=STNMT")
    assert _titles(environment) == ["Rác thải tồn đọng tại khu dân cư phường Điện Biên"]
    december = client.get("/cong-khai?from=2026-12-01&to=02/12/2026")
    assert len(_titles(december)) == 2
    combined = client.get("/cong-khai?field=GIAO-THONG&from=2026-11-05&to=2026-11-10&q=ổ gà")
    assert len(_titles(combined)) == 4  # Cường's cases 2, 3, 5, 6 (published 5–10 Nov)
    for response in (health, environment, december, combined):
        assert_no_personal_data(response)


def test_filters_are_kept_in_the_paging_links(client, seeded):
    page = client.get("/cong-khai?field=GIAO-THONG").get_data(as_text=True)
    assert "Có 9 kết quả." in page
    assert "Trang sau" not in page
    page = client.get("/cong-khai?q=ổ gà").get_data(as_text=True)
    assert "Có 12 kết quả · trang 1/2." in page
    assert html.escape("/cong-khai?page=2&q=") in page


def test_bad_filters_are_ignored_with_a_message(client, seeded):
    response = client.get("/cong-khai?from=31-31-2026&page=abc&field=KHONG-CO")
    page = response_text(response)
    assert response.status_code == 200
    assert "Từ ngày không hợp lệ" in page
    assert "Không có kết quả nào phù hợp." in page


def test_everything_is_escaped(client, session, seeded):
    script = "<script>alert(1)</script>"
    add_case(
        session,
        "PAKN.20261127.0009",
        "KHAC",
        "VP-UBND",
        AN,
        status=CaseStatus.PUBLISHED,
        title=f"Tiêu đề {script}",
        content=f"Nội dung {script}",
        answer_text=f"Trả lời {script}",
        published_at=datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
    )
    session.commit()
    for response in (
        client.get("/cong-khai"),
        client.get("/cong-khai/PAKN.20261127.0009"),
        client.get("/cong-khai", query_string={"q": script}),
        client.get("/tra-cuu?ma=PAKN.20261127.0009"),
        client.get("/tra-cuu", query_string={"ma": script}),
    ):
        assert script not in response.get_data(as_text=True)


def test_an_empty_list_says_so(client):
    page = response_text(client.get("/cong-khai"))
    assert "Không có kết quả nào phù hợp." in page


def test_every_public_page_is_free_of_personal_data(client, seeded, clock):
    paths = [
        "/tra-cuu",
        *(
            f"/tra-cuu?ma={code}"
            for code in (seeded.published, seeded.edited, seeded.answered, seeded.processing)
        ),
        "/cong-khai",
        "/cong-khai?page=2",
        f"/cong-khai/{seeded.published}",
        f"/cong-khai/{seeded.edited}",
        "/cong-khai?q=Hàng Bạc",
        "/cong-khai?q=rác",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_personal_data(response)


def test_the_leak_check_itself_catches_each_writing():
    class Fake:
        mimetype = "text/html"

        class request:  # noqa: N801 - mimics the response's attribute
            path = "/x"

        def __init__(self, body: str) -> None:
            self.body = body

        def get_data(self, as_text: bool = False) -> str:
            return self.body

    for body in (
        "NGUYEN VAN AN",
        "Nguyễn&nbsp;Văn An",
        "nguyễnvănan",
        "0912 345 678",
        "091.234.5678",
        "so 12 pho hang bac",
    ):
        with pytest.raises(AssertionError):
            assert_no_personal_data(Fake(body))
    assert_no_personal_data(Fake("Phường Hàng Bạc, Quận Hoàn Kiếm; 20/11/2026"))

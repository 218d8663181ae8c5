"""The staff handbook's tasks, role by role, in a real browser; each step's screen is its picture.

docs/huong-dan-can-bo.md walks coordinators, handlers, leaders and administrators through their
tasks step by step, each step with a screenshot. One test per role does every one of those steps
in the console of a live sandbox server seeded with a small city's cases (`build_city`), asserts
what each step must change, and saves the screen of each step under the name the handbook uses
(`STEPS`): into docs/screenshots/handbook/ with SAVE_SCREENSHOTS=1, else into a temporary folder.
`tests/test_handbook_doc.py` checks that the handbook and `STEPS` agree, so the handbook cannot
describe a screen the product no longer shows.

One server and one Chromium serve the whole module; each role has its own page and login. Each
test works on cases of its own, so the tests pass in any order. The console's clock is frozen at
the moment the city is built, so "overdue" and "due soon" mean the same all the way through.
Every wait is a Playwright wait on what a page shows; nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from bot import texts
from cases import deadlines, workflow
from cases.clock import LOCAL_TZ, format_date, local_date
from cases.demo import ACCOUNTS, seed_demo
from cases.intake import Submission, submit_case
from cases.monitoring import scan_deadlines
from cases.staff import authenticate, create_staff
from handlers.console import console_state
from handlers.runtime import get_runtime
from models import Case, CaseKind, Citizen, Field, ResponseTemplate, Staff, Unit, utcnow
from tests.browser import (
    PHONE,
    act,
    action_box,
    bot_bubble,
    case_status,
    chromium,
    compact_png,
    expect_,
    log_in,
    open_pages,
    open_simulator,
    saving_screenshots,
    screenshot_dir,
    serve_sandbox,
    timeline_entry,
    type_text,
)
from tests.conftest import _prepare, _truncate, base_config
from tests.console_helpers import FakeClock
from tests.delivery_helpers import make_citizen

# Every screenshot of the handbook, per chapter, in the order the steps are taken. The handbook
# shows exactly these images (tests/test_handbook_doc.py), each named after its step.
STEPS: dict[str, tuple[str, ...]] = {
    "dieu-phoi": (
        "dieu-phoi-01-dang-nhap",
        "dieu-phoi-02-hang-cho",
        "dieu-phoi-03-loc-qua-han",
        "dieu-phoi-04-chuyen-don-vi",
        "dieu-phoi-05-danh-dau-khan",
        "dieu-phoi-06-tiep-nhan-kenh-khac",
        "dieu-phoi-07-thong-bao-ngoai-zalo",
        "dieu-phoi-08-cong-khai",
        "dieu-phoi-09-trang-cong-khai",
        "dieu-phoi-10-so-lieu-don-vi",
        "dieu-phoi-11-don-doc",
        "dieu-phoi-12-loc-chua-gui-duoc",
        "dieu-phoi-13-tin-nhan-bi-giu",
        "dieu-phoi-14-bao-cao",
    ),
    "xu-ly": (
        "xu-ly-01-hang-cho",
        "xu-ly-02-nhan-xu-ly",
        "xu-ly-03-de-nghi-bo-sung",
        "xu-ly-04-tiep-tuc-xu-ly",
        "xu-ly-05-du-thao-tra-loi",
        "xu-ly-06-ma-lien-ket-zalo",
        "xu-ly-07-gui-ma-qua-zalo",
    ),
    "lanh-dao": (
        "lanh-dao-01-cho-duyet",
        "lanh-dao-02-tra-lai-du-thao",
        "lanh-dao-03-phe-duyet",
        "lanh-dao-04-gia-han",
        "lanh-dao-05-bao-cao",
    ),
    "quan-tri": (
        "quan-tri-01-them-can-bo",
        "quan-tri-02-dat-lai-mat-khau",
        "quan-tri-03-don-vi",
        "quan-tri-04-linh-vuc",
        "quan-tri-05-thoi-han",
        "quan-tri-06-lich-lam-viec",
        "quan-tri-07-mau-tra-loi",
        "quan-tri-08-cau-hoi-thuong-gap",
        "quan-tri-09-ket-noi-zalo",
    ),
}
SCREENSHOT_FOLDER = ("handbook",)  # under docs/screenshots/
SCREEN = {"width": 1280, "height": 800}
# Scroll an element to the top of the window, with a little room above it.
SCROLL_TO_TOP = "el => { el.scrollIntoView({block: 'start'}); window.scrollBy(0, -12); }"
CHEAP_HASH = "pbkdf2:sha256:1000"  # as tests/conftest.py's `cheap_password_hashing`

# The demo accounts (cases/demo.py), one per role: the coordinator is "dieuphoi", and so on.
DEMO = {account.roles: account for account in ACCOUNTS}
# Staff of other units, so that their cases can move along too.
MORE_STAFF = (
    ("canbo.sgtvt", "Đỗ Thị Lan", "SGTVT", "handler"),
    ("lanhdao.sgtvt", "Vũ Quốc Khánh", "SGTVT", "leader"),
    ("canbo.stnmt", "Hoàng Thu Hà", "STNMT", "handler"),
)
MORE_STAFF_PASSWORD = "mat-khau-demo-2026"
SCAN_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- the city: citizens, staff and cases in every state the handbook shows ------------------


@dataclass(frozen=True)
class Person:
    """A sender of PAKN; `zalo` is their Zalo user id, None for one known only by contact data."""

    name: str
    phone: str
    address: str
    zalo: str | None = None


PEOPLE = {
    "an": Person("Nguyễn Văn An", "0912345678", "12 Hàng Bạc, Hoàn Kiếm", "7316042517845320001"),
    "binh": Person("Trần Văn Bình", "0903456789", "8 Hàng Bạc, Hoàn Kiếm", "7316042517845320002"),
    "chi": Person("Lê Thị Chi", "0978123456", "45 Hàng Đào, Hoàn Kiếm", "7316042517845320003"),
    "dung": Person("Phạm Văn Dũng", "0934567812", "B4 Thành Công, Ba Đình", "7316042517845320004"),
    "hoa": Person("Nguyễn Thị Hoa", "0987654321", "20 Lý Thường Kiệt", "7316042517845320005"),
    "em": Person("Đặng Văn Em", "0961234578", "5 Hàng Gai, Hoàn Kiếm", "7316042517845320006"),
    "giang": Person("Vũ Thị Giang", "0945678123", "17 Phúc Tân, Hoàn Kiếm"),
    "hung": Person("Bùi Quang Hưng", "0356789012", "3 Hàng Chiếu, Hoàn Kiếm"),
}

# A story is a case and what happened to it: (action, username, days after receipt, inputs).
# Inputs name units by code ("unit"); `days_ago` None means "due in one to three days".
Step = tuple[str, str, float, dict[str, str]]
COORD, SXD, SXD_LEAD = "dieuphoi", "canbo.sxd", "lanhdao.sxd"
SGTVT, SGTVT_LEAD, STNMT = "canbo.sgtvt", "lanhdao.sgtvt", "canbo.stnmt"


@dataclass(frozen=True)
class Story:
    """One case of the city: its field, words, sender, age and the steps taken on it."""

    key: str
    field: str
    title: str
    content: str
    person: str
    days_ago: float | None
    steps: tuple[Step, ...] = ()


def transfer(unit: str, after: float = 0.5) -> Step:
    return ("transfer", COORD, after, {"unit": unit})


def draft(who: str, after: float, answer: str) -> Step:
    return ("draft_answer", who, after, {"answer": answer})


STORIES = (
    Story(
        "new",
        "KHAC",
        "Rác thải tồn đọng nhiều ngày sau chợ Hàng Da",
        "Khu vực phía sau chợ Hàng Da có nhiều rác thải sinh hoạt tồn đọng gần một tuần, bốc mùi "
        "khó chịu, ảnh hưởng đến các hộ dân xung quanh. Đề nghị cơ quan chức năng thu gom.",
        "an",
        0.1,
    ),
    Story(
        "new_procedure",
        "THU-TUC",
        "Đề nghị công khai thời gian trả kết quả hồ sơ đất đai",
        "Tôi nộp hồ sơ đăng ký biến động đất đai đã lâu nhưng không rõ khi nào có kết quả. Đề nghị "
        "bộ phận một cửa công khai thời gian trả kết quả cho từng loại hồ sơ.",
        "hung",
        0.05,
    ),
    Story(
        "overdue_traffic",
        "GIAO-THONG",
        "Đèn tín hiệu ngã tư Tràng Thi – Hàng Bông hỏng nhiều ngày",
        "Đèn tín hiệu giao thông tại ngã tư Tràng Thi – Hàng Bông bị hỏng, giờ cao điểm thường "
        "xuyên ùn tắc, rất nguy hiểm cho người đi bộ.",
        "giang",
        41,
        (transfer("SGTVT", 1), ("accept", SGTVT, 2, {})),
    ),
    Story(
        "overdue_environment",
        "MOI-TRUONG",
        "Xưởng gỗ gây tiếng ồn và bụi trong khu dân cư Phúc Tân",
        "Một xưởng gỗ trong ngõ 30 Phúc Tân hoạt động cả buổi tối, tiếng máy cưa ồn và bụi gỗ bay "
        "sang các nhà bên cạnh.",
        "giang",
        40,
        (transfer("STNMT", 1),),
    ),
    Story(
        "overdue_pavement",
        "XAY-DUNG",
        "Vỉa hè phố Hàng Bạc bị lấn chiếm làm nơi trông giữ xe",
        "Vỉa hè trước số 40 đến số 50 phố Hàng Bạc bị lấn chiếm để trông giữ xe máy, người đi bộ "
        "phải đi xuống lòng đường.",
        "hung",
        38,
        (transfer("SXD", 1), ("accept", SXD, 2, {})),
    ),
    Story(
        "soon_drain",
        "XAY-DUNG",
        "Cống thoát nước ngõ 15 Hàng Bạc bị tắc, nước tràn lên đường",
        "Cống thoát nước đầu ngõ 15 Hàng Bạc bị tắc, mỗi khi mưa nước tràn lên mặt đường và vào "
        "nhà dân.",
        "hung",
        None,
        (transfer("SXD", 1), ("accept", SXD, 2, {})),
    ),
    Story(
        "soon_school",
        "GIAO-DUC",
        "Trường tiểu học thu thêm khoản phí ngoài quy định",
        "Đầu năm học, trường tiểu học của con tôi thu thêm khoản phí “hỗ trợ cơ sở vật chất” "
        "không có trong danh mục được phép thu.",
        "giang",
        None,
        (transfer("SGDDT", 1),),
    ),
    Story(
        "handler_case",
        "XAY-DUNG",
        "Công trình xây dựng không phép tại ngõ 8 Hàng Bạc",
        "Nhà số 8 trong ngõ Hàng Bạc đang xây thêm tầng 5, không thấy treo biển cấp phép xây "
        "dựng. Đề nghị kiểm tra.",
        "binh",
        2,
        (transfer("SXD", 0.2),),
    ),
    Story(
        "to_return",
        "XAY-DUNG",
        "Giàn giáo công trình che lối đi bộ phố Hàng Đào",
        "Giàn giáo của công trình số 47 Hàng Đào dựng chiếm hết vỉa hè, không có lối đi tạm cho "
        "người đi bộ.",
        "chi",
        9,
        (
            transfer("SXD"),
            ("accept", SXD, 1, {}),
            draft(SXD, 6, "Sở Xây dựng đã yêu cầu chủ đầu tư tháo dỡ giàn giáo."),
        ),
    ),
    Story(
        "to_approve",
        "XAY-DUNG",
        "Tường nhà tập thể B4 Thành Công có vết nứt lớn",
        "Tường hồi nhà tập thể B4 Thành Công xuất hiện vết nứt lớn từ tầng 2 đến tầng 5, các hộ "
        "dân lo ngại mất an toàn.",
        "dung",
        12,
        (
            transfer("SXD"),
            ("accept", SXD, 1, {}),
            draft(
                SXD,
                8,
                "Sở Xây dựng đã phối hợp với UBND quận Ba Đình kiểm định nhà B4 Thành Công. Kết "
                "quả kiểm định cho thấy vết nứt ở lớp trát, kết cấu chịu lực vẫn bảo đảm an toàn."
                "\n\nUBND quận Ba Đình sẽ sửa chữa, trát lại tường hồi trong tháng này.",
            ),
        ),
    ),
    Story(
        "to_extend",
        "XAY-DUNG",
        "Nhà xưởng xây dựng trái phép trên đất nông nghiệp",
        "Một nhà xưởng khung thép đang được dựng trên đất trồng lúa ven đê, chưa có giấy phép "
        "xây dựng.",
        "chi",
        16,
        (transfer("SXD"), ("accept", SXD, 1, {})),
    ),
    Story(
        "to_publish",
        "GIAO-THONG",
        "Biển báo cấm đỗ xe bị cây xanh che khuất",
        "Tôi là Nguyễn Thị Hoa, số điện thoại 0987 654 321. Biển báo cấm đỗ xe trên phố Lý Thường "
        "Kiệt bị cành cây che khuất, nhiều người bị xử phạt vì không nhìn thấy biển.",
        "hoa",
        25,
        (
            transfer("SGTVT", 1),
            ("accept", SGTVT, 2, {}),
            draft(
                SGTVT,
                20,
                "Sở Giao thông vận tải đã phối hợp với Công ty Công viên cây xanh cắt tỉa cành "
                "cây che khuất biển báo trên phố Lý Thường Kiệt và lắp thêm một biển nhắc lại.",
            ),
            ("approve", SGTVT_LEAD, 22, {}),
        ),
    ),
    Story(
        "held",
        "GIAO-THONG",
        "Xe tải chở vật liệu chạy vào phố cấm giờ cao điểm",
        "Nhiều xe tải chở vật liệu xây dựng chạy vào phố Hàng Gai trong giờ cao điểm buổi sáng, "
        "gây ùn tắc và mất an toàn.",
        "em",
        15,
        (
            transfer("SGTVT", 1),
            ("accept", SGTVT, 2, {}),
            draft(
                SGTVT,
                11,
                "Sở Giao thông vận tải đã đề nghị Công an quận Hoàn Kiếm tăng cường kiểm tra, xử "
                "lý xe tải vi phạm giờ cấm trên phố Hàng Gai.",
            ),
        ),
    ),
    Story(
        "published",
        "XAY-DUNG",
        "Đề nghị lắp đèn chiếu sáng ngõ 32 phố Hàng Chiếu",
        "Ngõ 32 Hàng Chiếu không có đèn chiếu sáng, buổi tối rất tối và mất an ninh.",
        "hung",
        30,
        (
            transfer("SXD", 1),
            ("accept", SXD, 2, {}),
            draft(SXD, 10, "Sở Xây dựng đã lắp đặt 4 bộ đèn chiếu sáng trong ngõ 32 Hàng Chiếu."),
            ("approve", SXD_LEAD, 12, {}),
            ("publish", COORD, 13, {}),
        ),
    ),
    Story(
        "rejected",
        "KHAC",
        "Khiếu nại quyết định xử phạt vi phạm hành chính về trật tự xây dựng",
        "Tôi khiếu nại quyết định xử phạt vi phạm hành chính của UBND phường vì cho rằng xử phạt "
        "không đúng người.",
        "giang",
        3,
        (("reject", COORD, 0.5, {"reason": "complaint"}),),
    ),
    Story(
        "other_unit",
        "DAT-DAI",
        "Cấp giấy chứng nhận quyền sử dụng đất còn chậm",
        "Hồ sơ cấp giấy chứng nhận quyền sử dụng đất của gia đình tôi đã quá hạn hẹn trả hai tuần.",
        "giang",
        6,
        (transfer("STNMT", 0.3), ("accept", STNMT, 1, {})),
    ),
    Story(
        "district",
        "MOI-TRUONG",
        "Điểm tập kết rác tự phát ở đầu phố Hàng Mã",
        "Đầu phố Hàng Mã hình thành điểm tập kết rác tự phát, rác để cả ngày không được thu gom.",
        "hung",
        4,
        (transfer("Q-HK", 0.5),),
    ),
)

DRAFT_TEMPLATE_TITLE = "Kết quả kiểm tra công trình xây dựng"
DRAFT_TEMPLATE = (
    "{don_vi} trả lời phản ánh {ma_pakn} ngày {ngay_tiep_nhan} về việc “{tieu_de}” như sau:\n\n"
    "[Kết quả kiểm tra]\n\n"
    "Trân trọng cảm ơn Ông/Bà đã quan tâm, phản ánh."
)


@dataclass
class City:
    """The codes of the cases each test works on, and what the coordinator's queue must show."""

    now: datetime
    codes: dict[str, str] = field(default_factory=dict)  # story key -> case code
    overdue: dict[str, list[str]] = field(default_factory=dict)  # unit name -> overdue codes
    due_soon: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> str:
        return self.codes[key]


def due_soon_days_ago(session: Session, field_id: int, today: date, answer_days: int) -> int:
    """How many days ago a case of this field must have come for its answer to be due in 1-3 days."""
    calendar = deadlines.load_calendar(session)
    policy = deadlines.policy_for(session, field_id, answer_days)
    for days_ago in range(policy.answer_days, 0, -1):
        due = deadlines.answer_due(calendar, policy, today - timedelta(days=days_ago))
        if 1 <= (due - today).days <= 3:
            return days_ago
    raise AssertionError("no receipt date gives an answer date within three days")


def _tell(session: Session, story: Story, case: Case, now: datetime) -> None:
    """Take the story's steps on its case, each by its staff member at its time."""
    staff = {s.username: s for s in session.scalars(select(Staff))}
    units = {u.code: u.id for u in session.scalars(select(Unit))}
    for action, username, after, inputs in story.steps:
        data = {k: v for k, v in inputs.items() if k != "unit"}
        if "unit" in inputs:
            data["unit_id"] = str(units[inputs["unit"]])
        at = min(case.received_at + timedelta(days=after), now - timedelta(minutes=5))
        workflow.perform(session, case, staff[username], action, data, at)


def build_city(app, now: datetime) -> City:
    """Make the city's staff, citizens and cases, then send what the cases queued (sandbox)."""
    today = local_date(now)
    answer_days = app.config["ANSWER_DAYS"]
    runtime = get_runtime(app)
    with runtime.sessions() as session:
        for username, full_name, unit, role in MORE_STAFF:
            create_staff(session, username, full_name, unit, [role], MORE_STAFF_PASSWORD)
        citizens = {
            key: make_citizen(session, person.zalo, days_since=1, phone=person.phone).id
            for key, person in PEOPLE.items()
            if person.zalo
        }
        fields = {f.code: f for f in session.scalars(select(Field))}
        session.add(
            ResponseTemplate(
                action="draft_answer",
                field_id=fields["XAY-DUNG"].id,
                title=DRAFT_TEMPLATE_TITLE,
                body=DRAFT_TEMPLATE,
            )
        )
        city = City(now)
        for story in STORIES:
            chosen = fields[story.field]
            days_ago = story.days_ago
            if days_ago is None:
                days_ago = due_soon_days_ago(session, chosen.id, today, answer_days)
                city.due_soon.append(story.key)
            person = PEOPLE[story.person]
            case = submit_case(
                session,
                Submission(
                    kind=CaseKind.FEEDBACK,
                    field_id=chosen.id,
                    unit_id=chosen.default_unit_id,
                    title=story.title,
                    content=story.content,
                    contact_name=person.name,
                    contact_phone=person.phone,
                    contact_address=person.address,
                    consent_version="v1",
                ),
                citizens.get(story.person),
                now - timedelta(days=days_ago),
                answer_days,
            )
            _tell(session, story, case, now)
            city.codes[story.key] = case.code
            if deadlines.is_overdue(case, today):
                city.overdue.setdefault(case.unit.name, []).append(case.code)
        city.due_soon = [city.codes[key] for key in city.due_soon]
        session.commit()
    runtime.dispatcher.sweep()

    # Đặng Văn Em has not written to the OA for nine days when the answer is approved: Zalo's
    # 7-day window is closed, so the answer is held ("chưa gửi được").
    with runtime.sessions() as session:
        citizen = session.get(Citizen, citizens["em"])
        citizen.last_interaction_at = utcnow() - timedelta(days=9)
        case = session.scalars(select(Case).where(Case.code == city["held"])).one()
        leader = session.scalars(select(Staff).where(Staff.username == SGTVT_LEAD)).one()
        workflow.perform(session, case, leader, "approve", {}, now - timedelta(days=2))
        scan_deadlines(session, now)
        session.commit()
    runtime.dispatcher.sweep()
    return city


# --- fixtures: one server, one browser, a camera per role -----------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory, pg_schema_url) -> Iterator[tuple[Any, Any, City]]:
    """The demo app with the city, served on a live port for the whole module."""
    folder = tmp_path_factory.mktemp("handbook-app")
    database_url = pg_schema_url or f"sqlite:///{folder / 'test.db'}"
    apps: list[Any] = []

    def build(**overrides: Any) -> Any:
        app = create_app(base_config(database_url, folder, **overrides))
        _prepare(app, pg_schema_url is not None)
        apps.append(app)
        return app

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("cases.staff.HASH_METHOD", CHEAP_HASH)
            with serve_sandbox(build, seed_demo) as (app, server):
                now = utcnow()
                console_state(app).clock = FakeClock(now)
                yield app, server, build_city(app, now)
    finally:
        # As conftest's `make_app` does after each test: PostgreSQL's schema is the whole run's.
        for app in apps:
            if pg_schema_url:
                _truncate(app)
            get_runtime(app).engine.dispose()


@pytest.fixture(scope="module")
def browser(served) -> Iterator[Any]:
    """One Chromium for the module."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def open_page(browser, served) -> Iterator[Callable[[dict[str, int]], Any]]:
    """Open pages in contexts of their own (one per person), closed after the test."""
    with open_pages(browser, served[1].url) as open_page:
        yield open_page


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """The folder the handbook's screenshots go to."""
    return screenshot_dir(tmp_path_factory.mktemp("handbook-screens"), *SCREENSHOT_FOLDER)


class Camera:
    """Takes one chapter's screenshots, in the order and under the names `STEPS` gives."""

    def __init__(self, folder: Path, chapter: str, compact: bool) -> None:
        self.folder = folder
        self.expected = STEPS[chapter]
        self.compact = compact  # palette PNGs for the docs; a temporary run skips the work
        self.taken: list[str] = []

    def shot(self, page, name: str, focus=None, full_page: bool = False) -> None:
        """Save the window (or the whole page) as step `name`, `focus` scrolled to the top."""
        position = len(self.taken)
        assert position < len(self.expected) and name == self.expected[position], (
            f"step {name!r} is not the next of STEPS: {self.expected[position:]}"
        )
        if focus is not None:
            focus.evaluate(SCROLL_TO_TOP)
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if self.compact:
            compact_png(path)
        self.taken.append(name)

    def of_actions(self, page, name: str) -> Callable[[Any], None]:
        """A `before_submit` for `act`: step `name`'s screenshot, the case's actions on top."""
        return lambda _box: self.shot(page, name, focus=page.locator("#thao-tac"))

    def check_all_taken(self) -> None:
        """Every step of the chapter was taken: the handbook has no picture nobody makes."""
        assert tuple(self.taken) == self.expected


@pytest.fixture
def camera(screenshots) -> Callable[[str], Camera]:
    """A camera for a chapter of the handbook."""
    return lambda chapter: Camera(screenshots, chapter, compact=saving_screenshots())


# --- small readers of console pages -----------------------------------------------------------


def queue_row(page, code: str):
    """The queue's row of the case `code`."""
    return page.locator("table.queue tbody tr").filter(
        has=page.get_by_role("link", name=code, exact=True)
    )


def due_badge(page, code: str):
    """The badge next to the answer date in the queue's row of `code` ("Quá hạn", "Sắp đến hạn")."""
    return queue_row(page, code).locator("td[data-label='Hạn trả lời'] span")


def queue_codes(page) -> list[str]:
    """The codes listed in the queue, in order."""
    return page.locator("table.queue tbody td[data-label='Mã'] a").all_inner_texts()


def fact(page, section: str, term: str):
    """The value next to `term` in the facts list of the section `section` (a CSS selector)."""
    return page.locator(f"{section} dt", has_text=re.compile(f"^{re.escape(term)}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def flash(page):
    """The confirmation a page shows after a change."""
    return page.locator("main p.notice[role='status']")


def write(label: str, text: str) -> Callable[[Any], None]:
    """A `fill` for `act`: type `text` in the action form's box labelled `label`."""
    return lambda box: box.get_by_label(label).fill(text)


def log_in_as(page, role: str, path: str = "/admin/", before_submit=None):
    """Log in with the demo account of `role` through the form; return the account."""
    account = DEMO[role]
    log_in(page, path, account.username, account.password, account.full_name, before_submit)
    return account


def open_case(page, code: str) -> None:
    """Go to the case page of `code`."""
    page.goto(f"/admin/cases/{code}")
    expect_()(page.locator(".case-code")).to_contain_text(code)


# --- the coordinator ----------------------------------------------------------------------


def test_coordinator_tasks(served, open_page, camera):
    app, _server, city = served
    expect = expect_()
    shots = camera("dieu-phoi")
    page = open_page(SCREEN)

    # Logging in.
    log_in_as(page, "coordinator", before_submit=lambda: shots.shot(page, "dieu-phoi-01-dang-nhap"))
    expect(page.get_by_role("heading", name="Danh sách phản ánh, kiến nghị")).to_be_visible()

    # The queue: every unit's cases, with the due-soon, overdue and undelivered badges.
    expect(queue_row(page, city["new"]).locator(".status")).to_have_text("Đã tiếp nhận")
    for codes in city.overdue.values():
        for code in codes:
            expect(due_badge(page, code)).to_have_text("Quá hạn")
    for code in city.due_soon:
        expect(due_badge(page, code)).to_have_text("Sắp đến hạn")
    expect(queue_row(page, city["held"]).locator(".undelivered")).to_contain_text("Chưa gửi được")
    expect(page.locator("details.notices > summary")).to_contain_text("Thông báo mới")
    expect(page.locator("details.notices")).to_contain_text(
        city.overdue["Sở Giao thông vận tải"][0]
    )
    shots.shot(page, "dieu-phoi-02-hang-cho")

    # Filters: only the overdue cases, of every unit.
    page.get_by_label("Thời hạn").select_option(label="Quá hạn")
    page.get_by_role("button", name="Lọc", exact=True).click()
    expect(page).to_have_url(re.compile(r"due=overdue"))
    overdue = sorted(code for codes in city.overdue.values() for code in codes)
    expect(page.locator("table.queue tbody tr")).to_have_count(len(overdue))
    assert sorted(queue_codes(page)) == overdue
    shots.shot(page, "dieu-phoi-03-loc-qua-han", focus=page.locator("form.filters"))

    # Classifying a new case and transferring it to the competent unit.
    page.get_by_role("link", name="Xóa bộ lọc").click()
    page.get_by_role("link", name=city["new"]).click()
    expect(case_status(page)).to_have_text("Đã tiếp nhận")

    def choose_unit(box) -> None:
        box.get_by_label("Đơn vị xử lý").select_option(label="Sở Tài nguyên và Môi trường")
        box.get_by_label("Ghi chú (không bắt buộc)").fill("Thuộc lĩnh vực môi trường đô thị.")

    act(
        page,
        "transfer",
        "Chuyển đơn vị xử lý",
        choose_unit,
        before_submit=shots.of_actions(page, "dieu-phoi-04-chuyen-don-vi"),
    )
    expect(case_status(page)).to_have_text("Đã chuyển đơn vị xử lý")
    expect(fact(page, ".card", "Đơn vị xử lý")).to_have_text("Sở Tài nguyên và Môi trường")
    expect(timeline_entry(page, "Chuyển đơn vị xử lý").locator(".note")).to_have_text(
        "Thuộc lĩnh vực môi trường đô thị."
    )

    # Marking it urgent: handled within working hours, the unit told at once.
    urgent = "Rác thải gần chợ có nguy cơ gây dịch bệnh, cần thu gom ngay."
    act(
        page,
        "mark_urgent",
        "Đánh dấu khẩn",
        write("Lý do đánh dấu khẩn", urgent),
        before_submit=shots.of_actions(page, "dieu-phoi-05-danh-dau-khan"),
    )
    expect(page.locator(".case-code .urgent")).to_have_text("Khẩn")
    expect(fact(page, "#thoi-han", "Hạn xử lý khẩn")).to_have_text(re.compile(r"^\d\d/\d\d/\d{4}"))
    expect(timeline_entry(page, "Đánh dấu khẩn").locator(".note")).to_have_text(
        re.compile(f"^Khẩn, hạn xử lý .*: {re.escape(urgent)}$")
    )

    # Registering a PAKN received on paper.
    page.get_by_role("link", name="Tiếp nhận PAKN từ kênh khác").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiếp nhận PAKN từ kênh khác")
    received = (city.now.astimezone(LOCAL_TZ) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Kênh tiếp nhận").select_option(label="Văn bản giấy")
    page.get_by_label("Thời điểm tiếp nhận").fill(received)
    page.get_by_label("Loại", exact=True).select_option(label="Kiến nghị")
    page.get_by_label("Lĩnh vực").select_option(
        label="Hộ tịch, cư trú (tiếp nhận: Văn phòng UBND thành phố)"
    )
    paper_title = "Đề nghị bố trí tiếp nhận hồ sơ hộ tịch vào sáng thứ Bảy"
    page.get_by_label("Tiêu đề").fill(paper_title)
    page.get_by_label("Nội dung", exact=True).fill(
        "Nhiều người dân đi làm giờ hành chính không thể đến nộp hồ sơ hộ tịch. Đề nghị UBND "
        "phường bố trí cán bộ tiếp nhận hồ sơ vào sáng thứ Bảy hằng tuần."
    )
    page.get_by_label("Họ và tên (hoặc tên tổ chức)").fill("Bùi Văn Thành")
    page.get_by_label("Số điện thoại").fill("02438253536")
    page.get_by_label("Địa chỉ", exact=True).fill("25 Hàng Buồm, Hoàn Kiếm, Hà Nội")
    page.get_by_label("Người dân đồng ý cho sử dụng thông tin cá nhân").check()
    page.get_by_label("Hình thức đồng ý").select_option(label="bằng văn bản")
    page.get_by_label(re.compile("^Bản quét văn bản")).set_input_files(
        files=[{"name": "don-kien-nghi.pdf", "mimeType": "application/pdf", "buffer": SCAN_PDF}]
    )
    shots.shot(page, "dieu-phoi-06-tiep-nhan-kenh-khac", full_page=True)
    page.get_by_role("button", name="Vào sổ PAKN").click()
    expect(flash(page)).to_have_text(
        re.compile(
            r"^Đã vào sổ PAKN PAKN\.\d{8}\.\d{4}\. Người dân không dùng Zalo: cần thông báo mã "
            r"PAKN và kết quả bằng văn bản\.$"
        )
    )
    expect(page.locator("h1.case-title")).to_have_text(paper_title)
    expect(case_status(page)).to_have_text("Đã tiếp nhận")
    expect(fact(page, ".card", "Kênh tiếp nhận")).to_have_text("Văn bản giấy")
    expect(page.locator(".attachments")).to_contain_text("don-kien-nghi.pdf")

    # Telling a citizen who is not on Zalo, and recording it.
    follow_up = page.locator("#thong-bao-ngoai-zalo")
    expect(follow_up).to_contain_text("cần thông báo kết quả bằng văn bản")
    expect(follow_up.locator(".pending-steps li")).to_have_count(1)
    follow_up.get_by_label("Đã thông báo qua").select_option(label="Văn bản giấy")
    follow_up.get_by_label("Nội dung đã thông báo").fill(
        "Đã gửi phiếu báo tiếp nhận kèm mã PAKN qua bưu điện."
    )
    follow_up.get_by_label("Đã thông báo", exact=True).check()
    shots.shot(page, "dieu-phoi-07-thong-bao-ngoai-zalo", focus=follow_up)
    follow_up.get_by_role("button", name="Xác nhận đã thông báo").click()
    expect(flash(page)).to_have_text("Đã ghi nhận việc thông báo cho người dân.")
    expect(follow_up.locator(".pending-steps")).to_have_count(0)
    expect(timeline_entry(page, "Đã thông báo cho người dân (ngoài Zalo)")).to_contain_text(
        "Đã gửi phiếu báo tiếp nhận kèm mã PAKN qua bưu điện."
    )

    # Publishing an answered case; the public page hides the sender's name and phone.
    open_case(page, city["to_publish"])
    expect(case_status(page)).to_have_text("Đã trả lời")
    act(
        page,
        "publish",
        "Công khai kết quả",
        before_submit=shots.of_actions(page, "dieu-phoi-08-cong-khai"),
    )
    expect(case_status(page)).to_have_text("Đã công khai kết quả")
    expect(fact(page, "#thoi-han", "Ngày công khai")).not_to_be_empty()
    page.goto(f"/cong-khai/{city['to_publish']}")
    published = page.locator(".published-item")
    expect(published).to_contain_text("cắt tỉa cành cây che khuất biển báo")
    expect(published).to_contain_text("[đã ẩn]")
    expect(published).not_to_contain_text("Nguyễn Thị Hoa")
    expect(published).not_to_contain_text("0987 654 321")
    shots.shot(page, "dieu-phoi-09-trang-cong-khai")

    # Urging late units: the per-unit figures, then a unit's overdue cases.
    page.goto("/admin/")
    page.get_by_role("link", name="Số liệu theo đơn vị").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Số liệu theo đơn vị")
    rows = page.locator("table.figures tbody tr")
    for unit_name, codes in city.overdue.items():
        row = rows.filter(has=page.get_by_role("link", name=unit_name, exact=True))
        expect(row.locator("td[data-label='Quá hạn']")).to_have_text(str(len(codes)))
    traffic = rows.filter(has=page.get_by_role("link", name="Sở Giao thông vận tải", exact=True))
    expect(traffic.locator("td[data-label='Trả lời quá hạn']")).to_have_text("1")
    expect(page.locator("tr.totals td[data-label='Quá hạn']")).to_have_text(
        str(sum(len(codes) for codes in city.overdue.values()))
    )
    shots.shot(page, "dieu-phoi-10-so-lieu-don-vi")
    traffic.get_by_role("link", name="Sở Giao thông vận tải").click()
    expect(page).to_have_url(re.compile(r"due=overdue"))
    assert queue_codes(page) == city.overdue["Sở Giao thông vận tải"]
    page.get_by_role("link", name=city.overdue["Sở Giao thông vận tải"][0]).click()
    urge = "Đề nghị Sở Giao thông vận tải báo cáo tiến độ và trả lời người dân trước thứ Sáu."
    act(
        page,
        "comment",
        "Ý kiến nội bộ",
        write("Ý kiến nội bộ", urge),
        before_submit=shots.of_actions(page, "dieu-phoi-11-don-doc"),
    )
    comment = timeline_entry(page, "Ý kiến nội bộ")
    expect(comment.locator(".note")).to_have_text(urge)
    expect(comment.locator(".internal")).to_have_text("Nội bộ")

    # Answers that have not reached the citizen.
    page.goto("/admin/")
    page.get_by_label("Chưa gửi được cho người dân").check()
    page.get_by_role("button", name="Lọc", exact=True).click()
    expect(page).to_have_url(re.compile(r"undelivered=1"))
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    assert queue_codes(page) == [city["held"]]
    shots.shot(page, "dieu-phoi-12-loc-chua-gui-duoc", focus=page.locator("form.filters"))
    page.get_by_role("link", name=city["held"]).click()
    expect(page.get_by_role("alert")).to_contain_text("Trả lời chưa đến được người dân")
    held = page.locator("#tin-nhan table.delivery tbody tr").filter(has_text="Kết quả trả lời")
    expect(held.locator(".outbox-state")).to_have_text("Đang giữ lại (chưa gửi được)")
    expect(held).to_contain_text("quá 7 ngày người dân không tương tác")
    shots.shot(page, "dieu-phoi-13-tin-nhan-bi-giu", focus=page.locator("#tin-nhan"))

    # The reports dashboard for a period, and its Excel file.
    page.get_by_role("link", name="Báo cáo, thống kê").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Báo cáo, thống kê PAKN")
    expect(page.get_by_text("Phạm vi số liệu: Tất cả đơn vị.")).to_be_visible()
    today = local_date(city.now)
    page.get_by_label("Kỳ báo cáo", exact=True).select_option(label="Tùy chọn")
    page.get_by_label("Từ ngày (kỳ tùy chọn)").fill((today - timedelta(days=60)).isoformat())
    page.get_by_label("Đến ngày (kỳ tùy chọn)").fill(today.isoformat())
    page.get_by_role("button", name="Xem báo cáo").click()
    by_unit = page.locator("table.figures", has_text="Số liệu theo đơn vị xử lý")
    traffic = by_unit.locator("tbody tr").filter(has_text="Sở Giao thông vận tải")
    expect(traffic.locator("td[data-label='Trả lời quá hạn']")).to_have_text("1")
    expect(traffic.locator("td[data-label='Trong đó quá hạn']")).to_have_text("1")
    late = page.locator("#late-cases tbody")
    for codes in city.overdue.values():
        for code in codes:
            expect(late.get_by_role("link", name=code)).to_be_visible()
    shots.shot(page, "dieu-phoi-14-bao-cao", focus=page.locator("#overview-title"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Tải báo cáo Excel (.xlsx)").click()
    assert re.fullmatch(r"bao-cao-pakn-.+\.xlsx", download.value.suggested_filename)
    assert Path(download.value.path()).read_bytes().startswith(b"PK\x03\x04")

    shots.check_all_taken()


# --- the handler --------------------------------------------------------------------------


def test_handler_tasks(served, open_page, camera):
    app, _server, city = served
    expect = expect_()
    shots = camera("xu-ly")
    page = open_page(SCREEN)

    # The unit's queue: Sở Xây dựng's cases only, with their deadlines.
    name = log_in_as(page, "handler").full_name
    expect(queue_row(page, city["handler_case"]).locator(".status")).to_have_text(
        "Đã chuyển đơn vị xử lý"
    )
    expect(queue_row(page, city["other_unit"])).to_have_count(0)
    for unit in page.locator("table.queue td[data-label='Đơn vị xử lý']").all_inner_texts():
        assert unit == "Sở Xây dựng"
    expect(due_badge(page, city["soon_drain"])).to_have_text("Sắp đến hạn")
    expect(due_badge(page, city["overdue_pavement"])).to_have_text("Quá hạn")
    shots.shot(page, "xu-ly-01-hang-cho", focus=page.locator("nav.status-chips"))

    # Accepting a case transferred to the unit; the sender's contact data stays masked.
    page.get_by_role("link", name=city["handler_case"]).click()
    expect(page.locator("h1.case-title")).to_have_text(
        "Công trình xây dựng không phép tại ngõ 8 Hàng Bạc"
    )
    expect(page.get_by_text("Thông tin liên hệ đã được che")).to_be_visible()
    expect(fact(page, ".card", "Số điện thoại")).not_to_have_text(PEOPLE["binh"].phone)
    act(
        page,
        "accept",
        "Nhận xử lý",
        before_submit=shots.of_actions(page, "xu-ly-02-nhan-xu-ly"),
    )
    expect(case_status(page)).to_have_text("Đang xử lý")

    # Asking the citizen for more information: the deadline pauses.
    question = "Đề nghị Ông/Bà cho biết công trình bắt đầu xây thêm tầng từ ngày nào."
    act(
        page,
        "request_info",
        "Đề nghị bổ sung thông tin",
        write("Nội dung đề nghị người dân bổ sung", question),
        before_submit=shots.of_actions(page, "xu-ly-03-de-nghi-bo-sung"),
    )
    expect(case_status(page)).to_have_text("Chờ bổ sung thông tin")
    expect(fact(page, "#thoi-han", "Tạm dừng tính hạn")).to_contain_text("chờ người dân bổ sung")
    expect(page.locator("#tin-nhan")).to_contain_text("đề nghị Ông/Bà bổ sung thông tin")

    # The citizen answered by phone: the handler resumes by hand, and the clock runs again.
    by_phone = "Người dân cho biết qua điện thoại: công trình xây thêm tầng từ đầu tháng này."
    act(
        page,
        "resume",
        "Tiếp tục xử lý",
        write("Ghi chú (không bắt buộc)", by_phone),
        before_submit=shots.of_actions(page, "xu-ly-04-tiep-tuc-xu-ly"),
    )
    expect(case_status(page)).to_have_text("Đang xử lý")
    expect(fact(page, "#thoi-han", "Tạm dừng tính hạn")).to_have_count(0)
    expect(timeline_entry(page, "Tiếp tục xử lý").locator(".note")).to_have_text(by_phone)

    # Drafting the answer from a response template, with the inspection record attached.
    box = action_box(page, "draft_answer")
    box.get_by_role("link", name=DRAFT_TEMPLATE_TITLE).click()
    answer_box = page.locator("#thao-tac-draft_answer").get_by_label(
        re.compile("^Nội dung trả lời")
    )
    expect(answer_box).to_have_value(re.compile(re.escape(city["handler_case"])))
    findings = (
        "Ngày kiểm tra, đoàn kiểm tra của Sở Xây dựng xác định công trình xây thêm tầng 5 khi "
        "chưa được cấp phép. Sở đã lập biên bản, đình chỉ thi công và chuyển hồ sơ để xử phạt "
        "theo quy định."
    )
    answer = answer_box.input_value().replace("[Kết quả kiểm tra]", findings)
    expect(answer_box).to_have_value(re.compile("Sở Xây dựng trả lời phản ánh"))

    def write_answer(box) -> None:
        answer_box.fill(answer)
        box.get_by_label(re.compile("^Tệp đính kèm kết quả trả lời")).set_input_files(
            files=[
                {"name": "bien-ban-kiem-tra.pdf", "mimeType": "application/pdf", "buffer": SCAN_PDF}
            ]
        )

    act(
        page,
        "draft_answer",
        "Lưu dự thảo trả lời",
        write_answer,
        done="Đã lưu dự thảo trả lời và 1 tệp đính kèm.",
        before_submit=lambda box: shots.shot(page, "xu-ly-05-du-thao-tra-loi", focus=box),
    )
    expect(case_status(page)).to_have_text("Đang hoàn thiện kết quả trả lời (chờ duyệt)")
    expect(page.locator("#tra-loi h2")).to_have_text("Dự thảo trả lời")
    expect(page.locator("#tra-loi .answer-text")).to_contain_text(findings)
    expect(page.locator("#tra-loi .attachments")).to_have_text("bien-ban-kiem-tra.pdf")

    # Linking the handler's own Zalo account, so reminders reach them in Zalo.
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tài khoản của tôi")
    expect(page.locator(".linked-status")).to_contain_text("chưa được liên kết")
    page.get_by_role("button", name="Lấy mã liên kết Zalo").click()
    link_code = page.locator(".link-code")
    expect(link_code).to_have_text(re.compile(r"^CB-\d{6}$"))
    shots.shot(page, "xu-ly-06-ma-lien-ket-zalo")
    zalo = open_page(PHONE)
    open_simulator(zalo)
    type_text(zalo, link_code.inner_text())
    expect(bot_bubble(zalo, "Đã liên kết tài khoản Zalo")).to_have_text(
        texts.STAFF_LINKED.format(name=name)
    )
    shots.shot(zalo, "xu-ly-07-gui-ma-qua-zalo")
    page.goto("/admin/me")
    expect(page.locator(".linked-status")).to_contain_text("đã được liên kết")

    shots.check_all_taken()


# --- the leader ---------------------------------------------------------------------------


def test_leader_tasks(served, open_page, camera):
    app, _server, city = served
    expect = expect_()
    shots = camera("lanh-dao")
    page = open_page(SCREEN)

    # The drafts waiting for the leader's approval.
    log_in_as(page, "leader")
    page.locator(".status-chips a[data-status='answer_drafted']").click()
    expect(page).to_have_url(re.compile(r"status=answer_drafted"))
    codes = queue_codes(page)
    assert {city["to_return"], city["to_approve"]} <= set(codes)
    for status in page.locator("table.queue .status").all_inner_texts():
        assert status == "Đang hoàn thiện kết quả trả lời (chờ duyệt)"
    shots.shot(page, "lanh-dao-01-cho-duyet")

    # Returning a draft with the leader's opinion (the citizen is not told).
    open_case(page, city["to_return"])
    expect(page.locator("#tra-loi h2")).to_have_text("Dự thảo trả lời")
    opinion = "Đề nghị bổ sung thời hạn chủ đầu tư phải tháo dỡ giàn giáo và biện pháp xử lý."
    act(
        page,
        "return_answer",
        "Trả lại dự thảo",
        write("Ý kiến khi trả lại dự thảo", opinion),
        before_submit=shots.of_actions(page, "lanh-dao-02-tra-lai-du-thao"),
    )
    expect(case_status(page)).to_have_text("Đang xử lý")
    returned = timeline_entry(page, "Trả lại dự thảo")
    expect(returned.locator(".note")).to_have_text(opinion)
    expect(returned.locator(".internal")).to_have_text("Nội bộ")

    # Approving a draft: the answer goes to the citizen at once.
    open_case(page, city["to_approve"])
    expect(page.locator("#tra-loi .answer-text")).to_contain_text("kiểm định nhà B4 Thành Công")
    act(
        page,
        "approve",
        "Phê duyệt và gửi trả lời",
        before_submit=lambda box: shots.shot(
            page, "lanh-dao-03-phe-duyet", focus=page.locator("#tra-loi")
        ),
    )
    expect(case_status(page)).to_have_text("Đã trả lời")
    expect(page.locator("#tra-loi h2")).to_have_text("Kết quả trả lời")
    expect(page.locator("#tin-nhan table.delivery")).to_contain_text(
        f"Kết quả trả lời {city['to_approve']}"
    )

    # Extending the deadline, with the reason the citizen is told.
    open_case(page, city["to_extend"])
    due_before = fact(page, "#thoi-han", "Hạn trả lời").inner_text()
    reason = "Cần lấy ý kiến Sở Tài nguyên và Môi trường về nguồn gốc đất trước khi trả lời."

    def extension(box) -> None:
        box.get_by_label("Số ngày gia hạn").fill("15")
        box.get_by_label("Lý do gia hạn").fill(reason)

    act(
        page,
        "extend",
        "Gia hạn thời hạn trả lời",
        extension,
        before_submit=shots.of_actions(page, "lanh-dao-04-gia-han"),
    )
    expect(fact(page, "#thoi-han", "Gia hạn")).to_have_text("15 ngày")
    with get_runtime(app).sessions() as session:
        due = session.scalars(
            select(Case.answer_due_on).where(Case.code == city["to_extend"])
        ).one()
    expect(fact(page, "#thoi-han", "Hạn trả lời")).to_have_text(format_date(due))
    assert format_date(due) != due_before.split()[0]
    expect(timeline_entry(page, "Gia hạn thời hạn trả lời").locator(".note")).to_have_text(
        f"Gia hạn 15 ngày, đến {format_date(due)}: {reason}"
    )

    # The unit's own figures for the quarter.
    page.get_by_role("link", name="Báo cáo, thống kê").click()
    expect(page.get_by_text("Phạm vi số liệu: Sở Xây dựng.")).to_be_visible()
    by_unit = page.locator("table.figures", has_text="Số liệu theo đơn vị xử lý")
    expect(by_unit.locator("tbody th[data-label='Đơn vị']")).to_have_text(["Sở Xây dựng"])
    expect(page.locator("#late-cases")).not_to_contain_text(
        city.overdue["Sở Giao thông vận tải"][0]
    )
    shots.shot(page, "lanh-dao-05-bao-cao", focus=page.locator("#units-title"))

    shots.check_all_taken()


# --- the administrator --------------------------------------------------------------------


def next_saturday(after: date) -> date:
    """The first Saturday more than a week after `after` that is not a public holiday."""
    day = after + timedelta(days=8)
    while day.weekday() != 5 or not deadlines.Calendar().is_working_day(day + timedelta(days=2)):
        day += timedelta(days=1)
    return day


def test_administrator_tasks(served, open_page, camera):
    app, _server, city = served
    expect = expect_()
    shots = camera("quan-tri")
    page = open_page(SCREEN)
    log_in_as(page, "admin", "/admin/staff")

    # A staff account: unit, roles, first password.
    expect(page.get_by_role("heading", level=1)).to_have_text("Cán bộ")
    form = page.locator("form", has=page.get_by_role("button", name="Thêm tài khoản"))
    form.get_by_label("Tên đăng nhập").fill("canbo.qhk")
    form.get_by_label("Họ và tên").fill("Ngô Thị Thu")
    form.get_by_label("Đơn vị", exact=True).select_option(label="Quận Hoàn Kiếm")
    form.get_by_label("Cán bộ xử lý").check()
    form.get_by_label("Mật khẩu ban đầu").fill("Hoan-Kiem-2026!")
    shots.shot(page, "quan-tri-01-them-can-bo", focus=form)
    form.get_by_role("button", name="Thêm tài khoản").click()
    expect(flash(page)).to_have_text("Đã tạo tài khoản “canbo.qhk”.")
    row = page.locator("table.queue tbody tr").filter(has_text="canbo.qhk")
    expect(row.locator("td[data-label='Đơn vị']")).to_have_text("Quận Hoàn Kiếm")
    expect(row.locator("td[data-label='Vai trò']")).to_have_text("Cán bộ xử lý")

    # Resetting a password: shown once, and it works.
    row.get_by_role("link", name="canbo.qhk").click()
    page.get_by_role("button", name="Đặt lại mật khẩu").click()
    secret = page.locator(".new-password code.secret")
    expect(secret).not_to_be_empty()
    shots.shot(page, "quan-tri-02-dat-lai-mat-khau")
    with get_runtime(app).sessions() as session:
        assert authenticate(session, "canbo.qhk", secret.inner_text()) is not None
        assert authenticate(session, "canbo.qhk", "Hoan-Kiem-2026!") is None

    # A unit under its parent.
    page.get_by_role("link", name="Đơn vị", exact=True).click()
    form = page.locator("form", has=page.get_by_role("button", name="Thêm đơn vị"))
    form.get_by_label("Mã đơn vị").fill("P-TT")
    form.get_by_label("Tên đơn vị").fill("Phường Tràng Tiền")
    form.get_by_label("Đơn vị cấp trên").select_option(label="Quận Hoàn Kiếm")
    shots.shot(page, "quan-tri-03-don-vi", focus=form)
    form.get_by_role("button", name="Thêm đơn vị").click()
    expect(flash(page)).to_have_text("Đã tạo đơn vị “Phường Tràng Tiền”.")
    district = page.locator("ul.tree li").filter(
        has=page.get_by_role("link", name="Quận Hoàn Kiếm", exact=True)
    )
    expect(district.get_by_role("link", name="Phường Tràng Tiền")).to_be_visible()

    # A field with the unit that receives it by default.
    page.get_by_role("link", name="Lĩnh vực", exact=True).click()
    form = page.locator("form", has=page.get_by_role("button", name="Thêm lĩnh vực"))
    form.get_by_label("Mã lĩnh vực").fill("DIEN-NUOC")
    form.get_by_label("Tên lĩnh vực").fill("Điện, nước sinh hoạt")
    form.get_by_label("Đơn vị tiếp nhận mặc định").select_option(label="Văn phòng UBND thành phố")
    shots.shot(page, "quan-tri-04-linh-vuc", focus=form)
    form.get_by_role("button", name="Thêm lĩnh vực").click()
    expect(flash(page)).to_have_text("Đã tạo lĩnh vực “Điện, nước sinh hoạt”.")
    row = page.locator("table.queue tbody tr").filter(has_text="DIEN-NUOC")
    expect(row).to_contain_text("Văn phòng UBND thành phố")

    # A field's own deadline policy: 15 working days to answer.
    page.get_by_role("link", name="Thời hạn xử lý").click()
    policies = page.locator("table.queue tbody tr").filter(has_text="Thủ tục hành chính")
    policies.get_by_role("link", name="Đặt thời hạn riêng").click()
    page.get_by_label("Trả lời trong (ngày)").fill("15")
    page.get_by_label("Tính thời hạn trả lời theo ngày làm việc").check()
    shots.shot(page, "quan-tri-05-thoi-han")
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(flash(page)).to_have_text("Đã lưu thời hạn xử lý của lĩnh vực “Thủ tục hành chính”.")
    expect(policies.locator("td[data-label='Trả lời']")).to_have_text("15 ngày làm việc")

    # A make-up working Saturday in the calendar.
    page.get_by_role("link", name="Lịch làm việc").click()
    saturday = next_saturday(local_date(city.now))
    page.get_by_label("Loại ngày").select_option(label="Ngày làm việc bù")
    page.get_by_label("Ngày", exact=True).fill(saturday.isoformat())
    page.get_by_label("Ghi chú").fill("Làm bù cho ngày nghỉ theo thông báo của UBND thành phố.")
    shots.shot(page, "quan-tri-06-lich-lam-viec", focus=page.locator("form.stacked").last)
    page.get_by_role("button", name="Thêm ngày").click()
    expect(flash(page)).to_have_text(f"Đã thêm ngày {saturday:%d/%m/%Y}.")
    made_up = page.locator("table.queue tbody tr").filter(has_text=f"{saturday:%d/%m/%Y}")
    expect(made_up.locator("td[data-label='Loại']")).to_have_text("Ngày làm việc bù")
    expect(made_up.locator("td[data-label='Ngày']")).to_contain_text("Thứ Bảy")

    # A response template for asking citizens for information about land.
    page.get_by_role("link", name="Mẫu trả lời").click()
    form = page.locator("form", has=page.get_by_role("button", name="Thêm mẫu"))
    form.get_by_label("Thao tác").select_option(label="Đề nghị bổ sung thông tin")
    form.get_by_label("Lĩnh vực").select_option(label="Đất đai")
    form.get_by_label("Tên mẫu").fill("Đề nghị bổ sung giấy tờ về đất")
    form.get_by_label("Nội dung mẫu").fill(
        "Để xử lý {ma_pakn}, đề nghị Ông/Bà gửi ảnh chụp giấy chứng nhận quyền sử dụng đất "
        "hoặc giấy tờ về nguồn gốc thửa đất."
    )
    shots.shot(page, "quan-tri-07-mau-tra-loi", focus=form)
    form.get_by_role("button", name="Thêm mẫu").click()
    expect(flash(page)).to_have_text("Đã tạo mẫu “Đề nghị bổ sung giấy tờ về đất”.")
    row = page.locator("table.queue tbody tr").filter(has_text="Đề nghị bổ sung giấy tờ về đất")
    expect(row.locator("td[data-label='Thao tác']")).to_have_text("Đề nghị bổ sung thông tin")
    expect(row.locator("td[data-label='Lĩnh vực']")).to_have_text("Đất đai")

    # A frequently asked question the bot answers, tried against what a citizen may type.
    page.get_by_role("link", name="Câu hỏi thường gặp").click()
    form = page.locator("form", has=page.get_by_role("button", name="Thêm câu hỏi"))
    form.get_by_label("Câu hỏi", exact=True).fill("Tra cứu kết quả PAKN trên trang web ở đâu?")
    form.get_by_label("Câu trả lời").fill(
        "Ông/Bà mở trang Tra cứu PAKN trên cổng thông tin của thành phố và nhập mã PAKN."
    )
    form.get_by_label("Từ khóa").fill("tra cứu trên web, trang tra cứu, xem kết quả trên mạng")
    shots.shot(page, "quan-tri-08-cau-hoi-thuong-gap", focus=form)
    form.get_by_role("button", name="Thêm câu hỏi").click()
    expect(flash(page)).to_have_text("Đã tạo câu hỏi “Tra cứu kết quả PAKN trên trang web ở đâu?”.")
    page.get_by_label("Câu người dân có thể gõ").fill("xem ket qua tren mang o dau")
    page.get_by_role("button", name="Thử", exact=True).click()
    expect(flash(page)).to_have_text(
        "Câu trả lời được gửi: Tra cứu kết quả PAKN trên trang web ở đâu?"
    )

    # The Zalo OA connection.
    page.get_by_role("link", name="Kết nối Zalo OA").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kết nối Zalo OA")
    expect(fact(page, ".card", "Trạng thái")).to_have_text("Đang hoạt động")
    expect(page.locator(".token-banner")).to_have_count(0)
    shots.shot(page, "quan-tri-09-ket-noi-zalo")

    shots.check_all_taken()

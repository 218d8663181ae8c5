"""The staff permission matrix as data: every console and API endpoint, how to call it, and the
answer each caller gets, on a case of their own unit and on a case of another unit.

`tests/test_permissions.py` turns every row into one test per actor and scope, and checks that
`app.url_map` has no /admin or /api/v1 endpoint without a row. The table is the specification:
it is written from the rules (coordinators see every case; handlers and leaders their unit's,
and the units' below it when their unit includes sub-units; administrators no case unless they
also hold a case role; contact data in clear only for coordinators), never derived from
`cases.access` or `cases.workflow`.

Reading a row:
- `rule` is the endpoint exactly as Flask routes it; `args` fill its placeholders: "case" is the
  cell's case, "attachment" a stored file of that case ("foreign_attachment": of a case of a
  unit outside the actor's scope), "unit", "staff", "field" and "template" a row made fresh for
  the cell ("field_policy": a fresh field with a deadline policy of its own; "calendar_day": a
  fresh calendar exception; "faq": a fresh FAQ entry); anything else is used as it stands (an
  action's name).
- `query` and `body` values may hold `{code}` (the cell's case), `{uniq}` (a value unique to the
  cell), `{unit:CODE}` and `{field:CODE}` (that row's id, an integer in API bodies),
  `{target_code}` (another open case) and `{workday}` (a working day no calendar exception has).
  Console POSTs also carry the session's CSRF token, so permission is the only variable.
- `expect` maps every actor to a status; for a row about a case, to a pair (own, other): on a case
  of the actor's own unit (a unit below it for `district_leader`, whose unit includes sub-units)
  and on a case of a unit outside their scope. Anonymous callers have one case (of SXD); a
  deactivated account, still holding its session cookie and token, must be answered as one.
  LOGIN is the console's redirect to its login page.

The actors (`ACTORS`): anonymous, the demo admin, coordinator, handler and leader (SXD), a handler
of another unit (STNMT), the leader of a district whose unit includes its wards, an administrator
who also handles SXD's cases (roles combine), and a deactivated coordinator-administrator.
- `state`, `case` and `events` put the cell's case in a starting state of the row (an action's
  source), and `config` sets the app configuration the row needs.
- `changes` names what a successful call changes and a refused call must leave exactly as it
  was; `shows` says that a 200 answer shows the case ("summary" in lists, "detail" with the
  contact data), so it must show it exactly to those who may see it; `to` is where a successful
  console redirect leads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models import CaseStatus

S = CaseStatus
LOGIN = "login"  # the console's 302 to /admin/login?next=...
REFUSED = frozenset({LOGIN, 401, 403, 404})
OWN, OTHER, ANY = "own", "other", "any"

Expect = int | str
ExpectPair = Expect | tuple[Expect, Expect]


@dataclass(frozen=True)
class Actor:
    """A caller: their role, account, and the units of their "own" and "other" cases."""

    name: str
    roles: frozenset[str]  # empty: not logged in
    username: str | None = None
    password: str | None = None
    own_unit: str = "SXD"  # anonymous callers get this one case
    other_unit: str = ""
    sees: frozenset[str] = frozenset()  # the scopes whose case they may see
    # A deactivated account keeps its session cookie and token, and must get what this actor gets.
    answered_as: str | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes of this actor's cells on rows about a case."""
        return (OWN, OTHER) if self.roles and self.answered_as is None else (ANY,)

    def unit_for(self, scope: str) -> str:
        """The unit of the case this actor's cell of `scope` works on."""
        return self.other_unit if scope == OTHER else self.own_unit


SEES_OWN = frozenset({OWN})
ACTORS: tuple[Actor, ...] = (
    Actor("anonymous", frozenset()),
    Actor("admin", frozenset({"admin"}), "admin", "demo-admin-2026", "VP-UBND", "SXD"),
    Actor(
        "coordinator",
        frozenset({"coordinator"}),
        "dieuphoi",
        "demo-coordinator-2026",
        "VP-UBND",
        "SXD",
        frozenset({OWN, OTHER}),
    ),
    Actor(
        "handler",
        frozenset({"handler"}),
        "canbo.sxd",
        "demo-handler-2026",
        "SXD",
        "STNMT",
        SEES_OWN,
    ),
    Actor(
        "leader", frozenset({"leader"}), "lanhdao.sxd", "demo-leader-2026", "SXD", "STNMT", SEES_OWN
    ),
    # A handler of another unit.
    Actor(
        "other_handler",
        frozenset({"handler"}),
        "canbo.stnmt",
        "mat-khau-stnmt-2026",
        "STNMT",
        "SXD",
        SEES_OWN,
    ),
    # The leader of a district whose unit includes its wards: "own" is a case of a ward.
    Actor(
        "district_leader",
        frozenset({"leader"}),
        "lanhdao.qhk",
        "mat-khau-qhk-2026",
        "P-HB",
        "SXD",
        SEES_OWN,
    ),
    # Roles combine: an administrator who also handles their unit's cases.
    Actor(
        "admin_handler",
        frozenset({"admin", "handler"}),
        "quantri.sxd",
        "mat-khau-qtsxd-2026",
        "SXD",
        "STNMT",
        SEES_OWN,
    ),
    # A coordinator and administrator deactivated after logging in and getting an API token.
    Actor(
        "deactivated",
        frozenset({"admin", "coordinator"}),
        "cuu.dieuphoi",
        "mat-khau-cu-2026",
        answered_as="anonymous",
    ),
)
# The actors with a column of their own in the table, and those among them who are staff.
ACTOR_NAMES = tuple(actor.name for actor in ACTORS if actor.answered_as is None)
STAFF_ACTORS = tuple(actor for actor in ACTORS if actor.roles and actor.answered_as is None)


@dataclass(frozen=True)
class Account:
    """An account the matrix adds to the demo ones."""

    username: str
    full_name: str
    unit: str
    roles: tuple[str, ...]
    password: str
    active: bool = True  # False: deactivated once logged in and given a token


EXTRA_ACCOUNTS = (
    Account("canbo.stnmt", "Cán bộ Môi trường", "STNMT", ("handler",), "mat-khau-stnmt-2026"),
    Account("lanhdao.qhk", "Lãnh đạo Quận Hoàn Kiếm", "Q-HK", ("leader",), "mat-khau-qhk-2026"),
    Account(
        "quantri.sxd", "Quản trị Sở Xây dựng", "SXD", ("admin", "handler"), "mat-khau-qtsxd-2026"
    ),
    Account(
        "cuu.dieuphoi",
        "Đầu mối đã nghỉ",
        "VP-UBND",
        ("admin", "coordinator"),
        "mat-khau-cu-2026",
        active=False,
    ),
)
# Units whose staff also work on the cases of the units below them.
INCLUDE_SUBUNITS = ("Q-HK",)


# --- expectations ------------------------------------------------------------------------------
def everyone(staff: Expect, anonymous: Expect) -> dict[str, ExpectPair]:
    """Every staff member gets `staff`; anonymous callers get `anonymous`."""
    return {"anonymous": anonymous, **{actor.name: staff for actor in STAFF_ACTORS}}


def only(role: str, success: Expect) -> dict[str, ExpectPair]:
    """A console page for one role: `success` for those who hold it, 403 for other staff."""
    return {
        "anonymous": LOGIN,
        **{actor.name: success if role in actor.roles else 403 for actor in STAFF_ACTORS},
    }


def case_staff(success: Expect) -> dict[str, ExpectPair]:
    """A console page for staff with a case role (coordinator, handler, leader): `success` for
    them, 403 for administrators without one."""
    return {
        "anonymous": LOGIN,
        **{
            actor.name: success if actor.roles & {"coordinator", "handler", "leader"} else 403
            for actor in STAFF_ACTORS
        },
    }


def admin_only(success: Expect) -> dict[str, ExpectPair]:
    """An administrator's console page: `success` for administrators, 403 for other staff."""
    return only("admin", success)


def by_visibility(seen: Expect, unseen: Expect, anonymous: Expect) -> dict[str, ExpectPair]:
    """About a case: `seen` where the actor may see it, `unseen` where not."""
    return {
        "anonymous": anonymous,
        **{
            actor.name: tuple(seen if s in actor.sees else unseen for s in (OWN, OTHER))
            for actor in STAFF_ACTORS
        },
    }


def acting(allowed: frozenset[str], success: Expect, anonymous: Expect) -> dict[str, ExpectPair]:
    """A workflow action: `success` for the allowed roles, 403 for other roles on a case they
    see, 404 on a case they may not see (exactly like an unknown code)."""
    return {
        "anonymous": anonymous,
        **{
            actor.name: tuple(
                (success if actor.roles & allowed else 403) if s in actor.sees else 404
                for s in (OWN, OTHER)
            )
            for actor in STAFF_ACTORS
        },
    }


# --- rows --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One endpoint (one action, for the console's action route) and what each caller gets."""

    method: str
    rule: str
    expect: Mapping[str, ExpectPair]
    args: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    state: CaseStatus = S.PROCESSING
    case: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()  # citizen-visible timeline entries the case starts with
    config: Mapping[str, Any] = field(default_factory=dict)
    # "case", "cases", "units", "staff", "fields", "templates", "tokens", "policies", "calendar",
    # "faqs"
    changes: str | None = None
    shows: str = ""  # "", "summary" or "detail"
    to: str | None = None
    variant: str = ""  # tells apart two rows of one endpoint

    @property
    def api(self) -> bool:
        """Tell whether the row is an API endpoint (bearer token) rather than the console's."""
        return self.rule.startswith("/api/v1/")

    @property
    def about_case(self) -> bool:
        """Tell whether the row works on a case (and so has an own and an other scope)."""
        return "case" in self.args.values() or any("{code}" in v for v in self.query.values())

    @property
    def label(self) -> str:
        """The row's name in test ids: the method and rule, an action's name filled in."""
        rule = self.rule.replace("<name>", self.args["name"]) if "name" in self.args else self.rule
        return f"{self.method} {rule}{f' ({self.variant})' if self.variant else ''}"

    def expected(self, actor: Actor, scope: str) -> Expect:
        """The answer `actor` gets on this row, on the case of `scope` where there is one."""
        value = self.expect[actor.answered_as or actor.name]
        if isinstance(value, tuple):
            return value[1] if scope == OTHER else value[0]
        return value


ANSWER = "Sở Xây dựng đã kiểm tra hiện trường và yêu cầu chủ công trình tháo dỡ phần lấn chiếm."
DRAFTED = {"answer_text": ANSWER}
CHECKED_BY_COORDINATOR = {"ANSWER_CHECK_BY_COORDINATOR": True}
COORDINATOR = frozenset({"coordinator"})
UNIT_STAFF = frozenset({"handler", "leader"})
LEADER = frozenset({"leader"})
LEADER_OR_COORDINATOR = frozenset({"leader", "coordinator"})
CASE_WORKERS = frozenset({"coordinator", "handler", "leader"})


@dataclass(frozen=True)
class ActionSpec:
    """A workflow action: who may take it, a state it starts from, a valid input."""

    name: str
    allowed: frozenset[str]
    state: CaseStatus
    inputs: Mapping[str, Any] = field(default_factory=dict)
    case: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)


ACTION_SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("reject", COORDINATOR, S.RECEIVED, {"reason": "unclear", "note": "Gửi lại."}),
    ActionSpec("transfer", COORDINATOR, S.RECEIVED, {"unit_id": "{unit:SGTVT}"}),
    ActionSpec("handle_own", COORDINATOR, S.RECEIVED),
    ActionSpec("accept", UNIT_STAFF, S.TRANSFERRED),
    ActionSpec(
        "return_to_coordinator", UNIT_STAFF, S.TRANSFERRED, {"note": "Không thuộc thẩm quyền"}
    ),
    ActionSpec(
        "request_info", CASE_WORKERS, S.PROCESSING, {"note": "Đề nghị gửi ảnh chụp hiện trạng."}
    ),
    ActionSpec("resume", CASE_WORKERS, S.AWAITING_INFO),
    ActionSpec("draft_answer", CASE_WORKERS, S.PROCESSING, {"answer": ANSWER}),
    ActionSpec("approve", LEADER, S.ANSWER_DRAFTED, case=DRAFTED),
    ActionSpec(
        "approve_for_check",
        LEADER,
        S.ANSWER_DRAFTED,
        case=DRAFTED,
        config=CHECKED_BY_COORDINATOR,
    ),
    ActionSpec(
        "check_answer",
        COORDINATOR,
        S.ANSWER_APPROVED,
        case=DRAFTED,
        config=CHECKED_BY_COORDINATOR,
    ),
    ActionSpec(
        "return_answer",
        LEADER_OR_COORDINATOR,
        S.ANSWER_DRAFTED,
        {"note": "Bổ sung căn cứ pháp lý"},
        case=DRAFTED,
    ),
    ActionSpec("publish", COORDINATOR, S.ANSWERED, case=DRAFTED),
    ActionSpec(
        "escalate",
        COORDINATOR,
        S.PROCESSING,
        {"target": "city", "note": "Vượt thẩm quyền của Sở, đề nghị UBND thành phố quyết định."},
    ),
    ActionSpec("merge", COORDINATOR, S.PROCESSING, {"target_code": "{target_code}"}),
    ActionSpec(
        "reopen",
        COORDINATOR,
        S.ANSWERED,
        {"note": "Người dân báo chưa được giải quyết"},
        case=DRAFTED,
    ),
    ActionSpec(
        "extend",
        LEADER_OR_COORDINATOR,
        S.PROCESSING,
        {"days": 10, "note": "Cần thêm thời gian xác minh."},
    ),
    ActionSpec(
        "progress",
        CASE_WORKERS,
        S.PROCESSING,
        {"note": "Đã kiểm tra hiện trường, đang lập biên bản."},
    ),
    ActionSpec("comment", CASE_WORKERS, S.PROCESSING, {"note": "Ghi chú nội bộ"}),
    # Coordinators on any case; a unit's leader on their unit's (a ward's, for a district).
    ActionSpec(
        "mark_urgent", LEADER_OR_COORDINATOR, S.PROCESSING, {"note": "Nguy cơ sập công trình"}
    ),
    ActionSpec(
        "unmark_urgent",
        LEADER_OR_COORDINATOR,
        S.PROCESSING,
        {"note": "Đã chằng chống tạm thời"},
        case={"urgent": True},
    ),
)

CASE = {"code": "case"}
UNIT_FORM = {"parent_id": "{unit:VP-UBND}", "sort_order": "5"}
STAFF_FORM = {"unit_id": "{unit:SXD}", "roles": "handler"}
FIELD_FORM = {"default_unit_id": "{unit:SXD}", "sort_order": "5"}
POLICY_FORM = {
    "classify_working_days": "5",
    "answer_days": "20",
    "progress_every_days": "7",
    "publish_working_days": "2",
    "urgent_takeup_hours": "8",
    "urgent_handle_hours": "4",
}
TEMPLATE_FORM = {"action": "progress", "field_id": "", "body": "PAKN {ma_pakn} đang được xử lý."}
FAQ_FORM = {"answer": "Gửi PAKN qua Zalo hoàn toàn miễn phí.", "keywords": "lệ phí, mất phí"}

CONSOLE_ROWS: tuple[Row, ...] = (
    # Login and logout
    Row("GET", "/admin/login", everyone(302, anonymous=200), to="/admin/"),
    Row(
        "POST",
        "/admin/login",
        everyone(302, anonymous=302),
        body={"username": "dieuphoi", "password": "demo-coordinator-2026"},
        to="/admin/",
    ),
    Row("POST", "/admin/logout", everyone(302, anonymous=302), to="/admin/login"),
    # The queue, searched for the cell's case, and the case itself
    Row(
        "GET",
        "/admin/",
        by_visibility(200, 200, LOGIN),
        query={"q": "{code}"},
        shows="summary",
    ),
    Row("GET", "/admin/cases/<code>", by_visibility(200, 404, LOGIN), CASE, shows="detail"),
    Row(
        "GET",
        "/admin/cases/<code>/files/<int:attachment_id>",
        by_visibility(200, 404, LOGIN),
        {"code": "case", "attachment_id": "attachment"},
    ),
    Row(
        "GET",
        "/admin/cases/<code>/files/<int:attachment_id>",
        by_visibility(404, 404, LOGIN),
        {"code": "case", "attachment_id": "foreign_attachment"},
        variant="a file of another unit's case",
    ),
    # PAKN received outside Zalo: the intake form, and recording that the citizen was told
    Row("GET", "/admin/intake", only("coordinator", 200)),
    Row(
        "POST",
        "/admin/intake",
        only("coordinator", 302),
        body={
            "channel": "phone",
            "received_at": "2024-03-05T09:00",
            "kind": "feedback",
            "field_id": "{field:XAY-DUNG}",
            "unit_id": "",
            "title": "Phản ánh qua điện thoại {uniq}",
            "content": "Công trình số 7 phố Hàng Bạc lấn chiếm vỉa hè từ nhiều tháng nay.",
            "contact_name": "Trần Văn Bình",
            "contact_phone": "0987654321",
            "contact_address": "Số 7 Hàng Bạc, Quận Hoàn Kiếm",
            "consent": "1",
            "consent_mode": "verbal",
        },
        changes="cases",
        to="/admin/cases/",
    ),
    Row(
        "POST",
        "/admin/cases/<code>/informed",
        by_visibility(302, 404, LOGIN),
        CASE,
        body={"done": "1", "channel": "phone", "note": "Đã gọi điện báo mã PAKN."},
        case={"channel": "phone"},
        events=("received",),
        changes="case",
        to="/admin/cases/",
    ),
    # The coordinators' figures, and every staff member's own account page
    Row("GET", "/admin/figures", only("coordinator", 200)),
    # Urging a late unit from the figures: a fresh unit has no overdue case, so a coordinator's
    # urge is refused there (409) after the permission check; tests/test_urge.py urges for real.
    Row(
        "GET",
        "/admin/figures/units/<int:unit_id>/urge",
        only("coordinator", 200),
        {"unit_id": "unit"},
    ),
    Row(
        "POST",
        "/admin/figures/units/<int:unit_id>/urge",
        only("coordinator", 409),
        {"unit_id": "unit"},
        body={"message": "Đề nghị đơn vị khẩn trương trả lời các PAKN quá hạn {uniq}."},
    ),
    # The public version of an answered or published case: coordinators only
    Row(
        "GET",
        "/admin/cases/<code>/public",
        acting(COORDINATOR, 200, LOGIN),
        CASE,
        state=S.ANSWERED,
        case=DRAFTED,
    ),
    Row(
        "POST",
        "/admin/cases/<code>/public",
        acting(COORDINATOR, 302, LOGIN),
        CASE,
        body={
            "title": "Công trình lấn chiếm vỉa hè {uniq}",
            "content": "Người dân phản ánh công trình xây dựng lấn chiếm vỉa hè.",
            "answer": ANSWER,
        },
        state=S.ANSWERED,
        case=DRAFTED,
        changes="case",
        to="/admin/cases/",
    ),
    Row(
        "POST",
        "/admin/cases/<code>/public/reset",
        acting(COORDINATOR, 302, LOGIN),
        CASE,
        state=S.PUBLISHED,
        case={**DRAFTED, "public_title": "Tiêu đề do cán bộ sửa"},
        changes="case",
        to="/admin/cases/",
    ),
    Row("GET", "/admin/me", everyone(200, anonymous=LOGIN)),
    # Reports: the dashboard and its downloads for case staff (their own units' figures); the
    # period's notes, archived copies and the stored (all-units) files for coordinators. No
    # stored report exists in the matrix, so a coordinator's download is a 404 there. The
    # export is checked as CSV (text the matrix can search for contact data; the Excel file is
    # the same route and is searched in tests/test_reports.py).
    Row("GET", "/admin/reports", case_staff(200)),
    Row("GET", "/admin/reports/export", case_staff(200), query={"format": "csv"}),
    Row(
        "POST",
        "/admin/reports/note",
        only("coordinator", 302),
        body={"text": "Khó khăn {uniq}"},
        to="/admin/reports",
    ),
    Row("POST", "/admin/reports/archive", only("coordinator", 302), to="/admin/reports"),
    Row(
        "GET",
        "/admin/reports/files/<int:report_id>",
        only("coordinator", 404),
        {"report_id": "999999"},
    ),
    Row("POST", "/admin/me/link-code", everyone(200, anonymous=LOGIN), changes="staff"),
    # The Zalo OA connection
    Row("GET", "/admin/zalo", admin_only(200)),
    Row(
        "POST",
        "/admin/zalo/tokens",
        admin_only(302),
        body={"access_token": "at-{uniq}", "refresh_token": "rt-{uniq}", "expires_in": "90000"},
        changes="tokens",
        to="/admin/zalo",
    ),
    Row("POST", "/admin/zalo/connect", admin_only(302), to="https://oauth.zaloapp.com/"),
    Row("GET", "/admin/zalo/callback", admin_only(302), to="/admin/zalo"),
    # Units
    Row("GET", "/admin/units", admin_only(200)),
    Row(
        "POST",
        "/admin/units",
        admin_only(302),
        body={"code": "U-{uniq}", "name": "Đơn vị {uniq}", **UNIT_FORM},
        changes="units",
        to="/admin/units",
    ),
    Row("GET", "/admin/units/<int:unit_id>", admin_only(200), {"unit_id": "unit"}),
    Row(
        "POST",
        "/admin/units/<int:unit_id>",
        admin_only(302),
        {"unit_id": "unit"},
        body={"name": "Đơn vị đổi tên {uniq}", "active": "1", **UNIT_FORM},
        changes="units",
        to="/admin/units",
    ),
    # Staff
    Row("GET", "/admin/staff", admin_only(200)),
    Row(
        "POST",
        "/admin/staff",
        admin_only(302),
        body={
            "username": "nv.{uniq}",
            "full_name": "Nhân viên {uniq}",
            "password": "mat-khau-moi-2026",
            **STAFF_FORM,
        },
        changes="staff",
        to="/admin/staff",
    ),
    Row("GET", "/admin/staff/<int:staff_id>", admin_only(200), {"staff_id": "staff"}),
    Row(
        "POST",
        "/admin/staff/<int:staff_id>",
        admin_only(302),
        {"staff_id": "staff"},
        body={"full_name": "Tên mới {uniq}", "active": "1", **STAFF_FORM},
        changes="staff",
        to="/admin/staff",
    ),
    Row(
        "POST",
        "/admin/staff/<int:staff_id>/password",
        admin_only(200),
        {"staff_id": "staff"},
        changes="staff",
    ),
    # Fields
    Row("GET", "/admin/fields", admin_only(200)),
    Row(
        "POST",
        "/admin/fields",
        admin_only(302),
        body={"code": "F-{uniq}", "name": "Lĩnh vực {uniq}", **FIELD_FORM},
        changes="fields",
        to="/admin/fields",
    ),
    Row("GET", "/admin/fields/<int:field_id>", admin_only(200), {"field_id": "field"}),
    Row(
        "POST",
        "/admin/fields/<int:field_id>",
        admin_only(302),
        {"field_id": "field"},
        body={"name": "Lĩnh vực đổi tên {uniq}", "active": "1", **FIELD_FORM},
        changes="fields",
        to="/admin/fields",
    ),
    # Response templates
    Row("GET", "/admin/templates", admin_only(200)),
    Row(
        "POST",
        "/admin/templates",
        admin_only(302),
        body={"title": "Mẫu {uniq}", **TEMPLATE_FORM},
        changes="templates",
        to="/admin/templates",
    ),
    Row("GET", "/admin/templates/<int:template_id>", admin_only(200), {"template_id": "template"}),
    Row(
        "POST",
        "/admin/templates/<int:template_id>",
        admin_only(302),
        {"template_id": "template"},
        body={"title": "Mẫu đổi tên {uniq}", "active": "1", **TEMPLATE_FORM},
        changes="templates",
        to="/admin/templates",
    ),
    Row(
        "POST",
        "/admin/templates/<int:template_id>/delete",
        admin_only(302),
        {"template_id": "template"},
        changes="templates",
        to="/admin/templates",
    ),
    # Deadline policies
    Row("GET", "/admin/deadlines", admin_only(200)),
    Row("GET", "/admin/deadlines/default", admin_only(200)),
    Row(
        "POST",
        "/admin/deadlines/default",
        admin_only(302),
        body=POLICY_FORM,
        changes="policies",
        to="/admin/deadlines",
    ),
    Row("GET", "/admin/deadlines/fields/<int:field_id>", admin_only(200), {"field_id": "field"}),
    Row(
        "POST",
        "/admin/deadlines/fields/<int:field_id>",
        admin_only(302),
        {"field_id": "field"},
        body=POLICY_FORM,
        changes="policies",
        to="/admin/deadlines",
    ),
    Row(
        "POST",
        "/admin/deadlines/fields/<int:field_id>/delete",
        admin_only(302),
        {"field_id": "field_policy"},
        changes="policies",
        to="/admin/deadlines",
    ),
    # Frequently asked questions (the bot's answers)
    Row("GET", "/admin/faq", admin_only(200)),
    Row(
        "POST",
        "/admin/faq",
        admin_only(302),
        body={"question": "Câu hỏi {uniq}?", **FAQ_FORM},
        changes="faqs",
        to="/admin/faq",
    ),
    Row("GET", "/admin/faq/<int:faq_id>", admin_only(200), {"faq_id": "faq"}),
    Row(
        "POST",
        "/admin/faq/<int:faq_id>",
        admin_only(302),
        {"faq_id": "faq"},
        body={"question": "Câu hỏi đổi {uniq}?", "active": "1", **FAQ_FORM},
        changes="faqs",
        to="/admin/faq",
    ),
    Row(
        "POST",
        "/admin/faq/<int:faq_id>/delete",
        admin_only(302),
        {"faq_id": "faq"},
        changes="faqs",
        to="/admin/faq",
    ),
    # The working calendar
    Row("GET", "/admin/calendar", admin_only(200)),
    Row(
        "POST",
        "/admin/calendar",
        admin_only(302),
        body={"kind": "off", "day": "{workday}", "note": "Nghỉ bù {uniq}"},
        changes="calendar",
        to="/admin/calendar",
    ),
    Row(
        "POST",
        "/admin/calendar/<day>/delete",
        admin_only(302),
        {"day": "calendar_day"},
        changes="calendar",
        to="/admin/calendar",
    ),
    # Workflow actions, one row each
    *(
        Row(
            "POST",
            "/admin/cases/<code>/actions/<name>",
            acting(spec.allowed, 302, LOGIN),
            {"code": "case", "name": spec.name},
            body=spec.inputs,
            state=spec.state,
            case=spec.case,
            config=spec.config,
            changes="case",
            to="/admin/",
        )
        for spec in ACTION_SPECS
    ),
)

API_ROWS: tuple[Row, ...] = (
    Row(
        "GET",
        "/api/v1/cases",
        by_visibility(200, 200, 401),
        query={"code": "{code}"},
        shows="summary",
    ),
    Row("GET", "/api/v1/cases/<code>", by_visibility(200, 404, 401), CASE, shows="detail"),
    Row("GET", "/api/v1/units", everyone(200, anonymous=401)),
    Row("GET", "/api/v1/fields", everyone(200, anonymous=401)),
    *(
        Row(
            "POST",
            f"/api/v1/cases/<code>/actions/{spec.name}",
            acting(spec.allowed, 200, 401),
            CASE,
            body=spec.inputs,
            state=spec.state,
            case=spec.case,
            config=spec.config,
            changes="case",
            shows="detail",
        )
        for spec in ACTION_SPECS
    ),
)

ROWS: tuple[Row, ...] = CONSOLE_ROWS + API_ROWS
# Routes under the prefixes that are not staff endpoints.
NOT_STAFF_ENDPOINTS = frozenset({("GET", "/api/v1/openapi.json")})


@dataclass(frozen=True)
class Cell:
    """One test: a row, an actor, and the scope of the case (None for rows without a case)."""

    row: Row
    actor: Actor
    scope: str | None

    @property
    def id(self) -> str:
        """A readable test id, e.g. "handler-other-GET /admin/cases/<code>"."""
        who = self.actor.name if self.scope in (None, ANY) else f"{self.actor.name}-{self.scope}"
        return f"{who}-{self.row.label}"

    @property
    def expected(self) -> Expect:
        """The answer this cell expects."""
        return self.row.expected(self.actor, self.scope or OWN)


def cells() -> list[Cell]:
    """Every cell of the matrix: each row × each actor × (for rows about a case) each scope."""
    return [
        Cell(row, actor, scope)
        for row in ROWS
        for actor in ACTORS
        for scope in (actor.scopes if row.about_case else (None,))
    ]

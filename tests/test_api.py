"""The staff JSON API: the case list and its filters and paging, the case in full, visibility,
workflow actions (state, audit, the citizen's messages), units and fields, and every error shape.

Every answer goes through `ApiClient`, which also checks it against the OpenAPI document.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select

from cases.workflow import ACTIONS
from handlers.api import api_state
from handlers.runtime import get_runtime
from models import Case, CaseEvent, CaseStatus, MessageKind, OutboxMessage, OutboxState
from tests import api_helpers
from tests.api_helpers import LOCATION, NOW, ApiClient

api = api_helpers.api
api_clock = api_helpers.api_clock
world = api_helpers.world

S = CaseStatus
UNKNOWN = "PAKN.20261127.9999"


def codes(response) -> list[str]:
    """The case codes of a list answer, in order."""
    assert response.status_code == 200, response.json
    return [item["code"] for item in response.json["items"]]


def set_case(world, code: str, **values) -> None:
    """Change columns of a case directly (dates and states the scenario needs)."""
    world.writer.execute(Case.__table__.update().where(Case.code == code).values(**values))
    world.writer.commit()


def counts(world, code: str) -> tuple[str, int, int]:
    """The case's status, and how many timeline rows and messages it has."""
    case = world.load(code)
    events = world.reader.scalar(select(func.count()).where(CaseEvent.case_id == case.id))
    messages = world.reader.scalar(select(func.count()).where(OutboxMessage.case_id == case.id))
    return case.status.value, events, messages


def error_of(response, status: int, code: str) -> dict[str, str]:
    """Check an error answer's status and code; return its error object."""
    assert response.status_code == status, response.json
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"] and error["message_en"] and error["message"] != error["message_en"]
    assert response.headers["Cache-Control"] == "no-store"
    return error


@pytest.fixture
def listing(world):
    """Seven cases over three units and two days, with due dates around today (27/11/2026)."""
    made = {
        "sxd_today": world.case(now=NOW),
        # 00:30 on 27/11 in Hà Nội, still 26/11 in UTC.
        "sgtvt_midnight": world.case(
            "GIAO-THONG",
            now=datetime(2026, 11, 26, 17, 30, tzinfo=UTC),
            title="Đèn tín hiệu hỏng",
            content="Đèn LED ở ngã tư Tràng Tiền không sáng.",
        ),
        # 23:59 on 26/11 in Hà Nội.
        "stnmt_yesterday": world.case(
            "MOI-TRUONG",
            now=datetime(2026, 11, 26, 16, 59, tzinfo=UTC),
            title="Rác thải",
            content="Bãi rác tự phát 100% gây ô nhiễm.",
        ),
        "overdue": world.case(now=datetime(2026, 11, 2, 2, 0, tzinfo=UTC)),
        "due_in_3_days": world.case(now=datetime(2026, 11, 3, 2, 0, tzinfo=UTC)),
        "due_today": world.case(now=datetime(2026, 11, 4, 2, 0, tzinfo=UTC)),
        "closed_overdue": world.case(now=datetime(2026, 11, 1, 2, 0, tzinfo=UTC)),
    }
    set_case(world, made["overdue"], answer_due_on=date(2026, 11, 26))
    set_case(world, made["due_in_3_days"], answer_due_on=date(2026, 11, 30))
    set_case(world, made["due_today"], answer_due_on=date(2026, 11, 27))
    set_case(
        world, made["closed_overdue"], answer_due_on=date(2026, 11, 20), status=S.REJECTED.value
    )
    return made


# --- the list ---------------------------------------------------------------------------------
# The `listing` cases as the list shows them, newest first; the last one is closed.
NEWEST_FIRST = (
    "sxd_today",
    "sgtvt_midnight",
    "stnmt_yesterday",
    "due_today",
    "due_in_3_days",
    "overdue",
    "closed_overdue",
)


def test_the_list_shows_visible_cases_newest_first(api, listing):
    everything = api.get("/api/v1/cases", "dieuphoi")
    assert codes(everything) == [listing[name] for name in NEWEST_FIRST]
    assert everything.json["paging"] == {"page": 1, "per_page": 50, "total": 7}

    sxd = [listing[n] for n in ("sxd_today", "due_today", "due_in_3_days", "overdue")]
    sxd.append(listing["closed_overdue"])
    assert codes(api.get("/api/v1/cases", "canbo.sxd")) == sxd
    assert codes(api.get("/api/v1/cases", "lanhdao.sxd")) == sxd
    assert codes(api.get("/api/v1/cases", "canbo.gt")) == [listing["sgtvt_midnight"]]
    admin = api.get("/api/v1/cases", "admin")
    assert codes(admin) == [] and admin.json["paging"]["total"] == 0


def test_a_list_item_has_the_documented_fields(api, listing):
    item = api.get("/api/v1/cases?code=" + listing["sgtvt_midnight"], "dieuphoi").json["items"][0]

    assert item == {
        "code": listing["sgtvt_midnight"],
        "title": "Đèn tín hiệu hỏng",
        "kind": "feedback",
        "status": "received",
        "status_label": "Đã tiếp nhận",
        "field": {"code": "GIAO-THONG", "name": "Giao thông"},
        "unit": {"code": "SGTVT", "name": "Sở Giao thông vận tải"},
        "received_at": "2026-11-26T17:30:00Z",
        "answer_due_on": "2026-12-17",
        "overdue": False,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=rejected", ["closed_overdue"]),
        ("status=open", list(NEWEST_FIRST[:-1])),
        ("status=answered", []),
        ("unit=SGTVT", ["sgtvt_midnight"]),
        ("field=MOI-TRUONG", ["stnmt_yesterday"]),
        ("field=MOI-TRUONG&unit=SXD", []),
        ("overdue=true", ["overdue"]),
        ("overdue=1", ["overdue"]),
        ("due_soon=true", ["due_today", "due_in_3_days"]),
        ("received_from=2026-11-27", ["sxd_today", "sgtvt_midnight"]),
        (
            "received_to=2026-11-26",
            ["stnmt_yesterday", "due_today", "due_in_3_days", "overdue", "closed_overdue"],
        ),
        ("received_from=2026-11-26&received_to=2026-11-26", ["stnmt_yesterday"]),
        ("received_from=2026-11-28", []),
        ("q=tín hiệu", ["sgtvt_midnight"]),
        ("q=led", ["sgtvt_midnight"]),
        ("q=100%25", ["stnmt_yesterday"]),
        ("q=%25", ["stnmt_yesterday"]),
        ("q=_", []),
        ("status=received&unit=SXD&overdue=true", ["overdue"]),
    ],
)
def test_filters(api, listing, query, expected):
    assert codes(api.get(f"/api/v1/cases?{query}", "dieuphoi")) == [listing[n] for n in expected]


def test_overdue_false_and_empty_parameters_do_not_filter(api, listing):
    response = api.get("/api/v1/cases?overdue=false&due_soon=&status=&q=&unit=", "dieuphoi")

    assert response.json["paging"]["total"] == 7


def test_filter_by_code_ignores_case_and_respects_visibility(api, listing):
    code = listing["sgtvt_midnight"]

    assert codes(api.get(f"/api/v1/cases?code={code.lower()}", "dieuphoi")) == [code]
    assert codes(api.get(f"/api/v1/cases?code={code}", "canbo.sxd")) == []


def test_overdue_follows_the_api_clock(api, listing, api_clock):
    item = api.get("/api/v1/cases?code=" + listing["due_today"], "dieuphoi").json["items"][0]
    assert item["overdue"] is False

    # 00:00 on 28/11 in Hà Nội.
    api_clock.now = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    item = api.get("/api/v1/cases?code=" + listing["due_today"], "dieuphoi").json["items"][0]

    assert item["overdue"] is True
    overdue = codes(api.get("/api/v1/cases?overdue=true", "dieuphoi"))
    assert overdue == [listing["due_today"], listing["overdue"]]


def test_a_case_awaiting_the_citizen_is_not_overdue(api, world, listing):
    # The clock stops while the agency waits for the citizen (cases.deadlines).
    set_case(world, listing["overdue"], paused_at=NOW)

    item = api.get("/api/v1/cases?code=" + listing["overdue"], "dieuphoi").json["items"][0]

    assert item["overdue"] is False
    assert codes(api.get("/api/v1/cases?overdue=true", "dieuphoi")) == []


def test_paging(api, listing):
    first = api.get("/api/v1/cases?per_page=3", "dieuphoi")
    second = api.get("/api/v1/cases?per_page=3&page=2", "dieuphoi")
    third = api.get("/api/v1/cases?per_page=3&page=3", "dieuphoi")
    beyond = api.get("/api/v1/cases?per_page=3&page=9", "dieuphoi")

    assert [len(r.json["items"]) for r in (first, second, third, beyond)] == [3, 3, 1, 0]
    assert second.json["paging"] == {"page": 2, "per_page": 3, "total": 7}
    assert beyond.json["paging"] == {"page": 9, "per_page": 3, "total": 7}
    every = codes(first) + codes(second) + codes(third)
    assert every == codes(api.get("/api/v1/cases?per_page=100", "dieuphoi"))


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("status=bogus", "status"),
        ("unit=NOPE", "unit"),
        ("field=NOPE", "field"),
        ("overdue=yes", "overdue"),
        ("due_soon=2", "due_soon"),
        ("received_from=27/11/2026", "received_from"),
        ("received_to=2026-02-30", "received_to"),
        ("received_to=20261127", "received_to"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=x", "page"),
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_invalid_parameters_are_422(api, world, query, name):
    error = error_of(api.get(f"/api/v1/cases?{query}", "dieuphoi"), 422, "invalid_parameter")

    assert name in error["message"] and name in error["message_en"]


# --- one case ---------------------------------------------------------------------------------
ATTACHMENTS = [
    {"media_type": "image", "url": "https://photo-stal-1.zdn.vn/x/a.jpg"},
    {"media_type": "file", "url": "https://f1.zdn.vn/x/don.pdf", "name": "don.pdf", "size": 1000},
]


def test_a_case_in_full_for_the_coordinator(api, world):
    code = world.case(**LOCATION, attachments=ATTACHMENTS, hide_identity=True)

    body = api.get(f"/api/v1/cases/{code}", "dieuphoi").json

    assert body["code"] == code and body["status"] == "received"
    assert body["content"] == "Công trình số 5 phố Hàng Bạc lấn chiếm vỉa hè."
    assert body["location"] == {
        "address": "Số 5 Hàng Bạc",
        "latitude": 21.028501,
        "longitude": 105.854203,
    }
    assert body["contact"] == {
        "name": "Nguyễn Văn An",
        "phone": "0912345678",
        "address": "Số 1 Hàng Bạc, Quận Hoàn Kiếm",
        "email": "an.nguyen@example.vn",
        "masked": False,
    }
    assert body["hide_identity"] is True
    assert body["answer_text"] is None and body["merged_into"] is None
    assert [
        (a["media_type"], a["file_name"], a["state"], a["origin"]) for a in body["attachments"]
    ] == [
        ("image", None, "pending", "citizen"),
        ("file", "don.pdf", "pending", "citizen"),
    ]
    assert body["timeline"] == [
        {
            "at": "2026-11-27T03:00:00Z",
            "action": "received",
            "label": "Tiếp nhận phản ánh, kiến nghị",  # as the console's timeline reads
            "actor": "citizen",
            "from_status": None,
            "to_status": "received",
            "note": None,
            "visible_to_citizen": True,
        }
    ]
    assert body["messages"] == []
    assert body["allowed_actions"] == [
        "reject",
        "transfer",
        "handle_own",
        "escalate",
        "merge",
        "comment",
        "mark_urgent",
    ]


def test_a_handler_sees_the_contact_masked(api, world):
    code = world.case(citizen=False)

    body = api.get(f"/api/v1/cases/{code}", "canbo.sxd").json

    assert body["contact"] == {
        "name": "Ng**** V** A*",
        "phone": "09******78",
        "address": "***, Quận Hoàn Kiếm",
        "email": "a***@example.vn",
        "masked": True,
    }
    assert body["location"] == {"address": None, "latitude": None, "longitude": None}
    assert body["allowed_actions"] == ["comment"]


def test_cases_of_other_units_are_404_exactly_like_unknown_codes(api, world):
    code = world.case()
    unknown = api.get(f"/api/v1/cases/{UNKNOWN}", "canbo.gt")
    error_of(unknown, 404, "case_not_found")

    for username in ("canbo.gt", "admin"):
        hidden = api.get(f"/api/v1/cases/{code}", username)
        assert (hidden.status_code, hidden.json) == (unknown.status_code, unknown.json)
        assert codes(api.get("/api/v1/cases", username)) == []
        refused = api.act(code, "comment", username, note="Ý kiến")
        assert (refused.status_code, refused.json) == (unknown.status_code, unknown.json)
    assert api.get(f"/api/v1/cases/{code}", "lanhdao.sxd").status_code == 200


def test_a_leader_of_a_unit_with_subunits_sees_their_cases(api, world):
    from models import Unit

    world.writer.execute(
        Unit.__table__.update().where(Unit.code == "SGTVT").values(include_subunits=True)
    )
    world.writer.execute(
        Unit.__table__.update().where(Unit.code == "Q-HK").values(parent_id=world.unit_id("SGTVT"))
    )
    world.writer.commit()
    code = world.case(unit="P-HB")

    assert codes(api.get("/api/v1/cases", "canbo.gt")) == [code]
    assert api.get(f"/api/v1/cases/{code}", "canbo.gt").status_code == 200


# --- actions ----------------------------------------------------------------------------------
def test_an_action_moves_the_case_and_queues_the_citizens_message(api, world, zalo):
    code = world.case()

    response = api.act(code, "transfer", "dieuphoi", unit_id=world.unit_id("SXD"), note="Đúng")

    assert response.status_code == 200
    body = response.json
    assert body["status"] == "transferred" and body["status_label"] == "Đã chuyển đơn vị xử lý"
    assert body["unit"]["code"] == "SXD"
    last = body["timeline"][-1]
    assert last["action"] == "transfer" and last["label"] == ACTIONS["transfer"].label
    assert (last["from_status"], last["to_status"], last["note"]) == (
        "received",
        "transferred",
        "Đúng",
    )
    assert last["actor"].startswith("staff:") and last["at"] == "2026-11-27T03:00:00Z"
    text = f"{code} đã được chuyển đến Sở Xây dựng để xem xét, xử lý."
    assert zalo.texts() == [text]
    rows = world.reader.scalars(
        select(OutboxMessage).where(OutboxMessage.case_id == world.load(code).id)
    ).all()
    assert [(r.kind, r.state, r.payload["text"]) for r in rows] == [
        (MessageKind.STATUS_UPDATE, OutboxState.SENT, text)
    ]
    assert body["messages"] == [
        {
            "kind": "status_update",
            "state": "sent",
            "channel": "consultation",
            "held_reason": None,
            "queued_at": "2026-11-27T03:00:00Z",
            "sent_at": body["messages"][0]["sent_at"],
            "last_error_code": None,
        }
    ]
    assert body["messages"][0]["sent_at"]
    assert body["allowed_actions"] == [
        "escalate",
        "merge",
        "extend",
        "progress",
        "comment",
        "mark_urgent",
    ]

    # The handler of that unit takes it; an action without inputs needs no body at all.
    accepted = api.post(f"/api/v1/cases/{code}/actions/accept", "canbo.sxd")
    assert accepted.status_code == 200 and accepted.json["status"] == "processing"
    assert zalo.texts()[-1] == f"{code} đang được Sở Xây dựng xử lý."

    asked = api.act(code, "request_info", "canbo.sxd", note="Đề nghị cho biết số nhà chính xác.")
    assert asked.json["status"] == "awaiting_info"
    assert asked.json["messages"][-1]["kind"] == "info_request"
    assert world.load(code).status is S.AWAITING_INFO


def test_without_a_citizen_nothing_is_queued(api, world, zalo):
    code = world.case(citizen=False)

    response = api.act(code, "handle_own", "dieuphoi")

    assert response.json["status"] == "processing" and response.json["messages"] == []
    assert zalo.texts() == []


def test_an_answer_goes_to_the_citizen(api, world, zalo):
    code = world.case()
    api.act(code, "transfer", "dieuphoi", unit_id=world.unit_id("SXD"))
    api.act(code, "accept", "canbo.sxd")
    answer = "Sở Xây dựng đã kiểm tra và yêu cầu tháo dỡ phần công trình lấn chiếm vỉa hè."
    drafted = api.act(code, "draft_answer", "canbo.sxd", answer=answer)
    assert drafted.json["allowed_actions"] == ["draft_answer", "progress", "comment"]
    assert "approve" in api.get(f"/api/v1/cases/{code}", "lanhdao.sxd").json["allowed_actions"]

    approved = api.act(code, "approve", "lanhdao.sxd")

    assert approved.json["status"] == "answered"
    assert approved.json["answer_text"] == answer
    assert approved.json["answered_at"] == "2026-11-27T03:00:00Z"
    assert approved.json["messages"][-1]["kind"] == "answer"
    assert answer in zalo.texts()[-1]


def test_return_to_coordinator_answers_the_case_that_left_the_callers_scope(api, world, zalo):
    code = world.case()
    api.act(code, "transfer", "dieuphoi", unit_id=world.unit_id("SXD"))

    response = api.act(code, "return_to_coordinator", "canbo.sxd", note="Không thuộc thẩm quyền")

    assert response.status_code == 200
    assert response.json["status"] == "received" and response.json["unit"]["code"] == "VP-UBND"
    assert response.json["allowed_actions"] == []
    assert api.get(f"/api/v1/cases/{code}", "canbo.sxd").status_code == 404


def test_merge_names_the_other_case(api, world, zalo):
    first, second = world.case(), world.case()

    response = api.act(second, "merge", "dieuphoi", target_code=first.lower())

    assert response.json["status"] == "merged" and response.json["merged_into"] == first


def test_an_action_locks_the_case_row(app, api, world, zalo):
    code = world.case()
    engine = get_runtime(app).engine
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        """Keep every statement the app sends."""
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert api.act(code, "handle_own", "dieuphoi").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)

    loads = [s for s in statements if s.lstrip().startswith("SELECT") and "pakn_case.code =" in s]
    if engine.dialect.name == "postgresql":
        # Two concurrent actions on one case cannot both pass the state check.
        assert any("FOR UPDATE" in s for s in loads)
    else:
        assert loads  # SQLite serialises writers with BEGIN IMMEDIATE instead


REFUSALS = [
    # (who, action, body, status, code)
    ("canbo.sxd", "transfer", {"unit_id": 2}, 403, "forbidden"),
    ("dieuphoi", "accept", {}, 403, "forbidden"),
    ("lanhdao.sxd", "reject", {"reason": "unclear"}, 403, "forbidden"),
    ("dieuphoi", "publish", {}, 409, "invalid_transition"),
    ("canbo.sxd", "progress", {"note": "Đang kiểm tra hiện trường."}, 409, "invalid_transition"),
    ("dieuphoi", "reject", {}, 422, "missing_reason"),
    ("dieuphoi", "reject", {"reason": "because"}, 422, "missing_reason"),
    ("dieuphoi", "transfer", {"unit_id": 9999}, 422, "missing_unit"),
    ("dieuphoi", "escalate", {"target": "nowhere", "note": "x" * 30}, 422, "missing_target"),
    ("dieuphoi", "escalate", {"target": "city", "note": "ngắn"}, 422, "missing_note"),
    ("dieuphoi", "merge", {"target_code": UNKNOWN}, 422, "missing_target_code"),
    ("dieuphoi", "comment", {}, 422, "missing_note"),
    ("dieuphoi", "reject", {"reasons": "unclear"}, 422, "unknown_field"),
    ("dieuphoi", "accept", {"answer": "x"}, 422, "unknown_field"),
    ("dieuphoi", "transfer", {"unit_id": "2"}, 422, "invalid_field"),
    ("dieuphoi", "transfer", {"unit_id": True}, 422, "invalid_field"),
    ("dieuphoi", "transfer", {"unit_id": 2.5}, 422, "invalid_field"),
    ("dieuphoi", "comment", {"note": 5}, 422, "invalid_field"),
    ("dieuphoi", "comment", {"note": None}, 422, "invalid_field"),
]


@pytest.mark.parametrize(("who", "action", "body", "status", "code"), REFUSALS)
def test_refused_actions_change_nothing(api, world, zalo, who, action, body, status, code):
    case_code = world.case()
    before = counts(world, case_code)

    error = error_of(api.act(case_code, action, who, **body), status, code)

    assert counts(world, case_code) == before
    assert zalo.texts() == []
    if status in (403, 409):
        assert error["message"].startswith(("Tài khoản", "Không thể"))


def test_a_refusal_in_the_middle_of_an_effect_leaves_no_trace(api, world, zalo):
    code = world.case()
    before = counts(world, code)

    # `escalate` records the target before it checks the report's length.
    api.act(code, "escalate", "dieuphoi", target="city", note="Quá ngắn")

    assert counts(world, code) == before
    assert world.load(code).escalated_to is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("{", "not valid JSON"),
        ('{"note": "x"', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
    ],
)
def test_a_malformed_body_is_400(api, world, data, why):
    code = world.case()

    response = api.post(
        f"/api/v1/cases/{code}/actions/comment",
        "dieuphoi",
        data=data,
        content_type="application/json",
    )

    assert why in error_of(response, 400, "malformed_json")["message_en"]


def test_an_unknown_action_is_404_and_get_on_an_action_is_405(api, world):
    code = world.case()

    error_of(api.post(f"/api/v1/cases/{code}/actions/fly", "dieuphoi", {}), 404, "not_found")
    wrong_method = api.get(f"/api/v1/cases/{code}/actions/accept", "dieuphoi")
    error_of(wrong_method, 405, "method_not_allowed")
    assert "POST" in wrong_method.headers["Allow"]


def test_a_body_over_the_size_limit_is_413(make_app, world):
    small = make_app(MAX_CONTENT_LENGTH=1024)
    api_state(small).clock = lambda: NOW
    client = ApiClient(small.test_client(), world.tokens)
    code = world.case()

    response = client.act(code, "comment", "dieuphoi", note="x" * 2000)

    error_of(response, 413, "payload_too_large")


def test_an_unexpected_failure_is_a_json_500(make_app, world, monkeypatch):
    quiet = make_app(TESTING=False)
    client = ApiClient(quiet.test_client(), world.tokens)
    monkeypatch.setattr("handlers.api.units_in_tree_order", lambda units: 1 / 0)

    response = client.get("/api/v1/units", "admin")

    error_of(response, 500, "internal_error")


# --- reference data and routing ---------------------------------------------------------------
def test_units_are_a_flat_tree(api, world):
    items = api.get("/api/v1/units", "canbo.sxd").json["items"]

    assert [(u["code"], u["parent"]) for u in items] == [
        ("VP-UBND", None),
        ("SXD", "VP-UBND"),
        ("STNMT", "VP-UBND"),
        ("SGTVT", "VP-UBND"),
        ("SYT", "VP-UBND"),
        ("SGDDT", "VP-UBND"),
        ("Q-HK", "VP-UBND"),
        ("P-HB", "Q-HK"),
        ("Q-BD", "VP-UBND"),
        ("P-DB", "Q-BD"),
    ]
    assert items[0]["is_coordinator"] is True and items[0]["name"] == "Văn phòng UBND thành phố"
    assert all(u["active"] for u in items)
    assert items[1]["id"] == world.unit_id("SXD")


def test_fields_list_their_default_unit(api, world):
    items = api.get("/api/v1/fields", "admin").json["items"]

    assert items[0] == {
        "id": items[0]["id"],
        "code": "DAT-DAI",
        "name": "Đất đai",
        "default_unit": "STNMT",
        "active": True,
    }
    assert [f["code"] for f in items][-1] == "KHAC"
    assert len(items) == 9


def test_answers_are_utf8_json(api, world):
    response = api.get("/api/v1/fields", "admin")

    assert response.mimetype == "application/json"
    assert "Đất đai" in response.get_data(as_text=True)
    assert json.loads(response.data.decode("utf-8"))["items"]


@pytest.mark.parametrize("path", ["/api/v1", "/api/v1/", "/api/v1/nothing", "/api/v1/cases/x/y"])
def test_unknown_api_addresses_are_json_404(api, world, path):
    error_of(api.get(path, "admin"), 404, "not_found")


def test_a_wrong_method_is_405_with_allow(api, world):
    response = api.request("DELETE", "/api/v1/cases", "admin")

    error_of(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    error_of(api.post("/api/v1/units", "admin", {}), 405, "method_not_allowed")


def test_pages_outside_the_api_keep_their_own_errors(client, world):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.mimetype != "application/json"

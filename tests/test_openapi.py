"""The OpenAPI document matches the API: it is valid, it lists exactly the blueprint's routes, and
every documented answer of every operation is produced by a real request whose body validates
against the documented schema."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from cases import workflow
from cases.workflow import ACTIONS, ANY_HANDLER, Action
from handlers.api import WORKFLOW_MESSAGES_EN, api_state
from handlers.openapi import document
from models import CaseStatus
from tests import api_helpers
from tests.api_helpers import NOW, ApiClient

api = api_helpers.api
api_clock = api_helpers.api_clock
world = api_helpers.world

UNKNOWN = "PAKN.20261127.9999"
FLASK_PARAMETER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def api_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route of the api blueprint, paths written as OpenAPI templates."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "api":
            continue
        path = FLASK_PARAMETER.sub(r"{\1}", rule.rule)
        routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def documented_operations(spec) -> set[tuple[str, str]]:
    """(method, path) of every operation in the document."""
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def documented_answers(spec) -> set[tuple[str, str, int]]:
    """(method, path, status) of every answer the document names (`default` aside)."""
    return {
        (method.upper(), path, int(status))
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
        if status != "default"
    }


def test_the_document_is_valid_openapi():
    spec = document()

    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_it_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == document()


def test_every_route_is_documented_and_every_operation_has_a_route(app):
    routes = api_routes(app)
    operations = documented_operations(document())

    assert routes == operations
    assert ("GET", "/api/v1/cases") in routes
    assert {("POST", f"/api/v1/cases/{{code}}/actions/{name}") for name in ACTIONS} <= routes


def test_every_action_body_is_documented_from_its_inputs():
    spec = document()
    for name, action in ACTIONS.items():
        operation = spec["paths"][f"/api/v1/cases/{{code}}/actions/{name}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["required"] == list(action.needs)
        assert set(action.needs) | {"note"} == set(body["properties"])
        assert body["additionalProperties"] is False


def test_every_workflow_error_code_has_english_and_is_documented():
    source = Path(workflow.__file__).read_text(encoding="utf-8")
    raised = set(re.findall(r'Error\(\s*"([a-z_]+)"', source))
    raised |= {f"missing_{key}" for key in re.findall(r'_require_text\(data, "([a-z_]+)"', source)}
    raised -= {"not_visible"}  # answered as the 404 of an unknown case

    assert raised <= set(WORKFLOW_MESSAGES_EN)
    operation = document()["paths"]["/api/v1/cases/{code}/actions/comment"]["post"]
    schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
    documented = set(schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"])
    assert {code for code in raised if code.startswith("missing_")} <= documented


def test_the_checker_catches_an_answer_that_differs_from_the_document(api, world):
    code = world.case()
    strict = copy.deepcopy(api.spec)
    del strict["components"]["schemas"]["CaseDetail"]["properties"]["overdue"]
    checker = ApiClient(api.client, api.tokens, spec=strict)

    with pytest.raises(AssertionError, match="Additional properties"):
        checker.get(f"/api/v1/cases/{code}", "dieuphoi")


# --- every documented answer, for real --------------------------------------------------------
def staff_lacking_the_role(action: Action) -> str:
    """A staff member who sees SXD's cases but may not take `action`."""
    return "dieuphoi" if "coordinator" not in action.roles else "canbo.sxd"


def staff_with_the_role(action: Action) -> str:
    """A staff member who may take `action` on SXD's cases."""
    if "coordinator" in action.roles:
        return "dieuphoi"
    return "lanhdao.sxd" if "leader" in action.roles else "canbo.sxd"


def exercise_refusals(api: ApiClient, action: Action, cases: dict[CaseStatus, str]):
    """Produce every error answer documented for `action` (`cases`: SXD cases by status)."""
    received = cases[CaseStatus.RECEIVED]
    path = f"/api/v1/cases/{{}}/actions/{action.name}"
    assert api.post(path.format(received)).status_code == 401
    assert api.post(path.format(UNKNOWN), "dieuphoi", {}).status_code == 404
    assert api.post(path.format(received), "dieuphoi", data="{").status_code == 400
    assert api.post(path.format(received), "dieuphoi", {"bogus": 1}).status_code == 422
    if not action.roles >= ANY_HANDLER:
        lacking = staff_lacking_the_role(action)
        assert api.post(path.format(received), lacking, {}).status_code == 403
    if set(CaseStatus) - action.sources:
        case = next(code for status, code in cases.items() if status not in action.sources)
        allowed = staff_with_the_role(action)
        assert api.post(path.format(case), allowed, {}).status_code == 409, action.name


def test_every_documented_answer_is_produced_and_matches_the_document(api, world, make_app, zalo):
    sxd = world.unit_id("SXD")
    ok = 200

    # Reads and their refusals.
    assert api.get("/api/v1/openapi.json").status_code == ok
    for path in ("/api/v1/cases", "/api/v1/units", "/api/v1/fields"):
        assert api.get(path).status_code == 401
        assert api.get(path, "canbo.sxd").status_code == ok
    assert api.get("/api/v1/cases?page=0", "dieuphoi").status_code == 422
    assert api.get(f"/api/v1/cases/{UNKNOWN}").status_code == 401
    assert api.get(f"/api/v1/cases/{UNKNOWN}", "dieuphoi").status_code == 404

    # Every refusal of every action.
    received, processing, rejected = world.case(), world.case(), world.case()
    api.act(processing, "transfer", "dieuphoi", unit_id=sxd)
    api.act(processing, "accept", "canbo.sxd")
    api.act(rejected, "reject", "dieuphoi", reason="unclear")
    cases = {
        CaseStatus.RECEIVED: received,
        CaseStatus.PROCESSING: processing,
        CaseStatus.REJECTED: rejected,
    }
    for action in ACTIONS.values():
        exercise_refusals(api, action, cases)

    # Every action, once at least, with the citizen told along the way.
    case = world.case()
    steps = [
        ("transfer", "dieuphoi", {"unit_id": sxd}),
        ("return_to_coordinator", "canbo.sxd", {"note": "Không thuộc thẩm quyền"}),
        ("transfer", "dieuphoi", {"unit_id": sxd, "note": "Chuyển lại"}),
        ("accept", "canbo.sxd", {}),
        ("extend", "lanhdao.sxd", {"days": 10, "note": "Cần thêm thời gian xác minh."}),
        ("request_info", "canbo.sxd", {"note": "Đề nghị cho biết số nhà chính xác."}),
        ("resume", "canbo.sxd", {}),
        ("progress", "canbo.sxd", {"note": "Đã kiểm tra hiện trường."}),
        ("comment", "lanhdao.sxd", {"note": "Khẩn trương"}),
        ("mark_urgent", "lanhdao.sxd", {"note": "Công trình có nguy cơ đổ sập"}),
        ("unmark_urgent", "dieuphoi", {"note": "Đã chằng chống tạm thời"}),
        ("draft_answer", "canbo.sxd", {"answer": "Dự thảo trả lời đủ hai mươi ký tự."}),
        ("return_answer", "lanhdao.sxd", {"note": "Bổ sung căn cứ"}),
        ("draft_answer", "canbo.sxd", {"answer": "Trả lời: đã yêu cầu tháo dỡ công trình."}),
        ("approve", "lanhdao.sxd", {}),
        ("publish", "dieuphoi", {}),
        ("reopen", "dieuphoi", {"note": "Người dân phản ánh chưa xong"}),
        ("escalate", "dieuphoi", {"target": "city", "note": "Vượt thẩm quyền của Sở, báo cáo."}),
        ("resume", "dieuphoi", {}),
    ]
    for name, who, data in steps:
        response = api.act(case, name, who, **data)
        assert response.status_code == ok, (name, response.json)
    rejected, own, merged = world.case(), world.case(), world.case()
    assert api.act(rejected, "reject", "dieuphoi", reason="unclear").status_code == ok
    assert api.act(own, "handle_own", "dieuphoi").status_code == ok
    assert api.act(merged, "merge", "dieuphoi", target_code=case).status_code == ok
    assert api.get(f"/api/v1/cases/{case}", "lanhdao.sxd").status_code == ok
    assert len(zalo.texts()) >= 12

    # Where coordinators check answers, approval goes through them.
    checking = make_app(ANSWER_CHECK_BY_COORDINATOR=True)
    api_state(checking).clock = lambda: NOW
    second = ApiClient(checking.test_client(), world.tokens, api.spec, api.seen)
    checked = world.case()
    for name, who, data in [
        ("transfer", "dieuphoi", {"unit_id": sxd}),
        ("accept", "canbo.sxd", {}),
        ("draft_answer", "canbo.sxd", {"answer": "Trả lời: đã yêu cầu tháo dỡ công trình."}),
        ("approve_for_check", "lanhdao.sxd", {}),
        ("check_answer", "dieuphoi", {}),
    ]:
        assert second.act(checked, name, who, **data).status_code == ok, name

    missing = documented_answers(api.spec) - api.seen
    assert not missing, sorted(missing)


def test_errors_outside_documented_operations_have_the_error_shape(api, world):
    # ApiClient checks these against the Error schema (the `default` answer, or no operation).
    assert api.request("DELETE", "/api/v1/cases", "admin").status_code == 405
    assert api.get("/api/v1/nowhere", "admin").status_code == 404
    assert api.request("PUT", "/api/v1/openapi.json").status_code == 405

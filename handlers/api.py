"""The staff JSON API under /api/v1: cases (list, detail, workflow actions), units and fields.

Endpoints (each described in the OpenAPI document, `handlers.openapi`):

    GET  /api/v1/cases                          visible cases, filtered and paged
    GET  /api/v1/cases/<code>                   one case in full
    POST /api/v1/cases/<code>/actions/<name>    one route per workflow action (`ACTIONS`)
    GET  /api/v1/units                          the unit tree as a flat list
    GET  /api/v1/fields                         the fields (lĩnh vực)
    GET  /api/v1/openapi.json                   the OpenAPI document (public)

Authentication is `Authorization: Bearer <token>` only (`cases.api_tokens`); the console's
session cookie is never read, so there is no CSRF to guard against. Views follow the house order:
load, check access (`cases.access` decides what is visible; a case the caller may not see is a
404 exactly like an unknown code), act, commit once. Every error, routing errors under /api/v1
included, is `{"error": {"code", "message" (Vietnamese), "message_en"}}` with its status.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.blueprints import BlueprintSetupState
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from cases import deadlines, privacy, workflow
from cases.access import contact_for, visible_cases_filter
from cases.api_tokens import verify_token
from cases.clock import local_date
from cases.queue import (
    DUE_OVERDUE,
    DUE_SOON,
    MAX_QUERY_LENGTH,
    OPEN_FILTER,
    QueueFilters,
    counts_exactly,
    queue_page,
    status_counts,
    total_for,
)
from cases.status import status_label
from cases.timeline import staff_label
from cases.workflow import ACTIONS, Action, WorkflowError
from handlers.runtime import db, dispatch_after_commit, workflow_settings
from models import (
    Case,
    CaseAttachment,
    CaseEvent,
    CaseStatus,
    Field,
    OutboxMessage,
    Staff,
    Unit,
    utcnow,
)

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
# `due_soon=true`: open cases whose answer date is today or within this many calendar days.
STATUS_FILTERS = (OPEN_FILTER, *(status.value for status in CaseStatus))
BOOLEAN_VALUES = {"true": True, "1": True, "false": False, "0": False}
DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
REALM = 'Bearer realm="pakn-api"'

# The inputs an action body may carry (`Action.needs` plus an optional note), and their types.
INPUT_TYPES: dict[str, type] = {
    "note": str,
    "reason": str,
    "unit_id": int,
    "answer": str,
    "target": str,
    "target_code": str,
    "days": int,
}

# English for each stable workflow error code (the Vietnamese comes from `cases.workflow`).
WORKFLOW_MESSAGES_EN: dict[str, str] = {
    "forbidden": "This account may not take this action on this case.",
    "invalid_transition": "This action is not possible in the case's current status.",
    "missing_reason": "Choose a reason (`reason`) for not accepting the case.",
    "missing_unit": "Choose an active unit (`unit_id`) to handle the case.",
    "missing_note": "The note (`note`) is missing or shorter than this action requires.",
    "missing_answer": "The answer text (`answer`) is missing or too short.",
    "missing_target": "Choose the authority (`target`) the case is reported to.",
    "missing_target_code": "Give the code (`target_code`) of another case to merge into.",
    "missing_days": "The number of days (`days`) is missing or out of range.",
    "unknown_action": "This action does not exist.",
}
FALLBACK_MESSAGES_EN = {
    403: "This account may not take this action on this case.",
    409: "This action is not possible in the case's current status.",
    422: "An input of this action is missing or invalid.",
}
HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Yêu cầu không hợp lệ.", "The request is malformed."),
    404: ("not_found", "Không tìm thấy địa chỉ này.", "There is nothing at this address."),
    405: (
        "method_not_allowed",
        "Phương thức không được hỗ trợ tại địa chỉ này.",
        "This method is not allowed at this address.",
    ),
    413: ("payload_too_large", "Dữ liệu gửi lên quá lớn.", "The request body is too large."),
    500: (
        "internal_error",
        "Hệ thống gặp lỗi, vui lòng thử lại sau.",
        "The server failed; please try again later.",
    ),
}


class ApiError(Exception):
    """An error answered as the API's JSON error body with `status`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        message_en: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.status = status
        self.code = code
        self.message = message
        self.message_en = message_en
        self.headers = headers or {}


CASE_NOT_FOUND = ("case_not_found", "Không tìm thấy PAKN.", "There is no such case.")


def case_not_found() -> ApiError:
    """The one answer for a case that does not exist or that the caller may not see."""
    return ApiError(404, *CASE_NOT_FOUND)


@dataclass
class ApiState:
    """Per-app API state: the clock (tests replace it)."""

    clock: Callable[[], datetime] = utcnow


@bp.record_once
def _on_register(state: BlueprintSetupState) -> None:
    state.app.extensions["api"] = ApiState()


def api_state(app: Flask | None = None) -> ApiState:
    """Return the API state of `app` (default: the current app)."""
    return (app or current_app).extensions["api"]


def public(view: Callable) -> Callable:
    """Mark a view as answering without a token."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Return `payload` as UTF-8 JSON (Vietnamese unescaped), never cached."""
    response = Response(
        json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response


def error_response(error: ApiError) -> Response:
    """Return the JSON error body for `error`."""
    body = {"error": {"code": error.code, "message": error.message, "message_en": error.message_en}}
    return json_response(body, error.status, error.headers)


def _http_error(exc: HTTPException) -> ApiError:
    status = exc.code or 500
    code, message, message_en = HTTP_ERRORS.get(
        status, ("http_error", "Yêu cầu không thực hiện được.", exc.name)
    )
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return ApiError(status, code, message, message_en, headers)


def is_api_path(path: str) -> bool:
    """Tell whether `path` lies under the API's prefix."""
    return path == PREFIX or path.startswith(PREFIX + "/")


@bp.before_app_request
def _routing_error() -> Response | None:
    # An unknown address or a wrong method under /api/v1 matches no view, so the blueprint's
    # error handlers never see it; answer it here, before any app-wide HTML error page.
    exc = request.routing_exception
    if isinstance(exc, NotFound | MethodNotAllowed) and is_api_path(request.path):
        return error_response(_http_error(exc))
    return None


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return error_response(error)


@bp.errorhandler(WorkflowError)
def _workflow_error(error: WorkflowError) -> Response:
    if error.code == "not_visible":
        return error_response(case_not_found())
    message_en = WORKFLOW_MESSAGES_EN.get(error.code) or FALLBACK_MESSAGES_EN.get(
        error.status, "The action was refused."
    )
    return error_response(ApiError(error.status, error.code, error.message, message_en))


@bp.errorhandler(HTTPException)
def _http_exception(exc: HTTPException) -> Response:
    return error_response(_http_error(exc))


# --- authentication ---------------------------------------------------------------------------
@bp.before_request
def _authenticate() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "is_public", False):
        return
    scheme, _, raw = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(
            401,
            "missing_token",
            "Thiếu mã truy cập (Authorization: Bearer <token>).",
            "An access token is required (Authorization: Bearer <token>).",
            {"WWW-Authenticate": REALM},
        )
    verified = verify_token(db(), raw.strip(), api_state().clock())
    if verified is None:
        log.warning("API request refused (invalid token): %s %s", request.method, request.path)
        raise ApiError(
            401,
            "invalid_token",
            "Mã truy cập không hợp lệ, đã bị thu hồi hoặc tài khoản đã bị khóa.",
            "The access token is invalid or revoked, or its account is inactive.",
            {"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    g.staff = verified.staff
    g.api_token_touched = verified.touched
    log.info(
        "API %s %s by staff %s (token %s)",
        request.method,
        request.path,
        verified.staff.id,
        verified.token.id,
    )


@bp.after_request
def _commit_token_use(response: Response) -> Response:
    # The token's `last_used_at` moves at most once a minute; a view that commits (an action)
    # has already carried it, any other answer commits it here. Refused actions have undone
    # their own changes (`perform` works in a savepoint); after a server error nothing is kept.
    if g.pop("api_token_touched", False) and response.status_code < 500:
        db().commit()
    return response


def commit() -> None:
    """Commit the request's one transaction (the token's use included)."""
    db().commit()
    g.pop("api_token_touched", None)


# --- query parameters -------------------------------------------------------------------------
def _invalid_parameter(name: str, why: str, why_en: str) -> ApiError:
    return ApiError(
        422,
        "invalid_parameter",
        f"Tham số {name} không hợp lệ: {why}.",
        f"The parameter {name} is invalid: {why_en}.",
    )


def _int_parameter(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        bound = f" đến {maximum}" if maximum else ""
        bound_en = f" to {maximum}" if maximum else ""
        raise _invalid_parameter(
            name, f"cần một số nguyên từ 1{bound}", f"expected an integer from 1{bound_en}"
        )
    return int(raw)


def _bool_parameter(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if not raw:
        return False
    if raw not in BOOLEAN_VALUES:
        raise _invalid_parameter(name, "cần true hoặc false", "expected true or false")
    return BOOLEAN_VALUES[raw]


def _day_parameter(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if not DAY_PATTERN.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise _invalid_parameter(
            name, "cần ngày dạng YYYY-MM-DD", "expected a date as YYYY-MM-DD"
        ) from None


def _code_parameter(session: Session, name: str, model: type[Unit] | type[Field]) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    row_id = session.scalar(select(model.id).where(model.code == raw))
    if row_id is None:
        raise _invalid_parameter(name, f"không có mã {raw}", f"no {name} has the code {raw}")
    return row_id


def queue_filters(session: Session) -> QueueFilters:
    """The queue filters the request's query parameters ask for (422 if one is invalid)."""
    status = request.args.get("status", "").strip()
    if status and status not in STATUS_FILTERS:
        raise _invalid_parameter("status", "trạng thái không tồn tại", "unknown status")
    overdue, due_soon = _bool_parameter("overdue"), _bool_parameter("due_soon")
    if overdue and due_soon:
        raise _invalid_parameter("due_soon", "không dùng cùng overdue", "not with overdue")
    q = request.args.get("q", "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise _invalid_parameter(
            "q", f"tối đa {MAX_QUERY_LENGTH} ký tự", f"at most {MAX_QUERY_LENGTH} characters"
        )
    return QueueFilters(
        status=status,
        unit_id=_code_parameter(session, "unit", Unit),
        field_id=_code_parameter(session, "field", Field),
        due=DUE_OVERDUE if overdue else DUE_SOON if due_soon else "",
        received_from=_day_parameter("received_from"),
        received_to=_day_parameter("received_to"),
        q=q,
        code=request.args.get("code", "").strip(),
        urgent_only=_bool_parameter("urgent"),
    )


# --- serialisation ----------------------------------------------------------------------------
def iso_utc(moment: datetime | None) -> str | None:
    """Format an aware moment as ISO 8601 in UTC ("2026-11-27T03:00:00Z")."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _ref(row: Unit | Field) -> dict[str, str]:
    return {"code": row.code, "name": row.name}


def case_summary(case: Case, today: date) -> dict[str, Any]:
    """Return the fields of a case that lists show."""
    return {
        "code": case.code,
        "title": case.title,
        "kind": case.kind.value,
        "status": case.status.value,
        "status_label": status_label(case.status),
        "field": _ref(case.field),
        "unit": _ref(case.unit),
        "received_at": iso_utc(case.received_at),
        "answer_due_on": case.answer_due_on.isoformat(),
        "overdue": deadlines.is_overdue(case, today),
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _coordinate(value: Any) -> float | None:
    return float(value) if value is not None else None


def case_detail(session: Session, staff: Staff, case: Case, today: date) -> dict[str, Any]:
    """Return a case in full, as `staff` may see it (contact data masked unless allowed)."""
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    )
    attachments = session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.id)
    )
    messages = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case.id)
        .order_by(OutboxMessage.queued_at, OutboxMessage.id)
    )
    merged_into = session.get(Case, case.merged_into_id) if case.merged_into_id else None
    shown = privacy.staff_reader(staff, case)
    return {
        **case_summary(case, today),
        "content": shown(case.content),
        "channel": case.channel,
        "location": {
            "address": shown(case.location_address) or None,
            "latitude": _coordinate(case.latitude),
            "longitude": _coordinate(case.longitude),
        },
        "contact": asdict(contact_for(staff, case)),
        "hide_identity": case.hide_identity,
        "answer_text": case.answer_text,
        "answered_at": iso_utc(case.answered_at),
        "published_at": iso_utc(case.published_at),
        "updated_at": iso_utc(case.updated_at),
        "reject_reason": case.reject_reason,
        "escalated_to": case.escalated_to,
        "merged_into": merged_into.code if merged_into else None,
        "deadlines": {
            "urgent": case.urgent,
            "classify_due_on": _day(case.classify_due_on),
            "urgent_due_at": iso_utc(case.urgent_due_at),
            "publish_due_on": _day(case.publish_due_on),
            "paused_since": iso_utc(case.paused_at),
            "paused_days": case.paused_days,
            "extended_days": case.extended_days,
        },
        "attachments": [
            {
                "id": item.id,
                "media_type": item.media_type,
                "origin": item.origin,
                "file_name": item.file_name,
                "state": item.state.value,
            }
            for item in attachments
        ],
        "timeline": [
            {
                "at": iso_utc(event.at),
                "action": event.action,
                "label": staff_label(event.action),
                "actor": event.actor,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "note": shown(event.note) or None,
                "visible_to_citizen": event.visible_to_citizen,
            }
            for event in events
        ],
        "messages": [
            {
                "kind": row.kind.value,
                "state": row.state.value,
                "channel": row.channel,
                "held_reason": row.held_reason.value if row.held_reason else None,
                "queued_at": iso_utc(row.queued_at),
                "sent_at": iso_utc(row.sent_at),
                "last_error_code": row.last_error_code,
            }
            for row in messages
        ],
        "allowed_actions": [
            action.name
            for action in workflow.allowed_actions(session, staff, case, workflow_settings())
        ],
    }


def _today() -> date:
    return local_date(api_state().clock())


def _visible_case_query(code: str) -> Select:
    return select(Case).where(Case.code == code, visible_cases_filter(g.staff, db()))


# --- cases ------------------------------------------------------------------------------------
@bp.get("/cases")
def list_cases() -> Response:
    """List the cases the caller may see, newest first, filtered like the console queue."""
    session = db()
    today = _today()
    page = _int_parameter("page", 1)
    per_page = _int_parameter("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    filters = queue_filters(session)
    # A free-text search is not counted (it would read every case): `total` is null.
    total = (
        total_for(filters.status, status_counts(session, g.staff, filters, today))
        if counts_exactly(filters)
        else None
    )
    cases = queue_page(session, g.staff, filters, today, per_page, (page - 1) * per_page)
    return json_response(
        {
            "items": [case_summary(case, today) for case in cases],
            "paging": {"page": page, "per_page": per_page, "total": total},
        }
    )


@bp.get("/cases/<code>")
def get_case(code: str) -> Response:
    """Show one case in full (404 whether it does not exist or is not the caller's to see)."""
    session = db()
    case = session.scalars(_visible_case_query(code)).first()
    if case is None:
        raise case_not_found()
    if privacy.record_contact_view(session, g.staff, case, "api_case", api_state().clock()):
        commit()
    return json_response(case_detail(session, g.staff, case, _today()))


def action_inputs(action: Action) -> tuple[str, ...]:
    """The body fields `action` accepts: what it needs, and an optional note."""
    return tuple(dict.fromkeys((*action.needs, "note")))


def _request_object() -> dict[str, Any]:
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400,
            "malformed_json",
            "Nội dung gửi lên không phải JSON hợp lệ.",
            "The request body is not valid JSON.",
        ) from None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "malformed_json",
            "Nội dung gửi lên phải là một đối tượng JSON.",
            "The request body must be a JSON object.",
        )
    return body


def _action_data(action: Action) -> dict[str, Any]:
    body = _request_object()
    accepted = action_inputs(action)
    for key, value in body.items():
        if key not in accepted:
            raise ApiError(
                422,
                "unknown_field",
                f"Trường {key} không dùng cho thao tác này (chỉ nhận: {', '.join(accepted)}).",
                f"The field {key} is not an input of this action (inputs: {', '.join(accepted)}).",
            )
        expected = INPUT_TYPES[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            kind, kind_en = (
                ("số nguyên", "an integer") if expected is int else ("chuỗi", "a string")
            )
            raise ApiError(
                422,
                "invalid_field",
                f"Trường {key} phải là {kind}.",
                f"The field {key} must be {kind_en}.",
            )
    return body


def perform_action(code: str, name: str) -> Response:
    """Take workflow action `name` on a case; answer the case as it now stands."""
    action = ACTIONS[name]
    data = _action_data(action)
    session = db()
    # Lock the row (PostgreSQL) so two concurrent actions cannot both pass the state check.
    case = session.scalars(_visible_case_query(code).with_for_update(of=Case)).first()
    if case is None:
        raise case_not_found()
    now = api_state().clock()
    event = workflow.perform(session, case, g.staff, name, data, now, workflow_settings())
    privacy.record_contact_view(session, g.staff, case, "api_case", now)  # the answer shows it
    commit()
    log.info(
        "API action %s on %s by staff %s: %s -> %s",
        name,
        case.code,
        g.staff.id,
        event.from_status,
        event.to_status,
    )
    if case.citizen_id is not None:
        dispatch_after_commit({case.citizen_id})
    return json_response(case_detail(session, g.staff, case, local_date(now)))


for _name in ACTIONS:
    bp.add_url_rule(
        f"/cases/<code>/actions/{_name}",
        endpoint=f"action_{_name}",
        view_func=functools.partial(perform_action, name=_name),
        methods=["POST"],
    )


# --- reference data ---------------------------------------------------------------------------
def units_in_tree_order(units: list[Unit]) -> list[Unit]:
    """Order units depth-first from the roots, siblings by their sort order and name."""
    children: dict[int | None, list[Unit]] = {}
    known = {unit.id for unit in units}
    for unit in sorted(units, key=lambda u: (u.sort_order, u.name, u.id)):
        parent = unit.parent_id if unit.parent_id in known else None
        children.setdefault(parent, []).append(unit)
    ordered: list[Unit] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        unit = stack.pop()
        ordered.append(unit)
        stack.extend(reversed(children.get(unit.id, [])))
    return ordered


@bp.get("/units")
def list_units() -> Response:
    """List every unit in tree order, each with its parent's code (ids are `unit_id` inputs)."""
    units = list(db().scalars(select(Unit)))
    codes = {unit.id: unit.code for unit in units}
    return json_response(
        {
            "items": [
                {
                    "id": unit.id,
                    "code": unit.code,
                    "name": unit.name,
                    "parent": codes.get(unit.parent_id) if unit.parent_id else None,
                    "is_coordinator": unit.is_coordinator,
                    "active": unit.active,
                }
                for unit in units_in_tree_order(units)
            ]
        }
    )


@bp.get("/fields")
def list_fields() -> Response:
    """List every field (lĩnh vực) with the code of the unit that receives it by default."""
    fields = db().scalars(
        select(Field).options(joinedload(Field.default_unit)).order_by(Field.sort_order, Field.name)
    )
    return json_response(
        {
            "items": [
                {
                    "id": field.id,
                    "code": field.code,
                    "name": field.name,
                    "default_unit": field.default_unit.code if field.default_unit else None,
                    "active": field.active,
                }
                for field in fields
            ]
        }
    )


@bp.get("/openapi.json")
@public
def openapi_document() -> Response:
    """Serve the OpenAPI document of this API."""
    from handlers.openapi import document

    return json_response(document())

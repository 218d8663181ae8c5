"""The OpenAPI 3.1 document of the staff JSON API (`handlers.api`), served at /api/v1/openapi.json.

It is built from the code it describes: statuses, kinds and message states come from `models`,
the action paths, their request bodies, reject reasons and escalation targets from
`cases.workflow`, error codes and limits from `handlers.api`. Response schemas are closed
(`additionalProperties: false`, every property required), so the tests that check each real
response against them also catch an undocumented field.
"""

from __future__ import annotations

from typing import Any

from cases.queue import DUE_SOON_DAYS, MAX_QUERY_LENGTH
from cases.workflow import ACTIONS, ANY_HANDLER, ESCALATION_TARGETS, REJECT_REASONS, Action
from handlers.api import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    PREFIX,
    STATUS_FILTERS,
    WORKFLOW_MESSAGES_EN,
    action_inputs,
)
from models import AttachmentState, CaseKind, CaseStatus, HoldReason, MessageKind, OutboxState

VERSION = "1.0.0"
SCHEMAS = "#/components/schemas/"
WORKFLOW_INPUT_CODES = sorted(code for code in WORKFLOW_MESSAGES_EN if code.startswith("missing_"))


def ref(name: str) -> dict[str, str]:
    """Return a reference to the component schema `name`."""
    return {"$ref": SCHEMAS + name}


def closed(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    """Return an object schema where every property is required and no other is allowed."""
    schema: dict[str, Any] = {
        "type": "object",
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
    }
    if description:
        schema["description"] = description
    return schema


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Return `schema` also accepting null."""
    result = dict(schema)
    result["type"] = [schema["type"], "null"]
    if "enum" in schema:
        result["enum"] = [*schema["enum"], None]
    return result


def values(enum_cls: Any) -> list[str]:
    """Return the stored values of a state enum."""
    return [member.value for member in enum_cls]


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}
DATE_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC."}
DATE = {"type": "string", "format": "date"}


def _schemas() -> dict[str, Any]:
    summary = {
        "code": {"type": "string", "examples": ["PAKN.20261127.0001"]},
        "title": STRING,
        "kind": {
            "type": "string",
            "enum": values(CaseKind),
            "description": "feedback = phản ánh, petition = kiến nghị.",
        },
        "status": {"type": "string", "enum": values(CaseStatus)},
        "status_label": {"type": "string", "description": "The status in Vietnamese."},
        "field": ref("Ref"),
        "unit": ref("Ref"),
        "received_at": DATE_TIME,
        "answer_due_on": {**DATE, "description": "The expected answer date (local date)."},
        "overdue": {
            "type": "boolean",
            "description": "Open, past its answer date, clock running (not awaiting the citizen).",
        },
    }
    detail = {
        **summary,
        "content": STRING,
        "channel": {"type": "string", "description": "How the case arrived: zalo, phone, ..."},
        "location": ref("Location"),
        "contact": ref("Contact"),
        "hide_identity": {
            "type": "boolean",
            "description": "The citizen asked to hide their identity in public.",
        },
        "answer_text": nullable(STRING),
        "answered_at": nullable(DATE_TIME),
        "published_at": nullable(DATE_TIME),
        "updated_at": DATE_TIME,
        "reject_reason": nullable({"type": "string", "enum": sorted(REJECT_REASONS)}),
        "escalated_to": nullable(STRING),
        "merged_into": nullable({"type": "string", "description": "The code of the other case."}),
        "deadlines": ref("Deadlines"),
        "attachments": {"type": "array", "items": ref("Attachment")},
        "timeline": {"type": "array", "items": ref("TimelineEntry")},
        "messages": {"type": "array", "items": ref("Message")},
        "allowed_actions": {
            "type": "array",
            "items": {"type": "string", "enum": list(ACTIONS)},
            "description": "The actions the caller may take now (POST .../actions/<name>).",
        },
    }
    status_or_null = nullable({"type": "string", "enum": values(CaseStatus)})
    return {
        "Deadlines": closed(
            {
                "urgent": BOOLEAN,
                "classify_due_on": nullable({**DATE, "description": "Classify or transfer by."}),
                "urgent_due_at": nullable(DATE_TIME),
                "publish_due_on": nullable({**DATE, "description": "Publish the result by."}),
                "paused_since": nullable(
                    {**DATE_TIME, "description": "Clock stopped: awaiting the citizen."}
                ),
                "paused_days": {**INTEGER, "description": "Days added by pauses so far."},
                "extended_days": {**INTEGER, "description": "Days added by extensions."},
            }
        ),
        "Error": closed(
            {
                "error": closed(
                    {
                        "code": {"type": "string", "description": "Stable; for programs."},
                        "message": {"type": "string", "description": "For people, in Vietnamese."},
                        "message_en": {"type": "string", "description": "The same, in English."},
                    }
                )
            },
            "Every error answer has this shape.",
        ),
        "Ref": closed({"code": STRING, "name": STRING}),
        "Paging": closed(
            {
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                "total": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "description": "Cases matching the filters, all pages. null for a search "
                    "by words (`q` other than a whole case code): such a search is not counted; "
                    "the last page is the first with fewer than `per_page` items.",
                },
            }
        ),
        "CaseSummary": closed(summary),
        "CaseList": closed(
            {
                "items": {"type": "array", "items": ref("CaseSummary")},
                "paging": ref("Paging"),
            }
        ),
        "Location": closed(
            {
                "address": nullable(STRING),
                "latitude": nullable({"type": "number"}),
                "longitude": nullable({"type": "number"}),
            }
        ),
        "Contact": closed(
            {
                "name": STRING,
                "phone": STRING,
                "address": STRING,
                "email": STRING,
                "masked": {"type": "boolean", "description": "True when the values are masked."},
            },
            "The sender's contact data, in clear for coordinators, masked for other roles.",
        ),
        "Attachment": closed(
            {
                "id": INTEGER,
                "media_type": {"type": "string", "description": "image or file."},
                "origin": {
                    "type": "string",
                    "description": "citizen, or answer (attached by staff).",
                },
                "file_name": nullable(STRING),
                "state": {"type": "string", "enum": values(AttachmentState)},
            }
        ),
        "TimelineEntry": closed(
            {
                "at": DATE_TIME,
                "action": {
                    "type": "string",
                    "description": "A workflow action, or received, citizen_info, ...",
                },
                "label": {"type": "string", "description": "The entry in Vietnamese."},
                "actor": {"type": "string", "description": "citizen, system or staff:<id>."},
                "from_status": status_or_null,
                "to_status": status_or_null,
                "note": nullable(STRING),
                "visible_to_citizen": BOOLEAN,
            }
        ),
        "Message": closed(
            {
                "kind": {"type": "string", "enum": values(MessageKind)},
                "state": {"type": "string", "enum": values(OutboxState)},
                "channel": nullable(STRING),
                "held_reason": nullable({"type": "string", "enum": values(HoldReason)}),
                "queued_at": DATE_TIME,
                "sent_at": nullable(DATE_TIME),
                "last_error_code": nullable(INTEGER),
            },
            "A message to the citizen about this case (the outbox ledger).",
        ),
        "CaseDetail": closed(detail),
        "Unit": closed(
            {
                "id": {"type": "integer", "description": "The `unit_id` input of transfer."},
                "code": STRING,
                "name": STRING,
                "parent": nullable({"type": "string", "description": "The parent unit's code."}),
                "is_coordinator": BOOLEAN,
                "active": BOOLEAN,
            }
        ),
        "UnitList": closed(
            {"items": {"type": "array", "items": ref("Unit")}},
            "Units depth-first from the root, siblings in their sort order.",
        ),
        "Field": closed(
            {
                "id": INTEGER,
                "code": STRING,
                "name": STRING,
                "default_unit": nullable(STRING),
                "active": BOOLEAN,
            }
        ),
        "FieldList": closed({"items": {"type": "array", "items": ref("Field")}}),
    }


def error_response(description: str, codes: list[str]) -> dict[str, Any]:
    """Return a response object for an error whose `code` is one of `codes`."""
    narrowed = {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}
    return {
        "description": f"{description} Codes: {', '.join(codes)}.",
        "content": {"application/json": {"schema": {"allOf": [ref("Error"), narrowed]}}},
    }


def ok(description: str, schema_name: str) -> dict[str, Any]:
    """Return a 200 response object with the component schema `schema_name`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": ref(schema_name)}},
    }


UNAUTHORIZED = {
    **error_response(
        "No token, or an invalid or revoked one, or an inactive account.",
        ["missing_token", "invalid_token"],
    ),
    "headers": {"WWW-Authenticate": {"schema": STRING, "description": "Bearer (RFC 6750)."}},
}
CASE_NOT_FOUND = error_response(
    "No such case, or one the caller may not see (the same answer).", ["case_not_found"]
)
DEFAULT = {
    "description": "Any other error (405 method not allowed, 413, 500).",
    "content": {"application/json": {"schema": ref("Error")}},
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


CASE_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": STRING,
    "description": "The case code, e.g. PAKN.20261127.0001.",
}
LIST_PARAMETERS = [
    _query(
        "status",
        {"type": "string", "enum": list(STATUS_FILTERS)},
        "A status, or `open` for every status not closed.",
    ),
    _query("unit", STRING, "A unit code (GET /units): the cases assigned to that unit."),
    _query("field", STRING, "A field code (GET /fields)."),
    _query("overdue", BOOLEAN, "true: only overdue cases (see CaseSummary.overdue)."),
    _query(
        "due_soon",
        BOOLEAN,
        f"true: only open cases, clock not paused, due today or within {DUE_SOON_DAYS} days.",
    ),
    _query(
        "urgent",
        BOOLEAN,
        "true: only cases marked urgent (deadlines.urgent), in any status; add status=open "
        "for those still open.",
    ),
    _query("received_from", DATE, "Received on or after this day (Asia/Ho_Chi_Minh)."),
    _query("received_to", DATE, "Received on or before this day (Asia/Ho_Chi_Minh)."),
    _query("code", STRING, "Exactly this case code."),
    _query(
        "q",
        {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        "Words in the code, title or content (case-insensitive). Not counted: "
        "`paging.total` is null, unless `q` is a whole case code.",
    ),
    _query("page", {"type": "integer", "minimum": 1, "default": 1}, "The page, from 1."),
    _query(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
        "Cases per page.",
    ),
]

INPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    "note": {
        "type": "string",
        "description": "A note; required by some actions (a minimum "
        "length applies: the reason, the question to the citizen, the report...).",
    },
    "reason": {
        "type": "string",
        "enum": list(REJECT_REASONS),
        "description": "; ".join(f"{k}: {v}" for k, v in REJECT_REASONS.items()),
    },
    "unit_id": {"type": "integer", "description": "The id of an active unit (GET /units)."},
    "answer": {"type": "string", "minLength": 20, "description": "The answer to the citizen."},
    "target": {
        "type": "string",
        "enum": list(ESCALATION_TARGETS),
        "description": "; ".join(f"{k}: {v}" for k, v in ESCALATION_TARGETS.items()),
    },
    "target_code": {"type": "string", "description": "The code of the case to merge into."},
    "days": {"type": "integer", "description": "How many days the answer date moves."},
}


def _action_operation(action: Action) -> dict[str, Any]:
    sources = ", ".join(sorted(status.value for status in action.sources))
    target = action.target.value if action.target else "unchanged"
    scope = " (own unit)" if action.own_unit else ""
    body = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: INPUT_SCHEMAS[name] for name in action_inputs(action)},
        "required": list(action.needs),
    }
    responses: dict[str, Any] = {
        "200": ok("The case after the action.", "CaseDetail"),
        "400": error_response("The body is not a JSON object.", ["malformed_json"]),
        "401": UNAUTHORIZED,
        "404": CASE_NOT_FOUND,
        "422": error_response(
            "An input is missing, unknown or invalid.",
            ["unknown_field", "invalid_field", *WORKFLOW_INPUT_CODES],
        ),
        "default": DEFAULT,
    }
    # Only where some staff member who sees the case lacks the role (those who see it work on it).
    if not action.roles >= ANY_HANDLER:
        responses["403"] = error_response(
            "The caller's role does not allow this action.", ["forbidden"]
        )
    # Only where some status is not a starting point of the action.
    if set(CaseStatus) - action.sources:
        responses["409"] = error_response(
            "Not possible in the case's current status.", ["invalid_transition"]
        )
    return {
        "operationId": f"action_{action.name}",
        "tags": ["actions"],
        "summary": action.label,
        "description": (
            f"From: {sources}. To: {target}. Roles: {', '.join(sorted(action.roles))}{scope}. "
            "Answers the case as it stands after the action (even when it has left the "
            "caller's scope, as after return_to_coordinator). The citizen's messages are "
            "queued in the same transaction and sent right after it."
        ),
        "parameters": [CASE_CODE],
        "requestBody": {
            "required": bool(action.needs),
            "content": {"application/json": {"schema": body}},
        },
        "responses": dict(sorted(responses.items())),
    }


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"{PREFIX}/cases": {
            "get": {
                "operationId": "list_cases",
                "tags": ["cases"],
                "summary": "List the cases the caller may see, newest first.",
                "parameters": LIST_PARAMETERS,
                "responses": {
                    "200": ok("One page of cases.", "CaseList"),
                    "401": UNAUTHORIZED,
                    "422": error_response("A query parameter is invalid.", ["invalid_parameter"]),
                    "default": DEFAULT,
                },
            }
        },
        f"{PREFIX}/cases/{{code}}": {
            "get": {
                "operationId": "get_case",
                "tags": ["cases"],
                "summary": "One case in full: contact (masked unless allowed), timeline, messages.",
                "parameters": [CASE_CODE],
                "responses": {
                    "200": ok("The case.", "CaseDetail"),
                    "401": UNAUTHORIZED,
                    "404": CASE_NOT_FOUND,
                    "default": DEFAULT,
                },
            }
        },
    }
    for action in ACTIONS.values():
        paths[f"{PREFIX}/cases/{{code}}/actions/{action.name}"] = {
            "post": _action_operation(action)
        }
    paths[f"{PREFIX}/units"] = {
        "get": {
            "operationId": "list_units",
            "tags": ["reference"],
            "summary": "Every unit, as a flat list in tree order with the parent's code.",
            "responses": {
                "200": ok("The units.", "UnitList"),
                "401": UNAUTHORIZED,
                "default": DEFAULT,
            },
        }
    }
    paths[f"{PREFIX}/fields"] = {
        "get": {
            "operationId": "list_fields",
            "tags": ["reference"],
            "summary": "Every field (lĩnh vực).",
            "responses": {
                "200": ok("The fields.", "FieldList"),
                "401": UNAUTHORIZED,
                "default": DEFAULT,
            },
        }
    }
    paths[f"{PREFIX}/openapi.json"] = {
        "get": {
            "operationId": "openapi_document",
            "tags": ["reference"],
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    return paths


def document() -> dict[str, Any]:
    """Return the OpenAPI document of the staff API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PAKN Bot staff API",
            "version": VERSION,
            "description": (
                "The staff JSON API of PAKN Bot (phản ánh, kiến nghị). Every request but this "
                "document's carries `Authorization: Bearer <token>` (a token per staff account, "
                "created with `flask --app app api-token create`). A case the caller may not "
                "see is answered 404, exactly like an unknown code. Times are ISO 8601 in UTC; "
                "days (answer dates, received_from/received_to) are Asia/Ho_Chi_Minh dates."
            ),
        },
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "cases", "description": "Cases the caller may see."},
            {"name": "actions", "description": "Workflow actions, one path each."},
            {"name": "reference", "description": "Units, fields and this document."},
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }

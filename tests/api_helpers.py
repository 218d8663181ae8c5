"""Helpers for the staff API tests: a demo world with cases and tokens, a fixed API clock, and a
client that checks every answer against the OpenAPI document.

`ApiClient` finds the documented operation of each request (method and path template), picks the
response documented for the status (or `default`), and validates the JSON body against its schema
(JSON Schema 2020-12, formats checked). It records every (method, path template, status) it saw,
so a test can tell which documented answers were exercised.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from cases.api_tokens import create_token
from cases.demo import seed_demo
from cases.intake import Submission, submit_case
from cases.staff import create_staff
from handlers.api import api_state
from handlers.openapi import document
from handlers.runtime import get_runtime
from models import Case, CaseKind, Citizen, Conversation, Field, Unit

# 10:00 in Hà Nội on a Friday.
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
USER = "2468458835291979220"
USERNAMES = ("admin", "dieuphoi", "canbo.sxd", "lanhdao.sxd", "canbo.gt")


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


@dataclass
class ApiClient:
    """A test client for /api/v1 that validates every answer against the OpenAPI document."""

    client: Any
    tokens: dict[str, str]
    spec: dict[str, Any] = field(default_factory=document)
    seen: set[tuple[str, str, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.routes = [(_template_pattern(path), path) for path in self.spec["paths"]]

    def request(self, method: str, path: str, as_user: str | None = None, **kwargs: Any):
        """Send a request (with the bearer token of `as_user`, if given) and check the answer."""
        headers = dict(kwargs.pop("headers", {}))
        if as_user is not None:
            headers["Authorization"] = f"Bearer {self.tokens[as_user]}"
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        self.check(method, path.split("?", 1)[0], response)
        return response

    def get(self, path: str, as_user: str | None = None, **kwargs: Any):
        """GET `path` as `as_user`."""
        return self.request("GET", path, as_user, **kwargs)

    def post(self, path: str, as_user: str | None = None, body: Any = None, **kwargs: Any):
        """POST `body` (JSON) to `path` as `as_user`."""
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return self.request("POST", path, as_user, **kwargs)

    def act(self, code: str, action: str, as_user: str, **data: Any):
        """Take a workflow action through the API."""
        return self.post(f"/api/v1/cases/{code}/actions/{action}", as_user, data)

    def check(self, method: str, path: str, response) -> None:
        """Validate `response` against the documented answer of its operation and status."""
        assert response.mimetype == "application/json", response.data[:200]
        body = json.loads(response.get_data(as_text=True))
        schema = self.schema_for(method, path, response.status_code)
        validator = Draft202012Validator(
            {**schema, "components": self.spec["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, f"{method} {path} {response.status_code}: {errors[0]}"

    def schema_for(self, method: str, path: str, status: int) -> dict[str, Any]:
        """The documented schema for an answer (an undocumented path: the Error schema)."""
        template = next((t for pattern, t in self.routes if pattern.match(path)), None)
        operation = self.spec["paths"].get(template, {}).get(method.lower())
        if operation is None:
            self.seen.add((method, path, status))
            return {"$ref": "#/components/schemas/Error"}
        self.seen.add((method, template, status))
        responses = operation["responses"]
        documented = responses.get(str(status)) or responses.get("default")
        assert documented, f"{method} {template} answered {status}, which is not documented"
        return documented["content"]["application/json"]["schema"]


@dataclass
class World:
    """The demo organisation, a citizen, tokens per account, and a case factory.

    `writer` is a regular session that commits after every use (on SQLite an open transaction
    would hold the write lock the app needs); `reader` is an autocommit session for checks.
    """

    app: Any
    writer: Any
    reader: Any
    citizen_id: int
    tokens: dict[str, str]

    def unit_id(self, code: str) -> int:
        """Return the id of the unit `code`."""
        return self.reader.scalars(select(Unit.id).where(Unit.code == code)).one()

    def case(
        self,
        field_code: str = "XAY-DUNG",
        unit: str | None = None,
        now: datetime = NOW,
        citizen: bool = True,
        **values: Any,
    ) -> str:
        """Register a case through intake (as the bot does) and commit; return its code."""
        session = self.writer
        field_row = self.reader.scalars(select(Field).where(Field.code == field_code)).one()
        submission = Submission(
            kind=values.pop("kind", CaseKind.FEEDBACK),
            field_id=field_row.id,
            unit_id=self.unit_id(unit) if unit else field_row.default_unit_id,
            title=values.pop("title", "Công trình lấn chiếm vỉa hè"),
            content=values.pop("content", "Công trình số 5 phố Hàng Bạc lấn chiếm vỉa hè."),
            contact_name="Nguyễn Văn An",
            contact_phone="0912345678",
            contact_address="Số 1 Hàng Bạc, Quận Hoàn Kiếm",
            contact_email="an.nguyen@example.vn",
            **values,
        )
        case = submit_case(session, submission, self.citizen_id if citizen else None, now, 20)
        session.commit()
        return case.code

    def load(self, code: str) -> Case:
        """Return the case `code` as it is in the database now."""
        self.reader.expire_all()
        return self.reader.scalars(select(Case).where(Case.code == code)).one()


@pytest.fixture
def api_clock(app) -> FakeClock:
    """Fix the API's clock at NOW."""
    clock = FakeClock(NOW)
    api_state(app).clock = clock
    return clock


@pytest.fixture
def world(app, session, api_clock) -> World:
    """Demo units, fields and accounts, a handler in another unit, a citizen, one token each."""
    writer = get_runtime(app).sessions()
    seed_demo(writer)
    create_staff(writer, "canbo.gt", "Cán bộ Giao thông", "SGTVT", ["handler"], "mat-khau-dai-1")
    # Recent, so that the dispatcher may send consultation messages right away.
    now = datetime.now(UTC)
    citizen = Citizen(zalo_user_id=USER, last_interaction_at=now)
    writer.add(citizen)
    writer.flush()
    writer.add(Conversation(citizen_id=citizen.id, state="idle", draft={}, updated_at=now))
    tokens = {name: create_token(writer, name, "tests", NOW)[1] for name in USERNAMES}
    writer.commit()
    yield World(app=app, writer=writer, reader=session, citizen_id=citizen.id, tokens=tokens)
    writer.close()


@pytest.fixture
def api(client, world) -> ApiClient:
    """The validating API client, with a token for every demo account."""
    return ApiClient(client, world.tokens)


LOCATION = {
    "location_address": "Số 5 Hàng Bạc",
    "latitude": Decimal("21.028501"),
    "longitude": Decimal("105.854203"),
}

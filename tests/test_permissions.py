"""The permission matrix: every staff endpoint × every actor × own/other unit, from one table.

The table is `tests/permission_table.py`; each of its cells is one test here. A cell puts a fresh
case (of the actor's own unit, or of another one) in the row's starting state, makes any row it
needs (a unit, an account, a field, a template, a stored file), calls the endpoint as the actor
(console: the actor's session cookie and CSRF token; API: the actor's bearer token) and checks:
- the status (and for a redirect, whether it goes to the login page or where the row says; an
  API answer must also be one the OpenAPI document describes, body included);
- what the row `changes` changed exactly when the call succeeded, and not at all when refused;
- a 200 answer that `shows` the case shows it exactly to those who may see it, and shows the
  sender's contact data in clear to coordinators only; no other answer ever carries it in clear.
`test_every_endpoint_has_a_row` fails when an /admin or /api/v1 route has no row.

To stay fast, the cells share one app and database per module (built once, with cheap password
hashing, each actor logged in once); every cell works on rows of its own, so the cells do not
depend on each other or on their order. On PostgreSQL the tables are emptied at the end.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from cases.api_tokens import create_token
from cases.deadlines import Calendar
from cases.demo import seed_demo
from cases.staff import create_staff
from cases.workflow import ACTIONS
from handlers.runtime import get_runtime
from models import (
    AttachmentState,
    Base,
    CalendarException,
    Case,
    CaseAttachment,
    CaseEvent,
    CaseKind,
    CaseStatus,
    DeadlinePolicy,
    Faq,
    Field,
    ResponseTemplate,
    Staff,
    Unit,
    ZaloToken,
)
from models.db import make_autocommit_session_factory
from tests.api_helpers import ApiClient
from tests.conftest import _truncate, base_config
from tests.permission_table import (
    ACTION_SPECS,
    ACTOR_NAMES,
    ACTORS,
    API_ROWS,
    CONSOLE_ROWS,
    EXTRA_ACCOUNTS,
    INCLUDE_SUBUNITS,
    LOGIN,
    NOT_STAFF_ENDPOINTS,
    OTHER,
    OWN,
    REFUSED,
    ROWS,
    STAFF_ACTORS,
    Actor,
    Cell,
    Row,
    cells,
)

CHEAP_HASH = "pbkdf2:sha256:1000"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
PLACEHOLDER = re.compile(r"\{(code|uniq|target_code|workday|(?:unit|field):[A-Z-]+)\}")
PHONE, EMAIL = "0912345678", "an.nguyen@example.vn"
PDF = b"%PDF-1.4\n% permission matrix\n"
PROBED_TABLES = {
    "units": Unit,
    "staff": Staff,
    "fields": Field,
    "templates": ResponseTemplate,
    "tokens": ZaloToken,
    "policies": DeadlinePolicy,
    "calendar": CalendarException,
    "faqs": Faq,
}
# Calendar exceptions go on working days far from any case's deadline.
FIRST_WORKDAY = date(2041, 3, 4)
CELLS = cells()


@dataclass
class World:
    """The shared app: demo organisation, each actor's console session and API token."""

    app: Any
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    units: dict[str, int]
    fields: dict[str, int]
    cookies: dict[str, str]
    csrf: dict[str, str]
    tokens: dict[str, str]
    storage: str
    seq: Iterator[int]
    workdays: Iterator[date]
    openapi: ApiClient  # checks API answers against the OpenAPI document

    def add(self, *rows: Any) -> list[Any]:
        """Insert and commit `rows` (never keeping a transaction open); return them."""
        with self.writer() as session:
            session.add_all(rows)
            session.commit()
        return list(rows)

    def case(self, unit: str, status, events: tuple[str, ...] = (), **values: Any) -> Case:
        """A committed case of `unit` in `status`, with a title no other case has, and citizen-
        visible timeline entries named `events`."""
        number = next(self.seq)
        defaults = {
            "code": f"PAKN.20000101.{number:05d}",  # a day no generated code has
            "kind": CaseKind.FEEDBACK,
            "title": f"Hồ sơ kiểm thử #{number}#",
            "content": "Công trình xây dựng lấn chiếm vỉa hè.",
            "contact_name": "Nguyễn Văn An",
            "contact_phone": PHONE,
            "contact_address": "Số 1 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm",
            "contact_email": EMAIL,
            "received_at": datetime(2026, 11, 27, 1, 30, tzinfo=UTC) + timedelta(seconds=number),
            "answer_due_on": date(2026, 12, 17),
            **values,
        }
        field_id = self.fields["XAY-DUNG"]
        case = Case(field_id=field_id, unit_id=self.units[unit], status=status, **defaults)
        with self.writer() as session:
            session.add(case)
            session.flush()
            for action in events:
                at = case.received_at
                session.add(
                    CaseEvent(
                        case_id=case.id,
                        at=at,
                        action=action,
                        actor="system",
                        to_status=status.value,
                    )
                )
            session.commit()
        return case

    def attachment(self, case: Case) -> CaseAttachment:
        """A stored PDF the citizen sent with `case`."""
        number = next(self.seq)
        path = f"{self.storage}/don-{number}.pdf"
        with open(path, "wb") as file:
            file.write(PDF)
        row = CaseAttachment(
            case_id=case.id,
            media_type="file",
            source_url=f"https://f1.zdn.vn/x/don-{number}.pdf",
            file_name=f"don-{number}.pdf",
            content_type="application/pdf",
            storage_path=path,
            stored_size=len(PDF),
            state=AttachmentState.STORED,
        )
        return self.add(row)[0]

    def fresh(self, kind: str) -> Any:
        """Make a row of `kind` for one cell to read, edit or delete; return its id."""
        number = next(self.seq)
        if kind == "calendar_day":
            day = next(self.workdays)
            self.add(CalendarException(day=day, working=False, note=f"Nghỉ thêm {number}"))
            return day.isoformat()
        if kind == "unit":
            row: Any = Unit(code=f"T-{number}", name=f"Đơn vị tạm {number}")
        elif kind == "field":
            row = Field(code=f"LV-{number}", name=f"Lĩnh vực tạm {number}")
        elif kind == "template":
            row = ResponseTemplate(action="progress", title=f"Mẫu tạm {number}", body="Nội dung.")
        elif kind == "faq":
            row = Faq(question=f"Câu hỏi tạm {number}?", answer="Trả lời.", keywords="lệ phí")
        elif kind == "field_policy":
            field_id = self.fresh("field")
            self.add(DeadlinePolicy(field_id=field_id, answer_days=15))
            return field_id
        elif kind == "staff":
            with self.writer() as session:
                staff = create_staff(
                    session, f"tam.{number}", "Cán bộ tạm", "SXD", ["handler"], "mat-khau-tam-2026"
                )
                session.commit()
                return staff.id
        else:
            raise AssertionError(f"the table names an unknown kind of row: {kind}")
        return self.add(row)[0].id


def _console_session(client, actor: Actor) -> tuple[str, str]:
    """Log `actor` in (if they have an account); return the session cookie and its CSRF token."""
    token = CSRF_INPUT.search(client.get("/admin/login").get_data(as_text=True))
    if actor.username is not None:
        form = {"username": actor.username, "password": actor.password, "csrf_token": token[1]}
        assert client.post("/admin/login", data=form).status_code == 302, actor.name
        # The login starts a fresh session: take the token a page of it renders.
        token = CSRF_INPUT.search(client.get("/admin/").get_data(as_text=True))
    assert token, actor.name
    cookie = client.get_cookie("session")
    assert cookie is not None, actor.name
    return cookie.value, token[1]


def _build_world(app, storage: str) -> World:
    engine = get_runtime(app).engine
    writer = get_runtime(app).sessions
    with writer() as session:
        seed_demo(session)
        for account in EXTRA_ACCOUNTS:
            create_staff(
                session,
                account.username,
                account.full_name,
                account.unit,
                list(account.roles),
                account.password,
            )
        for unit in session.scalars(select(Unit).where(Unit.code.in_(INCLUDE_SUBUNITS))):
            unit.include_subunits = True
        now = datetime.now(UTC)
        tokens = {
            actor.name: create_token(session, actor.username, "matrix", now)[1]
            for actor in ACTORS
            if actor.username
        }
        session.commit()
        units = {unit.code: unit.id for unit in session.scalars(select(Unit))}
        fields = {row.code: row.id for row in session.scalars(select(Field))}
    cookies, csrf = {}, {}
    for actor in ACTORS:
        cookies[actor.name], csrf[actor.name] = _console_session(app.test_client(), actor)
    with writer() as session:
        inactive = [account.username for account in EXTRA_ACCOUNTS if not account.active]
        for staff in session.scalars(select(Staff).where(Staff.username.in_(inactive))):
            staff.active = False
        session.commit()
    return World(
        app=app,
        writer=writer,
        reader=make_autocommit_session_factory(engine),
        units=units,
        fields=fields,
        cookies=cookies,
        csrf=csrf,
        tokens=tokens,
        storage=storage,
        seq=itertools.count(1),
        workdays=(
            day
            for day in (FIRST_WORKDAY + timedelta(days=n) for n in itertools.count())
            if Calendar().is_working_day(day)
        ),
        openapi=ApiClient(client=None, tokens={}),
    )


def _no_flush_wait(dbapi_connection, _record) -> None:
    # A commit need not wait for the disk here: nothing else changes (visibility, locks).
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()  # or the pool's first rollback would undo it


@pytest.fixture(scope="module")
def world(tmp_path_factory, pg_schema_url) -> Iterator[World]:
    """One app and database for every cell of the module, torn down at its end."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("cases.staff.HASH_METHOD", CHEAP_HASH)
        tmp = tmp_path_factory.mktemp("permissions")
        url = pg_schema_url or f"sqlite:///{tmp / 'test.db'}"
        app = create_app(base_config(url, tmp))
        runtime = get_runtime(app)
        if pg_schema_url is None:
            Base.metadata.create_all(runtime.engine)
        else:
            event.listen(runtime.engine, "connect", _no_flush_wait)
        storage = tmp / "storage"
        storage.mkdir(exist_ok=True)
        try:
            yield _build_world(app, str(storage))
        finally:
            if runtime.executor is not None:
                runtime.executor.shutdown(wait=True)
            if pg_schema_url is not None:
                _truncate(app)
            runtime.engine.dispose()


# --- one cell ----------------------------------------------------------------------------------
@dataclass
class Prepared:
    """What a cell needs before its request: the URL, the body, and its case (if any)."""

    path: str
    query: dict[str, Any]
    body: dict[str, Any] | None
    case: Case | None


def resolve(world: World, value: Any, case: Case | None, uniq: str) -> Any:
    """Fill the table's placeholders in `value`; a value that is one `{unit:X}` is X's id."""
    if not isinstance(value, str):
        return value

    def one(name: str) -> Any:
        if name == "code":
            assert case is not None, "the row has no case"
            return case.code
        if name == "uniq":
            return uniq
        if name == "target_code":
            return world.case("VP-UBND", CaseStatus.PROCESSING).code
        if name == "workday":
            return next(world.workdays).isoformat()
        kind, _, code = name.partition(":")
        return (world.units if kind == "unit" else world.fields)[code]

    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        return one(whole[1])
    return PLACEHOLDER.sub(lambda match: str(one(match[1])), value)


def prepare(world: World, cell: Cell) -> Prepared:
    """Make the rows the cell needs and fill in its URL and body."""
    row, actor = cell.row, cell.actor
    uniq = str(next(world.seq))
    case = None
    if row.about_case:
        unit = actor.unit_for(cell.scope or OWN)
        case = world.case(unit, row.state, row.events, **row.case)
    path = row.rule
    for name, kind in row.args.items():
        if kind == "case":
            assert case is not None
            value: Any = case.code
        elif kind == "attachment":
            assert case is not None
            value = world.attachment(case).id
        elif kind == "foreign_attachment":
            foreign = world.case(actor.other_unit or "STNMT", CaseStatus.PROCESSING)
            value = world.attachment(foreign).id
        elif kind in ("unit", "staff", "field", "template", "field_policy", "calendar_day", "faq"):
            value = world.fresh(kind)
        else:
            value = kind
        path, found = re.subn(rf"<(?:\w+:)?{name}>", str(value), path)
        assert found == 1, (row.rule, name)
    assert "<" not in path, f"unfilled placeholder in {path}"
    query = {key: resolve(world, value, case, uniq) for key, value in row.query.items()}
    body = None
    if row.body is not None or row.method == "POST":
        body = {key: resolve(world, value, case, uniq) for key, value in (row.body or {}).items()}
    return Prepared(path, query, body, case)


def snapshot(world: World, row: Row, case: Case | None) -> Any:
    """The state a successful call of `row` changes (None: the row changes nothing we watch)."""
    if row.changes is None:
        return None
    with world.reader() as session:
        if row.changes == "case":
            assert case is not None
            table = Case.__table__
            state = session.execute(select(table).where(table.c.id == case.id)).one()
            events = session.scalar(
                select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id)
            )
            return tuple(state), events
        if row.changes == "cases":
            return session.scalar(select(func.count()).select_from(Case))
        table = PROBED_TABLES[row.changes].__table__
        return [tuple(r) for r in session.execute(select(table).order_by(*table.primary_key))]


def call(world: World, cell: Cell, prepared: Prepared):
    """Send the cell's request as its actor."""
    row, actor = cell.row, cell.actor
    client = world.app.test_client()
    if row.api:
        headers = {}
        if actor.username is not None:
            headers["Authorization"] = f"Bearer {world.tokens[actor.name]}"
        return client.open(
            prepared.path,
            method=row.method,
            query_string=prepared.query,
            headers=headers,
            json=prepared.body,
        )
    client.set_cookie("session", world.cookies[actor.name])
    form = None
    if row.method == "POST":
        form = {key: str(value) for key, value in (prepared.body or {}).items()}
        form["csrf_token"] = world.csrf[actor.name]
    return client.open(prepared.path, method=row.method, query_string=prepared.query, data=form)


def check_status(cell: Cell, response) -> None:
    """The status the table expects, a redirect going where it should."""
    expected, row = cell.expected, cell.row
    status = response.status_code
    location = response.headers.get("Location", "")
    seen = f"{status} {location or response.get_data(as_text=True)[:300]!r}"
    if expected == LOGIN:
        assert status == 302 and location.startswith("/admin/login?next="), seen
        return
    assert status == expected, seen
    if status == 302:
        assert not location.startswith("/admin/login?next="), seen
        if row.to is not None:
            assert location.startswith(row.to), seen


def check_content(cell: Cell, prepared: Prepared, response) -> None:
    """A case is shown to those who may see it; contact data in clear only to coordinators."""
    row, actor = cell.row, cell.actor
    body = response.get_data(as_text=True)
    coordinator = "coordinator" in actor.roles and actor.answered_as is None
    if not coordinator:
        assert PHONE not in body and EMAIL not in body, "contact data in clear"
    if response.status_code != 200 or not row.shows:
        return
    assert prepared.case is not None
    may_see = cell.scope in actor.sees
    assert (prepared.case.title in body) == may_see, f"case shown: {not may_see}"
    if row.shows == "detail" and may_see:
        assert (PHONE in body) == coordinator


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_cell(world, cell: Cell):
    row = cell.row
    prepared = prepare(world, cell)
    before = snapshot(world, row, prepared.case)
    saved = {key: world.app.config[key] for key in row.config}
    world.app.config.update(row.config)
    try:
        response = call(world, cell, prepared)
    finally:
        world.app.config.update(saved)

    check_status(cell, response)
    if row.api:
        world.openapi.check(row.method, prepared.path, response)
    if row.changes is not None:
        after = snapshot(world, row, prepared.case)
        succeeded = cell.expected not in REFUSED
        assert (after != before) == succeeded, f"{row.changes} changed: {after != before}"
        if row.changes == "case":
            assert (after[1] == before[1] + 1) == succeeded, "one timeline entry per action"
    check_content(cell, prepared, response)


# --- the table itself --------------------------------------------------------------------------
def _routed(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and rule.rule.startswith(("/admin", "/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    } - NOT_STAFF_ENDPOINTS


def test_every_endpoint_has_a_row(world):
    routed = _routed(world.app)
    tabled = {(row.method, row.rule) for row in ROWS}

    assert routed - tabled == set(), "endpoints without a row in tests/permission_table.py"
    assert tabled - routed == set(), "rows for endpoints that no longer exist"


def test_every_action_has_a_console_and_an_api_row():
    console = {row.args["name"] for row in CONSOLE_ROWS if "name" in row.args}
    api = {row.rule.rsplit("/", 1)[1] for row in API_ROWS if "/actions/" in row.rule}

    assert console == set(ACTIONS) and api == set(ACTIONS)


@pytest.mark.parametrize("spec", ACTION_SPECS, ids=[spec.name for spec in ACTION_SPECS])
def test_action_rows_start_where_the_action_may(spec):
    # Otherwise a cell would measure the state machine (409), not permissions.
    assert spec.state in ACTIONS[spec.name].sources


@pytest.mark.parametrize("row", ROWS, ids=[row.label for row in ROWS])
def test_every_row_expects_an_answer_for_every_actor(row):
    assert set(row.expect) == set(ACTOR_NAMES)
    for actor in ACTORS:
        value = row.expect[actor.answered_as or actor.name]
        pair = isinstance(value, tuple)
        assert pair == (row.about_case and len(actor.scopes) == 2), (actor.name, value)
        for expected in value if pair else (value,):
            assert expected == LOGIN or isinstance(expected, int), expected
            assert expected != LOGIN or not row.api


def test_the_matrix_covers_own_and_other_units():
    scopes = {(cell.actor.name, cell.scope) for cell in CELLS if cell.row.about_case}

    assert {(actor.name, s) for actor in STAFF_ACTORS for s in (OWN, OTHER)} <= scopes

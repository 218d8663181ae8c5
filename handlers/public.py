"""Public pages without login: `/tra-cuu` (look up a PAKN), `/cong-khai` (published answers), and
the same published answers as Open311 GeoReport v2 JSON under `/open311/v2/`.

Nothing personal is published: every case is shown through `cases.redaction.public_view`, and
only `/tra-cuu` after the last 4 digits of the sender's phone shows the sender their own case.
The digits travel in a POST body only, and that page is rendered in the POST's answer (never
redirected to, never cached), so no personal data reaches a URL, a cookie or a cache.

Enumeration of the sequential codes is throttled in the database (`PublicLookup`), per client:
the HMAC-SHA256 of the remote address keyed with SECRET_KEY (the address itself is not stored).
- every lookup costs 1, a failed one (unknown code, wrong digits) 2; a client may spend
  `CLIENT_BUDGET.limit` per `CLIENT_BUDGET.window` (20 per 10 minutes: 20 lookups, or 10 misses);
- wrong digits are also counted per case code, whatever the client: `DIGITS_BUDGET` (10 misses a
  day) stops a spread-out guess of the 10,000 possible digits for one case;
- over budget the answer is 429 with a Vietnamese message and Retry-After; refused attempts are
  not recorded, so waiting always helps. Behind a reverse proxy the app must see the client's
  address (ProxyFix), or every visitor shares one budget.

Search on `/cong-khai` matches whole words of the published text only (never the originals,
which would let a visitor test whether a name appears in a case): SQL narrows the candidates on
the original or staff-edited text, and the published (redacted) text is then matched in Python,
over at most `SEARCH_SCAN_LIMIT` candidates. A query typed without diacritics matches any
accents; one typed with them matches them exactly (see `SearchWords`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from sqlalchemy import ColumnElement, Integer, Select, and_, cast, delete, event, func, or_, select
from sqlalchemy.orm import Session, selectinload

from cases.clock import (
    LOCAL_TZ,
    format_date,
    format_datetime,
    local_date,
    local_midnight,
    parse_day,
)
from cases.contact import mask_phone
from cases.redaction import MARKER, fold, lower, public_view
from cases.status import status_label, timeline_label
from handlers.csrf import CSRFError, protect
from handlers.runtime import db, get_runtime
from models import Case, CaseStatus, Field, PublicLookup, Unit, utcnow

bp = Blueprint("public", __name__)
protect(bp)

SQLITE_FOLD = "pakn_public_fold"
SQLITE_LOWER = "pakn_public_lower"
PAGE_SIZE = 10
SEARCH_SCAN_LIMIT = 500
MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 8
OPEN311_PAGE_SIZE = 100
OPEN311_MAX_PAGE_SIZE = 500
OPEN311_MAX_IDS = 100
OPEN311_MAX_SPAN = timedelta(days=90)
CODE_INPUT = re.compile(r"(?:pakn)?[\s.\-_]*(\d{8})[\s.\-_]*(\d{1,6})")

NOT_FOUND = (
    "Không tìm thấy PAKN phù hợp với thông tin đã nhập. Ông/Bà vui lòng kiểm tra lại mã PAKN "
    "và 4 số cuối điện thoại."
)
TOO_MANY = "Ông/Bà đã tra cứu quá nhiều lần. Vui lòng thử lại sau {wait}."
BAD_CODE = "Mã PAKN chưa đúng định dạng. Mã có dạng PAKN.20261127.0001 (ghi trong tin nhắn Zalo)."
BAD_DIGITS = "Vui lòng nhập đúng 4 chữ số cuối của số điện thoại đã dùng khi gửi PAKN."
ANSWER_SENT = "Đã trả lời — kết quả đã gửi đến người gửi qua Zalo"


@dataclass(frozen=True)
class Budget:
    """How much lookup weight one key may spend in a sliding window."""

    limit: int
    window: timedelta


CLIENT_BUDGET = Budget(limit=20, window=timedelta(minutes=10))
DIGITS_BUDGET = Budget(limit=20, window=timedelta(hours=24))
FAILED_WEIGHT = 2


@dataclass
class PublicState:
    """Per-app state of the public pages: the clock (tests replace it)."""

    clock: Callable[[], datetime] = utcnow


def public_state(app: Flask | None = None) -> PublicState:
    """Return the public pages' state of `app` (default: the current app)."""
    return (app or current_app).extensions["public"]


def now() -> datetime:
    """Return the public pages' current time (aware UTC)."""
    return public_state().clock()


@bp.record_once
def _on_register(state: BlueprintSetupState) -> None:
    state.app.extensions["public"] = PublicState()
    engine = get_runtime(state.app).engine
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.create_function(SQLITE_FOLD, 1, _or_none(fold), deterministic=True)
            dbapi_connection.create_function(SQLITE_LOWER, 1, _or_none(lower), deterministic=True)


def _or_none(convert: Callable[[str], str]) -> Callable[[str | None], str | None]:
    return lambda value: convert(value) if value is not None else None


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"day": _day, "moment": _moment}


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_date(local_date(value))
    return format_date(value)


def _moment(value: datetime | None) -> str:
    return format_datetime(value) if value is not None else ""


# --- throttling ------------------------------------------------------------------------------


class LookupThrottle:
    """Lookup budgets kept in `PublicLookup`, keyed by an HMAC so no address or code is stored."""

    def __init__(self, session: Session, moment: datetime, secret: str) -> None:
        self.session = session
        self.moment = moment
        self.secret = secret.encode()

    def key(self, kind: str, value: str) -> str:
        """Return the stored key of a client address or a case code."""
        return hmac.new(self.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def retry_after(self, key: str, budget: Budget) -> int | None:
        """Return the seconds to wait when `key` has spent its budget, else None."""
        since = self.moment - budget.window
        failed = func.sum(cast(PublicLookup.failed, Integer))
        count, misses, oldest = self.session.execute(
            select(func.count(), failed, func.min(PublicLookup.at)).where(
                PublicLookup.client_hash == key, PublicLookup.at > since
            )
        ).one()
        weight = count + (FAILED_WEIGHT - 1) * (misses or 0)
        if weight < budget.limit:
            return None
        return max(1, math.ceil((oldest + budget.window - self.moment).total_seconds()))

    def record(self, key: str, failed: bool) -> None:
        """Count one lookup for `key` (and forget rows no budget can still use)."""
        longest = max(CLIENT_BUDGET.window, DIGITS_BUDGET.window)
        self.session.execute(delete(PublicLookup).where(PublicLookup.at < self.moment - longest))
        self.session.add(PublicLookup(client_hash=key, at=self.moment, failed=failed))
        self.session.flush()


def _throttle() -> LookupThrottle:
    return LookupThrottle(db(), now(), current_app.config["SECRET_KEY"])


def _client_key(throttle: LookupThrottle) -> str:
    return throttle.key("client", request.remote_addr or "unknown")


# --- /tra-cuu --------------------------------------------------------------------------------


def normalize_code(raw: str | None) -> str | None:
    """Return a typed PAKN code in its canonical form (PAKN.YYYYMMDD.NNNN), or None."""
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    if len(text) > 40:
        return None
    match = CODE_INPUT.fullmatch(text)
    if match is None:
        return None
    return f"PAKN.{match.group(1)}.{int(match.group(2)):04d}"


def _find_case(code: str) -> Case | None:
    return db().scalars(select(Case).where(Case.code == code)).first()


def _lookup_page(status: int = 200, **context: Any) -> Response:
    context.setdefault("code", "")
    response = Response(render_template("public/lookup.html", **context), status=status)
    # What the page shows belongs to one case (and, after the digits, to one person).
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_many(seconds: int, code: str) -> Response:
    minutes = math.ceil(seconds / 60)
    wait = f"{minutes} phút" if minutes <= 90 else f"{math.ceil(minutes / 60)} giờ"
    response = _lookup_page(429, code=code, error=TOO_MANY.format(wait=wait))
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.get("/tra-cuu")
def lookup():
    """Show the lookup form; with `?ma=`, the case's progress (nothing personal)."""
    raw = request.args.get("ma", "")
    if not raw.strip():
        return _lookup_page()
    code = normalize_code(raw)
    if code is None:
        return _lookup_page(400, code=raw[:40], error=BAD_CODE)
    throttle = _throttle()
    client = _client_key(throttle)
    wait = throttle.retry_after(client, CLIENT_BUDGET)
    if wait is not None:
        return _too_many(wait, code)
    case = _find_case(code)
    throttle.record(client, failed=case is None)
    db().commit()
    if case is None:
        return _lookup_page(404, code=code, error=NOT_FOUND)
    return _lookup_page(code=code, case=_summary(case))


@bp.post("/tra-cuu")
def lookup_post():
    """Look a case up from the form; with the last 4 phone digits, show the sender their case."""
    raw = request.form.get("ma", "")
    code = normalize_code(raw)
    if code is None:
        return _lookup_page(400, code=raw[:40], error=BAD_CODE)
    digits = "".join(unicodedata.normalize("NFKC", request.form.get("so_cuoi", "")).split())
    if not digits:
        return redirect(url_for(".lookup", ma=code), code=303)
    if not re.fullmatch(r"\d{4}", digits):
        return _lookup_page(400, code=code, error=BAD_DIGITS)
    throttle = _throttle()
    client = _client_key(throttle)
    per_code = throttle.key("digits", code)
    wait = throttle.retry_after(client, CLIENT_BUDGET) or throttle.retry_after(
        per_code, DIGITS_BUDGET
    )
    if wait is not None:
        return _too_many(wait, code)
    case = _find_case(code)
    verified = _digits_match(case, digits)
    throttle.record(client, failed=not verified)
    if not verified:
        throttle.record(per_code, failed=True)
    db().commit()
    if case is None or not verified:
        return _lookup_page(404, code=code, error=NOT_FOUND)
    return _lookup_page(code=code, case=_summary(case), own=_own_detail(case))


def _digits_match(case: Case | None, digits: str) -> bool:
    phone = re.sub(r"\D", "", case.contact_phone or "") if case is not None else ""
    # Compare even without a phone, so an unknown code costs the same time as a wrong guess.
    expected = phone[-4:] if len(phone) >= 4 else "none"
    return hmac.compare_digest(digits.encode(), expected.encode()) and case is not None


def _summary(case: Case) -> dict[str, Any]:
    """What anyone holding the code may see: progress, never the content or the sender."""
    today = local_date(now())
    summary: dict[str, Any] = {
        "code": case.code,
        "status": case.status.value,
        "status_label": status_label(case.status),
        "field": case.field.name,
        "unit": case.unit.name,
        "received_at": case.received_at,
        "answer_due_on": case.answer_due_on,
        "overdue": case.is_open and case.answer_due_on < today,
        "extended": case.is_open and case.extended_days > 0,
        "timeline": [
            {"at": event.at, "label": timeline_label(event.action)}
            for event in case.events
            if event.visible_to_citizen
        ],
        "answered": case.status == CaseStatus.ANSWERED,
        "answer_sent": ANSWER_SENT,
        "published": None,
    }
    if case.status == CaseStatus.PUBLISHED:
        summary["published"] = public_view(case)
    return summary


def _own_detail(case: Case) -> dict[str, Any]:
    """What the sender sees of their own case after giving the last digits of their phone."""
    return {
        "title": case.title,
        "content": case.content,
        # A draft is not an answer: only what was sent to the sender is shown back.
        "answer": case.answer_text if case.answered_at else None,
        "location": case.location_address,
        "name": case.contact_name,
        # The digits are the proof of ownership: the rest of the number is not shown back.
        "phone": mask_phone(case.contact_phone),
        "email": case.contact_email,
        "address": case.contact_address,
        "hide_identity": case.hide_identity,
        # The sender also reads the notes meant for them (what to add, progress updates).
        "timeline": [
            {"at": event.at, "label": timeline_label(event.action), "note": event.note}
            for event in case.events
            if event.visible_to_citizen
        ],
    }


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError):
    return _lookup_page(400, error=error.description)


# --- /cong-khai ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedFilters:
    """What the list of published answers is narrowed to; empty values filter nothing."""

    q: str = ""
    field: str = ""
    unit: str = ""
    since: date | None = None
    until: date | None = None

    def as_args(self) -> dict[str, str]:
        """Return the filters as query-string arguments (for links that keep them)."""
        args = {"q": self.q, "field": self.field, "unit": self.unit}
        args["from"] = self.since.isoformat() if self.since else ""
        args["to"] = self.until.isoformat() if self.until else ""
        return {name: value for name, value in args.items() if value}


def _filters_from_args(args: Any) -> tuple[PublishedFilters, list[str]]:
    errors = []
    days: dict[str, date | None] = {}
    for name, label in (("from", "Từ ngày"), ("to", "Đến ngày")):
        raw = (args.get(name) or "").strip()
        days[name] = parse_day(raw) if raw else None
        if raw and days[name] is None:
            errors.append(f"{label} không hợp lệ (dd/mm/yyyy); bộ lọc này được bỏ qua.")
    query = unicodedata.normalize("NFC", " ".join((args.get("q") or "").split()))
    filters = PublishedFilters(
        q=query[:MAX_QUERY_LENGTH],
        field=(args.get("field") or "").strip()[:40],
        unit=(args.get("unit") or "").strip()[:40],
        since=days["from"],
        until=days["to"],
    )
    return filters, errors


@dataclass(frozen=True)
class SearchWords:
    """The words of a query, and whether they are compared with their diacritics.

    A query typed with diacritics matches them exactly ("đèn" is not "đến"); one typed without
    any matches every accented spelling ("den" finds both). Words match whole words only.
    """

    words: tuple[str, ...]
    accented: bool

    @classmethod
    def parse(cls, query: str) -> SearchWords:
        """Return the words of `query` (at most MAX_QUERY_WORDS)."""
        accented = fold(query) != lower(query)
        text = lower(query) if accented else fold(query)
        return cls(tuple(re.findall(r"\w+", text)[:MAX_QUERY_WORDS]), accented)

    def view(self, text: str) -> str:
        """Return `text` as the words are compared with it."""
        return lower(text) if self.accented else fold(text)


def _table(convert: Callable[[str], str]) -> tuple[str, str]:
    # Every precomposed Latin letter (Vietnamese ones included) that `convert` changes into one
    # other letter; SQL's lower() does plain ASCII whatever the database's locale.
    source, target = [], []
    for char in [chr(point) for point in range(0xC0, 0x1EFA)] + ["đ", "Đ"]:
        converted = convert(char)
        if char.isalpha() and len(converted) == 1 and converted != char:
            source.append(char)
            target.append(converted)
    return "".join(source), "".join(target)


_FOLD_TABLE = _table(fold)
_LOWER_TABLE = _table(lower)


def _search_column(column: Any, dialect: str, accented: bool) -> ColumnElement[str]:
    if dialect == "sqlite":
        return getattr(func, SQLITE_LOWER if accented else SQLITE_FOLD)(column)
    return func.translate(func.lower(column), *(_LOWER_TABLE if accented else _FOLD_TABLE))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _published_query(session: Session, filters: PublishedFilters) -> Select:
    clauses: list[ColumnElement[bool]] = [Case.status == CaseStatus.PUBLISHED]
    if filters.field:
        clauses.append(Case.field_id.in_(select(Field.id).where(Field.code == filters.field)))
    if filters.unit:
        clauses.append(Case.unit_id.in_(select(Unit.id).where(Unit.code == filters.unit)))
    if filters.since:
        clauses.append(Case.published_at >= local_midnight(filters.since))
    if filters.until:
        clauses.append(Case.published_at < local_midnight(filters.until + timedelta(days=1)))
    dialect = session.get_bind().dialect.name
    search = SearchWords.parse(filters.q)
    columns = [
        _search_column(column, dialect, search.accented)
        for column in (
            func.coalesce(Case.public_title, Case.title),
            func.coalesce(Case.public_content, Case.content),
            func.coalesce(Case.public_answer, Case.answer_text, ""),
            Case.code,
        )
    ]
    # A superset: substrings of the unredacted text. `_matches` decides on the published text.
    for word in search.words:
        pattern = f"%{_escape_like(word)}%"
        clauses.append(or_(*(column.like(pattern, escape="\\") for column in columns)))
    return (
        select(Case)
        .where(and_(*clauses))
        .options(selectinload(Case.field), selectinload(Case.unit), selectinload(Case.citizen))
        .order_by(Case.published_at.desc(), Case.id.desc())
    )


def _matches(view: dict[str, Any], search: SearchWords) -> bool:
    # The marker is not content: searching "ẩn" must not find every redacted case.
    text = " ".join(view[key] or "" for key in ("code", "title", "question", "answer"))
    words = set(re.findall(r"\w+", search.view(text.replace(MARKER, " "))))
    return all(word in words for word in search.words)


@dataclass
class PublishedPage:
    """One page of published answers."""

    views: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    truncated: bool = False


def published_page(session: Session, filters: PublishedFilters, page: int) -> PublishedPage:
    """Return page `page` (from 1) of the published answers under `filters`."""
    query = _published_query(session, filters)
    search = SearchWords.parse(filters.q)
    if search.words:
        candidates = session.scalars(query.limit(SEARCH_SCAN_LIMIT)).all()
        views = [view for view in map(public_view, candidates) if _matches(view, search)]
        total = len(views)
        selected = views[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        truncated = len(candidates) == SEARCH_SCAN_LIMIT
    else:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        rows = session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        selected, truncated = [public_view(case) for case in rows], False
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return PublishedPage(selected, total, page, pages, truncated)


def _page_number(raw: str | None) -> int:
    text = (raw or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 6 and int(text) > 0 else 1


@bp.get("/cong-khai")
def published():
    """List the published answers, searchable and filterable, newest first."""
    filters, errors = _filters_from_args(request.args)
    session = db()
    result = published_page(session, filters, _page_number(request.args.get("page")))
    fields = session.scalars(
        select(Field).where(Field.active.is_(True)).order_by(Field.sort_order, Field.name)
    ).all()
    units = session.scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.sort_order, Unit.name)
    ).all()
    return render_template(
        "public/published.html",
        filters=filters,
        errors=errors,
        result=result,
        fields=fields,
        units=units,
        args=filters.as_args(),
    )


@bp.get("/cong-khai/<code>")
def published_case(code: str):
    """Show one published answer."""
    canonical = normalize_code(code)
    case = _find_case(canonical) if canonical else None
    if case is None or case.status != CaseStatus.PUBLISHED:
        return render_template("public/published_case.html", view=None), 404
    return render_template("public/published_case.html", view=public_view(case))


# --- Open311 GeoReport v2 --------------------------------------------------------------------


class Open311Error(Exception):
    """A request the Open311 endpoints answer with an error array."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _json(data: Any, status: int = 200) -> Response:
    # UTF-8 as is: Vietnamese stays readable, and JSON is UTF-8 by definition.
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json")


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error) -> Response:
    return _json([{"code": error.status, "description": error.description}], error.status)


@bp.after_request
def _allow_any_origin(response: Response) -> Response:
    if request.path.startswith("/open311/"):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if moment else None


def _parse_w3c(name: str, raw: str, end_of_day: bool = False) -> datetime:
    text = raw.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            start = local_midnight(day)
            return start + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(
            400, f"{name} không hợp lệ: cần ngày giờ W3C, ví dụ 2026-11-27T08:00:00+07:00."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _expected(case: Case) -> datetime:
    # The answer is due on that day: its last moment, Vietnam time.
    return datetime.combine(case.answer_due_on, time(23, 59, 59), tzinfo=LOCAL_TZ)


def open311_request(case: Case) -> dict[str, Any]:
    """Return a published case as an Open311 service request (no personal data)."""
    view = public_view(case)
    item: dict[str, Any] = {
        "service_request_id": case.code,
        "status": "open" if case.is_open else "closed",
        "status_notes": view["answer"],
        "service_name": view["field"],
        "service_code": view["field_code"],
        "description": view["question"],
        "agency_responsible": view["unit"],
        "requested_datetime": _w3c(case.received_at),
        "updated_datetime": _w3c(case.updated_at),
        "expected_datetime": _w3c(_expected(case)),
    }
    if view["location"]:
        item["address"] = view["location"]
    if view["latitude"] is not None and view["longitude"] is not None:
        item["lat"] = float(view["latitude"])
        item["long"] = float(view["longitude"])
    return item


def _published_cases() -> Select:
    return (
        select(Case)
        .where(Case.status == CaseStatus.PUBLISHED)
        .options(selectinload(Case.field), selectinload(Case.unit), selectinload(Case.citizen))
        .order_by(Case.received_at.desc(), Case.id.desc())
    )


@bp.get("/open311/v2/services.json")
def open311_services():
    """List the fields (lĩnh vực) as Open311 services."""
    fields = db().scalars(
        select(Field)
        .where(Field.active.is_(True))
        .options(selectinload(Field.default_unit))
        .order_by(Field.sort_order, Field.name)
    )
    return _json(
        [
            {
                "service_code": item.code,
                "service_name": item.name,
                "description": f"Phản ánh, kiến nghị về lĩnh vực {item.name}",
                "metadata": False,
                "type": "realtime",
                "keywords": f"phản ánh, kiến nghị, {item.name.lower()}",
                "group": item.default_unit.name if item.default_unit else "Phản ánh, kiến nghị",
            }
            for item in fields
        ]
    )


def _comma_list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _positive(name: str, raw: str | None, default: int, maximum: int) -> int:
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not text.isdigit() or not 0 < int(text) <= maximum:
        raise Open311Error(400, f"{name} phải là số nguyên từ 1 đến {maximum}.")
    return int(text)


@bp.get("/open311/v2/requests.json")
def open311_requests():
    """List published cases as Open311 service requests, with the standard filters and paging."""
    args = request.args
    ids = _comma_list(args.get("service_request_id"))
    if ids:
        # The standard: a list of ids overrides every other argument.
        if len(ids) > OPEN311_MAX_IDS:
            raise Open311Error(400, f"Tối đa {OPEN311_MAX_IDS} service_request_id mỗi lần.")
        codes = [code for code in map(normalize_code, ids) if code]
        cases = db().scalars(_published_cases().where(Case.code.in_(codes))).all()
        return _json([open311_request(case) for case in cases])
    statuses = _comma_list(args.get("status"))
    if any(status not in ("open", "closed") for status in statuses):
        raise Open311Error(400, "status chỉ nhận open hoặc closed.")
    end = _parse_w3c("end_date", args["end_date"], True) if args.get("end_date") else now()
    start = (
        _parse_w3c("start_date", args["start_date"])
        if args.get("start_date")
        else end - OPEN311_MAX_SPAN
    )
    if start > end:
        raise Open311Error(400, "start_date phải trước end_date.")
    if end - start > OPEN311_MAX_SPAN + timedelta(days=1):
        raise Open311Error(400, "Khoảng từ start_date đến end_date không được quá 90 ngày.")
    page = _positive("page", args.get("page"), 1, 100_000)
    size = _positive("page_size", args.get("page_size"), OPEN311_PAGE_SIZE, OPEN311_MAX_PAGE_SIZE)
    # Only published cases are served, and a published case is closed.
    if statuses and "closed" not in statuses:
        return _json([])
    query = _published_cases().where(Case.received_at >= start, Case.received_at <= end)
    service_codes = _comma_list(args.get("service_code"))
    if service_codes:
        query = query.where(
            Case.field_id.in_(select(Field.id).where(Field.code.in_(service_codes)))
        )
    cases = db().scalars(query.offset((page - 1) * size).limit(size)).all()
    return _json([open311_request(case) for case in cases])


@bp.get("/open311/v2/requests/<code>.json")
def open311_request_one(code: str):
    """Return one published case as a list of one Open311 service request."""
    canonical = normalize_code(code)
    case = db().scalars(_published_cases().where(Case.code == canonical)).first()
    if canonical is None or case is None:
        raise Open311Error(404, f"Không có PAKN đã công khai với mã {code[:40]}.")
    return _json([open311_request(case)])

"""Administration pages under /admin (administrators only): units, staff, fields, response templates.

Each POST reads its form into plain values, validates all of them first and, on any error, shows
the form again with the message next to the field and HTTP 422, having changed nothing. A valid
change is written and committed once, logged at INFO with the administrator's staff id (never a
password), and followed by a redirect to the list (post/redirect/get).

Units form a tree: moving a unit under one of its own descendants (or itself) is refused, since
it would detach a branch from the root and loop `cases.access.unit_scope`. The four roles are
fixed (`Staff.ROLES`); the staff page explains each in Vietnamese.

Deadline policies (the default and one per field) are snapshotted on each case at receipt, so an
edit applies to cases received afterwards; every change is logged with the old and new values.
The working calendar's exceptions (extra days off, make-up working days) are checked against the
weekend and the public holidays of the `holidays` package before they are saved.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import holidays
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from cases import deadlines
from cases import staff as staff_accounts
from cases.clock import parse_day
from cases.queue import OPEN_STATUSES
from cases.templates import PLACEHOLDERS, unknown_placeholders
from cases.workflow import ACTIONS
from handlers.console import ROLE_MEANINGS, admin_required, console_blueprint, now, today
from handlers.runtime import db
from models import (
    CalendarException,
    Case,
    DeadlinePolicy,
    Field,
    ResponseTemplate,
    Staff,
    Unit,
)

log = logging.getLogger(__name__)

bp = console_blueprint("admin", __name__)

CODE_PATTERN = re.compile(r"[A-Za-z0-9._-]{2,40}")
MAX_NAME = 200
MAX_ORDER = 100_000
MAX_BODY = 10_000
REQUIRED = "Vui lòng nhập {what}."
Errors = dict[str, str]


@dataclass
class FormResult:
    """What a form carried, as text for redisplay, and what is wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: Errors = field(default_factory=dict)


def _text(
    form: Mapping[str, str],
    name: str,
    what: str,
    result: FormResult,
    required: bool = True,
    maximum: int = MAX_NAME,
) -> str:
    value = " ".join(str(form.get(name, "")).split())
    result.values[name] = value
    if required and not value:
        result.errors[name] = REQUIRED.format(what=what)
    elif len(value) > maximum:
        result.errors[name] = f"Tối đa {maximum} ký tự."
    return value


def _order(form: Mapping[str, str], result: FormResult) -> int:
    raw = str(form.get("sort_order", "")).strip() or "0"
    result.values["sort_order"] = raw
    if not raw.isdigit() or int(raw) > MAX_ORDER:
        result.errors["sort_order"] = f"Thứ tự hiển thị là số nguyên từ 0 đến {MAX_ORDER}."
        return 0
    return int(raw)


def _flag(form: Mapping[str, str], name: str, result: FormResult) -> bool:
    value = form.get(name) == "1"
    result.values[name] = value
    return value


def _code(form: Mapping[str, str], model: type, what: str, result: FormResult) -> str:
    code = str(form.get("code", "")).strip()
    result.values["code"] = code
    if not CODE_PATTERN.fullmatch(code):
        result.errors["code"] = (
            f"Mã {what} gồm 2 đến 40 ký tự: chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới."
        )
    elif db().scalar(select(model.id).where(model.code == code)) is not None:
        result.errors["code"] = f"Mã {what} này đã có."
    return code


def _unit_choice(
    form: Mapping[str, str], name: str, result: FormResult, required: bool, what: str
) -> Unit | None:
    raw = str(form.get(name, "")).strip()
    result.values[name] = raw
    if not raw:
        if required:
            result.errors[name] = f"Vui lòng chọn {what}."
        return None
    unit = db().get(Unit, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if unit is None or not unit.active:
        result.errors[name] = f"Vui lòng chọn {what} đang hoạt động."
        return None
    return unit


def _audit(event: str, **ids: Any) -> None:
    details = " ".join(f"{key}={value}" for key, value in ids.items())
    log.info("admin change: %s by staff_id=%s %s", event, g.staff.id, details)


def _invalid(template: str, result: FormResult, **context: Any):
    db().rollback()
    return render_template(template, form=result, **context), 422


def _all_units() -> list[Unit]:
    return list(db().scalars(select(Unit).order_by(Unit.sort_order, Unit.name, Unit.id)))


def _options(units: list[Unit]) -> list[tuple[int, str]]:
    return [(unit.id, unit.name) for unit in units if unit.active]


@dataclass(frozen=True)
class Entity:
    """What the generic create and update steps need to know about one kind of setting."""

    model: type
    what: str  # in the audit log
    label: str  # in messages, Vietnamese
    list_endpoint: str
    edit_template: str
    shown: str = "name"  # the attribute naming a row in messages


def _get_or_404(entity: Entity, item_id: int) -> Any:
    item = db().get(entity.model, item_id)
    if item is None:
        abort(404)
    return item


def _create(entity: Entity, result: FormResult, data: dict[str, Any], page: Callable):
    """Add a row from valid `data`; with errors, show `page` again (422) and change nothing."""
    if result.errors:
        db().rollback()
        return page(result, 422)
    item = entity.model(**data)
    db().add(item)
    db().commit()
    _audit(f"{entity.what} created", **{f"{entity.what}_id": item.id})
    flash(f"Đã tạo {entity.label} “{getattr(item, entity.shown)}”.")
    return redirect(url_for(entity.list_endpoint))


def _update(entity: Entity, row: Any, result: FormResult, data: dict[str, Any], /, **context: Any):
    """Save valid `data` on `row`; with errors, show the edit page again (422), unchanged."""
    if result.errors:
        return _invalid(entity.edit_template, result, **context)
    for name, value in data.items():
        setattr(row, name, value)
    db().commit()
    _audit(f"{entity.what} updated", **{f"{entity.what}_id": row.id}, active=row.active)
    flash(f"Đã lưu {entity.label} “{getattr(row, entity.shown)}”.")
    return redirect(url_for(entity.list_endpoint))


UNIT = Entity(Unit, "unit", "đơn vị", "admin.units", "console/admin_unit.html")
FIELD = Entity(Field, "field", "lĩnh vực", "admin.fields", "console/admin_field.html")
TEMPLATE = Entity(
    ResponseTemplate, "template", "mẫu", "admin.templates", "console/admin_template.html", "title"
)


# Units


@dataclass
class UnitNode:
    """A unit with the units directly below it."""

    unit: Unit
    children: list[UnitNode] = field(default_factory=list)


def unit_tree(units: list[Unit]) -> list[UnitNode]:
    """Arrange units (already in display order) as a forest under their parents."""
    nodes = {unit.id: UnitNode(unit) for unit in units}
    roots = []
    for unit in units:
        parent = nodes.get(unit.parent_id) if unit.parent_id is not None else None
        (parent.children if parent else roots).append(nodes[unit.id])
    return roots


def descendants(units: list[Unit], unit_id: int) -> set[int]:
    """Return the ids of the units below `unit_id`, at any depth."""
    children: dict[int | None, list[int]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit.id)
    found: set[int] = set()
    stack = list(children.get(unit_id, []))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


def _read_unit(form: Mapping[str, str], unit: Unit | None) -> tuple[FormResult, dict[str, Any]]:
    result = FormResult()
    data: dict[str, Any] = {}
    if unit is None:
        data["code"] = _code(form, Unit, "đơn vị", result)
    data["name"] = _text(form, "name", "tên đơn vị", result)
    parent = _unit_choice(form, "parent_id", result, False, "đơn vị cấp trên")
    if (
        parent is not None
        and unit is not None
        and (parent.id == unit.id or parent.id in descendants(_all_units(), unit.id))
    ):
        result.errors["parent_id"] = (
            "Không thể chuyển đơn vị vào chính nó hoặc một đơn vị cấp dưới của nó."
        )
    data["parent_id"] = parent.id if parent else None
    data["sort_order"] = _order(form, result)
    data["is_coordinator"] = _flag(form, "is_coordinator", result)
    data["include_subunits"] = _flag(form, "include_subunits", result)
    data["active"] = _flag(form, "active", result) if unit is not None else True
    if unit is not None and unit.active and not data["active"]:
        _check_unit_may_close(unit, result)
    return result, data


def _check_unit_may_close(unit: Unit, result: FormResult) -> None:
    open_cases = db().scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.unit_id == unit.id, Case.status.in_(OPEN_STATUSES))
    )
    children = db().scalar(
        select(func.count())
        .select_from(Unit)
        .where(Unit.parent_id == unit.id, Unit.active.is_(True))
    )
    if open_cases:
        result.errors["active"] = (
            f"Đơn vị còn {open_cases} PAKN chưa kết thúc; hãy chuyển các PAKN này trước khi "
            "ngừng hoạt động."
        )
    elif children:
        result.errors["active"] = "Đơn vị còn đơn vị cấp dưới đang hoạt động."


def _units_page(result: FormResult | None = None, status: int = 200):
    units = _all_units()
    page = render_template(
        "console/admin_units.html",
        tree=unit_tree(units),
        unit_options=_options(units),
        form=result or FormResult(values={"sort_order": "0"}),
    )
    return page, status


@bp.get("/units")
@admin_required
def units():
    """Show the unit tree and the form creating a unit."""
    return _units_page()


@bp.post("/units")
@admin_required
def create_unit():
    """Create a unit."""
    return _create(UNIT, *_read_unit(request.form, None), _units_page)


def _unit_values(unit: Unit) -> dict[str, Any]:
    return {
        "name": unit.name,
        "parent_id": str(unit.parent_id or ""),
        "sort_order": str(unit.sort_order),
        "is_coordinator": unit.is_coordinator,
        "include_subunits": unit.include_subunits,
        "active": unit.active,
    }


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@admin_required
def edit_unit(unit_id: int):
    """Show or save one unit: name, parent, coordinator flag, sub-units scope, order, status."""
    unit = _get_or_404(UNIT, unit_id)
    units = _all_units()
    below = descendants(units, unit.id)
    context = {
        "unit": unit,
        "unit_options": _options([u for u in units if u.id != unit.id and u.id not in below]),
    }
    if request.method == "GET":
        form = FormResult(values=_unit_values(unit))
        return render_template(UNIT.edit_template, form=form, **context)
    return _update(UNIT, unit, *_read_unit(request.form, unit), **context)


# Staff


def _read_roles(form, result: FormResult) -> list[str]:
    roles = [role for role in Staff.ROLES if role in form.getlist("roles")]
    result.values["roles"] = roles
    if not roles:
        result.errors["roles"] = "Vui lòng chọn ít nhất một vai trò."
    return roles


def _password_errors(password: str) -> str | None:
    low, high = staff_accounts.MIN_PASSWORD_LENGTH, staff_accounts.MAX_PASSWORD_LENGTH
    if not low <= len(password) <= high:
        return f"Mật khẩu dài từ {low} đến {high} ký tự."
    return None


def _read_new_staff(form) -> tuple[FormResult, dict[str, Any]]:
    result = FormResult()
    username = str(form.get("username", "")).strip()
    result.values["username"] = username
    if not staff_accounts.USERNAME_PATTERN.fullmatch(username):
        result.errors["username"] = (
            "Tên đăng nhập gồm 3 đến 80 ký tự: chữ thường không dấu, số, dấu chấm, gạch ngang, "
            "gạch dưới."
        )
    elif db().scalar(select(Staff.id).where(Staff.username == username)) is not None:
        result.errors["username"] = "Tên đăng nhập này đã có."
    full_name = _text(form, "full_name", "họ và tên", result)
    unit = _unit_choice(form, "unit_id", result, True, "đơn vị")
    roles = _read_roles(form, result)
    password = str(form.get("password", ""))
    if problem := _password_errors(password):
        result.errors["password"] = problem
    data = {
        "username": username,
        "full_name": full_name,
        "unit": unit,
        "roles": roles,
        "password": password,
    }
    return result, data


def _staff_page(result: FormResult | None = None, status: int = 200):
    members = db().scalars(select(Staff).order_by(Staff.active.desc(), Staff.username)).all()
    page = render_template(
        "console/admin_staff.html",
        members=members,
        unit_options=_options(_all_units()),
        roles=Staff.ROLES,
        role_meanings=ROLE_MEANINGS,
        form=result or FormResult(values={"roles": []}),
    )
    return page, status


@bp.get("/staff")
@admin_required
def staff_list():
    """List staff accounts, explain the roles, and offer the form creating an account."""
    return _staff_page()


@bp.post("/staff")
@admin_required
def create_staff():
    """Create a staff account in a unit with roles and an initial password."""
    result, data = _read_new_staff(request.form)
    if result.errors:
        db().rollback()
        return _staff_page(result, 422)
    member = staff_accounts.create_staff(
        db(),
        data["username"],
        data["full_name"],
        data["unit"].code,
        data["roles"],
        data["password"],
    )
    db().commit()
    _audit("staff created", target_staff_id=member.id, roles=member.roles)
    flash(f"Đã tạo tài khoản “{member.username}”.")
    return redirect(url_for("admin.staff_list"))


def _staff_or_404(staff_id: int) -> Staff:
    member = db().get(Staff, staff_id)
    if member is None:
        abort(404)
    return member


def _member_page(
    member: Staff, result: FormResult, status: int = 200, new_password: str | None = None
):
    page = render_template(
        "console/admin_staff_member.html",
        member=member,
        unit_options=_options(_all_units()),
        roles=Staff.ROLES,
        role_meanings=ROLE_MEANINGS,
        form=result,
        new_password=new_password,
    )
    return page, status


def _member_values(member: Staff) -> dict[str, Any]:
    return {
        "full_name": member.full_name,
        "unit_id": str(member.unit_id),
        "roles": sorted(member.role_set),
        "active": member.active,
    }


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@admin_required
def edit_staff(staff_id: int):
    """Show or save one account: name, unit, roles, active."""
    member = _staff_or_404(staff_id)
    if request.method == "GET":
        return _member_page(member, FormResult(values=_member_values(member)))
    result = FormResult()
    full_name = _text(request.form, "full_name", "họ và tên", result)
    unit = _unit_choice(request.form, "unit_id", result, True, "đơn vị")
    roles = _read_roles(request.form, result)
    active = _flag(request.form, "active", result)
    if member.id == g.staff.id and (not active or "admin" not in roles):
        # An administrator locking themselves out could leave nobody to undo it.
        result.errors["roles"] = (
            "Không thể tự bỏ vai trò quản trị hoặc tự ngừng hoạt động tài khoản của mình."
        )
    if result.errors:
        db().rollback()
        return _member_page(member, result, 422)
    member.full_name, member.roles, member.active = full_name, ",".join(roles), active
    if unit is not None:
        member.unit_id = unit.id
    db().commit()
    _audit(
        "staff updated",
        target_staff_id=member.id,
        unit_id=member.unit_id,
        roles=member.roles,
        active=member.active,
    )
    flash(f"Đã lưu tài khoản “{member.username}”.")
    return redirect(url_for("admin.staff_list"))


@bp.post("/staff/<int:staff_id>/password")
@admin_required
def reset_password(staff_id: int):
    """Give the account a new random password, shown once on this page and never stored in clear."""
    member = _staff_or_404(staff_id)
    password = secrets.token_urlsafe(12)
    member.password_hash = generate_password_hash(password, method=staff_accounts.HASH_METHOD)
    db().commit()
    _audit("staff password reset", target_staff_id=member.id)
    return _member_page(member, FormResult(values=_member_values(member)), new_password=password)


# Fields


def _read_field(form: Mapping[str, str], existing: Field | None) -> tuple[FormResult, dict]:
    result = FormResult()
    data: dict[str, Any] = {}
    if existing is None:
        data["code"] = _code(form, Field, "lĩnh vực", result)
    data["name"] = _text(form, "name", "tên lĩnh vực", result)
    unit = _unit_choice(form, "default_unit_id", result, False, "đơn vị tiếp nhận mặc định")
    data["default_unit_id"] = unit.id if unit else None
    data["sort_order"] = _order(form, result)
    data["active"] = _flag(form, "active", result) if existing is not None else True
    return result, data


def _fields_page(result: FormResult | None = None, status: int = 200):
    page = render_template(
        "console/admin_fields.html",
        items=db().scalars(select(Field).order_by(Field.sort_order, Field.name)).all(),
        unit_options=_options(_all_units()),
        form=result or FormResult(values={"sort_order": "0"}),
    )
    return page, status


@bp.get("/fields")
@admin_required
def fields():
    """List the fields (lĩnh vực) and offer the form creating one."""
    return _fields_page()


@bp.post("/fields")
@admin_required
def create_field():
    """Create a field."""
    return _create(FIELD, *_read_field(request.form, None), _fields_page)


@bp.route("/fields/<int:field_id>", methods=["GET", "POST"])
@admin_required
def edit_field(field_id: int):
    """Show or save one field: name, default unit, order, active."""
    item = _get_or_404(FIELD, field_id)
    context = {"item": item, "unit_options": _options(_all_units())}
    if request.method == "GET":
        values = {
            "name": item.name,
            "default_unit_id": str(item.default_unit_id or ""),
            "sort_order": str(item.sort_order),
            "active": item.active,
        }
        return render_template(FIELD.edit_template, form=FormResult(values), **context)
    return _update(FIELD, item, *_read_field(request.form, item), **context)


# Response templates


ACTION_CHOICES = [(name, action.label) for name, action in ACTIONS.items()]


def _read_template(form: Mapping[str, str], existing: bool) -> tuple[FormResult, dict[str, Any]]:
    result = FormResult()
    action = str(form.get("action", ""))
    result.values["action"] = action
    if action not in ACTIONS:
        result.errors["action"] = "Vui lòng chọn thao tác."
    raw_field = str(form.get("field_id", "")).strip()
    result.values["field_id"] = raw_field
    field_id = None
    if raw_field:
        found = (
            db().get(Field, int(raw_field)) if raw_field.isdigit() and len(raw_field) < 10 else None
        )
        if found is None:
            result.errors["field_id"] = "Lĩnh vực không tồn tại."
        else:
            field_id = found.id
    title = _text(form, "title", "tên mẫu", result)
    body = str(form.get("body", "")).replace("\r\n", "\n").strip()
    result.values["body"] = body
    if not body:
        result.errors["body"] = REQUIRED.format(what="nội dung mẫu")
    elif len(body) > MAX_BODY:
        result.errors["body"] = f"Tối đa {MAX_BODY} ký tự."
    elif unknown := unknown_placeholders(body):
        names = ", ".join("{" + name + "}" for name in unknown)
        result.errors["body"] = f"Mã thay thế không hợp lệ: {names}."
    active = _flag(form, "active", result) if existing else True
    data = {"action": action, "field_id": field_id, "title": title, "body": body, "active": active}
    return result, data


def _template_context() -> dict[str, Any]:
    all_fields = db().scalars(select(Field).order_by(Field.sort_order, Field.name)).all()
    return {
        "actions": ACTION_CHOICES,
        "action_labels": dict(ACTION_CHOICES),
        "field_options": [(item.id, item.name) for item in all_fields],
        "field_names": {item.id: item.name for item in all_fields},
        "placeholders": PLACEHOLDERS,
    }


def _templates_page(result: FormResult | None = None, status: int = 200):
    items = (
        db()
        .scalars(select(ResponseTemplate).order_by(ResponseTemplate.action, ResponseTemplate.title))
        .all()
    )
    page = render_template(
        "console/admin_templates.html",
        items=items,
        form=result or FormResult(),
        **_template_context(),
    )
    return page, status


@bp.get("/templates")
@admin_required
def templates():
    """List the response templates and offer the form creating one."""
    return _templates_page()


@bp.post("/templates")
@admin_required
def create_template():
    """Create a response template."""
    return _create(TEMPLATE, *_read_template(request.form, existing=False), _templates_page)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@admin_required
def edit_template(template_id: int):
    """Show or save one response template."""
    item = _get_or_404(TEMPLATE, template_id)
    context = {"item": item, **_template_context()}
    if request.method == "GET":
        values = {
            "action": item.action,
            "field_id": str(item.field_id or ""),
            "title": item.title,
            "body": item.body,
            "active": item.active,
        }
        return render_template(TEMPLATE.edit_template, form=FormResult(values), **context)
    return _update(TEMPLATE, item, *_read_template(request.form, existing=True), **context)


@bp.post("/templates/<int:template_id>/delete")
@admin_required
def delete_template(template_id: int):
    """Delete a response template."""
    item = _get_or_404(TEMPLATE, template_id)
    title = item.title
    db().delete(item)
    db().commit()
    _audit("template deleted", template_id=template_id)
    flash(f"Đã xóa mẫu “{title}”.")
    return redirect(url_for("admin.templates"))


# Deadline policies


@dataclass(frozen=True)
class PolicyNumber:
    """One whole-number setting of a deadline policy, with its label and allowed maximum."""

    name: str
    label: str
    maximum: int


POLICY_NUMBERS = (
    PolicyNumber("classify_working_days", "Phân loại, chuyển xử lý trong (ngày làm việc)", 30),
    PolicyNumber("answer_days", "Trả lời trong (ngày)", 180),
    PolicyNumber("progress_every_days", "Khi quá hạn, báo tiến độ cho người dân mỗi (ngày)", 60),
    PolicyNumber("publish_working_days", "Công khai kết quả trong (ngày làm việc)", 30),
    PolicyNumber("urgent_takeup_hours", "PAKN khẩn: tiếp nhận xử lý trong (giờ làm việc)", 80),
    PolicyNumber("urgent_handle_hours", "PAKN khẩn: xử lý xong trong tiếp (giờ làm việc)", 80),
)
POLICY_FIELDS = (*(number.name for number in POLICY_NUMBERS), "answer_in_working_days")


def _default_policy_row() -> DeadlinePolicy | None:
    return db().scalar(select(DeadlinePolicy).where(DeadlinePolicy.field_id.is_(None)))


def _field_policy_row(field_id: int) -> DeadlinePolicy | None:
    return db().scalar(select(DeadlinePolicy).where(DeadlinePolicy.field_id == field_id))


def _policy_values(row: DeadlinePolicy | None) -> dict[str, Any]:
    """The settings of `row`, else of the default policy, else the built-in defaults."""
    if row is None:
        row = _default_policy_row()
    if row is None:
        policy = deadlines.Policy(answer_days=current_app.config["ANSWER_DAYS"])
        return {name: getattr(policy, name) for name in POLICY_FIELDS}
    return {name: getattr(row, name) for name in POLICY_FIELDS}


def _read_policy(form: Mapping[str, str]) -> tuple[FormResult, dict[str, Any]]:
    result = FormResult()
    data: dict[str, Any] = {}
    for number in POLICY_NUMBERS:
        raw = str(form.get(number.name, "")).strip()
        result.values[number.name] = raw
        if not raw.isdigit() or not 1 <= int(raw) <= number.maximum:
            result.errors[number.name] = f"Nhập số nguyên từ 1 đến {number.maximum}."
            continue
        data[number.name] = int(raw)
    data["answer_in_working_days"] = _flag(form, "answer_in_working_days", result)
    return result, data


def _policy_changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = [
        f"{name}={old.get(name)}→{new.get(name)}"
        for name in POLICY_FIELDS
        if old.get(name) != new.get(name)
    ]
    return " ".join(changed) or "unchanged"


def _log_policy_change(field_code: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    log.info(
        "deadline policy changed by staff_id=%s field=%s %s",
        g.staff.id,
        field_code,
        _policy_changes(old, new),
    )


@bp.get("/deadlines")
@admin_required
def deadline_policies():
    """List the default deadline policy and each field's own policy (or the default)."""
    rows = {row.field_id: row for row in db().scalars(select(DeadlinePolicy))}
    items = db().scalars(select(Field).order_by(Field.sort_order, Field.name)).all()
    return render_template(
        "console/admin_deadlines.html",
        default=_policy_values(rows.get(None)),
        default_row=rows.get(None),
        items=[(item, rows.get(item.id)) for item in items],
        numbers=POLICY_NUMBERS,
    )


def _save_policy(row: DeadlinePolicy | None, item: Field | None):
    """Show or save the policy `row` (None: not yet created) of `item` (None: the default)."""
    context = {"item": item, "row": row, "numbers": POLICY_NUMBERS}
    if request.method == "GET":
        form = FormResult(values=_policy_values(row))
        return render_template("console/admin_deadline.html", form=form, **context)
    result, data = _read_policy(request.form)
    if result.errors:
        return _invalid("console/admin_deadline.html", result, **context)
    old = _policy_values(row)
    if row is None:
        row = DeadlinePolicy(field_id=item.id if item else None)
        db().add(row)
    for name, value in data.items():
        setattr(row, name, value)
    row.updated_at = now()
    row.updated_by_id = g.staff.id
    db().commit()
    _log_policy_change(item.code if item else "default", old, data)
    flash(f"Đã lưu thời hạn xử lý {'của lĩnh vực “' + item.name + '”' if item else 'mặc định'}.")
    return redirect(url_for("admin.deadline_policies"))


@bp.route("/deadlines/default", methods=["GET", "POST"])
@admin_required
def edit_default_policy():
    """Show or save the default deadline policy."""
    return _save_policy(_default_policy_row(), None)


@bp.route("/deadlines/fields/<int:field_id>", methods=["GET", "POST"])
@admin_required
def edit_field_policy(field_id: int):
    """Show or save (creating it if needed) one field's own deadline policy."""
    item = _get_or_404(FIELD, field_id)
    return _save_policy(_field_policy_row(item.id), item)


@bp.post("/deadlines/fields/<int:field_id>/delete")
@admin_required
def delete_field_policy(field_id: int):
    """Delete a field's own policy: its new cases follow the default policy again."""
    item = _get_or_404(FIELD, field_id)
    row = _field_policy_row(item.id)
    if row is None:
        abort(404)
    old = _policy_values(row)
    db().delete(row)
    db().commit()
    _log_policy_change(item.code, old, _policy_values(None))
    flash(f"Lĩnh vực “{item.name}” áp dụng lại thời hạn mặc định.")
    return redirect(url_for("admin.deadline_policies"))


# Working calendar

MIN_YEAR, MAX_YEAR = 2000, 2100
EXCEPTION_KINDS = [("off", "Ngày nghỉ bù/nghỉ thêm"), ("working", "Ngày làm việc bù")]
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def _public_holidays(year: int) -> list[tuple[date, str]]:
    return sorted(holidays.country_holidays("VN", years=year, language="vi").items())


def _year(raw: str | None) -> int:
    text = (raw or "").strip()
    if text.isdigit() and MIN_YEAR <= int(text) <= MAX_YEAR:
        return int(text)
    return today().year


def _read_exception(form: Mapping[str, str]) -> tuple[FormResult, CalendarException | None]:
    result = FormResult()
    kind = str(form.get("kind", ""))
    result.values["kind"] = kind
    if kind not in dict(EXCEPTION_KINDS):
        result.errors["kind"] = "Vui lòng chọn loại ngày."
    raw_day = str(form.get("day", "")).strip()
    result.values["day"] = raw_day
    day = parse_day(raw_day)
    if day is None or not MIN_YEAR <= day.year <= MAX_YEAR:
        result.errors["day"] = "Ngày không hợp lệ (dd/mm/yyyy)."
    elif db().get(CalendarException, day) is not None:
        result.errors["day"] = "Ngày này đã có trong danh sách."
    elif kind == "working" and deadlines.Calendar().is_working_day(day):
        result.errors["day"] = "Ngày này vốn đã là ngày làm việc."
    elif kind == "off" and day.weekday() >= 5:
        result.errors["day"] = "Thứ Bảy, Chủ nhật vốn đã là ngày nghỉ."
    elif kind == "off" and not deadlines.Calendar().is_working_day(day):
        result.errors["day"] = "Ngày này đã là ngày nghỉ lễ."
    note = _text(form, "note", "ghi chú", result, required=False)
    if result.errors:
        return result, None
    return result, CalendarException(day=day, working=kind == "working", note=note)


def _calendar_page(year: int, result: FormResult | None = None, status: int = 200):
    rows = db().scalars(
        select(CalendarException)
        .where(CalendarException.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(CalendarException.day)
    )
    page = render_template(
        "console/admin_calendar.html",
        year=year,
        exceptions=list(rows),
        public_holidays=_public_holidays(year),
        kinds=EXCEPTION_KINDS,
        weekdays=WEEKDAYS,
        form=result or FormResult(values={"kind": "off"}),
    )
    return page, status


@bp.get("/calendar")
@admin_required
def calendar():
    """List a year's calendar exceptions and public holidays; offer the form adding a day."""
    return _calendar_page(_year(request.args.get("year")))


@bp.post("/calendar")
@admin_required
def add_calendar_day():
    """Add an extra day off or a make-up working day."""
    result, row = _read_exception(request.form)
    if row is None:
        db().rollback()
        day = parse_day(result.values.get("day"))
        return _calendar_page(day.year if day else today().year, result, 422)
    db().add(row)
    db().commit()
    _audit("calendar day added", day=row.day.isoformat(), working=row.working)
    flash(f"Đã thêm ngày {row.day:%d/%m/%Y}.")
    return redirect(url_for("admin.calendar", year=row.day.year))


@bp.post("/calendar/<day>/delete")
@admin_required
def delete_calendar_day(day: str):
    """Remove a calendar exception."""
    parsed = parse_day(day)
    row = db().get(CalendarException, parsed) if parsed else None
    if row is None:
        abort(404)
    db().delete(row)
    db().commit()
    _audit("calendar day deleted", day=parsed.isoformat())
    flash(f"Đã xóa ngày {parsed:%d/%m/%Y}.")
    return redirect(url_for("admin.calendar", year=parsed.year))

"""Administration pages: units (tree, cycles), staff, fields and response templates; access,
CSRF, validation next to the field with 422, and the audit log."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from models import Field, ResponseTemplate, Staff, Unit
from tests import console_helpers
from tests.console_helpers import csrf_from, login, logout, page

demo = console_helpers.demo
make_case = console_helpers.make_case

ADMIN_PAGES = ["/admin/units", "/admin/staff", "/admin/fields", "/admin/templates"]


def unit(session, code: str) -> Unit:
    session.expire_all()
    return session.scalars(select(Unit).where(Unit.code == code)).one()


def post(client, path: str, data: dict):
    """POST an admin form with this session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_from(client, "/admin/units"), **data})


def error_next_to(html: str, name: str) -> str:
    """The error message rendered next to the field `name`."""
    match = re.search(rf'<span class="field-error" id="f-{name}-error">([^<]+)</span>', html)
    assert match, f"no error next to {name}"
    return match.group(1)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(client, demo):
    login(client, "admin")
    return client


# Access


@pytest.mark.parametrize("role", ["handler", "leader", "coordinator"])
def test_admin_pages_are_403_for_other_roles(client, demo, role):
    login(client, role)
    token = csrf_from(client, "/admin/")

    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403
    refused = client.post("/admin/units", data={"csrf_token": token, "code": "X1", "name": "X"})
    assert refused.status_code == 403
    assert "không có quyền mở trang này" in refused.get_data(as_text=True)
    assert demo.scalar(select(Unit).where(Unit.code == "X1")) is None


def test_admin_pages_require_login(client, demo):
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")


def test_admin_forms_require_the_csrf_token(admin, demo):
    before = count(demo, Unit)

    for data in ({}, {"csrf_token": "wrong"}):
        response = admin.post("/admin/units", data={"code": "X1", "name": "Đơn vị X", **data})
        assert response.status_code == 400
    assert admin.post("/admin/staff/1/password").status_code == 400
    assert count(demo, Unit) == before


def test_admins_see_the_administration_menu(admin):
    html = page(admin, "/admin/units")

    for path in ADMIN_PAGES:
        assert f'href="{path}"' in html


# Units


def test_unit_tree_nests_units_under_their_parents(admin):
    html = page(admin, "/admin/units")

    tree = re.search(r'<ul class="tree">(.*)</ul>\s*</section>', html, re.S).group(1)
    district = tree.index("Quận Hoàn Kiếm")
    assert tree.index("Văn phòng UBND thành phố") < district < tree.index("Phường Hàng Bạc")
    assert "Đầu mối" in tree


def test_create_unit(admin, demo, caplog):
    parent = unit(demo, "Q-HK")
    caplog.set_level(logging.INFO, logger="handlers")

    response = post(
        admin,
        "/admin/units",
        {
            "code": "P-TT",
            "name": "Phường Tràng Tiền",
            "parent_id": str(parent.id),
            "sort_order": "5",
            "include_subunits": "1",
        },
    )

    assert response.status_code == 302
    created = unit(demo, "P-TT")
    assert (created.name, created.parent_id, created.sort_order) == (
        "Phường Tràng Tiền",
        parent.id,
        5,
    )
    assert created.include_subunits and not created.is_coordinator and created.active
    admin_id = demo.scalars(select(Staff.id).where(Staff.username == "admin")).one()
    assert f"admin change: unit created by staff_id={admin_id} unit_id={created.id}" in caplog.text
    assert "Đã tạo đơn vị “Phường Tràng Tiền”." in page(admin, "/admin/units")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "SXD", "name": "Trùng"}, "code", "Mã đơn vị này đã có."),
        ({"code": "có dấu", "name": "Sai mã"}, "code", "Mã đơn vị gồm 2 đến 40 ký tự"),
        ({"code": "NEW-1", "name": "  "}, "name", "Vui lòng nhập tên đơn vị."),
        (
            {"code": "NEW-1", "name": "Mới", "parent_id": "99999"},
            "parent_id",
            "Vui lòng chọn đơn vị cấp trên đang hoạt động.",
        ),
        (
            {"code": "NEW-1", "name": "Mới", "sort_order": "-3"},
            "sort_order",
            "Thứ tự hiển thị là số nguyên",
        ),
    ],
)
def test_invalid_unit_is_refused_next_to_the_field(admin, demo, data, field, message):
    before = count(demo, Unit)

    response = post(admin, "/admin/units", data)

    assert response.status_code == 422
    assert message in error_next_to(response.get_data(as_text=True), field)
    assert count(demo, Unit) == before


def test_rename_and_move_a_unit(admin, demo):
    ward, district = unit(demo, "P-HB"), unit(demo, "Q-BD")

    response = post(
        admin,
        f"/admin/units/{ward.id}",
        {
            "name": "Phường Hàng Bạc (mới)",
            "parent_id": str(district.id),
            "sort_order": "1",
            "active": "1",
            "is_coordinator": "",
            "include_subunits": "",
        },
    )

    assert response.status_code == 302
    moved = unit(demo, "P-HB")
    assert moved.name == "Phường Hàng Bạc (mới)" and moved.parent_id == district.id


@pytest.mark.parametrize("target", ["P-HB", "Q-HK"])
def test_moving_a_unit_under_itself_or_below_is_refused(admin, demo, target):
    district = unit(demo, "Q-HK")
    parent_before = district.parent_id

    response = post(
        admin,
        f"/admin/units/{district.id}",
        {
            "name": district.name,
            "parent_id": str(unit(demo, target).id),
            "active": "1",
        },
    )

    assert response.status_code == 422
    assert "chính nó hoặc một đơn vị cấp dưới" in error_next_to(
        response.get_data(as_text=True), "parent_id"
    )
    assert unit(demo, "Q-HK").parent_id == parent_before


def test_edit_page_offers_only_parents_outside_the_branch(admin, demo):
    district = unit(demo, "Q-HK")

    html = page(admin, f"/admin/units/{district.id}")

    options = re.search(r'<select id="f-parent_id"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert "Phường Hàng Bạc" not in options and "Quận Hoàn Kiếm" not in options
    assert "Quận Ba Đình" in options


def test_set_coordinator_flag_and_subunits(admin, demo):
    district = unit(demo, "Q-HK")

    post(
        admin,
        f"/admin/units/{district.id}",
        {
            "name": district.name,
            "parent_id": str(district.parent_id),
            "active": "1",
            "is_coordinator": "1",
            "include_subunits": "1",
        },
    )

    changed = unit(demo, "Q-HK")
    assert changed.is_coordinator and changed.include_subunits


def test_deactivate_a_unit(admin, demo, make_case):
    ward = unit(demo, "P-DB")
    form = {"name": ward.name, "parent_id": str(ward.parent_id)}

    assert post(admin, f"/admin/units/{ward.id}", form).status_code == 302
    assert not unit(demo, "P-DB").active


def test_a_unit_with_open_cases_cannot_be_deactivated(admin, demo, make_case):
    make_case(unit="SXD")
    sxd = unit(demo, "SXD")

    response = post(
        admin, f"/admin/units/{sxd.id}", {"name": sxd.name, "parent_id": str(sxd.parent_id)}
    )

    assert response.status_code == 422
    assert "còn 1 PAKN chưa kết thúc" in error_next_to(response.get_data(as_text=True), "active")
    assert unit(demo, "SXD").active


# Staff


def test_staff_page_lists_accounts_and_explains_the_roles(admin):
    html = page(admin, "/admin/staff")

    for text in (
        "canbo.sxd",
        "Lê Văn Hùng",
        "Quản trị hệ thống",
        "Cán bộ đầu mối",
        "Cán bộ xử lý",
        "Lãnh đạo đơn vị",
        "Phê duyệt hoặc trả lại dự thảo",
    ):
        assert text in html


def test_create_staff_who_can_then_log_in(client, admin, demo, caplog):
    caplog.set_level(logging.INFO, logger="handlers")
    password = "mat-khau-moi-2026"

    response = post(
        admin,
        "/admin/staff",
        {
            "username": "canbo.gt",
            "full_name": "Đỗ Thị Giao",
            "unit_id": str(unit(demo, "SGTVT").id),
            "roles": ["handler", "leader"],
            "password": password,
        },
    )

    assert response.status_code == 302
    created = demo.scalars(select(Staff).where(Staff.username == "canbo.gt")).one()
    assert created.role_set == {"handler", "leader"} and created.unit.code == "SGTVT"
    assert password not in caplog.text
    assert "staff created" in caplog.text
    logout(client)
    assert (
        client.post(
            "/admin/login",
            data={
                "username": "canbo.gt",
                "password": password,
                "csrf_token": csrf_from(client),
            },
        ).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "canbo.sxd"}, "username", "Tên đăng nhập này đã có."),
        ({"username": "Có Dấu"}, "username", "Tên đăng nhập gồm 3 đến 80 ký tự"),
        ({"full_name": ""}, "full_name", "Vui lòng nhập họ và tên."),
        ({"unit_id": ""}, "unit_id", "Vui lòng chọn đơn vị."),
        ({"roles": []}, "roles", "Vui lòng chọn ít nhất một vai trò."),
        ({"roles": ["superuser"]}, "roles", "Vui lòng chọn ít nhất một vai trò."),
        ({"password": "ngan"}, "password", "Mật khẩu dài từ 10"),
    ],
)
def test_invalid_staff_is_refused_next_to_the_field(admin, demo, data, field, message):
    form = {
        "username": "canbo.moi",
        "full_name": "Cán bộ mới",
        "unit_id": str(unit(demo, "SXD").id),
        "roles": ["handler"],
        "password": "mat-khau-du-dai",
    } | data
    before = count(demo, Staff)

    response = post(admin, "/admin/staff", form)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in error_next_to(html, field)
    assert count(demo, Staff) == before
    assert "mat-khau-du-dai" not in html  # a password is never echoed back


def test_change_roles_and_unit_then_deactivate(client, admin, demo):
    member = demo.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    health = unit(demo, "SYT")

    response = post(
        admin,
        f"/admin/staff/{member.id}",
        {
            "full_name": member.full_name,
            "unit_id": str(health.id),
            "roles": ["leader"],
            "active": "1",
        },
    )
    assert response.status_code == 302
    demo.expire_all()
    assert member.unit_id == health.id and member.role_set == {"leader"}

    post(
        admin,
        f"/admin/staff/{member.id}",
        {
            "full_name": member.full_name,
            "unit_id": str(health.id),
            "roles": ["leader"],
        },
    )
    demo.expire_all()
    assert not member.active
    logout(client)
    assert login(client, "handler").status_code == 401


def test_an_admin_cannot_lock_themselves_out(admin, demo):
    me = demo.scalars(select(Staff).where(Staff.username == "admin")).one()

    response = post(
        admin,
        f"/admin/staff/{me.id}",
        {
            "full_name": me.full_name,
            "unit_id": str(me.unit_id),
            "roles": ["coordinator"],
            "active": "1",
        },
    )

    assert response.status_code == 422
    assert "Không thể tự bỏ vai trò quản trị" in error_next_to(
        response.get_data(as_text=True), "roles"
    )
    demo.expire_all()
    assert me.role_set == {"admin"}


def test_reset_password_shows_a_new_one_once(client, admin, demo, caplog):
    caplog.set_level(logging.INFO, logger="handlers")
    member = demo.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()

    response = post(admin, f"/admin/staff/{member.id}/password", {})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    new_password = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    assert len(new_password) >= 12
    assert new_password not in caplog.text
    assert new_password not in page(admin, f"/admin/staff/{member.id}")
    logout(client)
    assert login(client, "handler").status_code == 401
    assert login(client, "handler", password=new_password).status_code == 302


def test_a_password_reset_ends_the_accounts_open_sessions(app, client, admin, demo):
    """A stolen or forgotten session cookie stops working once an administrator resets it."""
    member = demo.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    handler = app.test_client()
    assert login(handler, "handler").status_code == 302
    assert handler.get("/admin/").status_code == 200

    post(admin, f"/admin/staff/{member.id}/password", {})

    response = handler.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert admin.get("/admin/").status_code == 200  # other accounts' sessions are untouched


def test_unknown_staff_is_404(admin):
    assert admin.get("/admin/staff/99999").status_code == 404


# Fields


def test_create_and_edit_a_field(admin, demo):
    sxd = unit(demo, "SXD")

    created = post(
        admin,
        "/admin/fields",
        {"code": "DIEN", "name": "Điện lực", "default_unit_id": str(sxd.id), "sort_order": "95"},
    )
    assert created.status_code == 302
    item = demo.scalars(select(Field).where(Field.code == "DIEN")).one()
    assert (item.name, item.default_unit_id, item.sort_order, item.active) == (
        "Điện lực",
        sxd.id,
        95,
        True,
    )

    edited = post(
        admin,
        f"/admin/fields/{item.id}",
        {"name": "Điện, nước", "default_unit_id": "", "sort_order": "1"},
    )
    assert edited.status_code == 302
    demo.expire_all()
    assert (item.name, item.default_unit_id, item.sort_order, item.active) == (
        "Điện, nước",
        None,
        1,
        False,
    )
    assert "Ngừng sử dụng" in page(admin, "/admin/fields")


def test_invalid_field_is_refused(admin, demo):
    before = count(demo, Field)

    response = post(admin, "/admin/fields", {"code": "DAT-DAI", "name": ""})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Mã lĩnh vực này đã có." in error_next_to(html, "code")
    assert "Vui lòng nhập tên lĩnh vực." in error_next_to(html, "name")
    assert count(demo, Field) == before


# Response templates


def test_template_crud(admin, demo, caplog):
    caplog.set_level(logging.INFO, logger="handlers")
    field_id = demo.scalars(select(Field.id).where(Field.code == "XAY-DUNG")).one()
    form = {
        "action": "request_info",
        "field_id": str(field_id),
        "title": "Xin ảnh hiện trường",
        "body": "Đề nghị Ông/Bà gửi ảnh hiện trường của PAKN {ma_pakn}.",
    }

    html = page(admin, "/admin/templates")
    assert '<option value="request_info">Đề nghị bổ sung thông tin</option>' in html
    assert "{ma_pakn}" in html and "{han_tra_loi}" in html

    assert post(admin, "/admin/templates", form).status_code == 302
    item = demo.scalars(select(ResponseTemplate)).one()
    assert (item.action, item.field_id, item.active) == ("request_info", field_id, True)
    assert "Xin ảnh hiện trường" in page(admin, "/admin/templates")

    edited = post(admin, f"/admin/templates/{item.id}", form | {"field_id": "", "title": "Ảnh"})
    assert edited.status_code == 302
    demo.expire_all()
    assert (item.title, item.field_id, item.active) == ("Ảnh", None, False)

    assert post(admin, f"/admin/templates/{item.id}/delete", {}).status_code == 302
    assert count(demo, ResponseTemplate) == 0
    assert "template deleted" in caplog.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"action": "fly"}, "action", "Vui lòng chọn thao tác."),
        ({"field_id": "99999"}, "field_id", "Lĩnh vực không tồn tại."),
        ({"title": ""}, "title", "Vui lòng nhập tên mẫu."),
        ({"body": ""}, "body", "Vui lòng nhập nội dung mẫu."),
        (
            {"body": "Xin chào {ten_nguoi_dan} và {0}"},
            "body",
            "Mã thay thế không hợp lệ: {ten_nguoi_dan}.",
        ),
    ],
)
def test_invalid_template_is_refused(admin, demo, data, field, message):
    form = {"action": "progress", "title": "Tiến độ", "body": "PAKN {ma_pakn} đang xử lý."}

    response = post(admin, "/admin/templates", form | data)

    assert response.status_code == 422
    assert message in error_next_to(response.get_data(as_text=True), field)
    assert count(demo, ResponseTemplate) == 0

"""Urgent cases (PAKN khẩn) marked by staff: the workflow actions, their working-hours deadline,
who hears of it, the reminders once it is late, and the console and API around them.

June 2026 has no public holiday, so working hours are 08:00–12:00 and 13:00–17:00 on weekdays;
the default policy gives an urgent case 8 + 4 = 12 working hours.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot import worker
from cases import monitoring, workflow
from cases.clock import LOCAL_TZ
from cases.demo import seed_demo
from cases.workflow import InvalidInputError, NotAllowedError, WorkflowError
from handlers.runtime import get_runtime
from models import (
    Case,
    CaseEvent,
    CaseStatus,
    Citizen,
    MessageKind,
    OutboxMessage,
    Staff,
    StaffNotice,
    Unit,
)
from tests import api_helpers, console_helpers
from tests.console_helpers import action_forms, action_url, csrf_from, login, page, post_action
from tests.factories import make_case

S = CaseStatus
USER = "2468458835291979220"
REASON = "Công trình có nguy cơ đổ sập xuống lòng đường"
LINKED = ("dieuphoi", "canbo.sxd", "lanhdao.sxd")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local moment in Hà Nội, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), LOCAL_TZ).astimezone(UTC)


# --- the workflow -------------------------------------------------------------------------------
@pytest.fixture
def org(app, session):
    """Demo units and staff (three linked to their own Zalo), a citizen, a regular session."""
    writer = get_runtime(app).sessions()
    seed_demo(writer)
    staff = {s.username: s for s in writer.scalars(select(Staff))}
    zalo = {}
    for n, username in enumerate(LINKED, 1):
        own = Citizen(zalo_user_id=f"900000000000000000{n}")
        writer.add(own)
        writer.flush()
        staff[username].zalo_citizen_id = zalo[username] = own.id
    citizen = Citizen(zalo_user_id=USER)
    writer.add(citizen)
    writer.commit()
    units = {u.code: u.id for u in writer.scalars(select(Unit))}
    yield SimpleNamespace(
        writer=writer, reader=session, staff=staff, zalo=zalo, citizen=citizen, units=units
    )
    writer.close()


def new_case(org, status: CaseStatus = S.PROCESSING, **overrides) -> Case:
    """A case of the citizen received on Monday 01/06/2026 (Sở Xây dựng), now in `status`."""
    overrides.setdefault("received_at", local(date(2026, 6, 1), 9))
    case = make_case(org.writer, org.citizen.id, **overrides)
    case.status = status
    org.writer.commit()
    return case


def act(org, case: Case, who: str, name: str, now: datetime, **data) -> CaseEvent:
    """Take an action as the console and the API do: commit, or roll back when refused."""
    try:
        event = workflow.perform(org.writer, case, org.staff[who], name, data, now)
    except WorkflowError:
        org.writer.rollback()
        raise
    org.writer.commit()
    return event


def notices(org, kind: str) -> list[StaffNotice]:
    return list(
        org.reader.scalars(
            select(StaffNotice).where(StaffNotice.kind == kind).order_by(StaffNotice.id)
        )
    )


def staff_messages(org) -> list[tuple[int, str]]:
    """(staff's Zalo citizen id, text) of the reminders queued for staff, oldest first."""
    rows = org.reader.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == MessageKind.REMINDER)
        .order_by(OutboxMessage.id)
    )
    return [(row.citizen_id, row.payload["text"]) for row in rows]


def citizen_messages(org) -> list[OutboxMessage]:
    return list(
        org.reader.scalars(select(OutboxMessage).where(OutboxMessage.citizen_id == org.citizen.id))
    )


def test_leader_marks_a_case_urgent_and_the_unit_hears_of_it(org):
    case = new_case(org)
    friday = local(date(2026, 6, 5), 15, 30)

    event = act(org, case, "lanhdao.sxd", "mark_urgent", friday, note=REASON)

    # Friday 15:30–17:00, Monday 8 hours, Tuesday 08:00–10:30: twelve working hours.
    assert case.urgent is True
    assert case.urgent_due_at == local(date(2026, 6, 9), 10, 30)
    assert case.status is S.PROCESSING and case.answer_due_on == date(2026, 6, 22)
    assert (event.action, event.staff_id, event.visible_to_citizen) == (
        "mark_urgent",
        org.staff["lanhdao.sxd"].id,
        False,
    )
    assert event.note == f"Khẩn, hạn xử lý 09/06/2026 10:30: {REASON}"
    # An internal priority: the citizen is told nothing.
    assert citizen_messages(org) == []
    # The unit's handlers and leaders: a console notice each, and a Zalo message if linked.
    sxd = org.units["SXD"]
    posted = notices(org, "urgent_marked")
    assert [(n.role, n.unit_id) for n in posted] == [("handler", sxd), ("leader", sxd)]
    title = f"{case.code} được đánh dấu khẩn, hạn xử lý 09/06/2026 10:30"
    body = (
        f"{case.code} — Đèn đường hỏng (Sở Xây dựng) được đánh dấu PAKN khẩn: đề nghị tiếp nhận "
        f"và xử lý xong trước 09/06/2026 10:30. Lý do: {REASON}"
    )
    assert (posted[0].title, posted[0].body) == (title, body)
    assert staff_messages(org) == [
        (org.zalo["canbo.sxd"], f"Nhắc việc: {title}\n{body}"),
        (org.zalo["lanhdao.sxd"], f"Nhắc việc: {title}\n{body}"),
    ]


def test_a_received_case_marked_in_the_evening_counts_from_the_next_morning(org):
    case = new_case(org, S.RECEIVED)
    wednesday_evening = local(date(2026, 6, 3), 19)

    act(org, case, "dieuphoi", "mark_urgent", wednesday_evening, note=REASON)

    # Thursday 08:00–17:00 (8 hours), then Friday 08:00–12:00.
    assert case.urgent_due_at == local(date(2026, 6, 5), 12)
    # Unclassified: the coordinators are the ones who must act.
    assert [(n.role, n.unit_id) for n in notices(org, "urgent_marked")] == [("coordinator", None)]
    assert [who for who, _ in staff_messages(org)] == [org.zalo["dieuphoi"]]


def test_the_hours_come_from_the_policy_snapshotted_on_the_case(org):
    case = new_case(org)
    case.deadline_policy = {
        **case.deadline_policy,
        "urgent_takeup_hours": 1,
        "urgent_handle_hours": 2,
    }
    org.writer.commit()

    act(org, case, "dieuphoi", "mark_urgent", local(date(2026, 6, 8), 16), note=REASON)

    assert case.urgent_due_at == local(date(2026, 6, 9), 10)  # 1 hour Monday, 2 on Tuesday


def test_unmarking_clears_the_urgency_and_both_are_audited(org):
    case = new_case(org)
    monday = local(date(2026, 6, 8), 9)
    act(org, case, "lanhdao.sxd", "mark_urgent", monday, note=REASON)

    def allowed(who: str) -> set[str]:
        staff = org.staff[who]
        return {a.name for a in workflow.allowed_actions(org.writer, staff, case)}

    assert {"unmark_urgent"} <= allowed("lanhdao.sxd") and "mark_urgent" not in allowed("dieuphoi")
    with pytest.raises(WorkflowError) as twice:
        act(org, case, "dieuphoi", "mark_urgent", monday, note=REASON)
    assert twice.value.code == "invalid_transition"

    event = act(org, case, "dieuphoi", "unmark_urgent", monday, note="Đã chằng chống tạm thời")

    assert (case.urgent, case.urgent_due_at) == (False, None)
    assert (event.note, event.visible_to_citizen) == ("Đã chằng chống tạm thời", False)
    actions = [
        e.action for e in org.writer.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
    ]
    assert actions == ["received", "mark_urgent", "unmark_urgent"]
    assert "mark_urgent" in allowed("lanhdao.sxd") and "unmark_urgent" not in allowed("dieuphoi")
    assert citizen_messages(org) == []


def refused(org, case: Case, who: str, error: type[WorkflowError], **data) -> WorkflowError:
    """Try to mark `case` urgent as `who`; check the refusal changed nothing."""
    with pytest.raises(error) as raised:
        act(org, case, who, "mark_urgent", local(date(2026, 6, 8), 9), **data)
    org.reader.expire_all()
    stored = org.reader.get(Case, case.id)
    assert (stored.urgent, stored.urgent_due_at) == (False, None)
    events = org.reader.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id))
    assert list(events) == ["received"]
    assert notices(org, "urgent_marked") == [] and staff_messages(org) == []
    return raised.value


@pytest.mark.parametrize("status", [S.ANSWERED, S.PUBLISHED, S.REJECTED, S.MERGED])
def test_a_closed_case_cannot_be_marked(org, status):
    error = refused(org, new_case(org, status), "dieuphoi", WorkflowError, note=REASON)

    assert (error.code, error.status) == ("invalid_transition", 409)


def test_a_handler_may_not_mark(org):
    error = refused(org, new_case(org), "canbo.sxd", NotAllowedError, note=REASON)

    assert (error.code, error.status) == ("forbidden", 403)


def test_a_leader_waits_for_the_transfer(org):
    # Received, the case is the coordinator's; its suggested unit may only comment.
    error = refused(org, new_case(org, S.RECEIVED), "lanhdao.sxd", NotAllowedError, note=REASON)

    assert error.code == "forbidden"


def test_another_units_case_is_not_even_seen(org):
    case = new_case(org, field="MOI-TRUONG")

    assert refused(org, case, "lanhdao.sxd", NotAllowedError, note=REASON).code == "not_visible"


@pytest.mark.parametrize("note", [None, "", "   ", "Gấp"])
def test_a_reason_is_required(org, note):
    data = {} if note is None else {"note": note}

    error = refused(org, new_case(org), "lanhdao.sxd", InvalidInputError, **data)

    assert (error.code, error.status) == ("missing_note", 422)
    assert error.message == "Vui lòng nhập lý do đánh dấu khẩn (tối thiểu 5 ký tự)."


# --- reminders once late (time travel) ----------------------------------------------------------
def scan(app, now: datetime) -> int:
    with get_runtime(app).sessions() as session, session.begin():
        return monitoring.scan_deadlines(session, now)


def test_a_late_urgent_case_is_reminded_and_escalated_once(app, org):
    case = new_case(org)
    act(org, case, "lanhdao.sxd", "mark_urgent", local(date(2026, 6, 5), 15, 30), note=REASON)
    announced = len(staff_messages(org))
    tuesday = date(2026, 6, 9)  # due at 10:30; the answer is due on 22/06, far away

    assert scan(app, local(tuesday, 10, 15)) == 0
    assert scan(app, local(tuesday, 10, 45)) == 2  # reminded and escalated
    assert scan(app, local(tuesday, 11)) == 0
    assert scan(app, local(date(2026, 6, 10), 9)) == 0

    sxd = org.units["SXD"]
    late = notices(org, "urgent_overdue")
    assert [(n.role, n.unit_id) for n in late] == [("handler", sxd), ("leader", sxd)]
    assert late[0].title == f"{case.code} (khẩn) đã quá hạn xử lý (09/06/2026 10:30)"
    escalated = notices(org, "urgent_escalated")
    assert [(n.role, n.unit_id) for n in escalated] == [("coordinator", None), ("leader", sxd)]
    assert escalated[0].title == f"Đôn đốc: {case.code} (khẩn) của Sở Xây dựng quá hạn xử lý"
    assert "Đề nghị lãnh đạo đơn vị chỉ đạo xử lý ngay." in escalated[1].body
    # The ordinary answer reminders are not raised early.
    assert notices(org, "answer_overdue") == [] and notices(org, "escalated") == []
    # On Zalo: the overdue reminder to the unit's linked handler and leader, once.
    reminded = staff_messages(org)[announced:]
    assert [who for who, _ in reminded] == [org.zalo["canbo.sxd"], org.zalo["lanhdao.sxd"]]

    # Unmarked and marked again: a new urgent moment is reminded again.
    act(org, case, "dieuphoi", "unmark_urgent", local(date(2026, 6, 10), 9), note="Nhầm lẫn")
    act(org, case, "dieuphoi", "mark_urgent", local(date(2026, 6, 10), 9), note=REASON)
    assert case.urgent_due_at == local(date(2026, 6, 11), 14)  # 7 hours Wednesday, 5 Thursday
    assert scan(app, local(date(2026, 6, 11), 13)) == 0
    assert scan(app, local(date(2026, 6, 11), 14, 30)) == 2
    assert len(notices(org, "urgent_overdue")) == 4


def test_no_urgent_reminder_once_unmarked_closed_or_paused(app, org):
    friday = local(date(2026, 6, 5), 15, 30)
    unmarked, answered, paused = new_case(org), new_case(org), new_case(org)
    for case in (unmarked, answered, paused):
        act(org, case, "dieuphoi", "mark_urgent", friday, note=REASON)
    act(org, unmarked, "dieuphoi", "unmark_urgent", friday, note="Đã xử lý tạm thời")
    answered.status = S.ANSWERED
    paused.status, paused.paused_at = S.AWAITING_INFO, friday
    org.writer.commit()

    assert scan(app, local(date(2026, 6, 9), 11)) == 0
    assert notices(org, "urgent_overdue") == []


def test_a_late_unclassified_urgent_case_reminds_the_coordinators(app, org):
    case = new_case(org, S.RECEIVED, received_at=local(date(2026, 6, 8), 8))
    act(org, case, "dieuphoi", "mark_urgent", local(date(2026, 6, 8), 9), note=REASON)

    assert scan(app, local(date(2026, 6, 9), 13)) == 0  # due Tuesday 14:00
    assert scan(app, local(date(2026, 6, 9), 15)) == 1  # reminded; nobody else to urge

    assert [(n.role, n.unit_id) for n in notices(org, "urgent_overdue")] == [("coordinator", None)]
    assert notices(org, "urgent_escalated") == []


def test_the_workers_reminder_job_includes_urgent_cases(app, org, monkeypatch):
    case = new_case(org)
    act(org, case, "lanhdao.sxd", "mark_urgent", local(date(2026, 6, 5), 15, 30), note=REASON)

    monkeypatch.setattr(worker, "utcnow", lambda: local(date(2026, 6, 9), 10))
    assert worker.remind_deadlines(app) == 0
    monkeypatch.setattr(worker, "utcnow", lambda: local(date(2026, 6, 9), 11))
    assert worker.remind_deadlines(app) == 2
    assert worker.remind_deadlines(app) == 0


# --- the console --------------------------------------------------------------------------------
clock = console_helpers.clock
demo = console_helpers.demo
console_case = console_helpers.make_case
# The console clock: Friday 27/11/2026 10:00 in Hà Nội; 12 working hours end Monday 30/11 15:00.
CONSOLE_DUE = "30/11/2026 15:00"
BADGE = '<span class="overdue urgent"'


def listed(html: str) -> set[str]:
    """The case codes listed in the queue table."""
    return set(re.findall(r'<td data-label="Mã"><a href="[^"]+">([^<]+)</a>', html))


def test_console_marks_a_case_and_shows_it(client, console_case, clock, demo):
    code = console_case(status=S.PROCESSING)
    plain = console_case(status=S.PROCESSING)
    login(client, "leader")
    html = page(client, f"/admin/cases/{code}")
    assert "mark_urgent" in action_forms(html) and "unmark_urgent" not in action_forms(html)
    assert "Lý do đánh dấu khẩn" in html and BADGE not in html

    response = post_action(client, code, "mark_urgent", {"note": REASON})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/cases/{code}"
    html = page(client, f"/admin/cases/{code}")
    assert "Đã thực hiện “Đánh dấu khẩn”." in html
    assert BADGE in html
    assert f"<dt>Hạn xử lý khẩn</dt><dd>{CONSOLE_DUE}</dd>" in html
    assert action_forms(html) >= {"unmark_urgent"} and "mark_urgent" not in action_forms(html)
    assert f"Khẩn, hạn xử lý {CONSOLE_DUE}: {REASON}" in html  # the timeline

    # The queue: a badge on the urgent case, and a filter keeping only urgent cases.
    queue = page(client, "/admin/")
    row = re.search(
        rf'<td data-label="Mã"><a href="[^"]+">{re.escape(code)}</a>([^<]*<span[^>]*>)?', queue
    )
    assert row is not None and row.group(1) and "urgent" in row.group(1)
    assert f"{plain}</a></td>" in queue  # no badge on the other case
    filtered = page(client, "/admin/?urgent=1")
    assert listed(filtered) == {code} and listed(queue) == {code, plain}
    assert 'name="urgent" value="1" checked' in filtered
    assert 'name="urgent" value="1" checked' not in queue
    # The leader's own notice about it, above the queue.
    assert f"{code} được đánh dấu khẩn, hạn xử lý {CONSOLE_DUE}" in queue

    # Past the urgent moment the page says so.
    clock.advance(days=4)
    login(client, "leader")  # the login has expired meanwhile
    assert f'<dd>{CONSOLE_DUE} <span class="overdue">Quá hạn</span></dd>' in page(
        client, f"/admin/cases/{code}"
    )

    # Unmarked: the badge and the urgent deadline go.
    assert post_action(client, code, "unmark_urgent", {"note": "Đã khắc phục"}).status_code == 302
    html = page(client, f"/admin/cases/{code}")
    assert BADGE not in html and "<dt>Hạn xử lý khẩn</dt>" not in html
    assert "mark_urgent" in action_forms(html)
    assert listed(page(client, "/admin/?urgent=1")) == set()


def test_console_without_a_reason_shows_the_error_and_keeps_the_text(client, console_case, demo):
    code = console_case(status=S.PROCESSING)
    login(client, "coordinator")

    response = post_action(client, code, "mark_urgent", {"note": "Gấp"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Vui lòng nhập lý do đánh dấu khẩn (tối thiểu 5 ký tự)." in html
    assert ">Gấp</textarea>" in html
    demo.expire_all()
    case = demo.scalars(select(Case).where(Case.code == code)).one()
    assert (case.urgent, case.events) == (False, [])


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_console_marking_needs_the_csrf_token(client, console_case, demo, token):
    code = console_case(status=S.PROCESSING)
    login(client, "coordinator")
    data = {"note": REASON} | ({"csrf_token": token} if token else {})

    response = client.post(action_url(code, "mark_urgent"), data=data)

    assert response.status_code == 400
    demo.expire_all()
    assert demo.scalars(select(Case.urgent).where(Case.code == code)).one() is False


def test_console_handler_sees_the_badge_but_no_form(client, console_case, demo):
    code = console_case(status=S.PROCESSING, urgent=True)
    login(client, "handler")

    html = page(client, f"/admin/cases/{code}")
    refused = client.post(
        action_url(code, "unmark_urgent"),
        data={"note": REASON, "csrf_token": csrf_from(client, f"/admin/cases/{code}")},
    )

    assert BADGE in html
    assert not {"mark_urgent", "unmark_urgent"} & action_forms(html)
    assert refused.status_code == 403


# --- the API ------------------------------------------------------------------------------------
api = api_helpers.api
api_clock = api_helpers.api_clock
world = api_helpers.world


def test_api_marks_filters_and_unmarks(api, world, zalo):
    sxd = world.unit_id("SXD")
    code, other = world.case(), world.case()
    for case in (code, other):
        api.act(case, "transfer", "dieuphoi", unit_id=sxd)
        api.act(case, "accept", "canbo.sxd")
    told = len(zalo.texts())

    assert api.act(code, "mark_urgent", "canbo.sxd", note=REASON).status_code == 403
    missing = api.act(code, "mark_urgent", "lanhdao.sxd")
    assert missing.status_code == 422 and missing.json["error"]["code"] == "missing_note"
    response = api.act(code, "mark_urgent", "lanhdao.sxd", note=REASON)

    assert response.status_code == 200
    body = response.json
    # Friday 27/11 10:00 in Hà Nội + 12 working hours: Monday 30/11 15:00 (08:00 UTC).
    assert body["deadlines"]["urgent"] is True
    assert body["deadlines"]["urgent_due_at"] == "2026-11-30T08:00:00Z"
    assert body["timeline"][-1]["action"] == "mark_urgent"
    assert body["timeline"][-1]["label"] == "Đánh dấu khẩn"
    assert body["timeline"][-1]["visible_to_citizen"] is False
    assert "unmark_urgent" in body["allowed_actions"]
    assert "mark_urgent" not in body["allowed_actions"]
    assert api.act(code, "mark_urgent", "dieuphoi", note=REASON).status_code == 409
    assert len(zalo.texts()) == told  # the citizen is not told

    listed = api.get("/api/v1/cases?urgent=true", "canbo.sxd").json
    assert [item["code"] for item in listed["items"]] == [code]
    everything = api.get("/api/v1/cases?urgent=false", "canbo.sxd").json
    assert {item["code"] for item in everything["items"]} >= {code, other}
    invalid = api.get("/api/v1/cases?urgent=maybe", "canbo.sxd")
    assert invalid.status_code == 422 and invalid.json["error"]["code"] == "invalid_parameter"

    cleared = api.act(code, "unmark_urgent", "dieuphoi", note="Đã khắc phục tạm thời")
    assert cleared.status_code == 200
    assert cleared.json["deadlines"]["urgent"] is False
    assert cleared.json["deadlines"]["urgent_due_at"] is None
    assert api.get("/api/v1/cases?urgent=true", "canbo.sxd").json["items"] == []

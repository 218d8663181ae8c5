"""Deadline monitoring by time travel: reminders, escalation, the digest, progress updates, figures.

Every job runs with an injected `now` in its own transaction, as the worker runs it; the dates are
in June 2026, which has no public holiday, so working days are plain weekdays. A case received on
Monday 01/06 must be classified by Monday 08/06 and answered by Monday 22/06 (the 20th day is a
Sunday).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot import worker
from cases import deadlines, monitoring, notifications, workflow
from cases.clock import LOCAL_TZ
from cases.demo import seed_demo
from cases.staff import create_staff
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
from tests.factories import make_case

S = CaseStatus
USER = "2468458835291979220"
RECEIVED = date(2026, 6, 1)
ANSWER_DUE = date(2026, 6, 22)
CLASSIFY_DUE = date(2026, 6, 8)
STAFF_WITH_ZALO = ("dieuphoi", "canbo.sxd", "lanhdao.sxd", "canbo.gt")


def moment(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock local time on `day`, as an aware UTC datetime."""
    return datetime.combine(day, time(hour), LOCAL_TZ).astimezone(UTC)


def run(app, work, now: datetime):
    """Run one monitoring function in its own transaction, as the worker does."""
    with get_runtime(app).sessions() as session, session.begin():
        return work(session, now)


def scan(app, day: date, hour: int = 9) -> int:
    return run(app, monitoring.scan_deadlines, moment(day, hour))


def progress(app, day: date) -> int:
    return run(app, monitoring.send_progress_updates, moment(day))


@pytest.fixture
def world(session):
    """Demo units and staff (four of them linked to their own Zalo), and a citizen."""
    seed_demo(session)
    create_staff(session, "canbo2.sxd", "Đỗ Thị Hoa", "SXD", ["handler"], "mat-khau-dai-1")
    create_staff(session, "canbo.gt", "Cán bộ Giao thông", "SGTVT", ["handler"], "mat-khau-dai-1")
    staff = {s.username: s for s in session.scalars(select(Staff))}
    zalo = {}
    for n, username in enumerate(STAFF_WITH_ZALO, 1):
        own = Citizen(zalo_user_id=f"900000000000000000{n}")
        session.add(own)
        session.flush()
        staff[username].zalo_citizen_id = zalo[username] = own.id
    citizen = Citizen(zalo_user_id=USER)
    session.add(citizen)
    session.commit()
    units = {u.code: u.id for u in session.scalars(select(Unit))}
    return SimpleNamespace(staff=staff, zalo=zalo, citizen=citizen, units=units)


def open_case(session, world, status: CaseStatus = S.PROCESSING, **overrides) -> Case:
    """A case received on 01/06 from the citizen (or on paper with citizen=False), in `status`."""
    citizen_id = world.citizen.id if overrides.pop("citizen", True) else None
    overrides.setdefault("received_at", moment(RECEIVED))
    case = make_case(session, citizen_id, **overrides)
    case.status = status
    session.commit()
    return case


def notices(session, kind: str | None = None) -> list[StaffNotice]:
    session.expire_all()
    stmt = select(StaffNotice).order_by(StaffNotice.id)
    if kind:
        stmt = stmt.where(StaffNotice.kind == kind)
    return list(session.scalars(stmt))


def reminders(session) -> list[tuple[int, str]]:
    """(staff's Zalo citizen id, text) of every reminder queued, oldest first."""
    session.expire_all()
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == MessageKind.REMINDER)
        .order_by(OutboxMessage.id)
    )
    return [(row.citizen_id, row.payload["text"]) for row in rows]


def told(session, world) -> list[str]:
    """The texts queued for the citizen, oldest first."""
    session.expire_all()
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.citizen_id == world.citizen.id)
        .order_by(OutboxMessage.id)
    )
    return [row.payload["text"] for row in rows]


# --- reminders ----------------------------------------------------------------------------------
def test_the_dates_of_the_fixture(session, world):
    case = open_case(session, world)
    assert (case.classify_due_on, case.answer_due_on) == (CLASSIFY_DUE, ANSWER_DUE)


def test_answer_due_soon_reminds_the_units_staff_once_per_due_date(app, session, world):
    case = open_case(session, world)
    sxd = world.units["SXD"]

    assert scan(app, date(2026, 6, 17)) == 0  # 18, 19 and 22/06: three working days ahead
    assert scan(app, date(2026, 6, 18)) == 1  # 19 and 22/06: two
    assert scan(app, date(2026, 6, 18), hour=15) == 0
    assert scan(app, date(2026, 6, 19)) == 0

    posted = notices(session)
    assert [(n.kind, n.role, n.unit_id) for n in posted] == [
        ("answer_due_soon", "handler", sxd),
        ("answer_due_soon", "leader", sxd),
    ]
    title = f"{case.code} sắp đến hạn trả lời (22/06/2026)"
    body = f"{case.code} — {case.title} (Sở Xây dựng) cần được trả lời chậm nhất ngày 22/06/2026."
    assert (posted[0].title, posted[0].body) == (title, body)
    # On Zalo: the unit's handler and leader who linked their account; not the one who did not,
    # nor another unit's handler, nor the coordinator.
    assert reminders(session) == [
        (world.zalo["canbo.sxd"], f"Nhắc việc: {title}\n{body}"),
        (world.zalo["lanhdao.sxd"], f"Nhắc việc: {title}\n{body}"),
    ]


def test_a_new_due_date_is_reminded_again(app, session, world):
    case = open_case(session, world)
    assert scan(app, date(2026, 6, 18)) == 1

    deadlines.extend(case, deadlines.load_calendar(session), 5)  # to Friday 26/06
    session.commit()

    assert scan(app, date(2026, 6, 23)) == 0  # 24, 25 and 26/06
    assert scan(app, date(2026, 6, 24)) == 1
    assert [n.title for n in notices(session, "answer_due_soon")][-1].endswith("(26/06/2026)")
    assert len(reminders(session)) == 4


def test_overdue_reminds_the_unit_and_escalates_once(app, session, world):
    case = open_case(session, world)
    sxd = world.units["SXD"]

    assert scan(app, ANSWER_DUE) == 1  # due today: still "soon"
    assert scan(app, date(2026, 6, 23)) == 2  # one day late: reminded and escalated
    assert scan(app, date(2026, 6, 23), hour=16) == 0
    assert scan(app, date(2026, 6, 24)) == 0
    assert scan(app, date(2026, 7, 15)) == 0

    overdue = notices(session, "answer_overdue")
    assert [(n.role, n.unit_id) for n in overdue] == [("handler", sxd), ("leader", sxd)]
    assert overdue[0].title == f"{case.code} đã quá hạn trả lời (22/06/2026)"
    assert "đã quá hạn trả lời 1 ngày (hạn 22/06/2026)" in overdue[0].body
    escalated = notices(session, "escalated")
    assert [(n.role, n.unit_id) for n in escalated] == [("coordinator", None), ("leader", sxd)]
    assert escalated[0].title == f"Đôn đốc: {case.code} của Sở Xây dựng quá hạn trả lời"
    assert "Đề nghị đôn đốc đơn vị." in escalated[0].body
    assert "Đề nghị lãnh đạo đơn vị chỉ đạo trả lời ngay." in escalated[1].body
    # Zalo: the due-soon and the overdue reminder, each to the handler and the leader.
    recipients = [citizen_id for citizen_id, _ in reminders(session)]
    assert recipients == [world.zalo["canbo.sxd"], world.zalo["lanhdao.sxd"]] * 2


@pytest.mark.parametrize("status", [S.ANSWERED, S.PUBLISHED, S.REJECTED, S.MERGED, S.AWAITING_INFO])
def test_closed_or_paused_cases_are_left_alone(app, session, world, status):
    case = open_case(session, world, status)
    if status is S.AWAITING_INFO:
        deadlines.pause(case, moment(date(2026, 6, 10)))
        session.commit()

    assert scan(app, date(2026, 6, 18)) == 0
    assert scan(app, date(2026, 6, 23)) == 0
    assert progress(app, date(2026, 6, 23)) == 0
    assert notices(session) == [] and reminders(session) == []


def test_unclassified_case_reminds_the_coordinators(app, session, world):
    case = open_case(session, world, S.RECEIVED)

    assert scan(app, date(2026, 6, 4)) == 0  # 05 and 08/06: two working days ahead
    assert scan(app, date(2026, 6, 5)) == 1  # Friday; the due date is Monday
    assert scan(app, date(2026, 6, 8)) == 0
    assert scan(app, date(2026, 6, 9)) == 1

    posted = notices(session)
    assert [(n.kind, n.role, n.unit_id) for n in posted] == [
        ("classify_due_soon", "coordinator", None),
        ("classify_overdue", "coordinator", None),
    ]
    assert posted[0].title == f"{case.code} sắp hết hạn phân loại (08/06/2026)"
    assert [citizen_id for citizen_id, _ in reminders(session)] == [world.zalo["dieuphoi"]] * 2


def test_two_runs_at_once_raise_each_alert_once(app, session, world):
    open_case(session, world)
    now = moment(date(2026, 6, 23))
    second: dict[str, int] = {}

    with get_runtime(app).sessions() as first:
        with first.begin():
            assert monitoring.scan_deadlines(first, now) == 2
            # The other run starts while this one has not committed: it waits, then finds the
            # alerts taken.
            other = threading.Thread(
                target=lambda: second.update(raised=run(app, monitoring.scan_deadlines, now))
            )
            other.start()
        other.join()

    assert second == {"raised": 0}
    assert len(notices(session)) == 4 and len(reminders(session)) == 2


# --- the coordinators' digest -------------------------------------------------------------------
def test_digest_lists_units_and_late_cases_once_a_day(app, session, world):
    late = open_case(session, world)
    recent = make_case(session, None, field="GIAO-THONG", received_at=moment(date(2026, 6, 15)))
    recent.status = S.TRANSFERRED
    session.commit()
    open_case(session, world, S.ANSWERED)

    assert run(app, monitoring.post_deadline_digest, moment(date(2026, 6, 24), 8)) is True
    assert run(app, monitoring.post_deadline_digest, moment(date(2026, 6, 24), 17)) is False
    assert run(app, monitoring.post_deadline_digest, moment(date(2026, 6, 25), 8)) is True

    first, second = notices(session, "deadline_digest")
    assert first.role == "coordinator" and first.unit_id is None
    assert first.title == "Tình hình xử lý PAKN ngày 24/06/2026: 2 đang xử lý, 1 quá hạn"
    assert first.body.splitlines() == [
        "Theo đơn vị (đang xử lý / quá hạn):",
        "• Sở Xây dựng: 1 / 1",
        "• Sở Giao thông vận tải: 1 / 0",
        "PAKN quá hạn trả lời:",
        f"• {late.code} — Sở Xây dựng: hạn 22/06/2026, quá 2 ngày",
    ]
    assert second.body.endswith("quá 3 ngày")


def test_no_digest_when_nothing_is_open(app, session, world):
    open_case(session, world, S.PUBLISHED)

    assert run(app, monitoring.post_deadline_digest, moment(date(2026, 6, 24))) is False
    assert notices(session) == []


# --- progress updates to the citizen ------------------------------------------------------------
def test_late_case_citizen_hears_every_seven_days(app, session, world):
    case = open_case(session, world)
    standard = notifications.TEXTS["late_progress"].format(code=case.code, unit="Sở Xây dựng")
    assert standard == (
        f"{case.code} đang được Sở Xây dựng tiếp tục xử lý; cơ quan sẽ thông báo kết quả "
        "sớm nhất. Xin cảm ơn Ông/Bà đã kiên nhẫn chờ đợi."
    )

    assert progress(app, ANSWER_DUE) == 0  # not late yet
    assert progress(app, date(2026, 6, 23)) == 1  # day 0 of lateness
    assert progress(app, date(2026, 6, 23)) == 0
    assert progress(app, date(2026, 6, 26)) == 0  # day 3
    assert progress(app, date(2026, 6, 29)) == 0  # day 6
    assert progress(app, date(2026, 6, 30)) == 1  # day 7

    assert told(session, world) == [standard, standard]
    session.refresh(case)
    assert case.last_progress_at == moment(date(2026, 6, 30))
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "progress")
    ).all()
    assert [(e.actor, e.visible_to_citizen, e.note) for e in events] == [
        ("system", True, standard)
    ] * 2
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).all()
    assert {row.kind for row in rows} == {MessageKind.STATUS_UPDATE}


def test_staff_progress_restarts_the_clock_and_an_unsent_note_is_used(app, session, world):
    case = open_case(session, world)
    assert progress(app, date(2026, 6, 23)) == 1
    standard = told(session, world)[0]

    # Staff post progress through the workflow: it reaches the citizen and restarts the 7 days.
    note = "Đoàn kiểm tra đã làm việc tại hiện trường, đang lập biên bản."
    with get_runtime(app).sessions() as db:
        handler = db.get(Staff, world.staff["canbo.sxd"].id)
        workflow.perform(
            db,
            db.get(Case, case.id),
            handler,
            "progress",
            {"note": note},
            moment(date(2026, 6, 26)),
        )
        db.commit()
    assert progress(app, date(2026, 6, 30)) == 0  # 7 days after day 0, 4 after the staff's note
    assert progress(app, date(2026, 7, 3)) == 1  # 7 after the note: it was sent, so standard

    # A note staff wrote after the last update and that was not sent goes out with the next one.
    unsent = "Sở đã lấy ý kiến phòng Quản lý đô thị, dự kiến trả lời trong tuần tới."
    session.add(
        CaseEvent(
            case_id=case.id,
            at=moment(date(2026, 7, 6)),
            action="progress",
            actor=f"staff:{world.staff['canbo.sxd'].id}",
            staff_id=world.staff["canbo.sxd"].id,
            note=unsent,
        )
    )
    session.commit()
    assert progress(app, date(2026, 7, 10)) == 1

    assert told(session, world) == [
        standard,
        f"Cập nhật tiến độ {case.code}:\n{note}",
        standard,
        f"Cập nhật tiến độ {case.code}:\n{unsent}",
    ]


def test_case_received_on_paper_gets_no_zalo_update(app, session, world):
    open_case(session, world, citizen=False)

    assert progress(app, date(2026, 6, 23)) == 0
    assert session.scalars(select(OutboxMessage)).all() == []


# --- figures ------------------------------------------------------------------------------------
def test_unit_figures_from_a_hand_built_fixture(session, world):
    today = date(2026, 6, 25)
    open_case(session, world)  # late (due 22/06)
    open_case(session, world, S.TRANSFERRED, received_at=moment(date(2026, 6, 20)))  # due 10/07
    paused = open_case(session, world, S.AWAITING_INFO)  # late, but its clock stands still
    paused.paused_at = moment(date(2026, 6, 19))
    # Answered at 23:30 local on the due date: on time (16:30 UTC, same date).
    on_time = open_case(session, world, S.ANSWERED)
    on_time.answered_at = datetime.combine(ANSWER_DUE, time(23, 30), LOCAL_TZ).astimezone(UTC)
    # Answered at 00:30 local the day after: late, although it is still the due date in UTC.
    late = open_case(session, world, S.PUBLISHED)
    late.answered_at = datetime.combine(date(2026, 6, 23), time(0, 30), LOCAL_TZ).astimezone(UTC)
    assert late.answered_at.date() == ANSWER_DUE
    open_case(session, world, S.REJECTED, field="DAT-DAI")  # closed, never answered
    open_case(session, world, S.PROCESSING, field="GIAO-THONG")  # late
    session.commit()

    figures = {f.unit.code: tuple(f)[1:] for f in monitoring.unit_figures(session, today)}

    assert figures["SXD"] == (3, 1, 1, 1)
    assert figures["SGTVT"] == (1, 1, 0, 0)
    assert figures["STNMT"] == (0, 0, 0, 0)
    assert figures["VP-UBND"] == (0, 0, 0, 0)
    codes = [f.unit.code for f in monitoring.unit_figures(session, today)]
    assert codes[:3] == ["VP-UBND", "SXD", "STNMT"]  # the units' own order


# --- the worker's jobs --------------------------------------------------------------------------
def test_jobs_run_in_the_daytime_only(app, session, world, monkeypatch):
    open_case(session, world)
    monkeypatch.setattr(worker, "utcnow", lambda: moment(date(2026, 6, 23), 23))
    assert worker.remind_deadlines(app) is False
    assert worker.update_late_cases(app) is False

    monkeypatch.setattr(worker, "utcnow", lambda: moment(date(2026, 6, 24), 7))
    assert worker.remind_deadlines(app) == 2
    assert worker.update_late_cases(app) == 1
    assert worker.digest_deadlines(app) is False  # before HELD_DIGEST_HOUR (08:00)

    monkeypatch.setattr(worker, "utcnow", lambda: moment(date(2026, 6, 24), 8))
    assert worker.digest_deadlines(app) is True
    assert worker.remind_deadlines(app) == 0

"""The cases' kept "not yet delivered" flag (`Case.undelivered_since`) always equals what
`cases.undelivered.undelivered()` computes from the outbox, whichever way a row's state moves:
the dispatcher's outcomes, held rows released, Zalo's echo, receipts, ORM edits, bulk SQL
followed by the rebuild."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.delivery import Dispatcher
from bot.zalo import messages
from cases.demo import seed_demo
from cases.queue import QueueFilters, queue_page, status_counts
from cases.undelivered import recount_undelivered, undelivered
from models import Case, MessageKind, OutboxMessage, OutboxState, Staff, utcnow
from tests.conftest import Webhook
from tests.delivery_helpers import dispatcher, make_citizen, queue
from tests.factories import make_case
from tests.test_queue_perf_paths import recorded

USER = "2468458835291979220"


def flags(session) -> dict[int, datetime]:
    """The kept flag of every flagged case (read fresh, not from the identity map)."""
    rows = session.execute(
        select(Case.id, Case.undelivered_since).where(Case.undelivered_since.is_not(None))
    )
    return dict(rows.all())


def in_step(session) -> set[int]:
    """Check the kept flags against the rule computed over the outbox; return the flagged cases."""
    kept = flags(session)
    assert kept == undelivered(session)
    return set(kept)


def error_body(code: int) -> dict:
    return {"error": code, "message": f"zalo error {code}"}


def receipt(webhook: Webhook, name: str, msg_id: str):
    body = webhook.envelope("oa", name, {"msg_id": msg_id})
    body["sender"], body["recipient"] = {"id": "oa"}, {"id": USER}
    return webhook.post(body)


class ProcessDiedError(BaseException):
    """Stands for the process being killed after the send, before the outcome was written."""


def test_the_flag_follows_every_outcome_of_the_ledger(app, session, zalo, monkeypatch):
    citizen = make_citizen(session, days_since=10)  # window closed, no template: held
    a = make_case(session, citizen.id).id
    b = make_case(session, citizen.id).id
    webhook = Webhook(app.test_client())
    assert in_step(session) == set()

    # Held by the dispatcher: flagged since the message was queued.
    queue(session, citizen, "Kết quả A", kind=MessageKind.ANSWER, case_id=a)
    queue(session, citizen, "Tiến độ B", kind=MessageKind.STATUS_UPDATE, case_id=b)
    dispatcher(app).dispatch_citizen(citizen.id)
    assert in_step(session) == {a, b}

    # The citizen writes: held rows are released (and sent right after the commit).
    assert webhook.text(USER, "xin chào").status_code == 200
    assert "Kết quả A" in zalo.texts(USER)
    assert in_step(session) == set()

    # Failed for good: flagged; a message of another case reaching the citizen changes nothing.
    queue(session, citizen, "Kết quả A lần 2", kind=MessageKind.ANSWER, case_id=a)
    zalo.fail_next(error_body(-201))
    dispatcher(app).dispatch_citizen(citizen.id)
    assert in_step(session) == {a}
    queue(session, citizen, "Tiến độ B lần 2", kind=MessageKind.STATUS_UPDATE, case_id=b)
    dispatcher(app).dispatch_citizen(citizen.id)
    assert in_step(session) == {a}

    # A later message of the same case reached the citizen: made good.
    [resent] = queue(session, citizen, "Kết quả A gửi lại", kind=MessageKind.ANSWER, case_id=a)
    dispatcher(app).dispatch_citizen(citizen.id)
    assert in_step(session) == set()

    # Receipts (sent -> delivered -> seen) keep it so.
    session.refresh(resent)
    assert receipt(webhook, "user_received_message", resent.zalo_message_id).status_code == 200
    assert receipt(webhook, "user_seen_message", resent.zalo_message_id).status_code == 200
    session.refresh(resent)
    assert resent.state is OutboxState.SEEN
    assert in_step(session) == set()

    # Failed, then the resend's outcome is lost with its process; Zalo's echo confirms it.
    queue(session, citizen, "Tiến độ B lần 3", kind=MessageKind.STATUS_UPDATE, case_id=b)
    zalo.fail_next(error_body(-201))
    dispatcher(app).dispatch_citizen(citizen.id)
    assert in_step(session) == {b}
    [lost] = queue(session, citizen, "Tiến độ B gửi lại", kind=MessageKind.STATUS_UPDATE, case_id=b)
    with monkeypatch.context() as patch:

        def die(self, claim, values):
            raise ProcessDiedError

        patch.setattr(Dispatcher, "_finish", die)
        with pytest.raises(ProcessDiedError):
            dispatcher(app).dispatch_citizen(citizen.id)
    assert in_step(session) == {b}
    echo = webhook.envelope("oa", "oa_send_text", {"msg_id": "mid-echo", "text": "Tiến độ B"})
    echo["sender"], echo["recipient"] = {"id": "oa"}, {"id": USER}
    assert webhook.post(echo).status_code == 200
    session.refresh(lost)
    assert lost.state is OutboxState.SENT
    assert in_step(session) == set()


def test_the_flag_is_the_moment_of_the_oldest_message_not_delivered(app, session, zalo):
    citizen = make_citizen(session, days_since=10)
    case = make_case(session, citizen.id)
    early = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    queue(session, citizen, "Một", kind=MessageKind.ANSWER, case_id=case.id, at=early)
    queue(session, citizen, "Hai", kind=MessageKind.ANSWER, case_id=case.id)
    dispatcher(app).dispatch_citizen(citizen.id)

    assert flags(session) == {case.id: early}


# ORM edits: anything that writes outbox rows through a session (tests, privacy, later code).
STATES = list(OutboxState)


@pytest.mark.parametrize("seed", range(3))
def test_any_sequence_of_orm_changes_keeps_the_flag_in_step(app, session, seed):
    rng = random.Random(seed)
    citizen = make_citizen(session)
    cases = [make_case(session, citizen.id).id for _ in range(3)]
    start = utcnow()
    rows: list[OutboxMessage] = []
    for step in range(40):
        roll = rng.random()
        if roll < 0.45 or not rows:
            row = OutboxMessage(
                citizen_id=citizen.id,
                case_id=rng.choice([*cases, None]),
                payload=messages.text(f"Tin {step}"),
                state=rng.choice(STATES),
                queued_at=start + timedelta(minutes=step),
            )
            session.add(row)
            rows.append(row)
        elif roll < 0.9:
            rng.choice(rows).state = rng.choice(STATES)
        elif roll < 0.95:
            rng.choice(rows).case_id = rng.choice(cases)
        else:
            row = rows.pop(rng.randrange(len(rows)))
            session.delete(row)
        session.commit()
        in_step(session)
    assert any(
        row.state in (OutboxState.HELD, OutboxState.FAILED) and row.case_id for row in rows
    ), "the sequence never flagged a case: choose another seed"


def test_a_loaded_case_reads_the_new_flag(app, session):
    citizen = make_citizen(session)
    case = make_case(session, citizen.id)
    assert case.undelivered_since is None
    session.add(
        OutboxMessage(
            citizen_id=citizen.id,
            case_id=case.id,
            payload=messages.text("Kết quả"),
            state=OutboxState.HELD,
        )
    )
    session.commit()

    assert case.undelivered_since is not None


def test_keeping_the_flag_does_not_touch_the_case_edit_time(app, session):
    citizen = make_citizen(session)
    case = make_case(session, citizen.id)
    edited = session.scalar(select(Case.updated_at).where(Case.id == case.id))
    row = OutboxMessage(
        citizen_id=citizen.id,
        case_id=case.id,
        payload=messages.text("Kết quả"),
        state=OutboxState.FAILED,
    )
    session.add(row)
    session.commit()

    assert flags(session) == {case.id: row.queued_at}
    assert session.scalar(select(Case.updated_at).where(Case.id == case.id)) == edited


# The dispatcher's cost per message.
def test_the_dispatcher_touches_cases_only_when_a_flag_can_move(app, session, zalo):
    citizen = make_citizen(session)
    case = make_case(session, citizen.id)

    def case_updates(*texts: str, case_id: int | None) -> list[str]:
        queue(session, citizen, *texts, case_id=case_id)
        with recorded(app) as found:
            dispatcher(app).dispatch_citizen(citizen.id)
        return [s for s in found if s.lstrip().upper().startswith("UPDATE PAKN_CASE")]

    # A chat reply has no case: nothing but the outbox.
    assert case_updates("Xin chào", case_id=None) == []
    # Sent for a case: one statement, which can only clear a flag already set.
    [sent] = case_updates("Tiến độ", case_id=case.id)
    assert "undelivered_since IS NOT NULL" in sent
    # Failed for a case: one statement that may set it.
    zalo.fail_next(error_body(-201))
    [failed] = case_updates("Kết quả", case_id=case.id)
    assert "undelivered_since IS NOT NULL" not in failed
    assert in_step(session) == {case.id}
    # A retry later changes nothing.
    zalo.fail_next(error_body(-32))
    assert case_updates("Nhắc", case_id=case.id) == []


# Bulk SQL goes around the upkeep: the rebuild puts every case right.
def test_the_rebuild_puts_every_flag_right_after_bulk_sql(app, session):
    citizen = make_citizen(session)
    held, failed, fine, stray = (make_case(session, citizen.id).id for _ in range(4))
    for case_id, state in (
        (held, OutboxState.HELD),
        (failed, OutboxState.FAILED),
        (fine, OutboxState.SENT),
    ):
        session.add(
            OutboxMessage(
                citizen_id=citizen.id, case_id=case_id, payload=messages.text("x"), state=state
            )
        )
    session.commit()
    session.execute(update(Case).values(undelivered_since=None))
    session.execute(update(Case).where(Case.id == stray).values(undelivered_since=utcnow()))
    session.execute(
        update(OutboxMessage).where(OutboxMessage.case_id == held).values(state=OutboxState.FAILED)
    )
    session.commit()
    assert set(flags(session)) == {stray}

    recount_undelivered(session)
    session.commit()

    assert in_step(session) == {held, failed}


def test_the_queue_filter_reads_the_kept_flag(app, session):
    seed_demo(session)
    session.commit()
    coordinator = session.scalars(select(Staff).where(Staff.username == "dieuphoi")).one()
    flagged = make_case(session)
    make_case(session)
    # As after a bulk load, before the rebuild: the flag is what the filter reads.
    session.execute(update(Case).where(Case.id == flagged.id).values(undelivered_since=utcnow()))
    session.commit()
    filters, today = QueueFilters(undelivered_only=True), utcnow().date()

    counts = status_counts(session, coordinator, filters, today)
    cases = queue_page(session, coordinator, filters, today, 50, 0)

    assert sum(counts.values()) == 1 and [case.id for case in cases] == [flagged.id]


def test_the_worker_rebuilds_flags_a_race_left_wrong(app, session):
    """The `undelivered-recount` job puts right a flag that concurrent changes left stale."""
    from bot.worker import recount_undelivered_flags

    citizen = make_citizen(session)
    case_id = make_case(session, citizen.id).id
    session.add(
        OutboxMessage(
            citizen_id=citizen.id,
            case_id=case_id,
            payload=messages.text("x"),
            state=OutboxState.HELD,
        )
    )
    session.commit()
    session.execute(update(Case).values(undelivered_since=None))  # as a lost race would leave it
    session.commit()
    assert flags(session) == {}

    recount_undelivered_flags(app)

    assert in_step(session) == {case_id}

"""Citizens' personal data: anonymising (Zalo's user_withdraw, the chat request), what is left
afterwards in every table, figures, queued messages, retention, and what staff are shown.

`Scenario` builds a citizen the way real use does: a PAKN sent through the chat with a photo,
information added later, a rating with a comment, a coordinators' notice quoting it, an answer
still held for them, a staff member's Zalo link to their row. `traces` then reads every column
of every table looking for what identified them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import config
from bot.delivery import enqueue
from bot.worker import download_attachments, retain_personal_data
from bot.zalo import messages
from cases import counts, notifications, privacy
from cases.notices import post_notice
from cases.redaction import fold
from models import (
    AttachmentState,
    Base,
    Case,
    CaseAttachment,
    CaseEvent,
    CaseStatus,
    Citizen,
    ContactAccess,
    Conversation,
    ErasureTrigger,
    InboundEvent,
    MessageKind,
    OutboxMessage,
    OutboxState,
    PersonalDataErasure,
    Staff,
    StaffNotice,
    utcnow,
)
from tests import api_helpers, console_helpers
from tests.conftest import load_fixture
from tests.console_helpers import login, page
from tests.delivery_helpers import dispatcher, make_citizen
from tests.factories import make_case
from tests.test_flow_commands import NAME, PHONE, USER, Chat
from tests.test_flow_privacy import EMAIL

clock = console_helpers.clock
demo = console_helpers.demo
world = api_helpers.world
api = api_helpers.api
api_clock = api_helpers.api_clock

PHOTO = "https://photo-stal-1.zdn.vn/x/anh-nha.jpg"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
CONTENT = (
    f"Tôi là {NAME}, nhà ở 12 Hàng Bạc, điện thoại {PHONE}, email {EMAIL}. "
    "Đèn tín hiệu tại ngã tư Hàng Bạc - Hàng Đào đã hỏng ba ngày."
)
WITHDRAW = load_fixture("user_withdraw")
# What identified the citizen, wherever it was written.
NEEDLES = (NAME, PHONE, PHONE[1:], EMAIL, "12 Hàng Bạc", PHOTO, USER, WITHDRAW["user_id_by_app"])


def traces(session, needles=NEEDLES) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every value in the database containing a needle, compared
    without case or diacritics."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = (
                    json.dumps(value, ensure_ascii=False)
                    if isinstance(value, dict | list)
                    else value
                )
                folded = fold(str(text))
                found += [(table.name, column, n) for n in needles if fold(n) in folded]
    return found


@dataclass
class Scenario:
    """A citizen as real use leaves them, and what to check afterwards."""

    chat: Chat
    case_id: int
    citizen_id: int
    stored: Path
    waiting: list[int]

    def case(self) -> Case:
        session = self.chat.session
        session.expire_all()
        return session.get(Case, self.case_id)


def facts(case: Case) -> tuple:
    """What figures are made of: none of it may change when personal data goes."""
    return (
        case.code,
        case.kind,
        case.status,
        case.unit_id,
        case.field_id,
        case.received_at,
        case.answer_due_on,
        case.consent_at,
        case.resolved,
        case.rating,
        case.hide_identity,
    )


@pytest.fixture
def scenario(app, demo, webhook, zalo) -> Scenario:
    session = demo
    chat = Chat(webhook, zalo, session)
    chat.reach("submit_content")
    chat.say(CONTENT)
    chat.say("xong")
    chat.image(PHOTO)
    chat.say("#files:done")
    chat.reach("submit_email")
    for answer in (EMAIL, "#consent:yes", "#privacy:hide", "#confirm:send"):
        chat.say(answer)
    case = session.scalars(select(Case)).one()
    zalo.mock.get(PHOTO, body=JPEG, content_type="image/jpeg")
    with app.app_context():
        assert download_attachments(app) == 1
    stored = Path(session.scalars(select(CaseAttachment.storage_path)).one())
    assert stored.read_bytes() == JPEG
    # Later information quoting the phone, a rating with a comment, a notice quoting it.
    chat.say(f"Xin bổ sung: nếu cần, gọi {NAME} theo số {PHONE}.")
    chat.say("#add:add")
    chat.say("xong")
    case.resolved, case.rating = "no", 2
    case.rating_comment = f"{NAME} chưa hài lòng, đề nghị gọi {PHONE}."
    case.answer_text = f"Kính gửi ông {NAME}, đèn tín hiệu sẽ được thay trong tuần."
    post_notice(
        session,
        "survey_unhappy",
        "coordinator",
        f"{case.code}: người dân chưa hài lòng",
        f"{case.code} — Ý kiến: {case.rating_comment}",
        utcnow(),
    )
    staff = session.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    staff.zalo_citizen_id = case.citizen_id
    # An answer held for them (window closed) and an update not sent yet.
    held = enqueue(
        session,
        case.citizen_id,
        messages.text(f"Kết quả trả lời {case.code}: {case.answer_text}"),
        kind=MessageKind.ANSWER,
        case_id=case.id,
    )
    held.state = OutboxState.HELD
    pending = enqueue(
        session,
        case.citizen_id,
        messages.text(f"{case.code} đang được xử lý."),
        kind=MessageKind.STATUS_UPDATE,
        case_id=case.id,
    )
    pending.next_attempt_at = utcnow() + timedelta(hours=1)
    session.commit()
    zalo.clear()
    return Scenario(chat, case.id, case.citizen_id, stored, [held.id, pending.id])


def test_the_scenario_really_spreads_personal_data_everywhere(scenario):
    found = {(table, column) for table, column, _ in traces(scenario.chat.session)}

    assert {
        ("citizen", "zalo_user_id"),
        ("citizen", "name"),
        ("pakn_case", "contact_phone"),
        ("pakn_case", "content"),
        ("pakn_case", "answer_text"),
        ("pakn_case", "rating_comment"),
        ("case_attachment", "source_url"),
        ("case_event", "note"),
        ("inbound_event", "body"),
        ("outbox_message", "payload"),
        ("staff_notice", "body"),
    } <= found


# --- Zalo's user_withdraw ------------------------------------------------------------------------
def test_withdraw_through_the_webhook_leaves_no_personal_data_anywhere(scenario, webhook):
    session = scenario.chat.session

    assert webhook.post(WITHDRAW).status_code == 200

    assert traces(session) == []


def test_withdraw_keeps_the_case_and_its_figures(scenario, webhook):
    session = scenario.chat.session
    before = facts(scenario.case())
    kept_counts = counts.counts_by_status(session, None)

    webhook.post(WITHDRAW)

    case = scenario.case()
    assert facts(case) == before
    assert counts.counts_by_status(session, None) == kept_counts
    assert case.title and "Đèn tín hiệu tại ngã tư Hàng Bạc - Hàng Đào đã hỏng" in case.content
    assert (case.contact_name, case.contact_phone, case.contact_address, case.contact_email) == (
        None,
        None,
        None,
        None,
    )
    # The case still belongs to a (now anonymous) citizen row.
    citizen = session.get(Citizen, scenario.citizen_id)
    assert case.citizen_id == citizen.id
    assert citizen.zalo_user_id.startswith(privacy.PLACEHOLDER_PREFIX)
    assert privacy.is_anonymised(citizen) and citizen.consent_at is None
    assert session.get(Conversation, citizen.id).draft == {}


def test_withdraw_deletes_the_files_and_keeps_their_rows_marked(scenario, webhook):
    webhook.post(WITHDRAW)

    attachment = scenario.chat.session.scalars(select(CaseAttachment)).one()
    assert attachment.state is AttachmentState.REMOVED
    assert attachment.storage_path is None and attachment.file_name is None
    assert not scenario.stored.exists()


def test_withdraw_is_audited_without_personal_data(scenario, webhook):
    session = scenario.chat.session

    webhook.post(WITHDRAW)

    record = session.scalars(select(PersonalDataErasure)).one()
    assert (record.trigger, record.actor, record.citizen_id) == (
        ErasureTrigger.USER_WITHDRAW,
        "zalo",
        scenario.citizen_id,
    )
    assert record.counts["cases"] == 1 and record.counts["attachments"] == 1
    assert record.counts["messages_not_sent"] == 2 and record.counts["staff_links"] == 1
    assert record.counts["inbound_events"] >= 20
    event = session.scalars(
        select(CaseEvent).where(CaseEvent.action == privacy.ERASED_ACTION)
    ).one()
    assert event.case_id == scenario.case_id and event.actor == "citizen"
    assert (
        event.note
        == "Đã xóa dữ liệu cá nhân theo yêu cầu của người gửi (rút lại sự đồng ý trên Zalo)."
    )
    assert event.visible_to_citizen is False
    # The withdraw event itself is kept, as a skeleton that names nobody.
    stored = session.scalars(
        select(InboundEvent).where(InboundEvent.event_name == "user_withdraw")
    ).one()
    assert stored.body == privacy.SKELETON and stored.zalo_user_id is None


def test_withdraw_a_second_time_changes_nothing_more(scenario, webhook):
    session = scenario.chat.session
    webhook.post(WITHDRAW)
    citizen = session.get(Citizen, scenario.citizen_id)

    assert (
        privacy.anonymise_citizen(session, citizen, ErasureTrigger.RETENTION, "x", utcnow()) is None
    )
    assert webhook.post(WITHDRAW).get_json() == {"status": "duplicate"}
    assert session.scalar(select(func.count()).select_from(PersonalDataErasure)) == 1
    assert (
        session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.action == privacy.ERASED_ACTION)
        )
        == 1
    )


def test_withdraw_unlinks_the_staff_members_zalo(scenario, webhook):
    webhook.post(WITHDRAW)

    staff = scenario.chat.session.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    assert staff.zalo_citizen_id is None


def test_withdraw_applied_by_the_worker_does_not_register_the_user_again(make_app, session, zalo):
    from bot.worker import apply_events
    from tests.conftest import Webhook

    app = make_app(WEBHOOK_PROCESSING="worker")
    Webhook(app.test_client()).text(USER, "Xin chào")
    Webhook(app.test_client()).post(WITHDRAW)
    with app.app_context():
        apply_events(app)

    assert traces(session, (USER,)) == []
    assert privacy.is_anonymised(session.scalars(select(Citizen)).one())


# --- messages that may no longer go ----------------------------------------------------------------
def test_waiting_messages_are_closed_with_the_reason_not_lost(scenario, webhook, client):
    session = scenario.chat.session

    webhook.post(WITHDRAW)

    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(scenario.waiting))
    ).all()
    assert {(r.state, r.last_error) for r in rows} == {(OutboxState.FAILED, privacy.UNDELIVERABLE)}
    login(client, "coordinator")
    html = page(client, f"/admin/cases/{scenario.case().code}")
    assert privacy.UNDELIVERABLE in html
    assert "Trả lời chưa đến được người dân" in html
    assert "Xóa dữ liệu cá nhân" in html  # the timeline entry


def test_a_later_message_for_them_is_never_sent_and_is_closed_too(app, scenario, webhook, zalo):
    session = scenario.chat.session
    webhook.post(WITHDRAW)
    zalo.clear()

    notifications.notify(session, scenario.case(), "progress", utcnow(), note="Đang thay đèn.")
    session.commit()
    dispatcher(app).dispatch_citizen(scenario.citizen_id)

    assert zalo.sent == []
    row = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    session.refresh(row)
    assert row.state is OutboxState.HELD  # the channel plan cannot reach an anonymised row
    privacy.retention_sweep(session, utcnow(), None)
    session.commit()
    session.refresh(row)
    assert (row.state, row.last_error) == (OutboxState.FAILED, privacy.UNDELIVERABLE)


def test_a_closed_message_flags_its_case_as_not_delivered(scenario, webhook):
    session = scenario.chat.session
    webhook.post(WITHDRAW)
    session.execute(update(OutboxMessage).values(state=OutboxState.SENT))
    session.execute(update(Case).values(undelivered_since=None))
    notifications.notify(session, scenario.case(), "progress", utcnow(), note="Đang thay đèn.")
    session.commit()
    assert scenario.case().undelivered_since is None  # queued: nothing known yet

    assert privacy.close_undeliverable(session) == 1
    session.commit()

    assert scenario.case().undelivered_since is not None


# --- the chat request ----------------------------------------------------------------------------
def test_chat_deletion_leaves_only_the_persons_fresh_zalo_row(scenario, app, zalo):
    chat, session = scenario.chat, scenario.chat.session
    before = facts(scenario.case())

    chat.say("Xóa dữ liệu")
    acknowledgement = chat.say("#erase:yes")

    assert len(acknowledgement) == 1 and acknowledgement[0].startswith("Dữ liệu cá nhân")
    assert traces(session) == [("citizen", "zalo_user_id", USER)]
    fresh = chat.citizen()
    assert (fresh.name, fresh.phone, fresh.address, fresh.email) == (None,) * 4
    assert facts(scenario.case()) == before
    record = session.scalars(select(PersonalDataErasure)).one()
    assert (record.trigger, record.actor) == (ErasureTrigger.CHAT_REQUEST, "citizen")
    # The acknowledgement was the last message: nothing else is left to send, ever.
    zalo.clear()
    with app.app_context():
        dispatcher(app).sweep()
    assert zalo.sent == []
    waiting = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.state.in_(privacy.WAITING))
    )
    assert waiting == 0


# --- retention -----------------------------------------------------------------------------------
NOW = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)
DAYS = 365
CUTOFF = NOW - timedelta(days=DAYS)


def aged_citizen(session, zalo_id: str, last_interaction: datetime) -> Citizen:
    citizen = make_citizen(session, zalo_id, phone=PHONE)
    citizen.name, citizen.created_at = NAME, CUTOFF - timedelta(days=200)
    citizen.last_interaction_at = last_interaction
    session.commit()
    return citizen


def closed_case(session, citizen: Citizen, closed_at: datetime, **values) -> Case:
    case = make_case(session, citizen.id, content=CONTENT, **values)
    case.status, case.answered_at, case.updated_at = CaseStatus.ANSWERED, closed_at, closed_at
    session.commit()
    return case


def reload(session, row):
    session.expire_all()
    return session.get(type(row), row.id)


@pytest.fixture
def aged(session):
    """Citizen "old": one case closed just over the period ago, silent since."""
    old = aged_citizen(session, "1001", CUTOFF - timedelta(days=30))
    return old, closed_case(session, old, CUTOFF - timedelta(hours=1))


def test_a_case_closed_just_over_the_period_is_anonymised_with_its_citizen(session, aged):
    citizen, case = aged

    assert privacy.retention_sweep(session, NOW, DAYS) == 2
    session.commit()

    case, citizen = reload(session, case), reload(session, citizen)
    assert case.contact_name is None and NAME not in case.content and PHONE not in case.content
    assert case.status is CaseStatus.ANSWERED
    assert privacy.is_anonymised(citizen) and citizen.name is None
    event = session.scalars(
        select(CaseEvent).where(CaseEvent.action == privacy.ERASED_ACTION)
    ).one()
    assert (event.actor, event.note) == ("system", privacy.NOTES[ErasureTrigger.RETENTION])
    triggers = session.scalars(select(PersonalDataErasure.trigger)).all()
    assert triggers == [ErasureTrigger.RETENTION, ErasureTrigger.RETENTION]


def test_a_case_closed_just_under_the_period_is_kept(session):
    citizen = aged_citizen(session, "1002", CUTOFF - timedelta(days=30))
    case = closed_case(session, citizen, CUTOFF + timedelta(hours=1))

    assert privacy.retention_sweep(session, NOW, DAYS) == 0
    session.commit()

    assert reload(session, case).contact_name == "Nguyễn Văn An"
    assert reload(session, citizen).name == NAME


def test_open_or_recent_cases_keep_their_citizen(session, aged):
    busy = aged_citizen(session, "1003", CUTOFF - timedelta(days=30))
    old_case = closed_case(session, busy, CUTOFF - timedelta(days=2))
    open_case = make_case(session, busy.id, content=CONTENT)
    chatty = aged_citizen(session, "1004", NOW - timedelta(days=1))
    chatty_case = closed_case(session, chatty, CUTOFF - timedelta(days=2))

    privacy.retention_sweep(session, NOW, DAYS)
    session.commit()

    assert reload(session, old_case).contact_name is None
    assert reload(session, chatty_case).contact_name is None
    assert reload(session, open_case).contact_name == "Nguyễn Văn An"
    assert reload(session, busy).name == NAME and reload(session, chatty).name == NAME


def test_retention_is_bounded_per_run_and_idempotent(session):
    citizen = aged_citizen(session, "1005", NOW - timedelta(days=1))
    cases = [closed_case(session, citizen, CUTOFF - timedelta(days=n)) for n in (3, 2, 1)]

    assert privacy.retention_sweep(session, NOW, DAYS, batch=2) == 2
    session.commit()
    assert [reload(session, c).contact_name is None for c in cases] == [True, True, False]
    assert privacy.retention_sweep(session, NOW, DAYS, batch=2) == 1
    assert privacy.retention_sweep(session, NOW, DAYS, batch=2) == 0
    session.commit()
    erased = select(func.count()).select_from(CaseEvent)
    assert session.scalar(erased.where(CaseEvent.action == privacy.ERASED_ACTION)) == 3


def test_retention_keeps_the_figures(session, aged):
    _citizen, case = aged
    before, kept_counts = facts(case), counts.counts_by_status(session, None)

    privacy.retention_sweep(session, NOW, DAYS)
    session.commit()

    assert facts(reload(session, case)) == before
    assert counts.counts_by_status(session, None) == kept_counts


def test_retention_off_does_nothing(session, aged):
    _citizen, case = aged

    assert privacy.retention_sweep(session, NOW, None) == 0
    assert privacy.retention_sweep(session, NOW, 0) == 0
    session.commit()
    assert reload(session, case).contact_name == "Nguyễn Văn An"


def test_the_worker_job_applies_the_configured_period(make_app, session):
    app = make_app(PERSONAL_DATA_RETENTION_DAYS=30)
    citizen = aged_citizen(session, "1006", utcnow() - timedelta(days=31))
    old = closed_case(session, citizen, utcnow() - timedelta(days=31))
    recent = closed_case(session, citizen, utcnow() - timedelta(days=29))

    with app.app_context():
        assert retain_personal_data(app) == 1

    assert reload(session, old).contact_name is None
    assert reload(session, recent).contact_name == "Nguyễn Văn An"


@pytest.mark.parametrize("raw,value", [("", 365), ("30", 30), ("0", None)])
def test_retention_days_configuration(raw, value):
    environ = {"PERSONAL_DATA_RETENTION_DAYS": raw} if raw else {}
    assert config.load(environ=environ)["PERSONAL_DATA_RETENTION_DAYS"] == value


@pytest.mark.parametrize("raw", ["-1", "một năm"])
def test_bad_retention_days_stop_start_up_naming_the_key(raw):
    with pytest.raises(config.ConfigError, match="PERSONAL_DATA_RETENTION_DAYS"):
        config.load(environ={"PERSONAL_DATA_RETENTION_DAYS": raw})


# --- staff: contact views and what handlers are shown -------------------------------------------
CONTACT = {
    "contact_name": NAME,
    "contact_phone": PHONE,
    "contact_email": EMAIL,
    "contact_address": "12 ngõ 5 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm",
}
MENTIONS = (
    f"Tôi là {NAME}, nhà 12 ngõ 5 Hàng Bạc, điện thoại 0912 345 678, email {EMAIL}. "
    "Công trình số 7 phố Hàng Bạc lấn chiếm vỉa hè."
)
PERSONAL = (NAME, PHONE, "0912 345 678", "0912.345.678", EMAIL, "12 ngõ 5 Hàng Bạc")


def views(session) -> list[tuple[int, int, str]]:
    return [
        (v.staff_id, v.case_id, v.place)
        for v in session.scalars(select(ContactAccess).order_by(ContactAccess.id))
    ]


def staff_id(session, username: str) -> int:
    return session.scalars(select(Staff.id).where(Staff.username == username)).one()


@pytest.fixture
def mentioned(demo, clock):
    """A case whose contact fields, content, location, a note and a message mention the sender."""
    factory = console_helpers.CaseFactory(demo)
    case = factory.create(content=MENTIONS, location_address="12 ngõ 5 Hàng Bạc", **CONTACT)
    citizen = make_citizen(demo, "1007")
    case.citizen_id = citizen.id
    demo.add(
        CaseEvent(
            case_id=case.id,
            action="citizen_info",
            actor="citizen",
            note="Số của tôi là 0912.345.678",
            at=clock.now,
        )
    )
    enqueue(demo, citizen.id, messages.text(f"Kính gửi ông {NAME}"), case_id=case.id)
    demo.commit()
    return case


def test_a_coordinators_view_of_the_case_page_is_logged_and_listed(client, demo, mentioned, clock):
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{mentioned.code}")

    assert views(demo) == [(staff_id(demo, "dieuphoi"), mentioned.id, "console_case")]
    assert demo.scalars(select(ContactAccess.at)).one() == clock.now
    assert "Lượt xem thông tin liên hệ" in html and "Trần Thị Mai" in html
    assert NAME in html and EMAIL in html  # coordinators read it all


def test_a_handlers_masked_view_is_not_logged_and_shows_no_personal_data(client, demo, mentioned):
    login(client, "handler")

    html = page(client, f"/admin/cases/{mentioned.code}")

    assert views(demo) == []
    assert "Lượt xem thông tin liên hệ" not in html
    assert [value for value in PERSONAL if value in html] == []
    assert "Công trình số 7 phố Hàng Bạc lấn chiếm vỉa hè." in html  # what they work on


def test_an_anonymised_case_is_not_a_contact_view(client, demo, mentioned):
    privacy.anonymise_citizen(
        demo,
        demo.get(Citizen, mentioned.citizen_id),
        ErasureTrigger.CHAT_REQUEST,
        "citizen",
        utcnow(),
    )
    demo.commit()
    login(client, "coordinator")

    html = page(client, f"/admin/cases/{mentioned.code}")

    assert views(demo) == []
    assert [value for value in PERSONAL if value in html] == []


API_MENTIONS = (
    f"Tôi là {NAME}, ở số 1 Hàng Bạc, điện thoại 0912.345.678, email {EMAIL}. "
    "Công trình số 7 phố Hàng Bạc lấn chiếm vỉa hè."
)
API_PERSONAL = (NAME, PHONE, "0912.345.678", EMAIL, "1 Hàng Bạc")


def test_the_api_gives_a_handler_no_personal_data_and_logs_no_view(api, world):
    code = world.case(content=API_MENTIONS, location_address="Số 1 Hàng Bạc")

    body = api.get(f"/api/v1/cases/{code}", "canbo.sxd").get_data(as_text=True)
    listed = api.get("/api/v1/cases", "canbo.sxd").get_data(as_text=True)

    text = json.loads(body)
    assert [v for v in API_PERSONAL if fold(v) in fold(json.dumps(text, ensure_ascii=False))] == []
    assert [v for v in API_PERSONAL if fold(v) in fold(listed)] == []
    assert "Công trình số 7 phố Hàng Bạc lấn chiếm vỉa hè." in text["content"]
    assert text["contact"]["masked"] is True
    assert views(world.reader) == []


def test_the_api_logs_a_coordinators_view(api, world):
    code = world.case(content=API_MENTIONS)

    body = api.get(f"/api/v1/cases/{code}", "dieuphoi").get_json()

    assert body["contact"]["phone"] == PHONE and NAME in body["content"]
    case_id = world.load(code).id
    assert views(world.reader) == [(staff_id(world.reader, "dieuphoi"), case_id, "api_case")]
    assert world.reader.scalars(select(ContactAccess.at)).one() == api_helpers.NOW


def test_the_api_logs_the_view_an_action_answer_gives(api, world):
    code = world.case()

    response = api.act(code, "comment", "dieuphoi", note="Đã liên hệ người dân.")

    assert response.status_code == 200
    assert [place for _, _, place in views(world.reader)] == ["api_case"]


def test_staff_notices_naming_the_case_are_scrubbed_too(session, aged):
    _citizen, case = aged
    post_notice(session, "x", "coordinator", "Thông báo", f"{case.code}: {NAME} gọi {PHONE}", NOW)
    post_notice(session, "y", "coordinator", "Khác", f"Nguyễn Văn An ở PAKN khác {PHONE}", NOW)
    session.commit()

    privacy.retention_sweep(session, NOW, DAYS)
    session.commit()

    bodies = dict(session.execute(select(StaffNotice.kind, StaffNotice.body)).all())
    assert NAME not in bodies["x"] and PHONE not in bodies["x"] and case.code in bodies["x"]
    assert NAME in bodies["y"]  # another case's notice is not this citizen's to erase


def test_known_values_are_scrubbed_literally_too():
    known = privacy.Known(names=["Mẹ Bé Na"], phones=[], emails=[], addresses=[])

    assert privacy.scrub("Tài khoản MẸ BÉ NA đã gửi", known) == "Tài khoản [đã ẩn] đã gửi"

"""The worker's schedule, the outbox sweep and attachment downloads."""

from __future__ import annotations

import responses
from sqlalchemy import select

from bot.worker import build_scheduler, download_attachments, sweep_outbox
from models import AttachmentState, CaseAttachment, OutboxMessage, OutboxState, utcnow
from tests.factories import make_case
from tests.test_flow_submit import USER

IMAGE = "https://photo-stal-1.zdn.vn/x/den.jpg"


def test_scheduler_has_stable_job_ids_and_single_instances(app):
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "event-apply",
        "outbox-sweep",
        "attachment-download",
        "heartbeat",
        "token-refresh",
        "held-digest",
        "deadline-reminders",
        "deadline-digest",
        "late-progress",
        "satisfaction-survey",
        "period-report",
        "undelivered-recount",
        "personal-data-retention",
    }
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())


def test_sweep_sends_what_the_web_process_left(make_app, session, webhook, zalo):
    app = make_app(DISPATCH_AFTER_COMMIT="off")
    from tests.conftest import Webhook

    Webhook(app.test_client()).follow(USER)
    assert zalo.sent == []
    rows = session.scalars(select(OutboxMessage)).all()
    assert {r.state for r in rows} == {OutboxState.PENDING}
    with app.app_context():
        assert sweep_outbox(app) == 2
    assert len(zalo.sent) == 2
    session.expire_all()
    assert {r.state for r in session.scalars(select(OutboxMessage))} == {OutboxState.SENT}


def _case_with_image(session, url: str = IMAGE):
    return make_case(session, attachments=[{"media_type": "image", "url": url, "name": "den.jpg"}])


def test_attachment_is_downloaded_into_storage(app, session, tmp_path):
    _case_with_image(session)
    with responses.RequestsMock() as mock:
        mock.get(IMAGE, body=b"\xff\xd8jpeg-bytes", content_type="image/jpeg")
        with app.app_context():
            assert download_attachments(app) == 1
    attachment = session.scalars(select(CaseAttachment)).one()
    assert attachment.state is AttachmentState.STORED
    assert attachment.content_type == "image/jpeg" and attachment.stored_size == 12
    with open(attachment.storage_path, "rb") as stored:
        assert stored.read() == b"\xff\xd8jpeg-bytes"
    assert attachment.storage_path.startswith(str(tmp_path))


def test_oversized_attachment_is_refused_and_not_kept(make_app, session):
    app = make_app(ATTACHMENT_MAX_BYTES=1024)
    _case_with_image(session)
    with responses.RequestsMock() as mock:
        mock.get(IMAGE, body=b"x" * 5000, content_type="image/jpeg")
        with app.app_context():
            assert download_attachments(app) == 0
    attachment = session.scalars(select(CaseAttachment)).one()
    assert attachment.state is AttachmentState.FAILED and "too large" in attachment.error
    assert attachment.storage_path is None


def test_attachment_from_a_foreign_host_is_never_fetched(app, session):
    _case_with_image(session, url="http://169.254.169.254/latest/meta-data")
    with responses.RequestsMock(), app.app_context():  # any request would fail the test
        assert download_attachments(app) == 0
    attachment = session.scalars(select(CaseAttachment)).one()
    assert attachment.state is AttachmentState.FAILED and "allowed host" in attachment.error


def test_transient_download_failure_is_retried_then_given_up(app, session):
    _case_with_image(session)
    with responses.RequestsMock() as mock:
        mock.get(IMAGE, status=503)
        with app.app_context():
            for _ in range(3):
                download_attachments(app)
    attachment = session.scalars(select(CaseAttachment)).one()
    assert attachment.attempts == 3 and attachment.state is AttachmentState.FAILED
    assert attachment.error == "HTTP 503"


def test_only_one_worker_per_database(app):
    import pytest

    from bot.worker import WorkerLockError, single_worker

    with (
        single_worker(app),
        pytest.raises(WorkerLockError, match="another worker"),
        single_worker(app),
    ):
        pass
    with single_worker(app):  # released when the first worker stops
        pass


def test_worker_command_refuses_to_start_twice(app):
    from bot.worker import single_worker

    with single_worker(app):
        result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code != 0 and "another worker" in result.output


def test_token_refresh_job_rotates_before_expiry(app):
    from datetime import timedelta

    from bot.worker import refresh_token
    from bot.zalo.client import TokenPair
    from handlers.runtime import get_runtime

    tokens = get_runtime(app).tokens
    tokens.replace(TokenPair("a", "r", 3600), "console")  # one hour left, margin is two
    with responses.RequestsMock() as mock:
        mock.post(
            "https://oauth.zaloapp.com/v4/oa/access_token",
            json={"access_token": "a2", "refresh_token": "r2", "expires_in": "90000"},
        )
        with app.app_context():
            assert refresh_token(app) is True
    assert tokens.access_token() == "a2"
    assert tokens.info().access_expires_at > utcnow() + timedelta(hours=24)


def test_background_mode_stores_answers_and_applies_after_the_response(make_app, session, zalo):
    """The webhook only stores the event; the step runs afterwards, oldest event first."""
    from bot import texts
    from bot.worker import apply_events
    from models import EventStatus, InboundEvent
    from tests.conftest import Webhook

    app = make_app(WEBHOOK_PROCESSING="worker")
    hook = Webhook(app.test_client())
    assert hook.follow(USER).status_code == 200
    assert hook.text(USER, "xin chào").status_code == 200
    rows = session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
    assert [r.status for r in rows] == [EventStatus.RECEIVED, EventStatus.RECEIVED]
    assert zalo.sent == []
    with app.app_context():
        assert apply_events(app) == 1
    session.expire_all()
    rows = session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
    assert [r.status for r in rows] == [EventStatus.PROCESSED, EventStatus.PROCESSED]
    sent = zalo.texts(USER)
    assert sent[0].startswith("UBND thành phố xin chào")  # the follow first, then the text
    assert sent[2] == texts.UNKNOWN_OUTSIDE_FLOW
    with app.app_context():
        assert apply_events(app) == 0  # nothing applied twice

"""Home page, Zalo domain verification and /healthz."""

from __future__ import annotations

from datetime import timedelta

from bot.worker import beat
from models import WorkerHeartbeat, utcnow


def test_verification_meta_tag_and_file(make_app):
    app = make_app(ZALO_SITE_VERIFICATION="AbC123xyz")
    client = app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert '<meta name="zalo-platform-site-verification" content="AbC123xyz" />' in home
    file = client.get("/zalo_verifier" + "AbC123xyz.html")
    assert file.status_code == 200
    assert 'content="AbC123xyz"' in file.get_data(as_text=True)
    assert client.get("/zalo_verifierOTHER.html").status_code == 404


def test_no_verification_configured(client):
    assert "zalo-platform-site-verification" not in client.get("/").get_data(as_text=True)
    assert client.get("/zalo_verifierAbC.html").status_code == 404


def test_healthz_reports_database_and_worker(app, client, session):
    body = client.get("/healthz").json
    assert body == {"status": "ok", "database": "ok", "worker": {"state": "never-started"}}
    with app.app_context():
        beat(app)
    worker = client.get("/healthz").json["worker"]
    assert worker["state"] == "ok" and worker["seconds_since_beat"] <= 5
    row = session.get(WorkerHeartbeat, "main")
    row.beat_at = utcnow() - timedelta(minutes=5)
    session.commit()
    assert client.get("/healthz").json["worker"]["state"] == "stale"


def test_behind_a_proxy_the_forwarded_client_address_is_used(make_app):
    from flask import request

    app = make_app(TRUSTED_PROXIES=1)

    @app.get("/_whoami")
    def whoami():
        return request.remote_addr or ""

    answer = app.test_client().get(
        "/_whoami",
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert answer.get_data(as_text=True) == "203.0.113.7"


def test_home_links_the_public_pages(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/tra-cuu"' in html and 'href="/cong-khai"' in html

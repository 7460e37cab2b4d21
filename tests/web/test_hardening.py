"""Sign-in hardened: the secret key, production's refusals, and timing that
does not reveal which emails exist."""
import os
import stat

import pytest

from wizard.store import reads
from wizard import config, create_app
from wizard.web.auth import views as auth_views


NAMED = {"WIZARD_DEPLOYMENT": "smrtphone-production"}


def production(tmp_path, **settings):
    base = {"WIZARD_ENV": "production", "DATABASE_URL": "postgresql://db/wizard",
            "SECRET_KEY": "k" * 16 + os.urandom(16).hex(), "SESSION_COOKIE_SECURE": True,
            "METRICS_TOKEN": os.urandom(16).hex()}
    base.update(settings)
    return base


def test_without_a_secret_key_a_random_one_is_made_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("WIZARD_INSTANCE", str(tmp_path))
    first = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3"})
    second = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3"})
    key = first.config["SECRET_KEY"]
    assert len(key) == 64 and key == second.config["SECRET_KEY"], "kept across restarts"
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600, oct(mode)
    assert not config.is_weak(key)


@pytest.mark.parametrize("settings, refusal", [
    ({"SECRET_KEY": ""}, "needs SECRET_KEY"),
    ({"SECRET_KEY": "dev-only-change-me"}, "too weak"),
    ({"SECRET_KEY": "short-but-random-91a7"}, "too weak"),
    ({"SECRET_KEY": " " * 40}, "too weak"),
    ({"SECRET_KEY": "a" * 40}, "too weak"),
    ({"SECRET_KEY": "changeme" * 5}, "too weak"),
    ({"SECRET_KEY": "abcdefghijklmnop" * 2}, "too weak"),  # 16 characters, but repeated
    ({"SECRET_KEY": "0123456789" * 4}, "too weak"),  # 160 bits by its length, but repeated
    ({"SECRET_KEY": "0123456" * 5}, "too weak"),  # 7 distinct characters
    ({"SECRET_KEY": "0123456789abcdef01234"}, "too weak"),  # short: 84 bits
    ({"SESSION_COOKIE_SECURE": False}, "needs SESSION_COOKIE_SECURE=1"),
    ({"DEBUG": True}, "debug"),
    ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "expects PostgreSQL"),
])
def test_production_refuses_to_start_with_unsafe_settings(tmp_path, settings, refusal):
    with pytest.raises(config.ConfigError, match=refusal):
        config.check_production(production(tmp_path, **settings), environment=NAMED)


def test_production_refuses_a_moved_clock_and_qa_mode_and_allows_sqlite_on_purpose(tmp_path):
    with pytest.raises(config.ConfigError, match="moved clock"):
        config.check_production(production(tmp_path), {**NAMED, "WIZARD_CLOCK_AT": "2027-03-01T09:00"})
    with pytest.raises(config.ConfigError, match="refuses QA mode"):
        config.check_production(production(tmp_path, WIZARD_QA=True), NAMED)
    config.check_production(production(tmp_path, DATABASE_URL="sqlite:////tmp/x.sqlite3",
                                       ALLOW_SQLITE_IN_PRODUCTION=True), NAMED)
    config.check_production(production(tmp_path), NAMED)  # a safe production starts


def test_random_keys_of_the_usual_makes_pass():
    import secrets

    for key in (secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(32)):
        assert not config.is_weak(key), key


def test_plain_http_in_production_needs_saying_so_on_purpose(tmp_path):
    config.check_production(production(tmp_path, SESSION_COOKIE_SECURE=False,
                                       ALLOW_INSECURE_COOKIE=True), NAMED)


@pytest.mark.parametrize("name", ["Production", "production ", "prod", "PRODUCTION", ""])
def test_an_environment_that_is_almost_production_is_refused(monkeypatch, tmp_path, name):
    """A near miss would turn every production check off without a word."""
    monkeypatch.setenv("WIZARD_ENV", name)
    with pytest.raises(config.ConfigError, match="WIZARD_ENV must be exactly one of"):
        config.from_environment(str(tmp_path))
    with pytest.raises(config.ConfigError, match="WIZARD_ENV must be exactly one of"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3"})


def test_every_response_refuses_framing_and_https_ones_ask_to_stay_on_https(app, browser):
    response = browser.get("/auth/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers, "plain HTTP: HSTS would mean nothing"
    app.config["SESSION_COOKIE_SECURE"] = True
    response = app.test_client().get("/auth/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"


def test_production_needs_the_deployment_named(tmp_path):
    """Each host would otherwise name it after its own instance folder, and the
    jobs one host enqueues would wait for workers that listen elsewhere."""
    with pytest.raises(config.ConfigError, match="needs WIZARD_DEPLOYMENT"):
        config.check_production(production(tmp_path), {})


def test_a_production_app_will_not_build_without_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("WIZARD_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError):
        create_app({"DATABASE_URL": "postgresql://db/wizard"})


def test_known_and_unknown_emails_each_hash_the_password_once(browser, monkeypatch):
    calls = []
    real = auth_views.check_password_hash
    monkeypatch.setattr(auth_views, "check_password_hash",
                        lambda hashed, password: calls.append(hashed) or real(hashed, password))
    for email in ("owner@acme.test", "nobody@nowhere.test"):
        calls.clear()
        response = browser.post("/auth/login", {"email": email, "password": "wrong-password"})
        assert response.status_code == 422
        assert "That email and password do not match an account." in response.get_data(as_text=True)
        assert len(calls) == 1, email
    # The unknown email's hash is the dummy, made with the app's own method (so it costs the same).
    assert calls[0].startswith("pbkdf2:sha256:1000$")


def copy_of_session(browser, app):
    """A second client carrying the same session cookie, as an attacker who saved it would."""
    replay = app.test_client()
    cookie = browser.client.get_cookie("session")
    replay.set_cookie("session", cookie.value)
    return replay


def test_a_cookie_saved_before_signing_out_no_longer_works(app, owner):
    replay = copy_of_session(owner, app)
    assert replay.get("/billing/products").status_code == 200, "the copy works while signed in"
    assert owner.post("/auth/logout", {}).status_code == 303
    response = replay.get("/billing/products")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(app, owner):
    from werkzeug.security import generate_password_hash

    from wizard.store.models import User

    User.by_email("owner@acme.test").set_password(generate_password_hash("a-new-passphrase"))
    response = owner.get("/billing/products")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_an_idle_session_is_signed_out(app, owner, monkeypatch):
    from datetime import timedelta

    from wizard import clock

    hours = 3600
    start = clock.session_now()
    clock.FROZEN = clock.now() + timedelta(days=91)
    assert owner.get("/billing/products").status_code == 200, "moving the business clock signs no one out"
    monkeypatch.setattr(clock, "session_now", lambda: start + 11 * hours)
    assert owner.get("/billing/products").status_code == 200, "activity keeps it alive"
    monkeypatch.setattr(clock, "session_now", lambda: start + 22 * hours)
    assert owner.get("/billing/products").status_code == 200, "11 hours after the last request"
    monkeypatch.setattr(clock, "session_now", lambda: start + 34 * hours + 60)
    response = owner.get("/billing/products")
    assert response.status_code == 303 and "/auth/login" in response.location
    assert "signed out after a while without activity" in owner.get(response.location).get_data(as_text=True)
    assert owner.get("/billing/products").status_code == 302


@pytest.mark.parametrize("forged", ["1", "1.0", "1.2", "abc", "1.1.1", "99999999999.1", ""])
def test_a_session_id_that_is_not_the_current_one_signs_no_one_in(app, forged):
    assert reads.signed_in(forged) is None
    assert reads.signed_in("1.1") is not None  # the demo owner's current session id


def refusals_logged():
    import json

    from wizard.store.models import AuditEvent

    return [(e.actor.email if e.actor else None, e.ip, json.loads(e.detail))
            for e in AuditEvent.select().where(AuditEvent.kind == "access.refused").order_by(AuditEvent.id)]


def test_refused_authorizations_are_audited_with_user_ip_and_path(sign_in):
    from tests.support.helpers import complete_steps, step_url, subscription

    acme = subscription()
    admin = sign_in("admin")
    assert admin.get(f"/cancel/{acme.id}/").status_code == 403
    birch = sign_in("other_owner")
    assert birch.get(f"/billing/plans/{acme.id}").status_code == 404  # Acme's, not Birch's
    assert birch.get("/billing/plans/99999").status_code == 404  # no such id: not a try on anyone
    owner = sign_in("owner")
    complete_steps(owner, acme, "survey")
    forged = owner.post(step_url(acme, "survey"), {"request_id": "424242", "reason": "other"})
    assert forged.status_code == 409

    logged = refusals_logged()
    assert [(who, detail["status"], detail["path"]) for who, _, detail in logged] == [
        ("admin@acme.test", 403, f"/cancel/{acme.id}/"),
        ("owner@birch.test", 404, f"/billing/plans/{acme.id}"),
        ("owner@acme.test", 409, step_url(acme, "survey")),
    ]
    assert all(ip == "127.0.0.1" for _, ip, _ in logged)
    assert "out of date" in logged[-1][2]["reason"]

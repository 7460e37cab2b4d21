"""Sign-in hardened: the secret key, production's refusals, and timing that
does not reveal which emails exist."""
import os
import stat

import pytest

from wizard import config, create_app
from wizard.auth import views as auth_views


def production(tmp_path, **settings):
    base = {"WIZARD_ENV": "production", "DATABASE_URL": "postgresql://db/wizard",
            "SECRET_KEY": "k" * 16 + os.urandom(16).hex()}
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
    ({"DEBUG": True}, "debug"),
    ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "expects PostgreSQL"),
])
def test_production_refuses_to_start_with_unsafe_settings(tmp_path, settings, refusal):
    with pytest.raises(config.ConfigError, match=refusal):
        config.check_production(production(tmp_path, **settings), clock_environment={})


def test_production_refuses_a_moved_clock_and_allows_sqlite_on_purpose(tmp_path):
    with pytest.raises(config.ConfigError, match="moved clock"):
        config.check_production(production(tmp_path), {"WIZARD_CLOCK_OFFSET_DAYS": "91"})
    config.check_production(production(tmp_path, DATABASE_URL="sqlite:////tmp/x.sqlite3",
                                       ALLOW_SQLITE_IN_PRODUCTION=True), {})
    config.check_production(production(tmp_path), {})  # a safe production starts


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

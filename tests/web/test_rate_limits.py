"""Rate limits: guessed passwords and repeated actions are refused with a 429
that says when to try again, and the refused request changes nothing."""
import logging
import re
import socket

import pytest

from tests.conftest import DEMO_LOGINS, TEST_PASSWORD_METHOD, Browser
from tests.support.helpers import all_rows, complete_steps, post_step, step_url, subscription, text
from tests.support.posts import POSTS
from wizard import create_app
from wizard.web.extensions import limiter
from wizard.store.models import Plan

OWNER_EMAIL, OWNER_PASSWORD = DEMO_LOGINS["owner"]


def client(app, ip="127.0.0.1"):
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = ip
    return browser


def sign_in(browser, email, password):
    return browser.post("/auth/login", {"email": email, "password": password})


def is_signed_in(browser):
    return browser.get("/billing/products").status_code == 200


def assert_refused_for_a_while(response, reason):
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 3600
    body = text(response)
    assert "<title>Too many attempts" in body
    assert reason in body
    assert re.search(r"Please try again in \d+ (second|minute)s?\. Nothing was changed\.", body)


def test_the_sixth_wrong_password_in_a_minute_is_refused_and_then_even_the_right_one(app):
    browser = client(app)
    # One email, however it is typed.
    for typed in ("owner@acme.test", "OWNER@acme.test", " owner@acme.test ", "Owner@Acme.Test",
                  "owner@acme.test"):
        response = sign_in(browser, typed, "wrong-password")
        assert response.status_code == 422
        assert "That email and password do not match an account." in text(response)

    before = all_rows()
    # (From one address the address's limit is reached at the same time.)
    assert_refused_for_a_while(sign_in(browser, OWNER_EMAIL, "wrong-password"),
                               "Too many failed sign-ins")
    assert_refused_for_a_while(sign_in(browser, OWNER_EMAIL, OWNER_PASSWORD),
                               "Too many failed sign-ins")
    assert not is_signed_in(browser)
    # The email is limited wherever the guesses come from.
    elsewhere = client(app, ip="198.51.100.7")
    assert_refused_for_a_while(sign_in(elsewhere, OWNER_EMAIL, OWNER_PASSWORD),
                               "Too many failed sign-ins for this email.")
    assert not is_signed_in(elsewhere)
    assert all_rows() == before
    # Another email is not affected by this one's limit.
    assert sign_in(elsewhere, *DEMO_LOGINS["other_owner"]).status_code == 303


def test_signing_in_and_out_many_times_never_locks_an_owner_out(app):
    browser = client(app)
    for _ in range(8):
        assert sign_in(browser, OWNER_EMAIL, OWNER_PASSWORD).status_code == 303
        assert is_signed_in(browser)
        assert browser.post("/auth/logout").status_code == 303


def test_once_an_address_reaches_its_limit_every_email_from_it_is_refused(app):
    browser = client(app, ip="203.0.113.9")
    for n in range(5):
        assert sign_in(browser, f"guess{n}@acme.test", "wrong-password").status_code == 422
    assert_refused_for_a_while(sign_in(browser, OWNER_EMAIL, OWNER_PASSWORD),
                               "Too many failed sign-ins from your network.")
    assert not is_signed_in(browser)
    # The owner, from their own address, signs in as usual.
    assert sign_in(client(app, ip="192.0.2.1"), OWNER_EMAIL, OWNER_PASSWORD).status_code == 303


def test_the_limit_per_address_is_a_setting(app):
    # `make run` raises it: the browser tests and QA sign in often from 127.0.0.1.
    app.config["SIGN_IN_LIMIT_PER_IP"] = "50 per minute"
    browser = client(app)
    for n in range(12):
        assert sign_in(browser, f"guess{n}@acme.test", "wrong-password").status_code == 422
    assert sign_in(browser, OWNER_EMAIL, OWNER_PASSWORD).status_code == 303


LIMITED_PER_USER = [p for p in POSTS if str(p) in (
    "smrtphone/confirm", "smrtdialer/confirm", "billing.reactivate", "billing.change_plan",
    "billing.undo_plan_change", "calls.book", "calls.reschedule", "calls.cancel")]


@pytest.mark.parametrize("post", LIMITED_PER_USER, ids=str)
def test_actions_are_limited_per_user_and_a_refused_one_changes_nothing(app, owner, sign_in,
                                                                        post):
    url, data = post.setup(owner)
    app.config["USER_ACTION_LIMIT"] = "1 per minute"
    # Spend the limit on a post that is refused for another reason (no such
    # subscription or call, or no time chosen): refused posts count too.
    spent = re.sub(r"/\d+(?=/|$)", "/999999", url, count=1)
    # (A plain post refused at its fields is redirected to its page: 303.)
    assert owner.post(spent, {} if spent == url else data).status_code in (303, 404, 422)

    before = all_rows()
    assert_refused_for_a_while(owner.post(url, data),
                               "You have tried this too many times in a short while.")
    assert owner.post(url, data, htmx=True).status_code == 429
    assert all_rows() == before, "a limited request changes nothing"

    app.config["USER_ACTION_LIMIT"] = "10 per minute"  # a new limit: new counters
    response = owner.post(url, data)
    assert response.status_code == 303, text(response)[:500]
    assert all_rows() != before, "the same post acts once the limit allows it"


def test_only_the_wizards_last_step_counts_toward_the_confirm_limit(app, owner):
    app.config["USER_ACTION_LIMIT"] = "1 per minute"
    sub = subscription()
    complete_steps(owner, sub, "confirm")  # every earlier step, each posted once
    assert owner.get(step_url(sub, "confirm")).status_code == 200
    assert post_step(owner, sub, "confirm").status_code == 303
    assert subscription().status == "cancellation_pending"


def test_pages_are_still_shown_to_a_user_whose_limits_are_spent(app, owner):
    sub = subscription()
    app.config["USER_ACTION_LIMIT"] = "1 per minute"
    app.config["SIGN_IN_LIMIT_PER_IP"] = "1 per minute"
    complete_steps(owner, sub, "confirm")
    url, data = next(p for p in POSTS if p.endpoint == "billing.change_plan").setup(owner)
    assert owner.post(url, data).status_code == 303
    assert owner.post(url, data).status_code == 429
    assert sign_in(client(app), OWNER_EMAIL, "wrong").status_code == 422
    assert sign_in(client(app), OWNER_EMAIL, "wrong").status_code == 429
    # Only posts are counted and refused: looking is never limited.
    for _ in range(3):
        for path in (step_url(sub, "confirm"), "/billing/products", f"/billing/plans/{sub.id}"):
            assert owner.get(path).status_code == 200, path
        assert client(app).get("/auth/login").status_code == 200


def test_the_limit_is_per_user(app, owner, sign_in):
    change = next(p for p in POSTS if p.endpoint == "billing.change_plan")
    url, data = change.setup(owner)
    app.config["USER_ACTION_LIMIT"] = "1 per minute"
    assert owner.post(url, data).status_code == 303
    assert owner.post(url, data).status_code == 429
    birch = sign_in("other_owner")
    sub = subscription(account="Birch Homes")
    business = Plan.get(Plan.code == "phone-business")
    response = birch.post(f"/billing/plans/{sub.id}/{business.code}", {
        "seats": str(sub.seats), "request_id": "", "drawn_plan": str(sub.plan_id),
        "drawn_seats": str(sub.seats)})
    assert response.status_code == 303, "another user has counters of their own"


def test_the_429_is_the_sites_page_or_its_panel_for_htmx(app, owner):
    change = next(p for p in POSTS if p.endpoint == "billing.change_plan")
    url, data = change.setup(owner)
    app.config["USER_ACTION_LIMIT"] = "1 per minute"
    owner.post(url, data)

    page = owner.post(url, data)
    assert page.status_code == 429
    body = text(page)
    assert "<html" in body and '<h1 id="error-title">Too many attempts</h1>' in body
    assert '<header class="site-header">' in body, "the site's own layout"

    panel = owner.post(url, data, htmx=True)
    assert panel.status_code == 429
    assert "<html" not in text(panel)
    assert 'id="wizard-panel"' in text(panel)
    assert "Too many attempts" in text(panel) and "Please try again in" in text(panel)
    assert panel.headers["Retry-After"].isdigit()
    assert "HX-Request" in panel.headers["Vary"]


def test_counters_live_in_the_apps_redis_under_the_deployments_name(app, redis_server):
    live = create_app({**settings_of(app), "RATELIMIT_STORAGE_URI": ""})
    for _ in range(5):
        assert sign_in(client(live), OWNER_EMAIL, "wrong-password").status_code == 422
    assert sign_in(client(live), OWNER_EMAIL, OWNER_PASSWORD).status_code == 429
    keys = [k.decode() for k in redis_server.client().keys("*")]
    counters = [k for k in keys if "sign-in" in k]
    assert counters and all(f"LIMITER/{app.config['DEPLOYMENT']}:" in k for k in counters), keys
    assert not any("acme" in k for k in keys), "no email in a key"


def test_without_redis_the_site_still_works_and_counts_in_memory(app, caplog, monkeypatch):
    # The limiter is one object per process: once this test is over, its
    # next app must not start out believing its store is down.
    monkeypatch.setattr(limiter, "_storage_dead", False)
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    broken = create_app({**settings_of(app), "RATELIMIT_STORAGE_URI": dead})
    with caplog.at_level(logging.WARNING):
        assert sign_in(client(broken), OWNER_EMAIL, OWNER_PASSWORD).status_code == 303
        for _ in range(5):
            assert sign_in(client(broken), OWNER_EMAIL, "wrong-password").status_code == 422
        assert sign_in(client(broken), OWNER_EMAIL, OWNER_PASSWORD).status_code == 429
    assert any("unreachable" in r.getMessage() for r in caplog.records), "logged"


def settings_of(app):
    return {name: app.config[name] for name in (
        "TESTING", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RECORDINGS_DIR", "OUTBOX_DIR")} | {
        "PASSWORD_HASH_METHOD": TEST_PASSWORD_METHOD}


@pytest.mark.parametrize("hops", [0, 1])
def test_the_address_behind_a_proxy_counts_only_when_the_proxy_is_declared(app, hops):
    """With PROXY_HOPS=1 each client behind the proxy has its own count; without
    it X-Forwarded-For is not believed, so nobody escapes the limit by sending it."""
    proxied = create_app({**settings_of(app), "RATELIMIT_STORAGE_URI": "memory://",
                          "PROXY_HOPS": hops, "SIGN_IN_LIMIT_PER_EMAIL": "100 per minute"})
    browser = client(proxied)
    for n in range(5):
        response = browser.post("/auth/login", {"email": f"guess{n}@example.test",
                                                "password": "wrong"},
                                headers={"X-Forwarded-For": "203.0.113.9"})
        assert response.status_code == 422
    other = browser.post("/auth/login", {"email": "other@example.test", "password": "wrong"},
                         headers={"X-Forwarded-For": "203.0.113.10"})
    assert other.status_code == (422 if hops else 429)

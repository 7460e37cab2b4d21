"""A session's signed CSRF token is reused for a minute (wizard/web/signing.py)."""
import re
import time

from itsdangerous import TimestampSigner

from tests.support.helpers import step_url, subscription, text
from wizard.web import signing
from wizard.store.models import CancellationRequest

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def tokens_on(page):
    return set(TOKEN.findall(text(page)))


def test_a_session_gets_the_same_signed_token_for_a_minute_then_a_new_one(owner, monkeypatch):
    sub = subscription()
    now = [time.time()]
    # The clock tokens are signed and aged with (else two tokens signed in one
    # real second are the same string).
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(now[0]))
    first = tokens_on(owner.get(step_url(sub, "consequences")))
    now[0] += signing.REUSE_FOR - 1
    assert tokens_on(owner.get(step_url(sub, "consequences"))) == first
    assert tokens_on(owner.get("/billing/products")) <= first
    now[0] += 2
    later = tokens_on(owner.get(step_url(sub, "consequences")))
    assert len(first) == len(later) == 1 and later != first


def test_a_reused_token_is_still_accepted_and_belongs_to_its_own_session(owner, sign_in):
    sub = subscription()
    page = owner.get(step_url(sub, "consequences"))
    again = owner.get(step_url(sub, "consequences"))
    (token,) = tokens_on(again)
    assert tokens_on(page) == {token}
    # Another session of the same owner draws its own token, never this one.
    other = sign_in("owner")
    assert token not in tokens_on(other.get(step_url(sub, "consequences")))
    # The reused token posts: the wizard starts.
    response = owner.post(step_url(sub, "consequences"), {"request_id": "", "csrf_token": token},
                          csrf=False)
    assert response.status_code == 303
    assert CancellationRequest.select().count() == 1


def test_a_token_taken_before_signing_in_posts_nothing_after(browser):
    (before,) = tokens_on(browser.get("/auth/login"))
    browser.login("owner@acme.test", "owner-pass")
    sub = subscription()
    response = browser.post(step_url(sub, "consequences"), {"request_id": "", "csrf_token": before},
                            csrf=False)
    assert response.status_code == 400 and "CSRF" in text(response)
    assert CancellationRequest.select().count() == 0
    (after,) = tokens_on(browser.get(step_url(sub, "consequences")))
    assert after != before
    assert browser.post(step_url(sub, "consequences"), {"request_id": "", "csrf_token": after},
                        csrf=False).status_code == 303


def test_the_next_user_of_a_shared_browser_does_not_inherit_the_last_ones_token(owner):
    (left_behind,) = tokens_on(owner.get("/billing/products"))
    assert owner.post("/auth/logout", {"csrf_token": left_behind}, csrf=False).status_code == 303
    response = owner.post("/auth/login", {"email": "owner@birch.test", "password": "owner-pass",
                                          "csrf_token": left_behind}, csrf=False)
    assert response.status_code == 400, "the last user's token signs no one in"
    (fresh,) = tokens_on(owner.get("/auth/login"))
    assert fresh != left_behind
    assert owner.post("/auth/login", {"email": "owner@birch.test", "password": "owner-pass",
                                      "csrf_token": fresh}, csrf=False).status_code == 303

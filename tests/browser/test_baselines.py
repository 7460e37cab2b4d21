"""The key pages as a person sees them, with JavaScript, at 1280 and 390 px,
compared with the baselines committed in tests/browser/baselines/
(baselines.py says how; README.md says when to accept a change).

The clock stands still at BASELINE_NOW and the demo is seeded afresh for
each test, so a page is the same from run to run: a difference is a change
of the page. needs_db: the clock is frozen in the server's own process."""
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.baselines import Baselines
from tests.browser.support import expect_step, sign_in, sign_in_to_products
from tests.support.calls import a_call
from wizard import clock
from wizard.store.db import database

pytestmark = [pytest.mark.needs_db, pytest.mark.qa_mode]
with_javascript = pytest.mark.parametrize("page", ["javascript"], indirect=True)

# A Tuesday, 10 AM in New York (Acme's zone), 3 PM in London (the team's).
BASELINE_NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def still_server(request, monkeypatch):
    """A live server seeded and serving at BASELINE_NOW."""
    monkeypatch.setattr(clock, "FROZEN", BASELINE_NOW)
    return request.getfixturevalue("live_server")


@pytest.fixture
def baselines(page):
    seen = Baselines(page)
    yield seen
    assert not seen.failures, "\n".join(seen.failures)


def submit_empty(page):
    page.get_by_test_id("continue").click()
    expect(page.get_by_role("alert").first).to_be_visible()


@with_javascript
def test_the_owners_pages_look_as_they_did(page, still_server, baselines):
    base = still_server
    page.goto(base + "/auth/login")
    baselines.match("sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-summary")).to_be_visible()
    baselines.match("sign-in-errors")
    sign_in_to_products(page, base)
    baselines.match("products")

    page.get_by_role("link", name="Speak with our Success Team").click()
    expect(page.get_by_test_id("call-days")).to_be_visible()
    baselines.match("book-a-call-days")
    page.get_by_test_id("call-day").first.click()
    page.get_by_role("button", name="Book this call").click()
    expect(page.locator(".error-summary")).to_be_visible()
    baselines.match("book-a-call-times-errors")
    page.goto(base + "/billing/products")
    page.get_by_test_id("port-out-kit-link").click()
    expect(page.get_by_test_id("port-out-kit")).to_be_visible()
    baselines.match("port-out-kit")
    page.get_by_label("Your password").fill("owner-pass")
    page.get_by_role("button", name="Show the PIN").click()
    expect(page.get_by_test_id("port-out-pin")).to_be_visible()
    baselines.match("port-out-kit-pin")
    page.goto(base + "/billing/products")

    page.get_by_test_id("cancel-smrtphone").click()
    expect_step(page, "consequences")
    baselines.match("wizard-consequences")
    page.get_by_test_id("continue").click()
    expect_step(page, "acknowledge")
    baselines.match("wizard-acknowledge")
    submit_empty(page)
    baselines.match("wizard-acknowledge-errors")
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_test_id("continue").click()
    expect_step(page, "survey")
    baselines.match("wizard-survey")
    submit_empty(page)
    baselines.match("wizard-survey-errors")
    page.get_by_label("Too expensive", exact=True).check()
    page.get_by_test_id("continue").click()
    expect_step(page, "options")
    baselines.match("wizard-options")

    page.get_by_role("link", name="Change your plan").click()
    expect(page.get_by_role("heading", name="Change your smrtPhone plan")).to_be_visible()
    baselines.match("plans")
    page.get_by_role("link", name="Switch to Starter").click()
    page.get_by_label("Seats").fill("2.5")
    page.get_by_role("button", name="Show the price").click()
    expect(page.locator(".error-summary")).to_be_visible()
    baselines.match("plan-change-errors")
    page.go_back()
    page.go_back()
    page.go_back()
    expect_step(page, "options")
    page.get_by_test_id("offer-none").click()
    expect_step(page, "confirm")
    baselines.match("wizard-confirm")
    page.get_by_test_id("confirm-cancellation").click()
    expect(page.get_by_test_id("cancellation-confirmed")).to_be_visible()
    baselines.match("done")
    page.goto(base + "/billing/products")
    baselines.match("products-cancellation-scheduled")

    page.get_by_test_id("reactivate-smrtphone").click()
    baselines.match("reactivate")
    page.get_by_test_id("reactivate-confirm").click()
    expect(page.get_by_text("is active again.")).to_be_visible()
    baselines.match("products-smrtdialer-canceled")
    page.get_by_test_id("reactivate-smrtdialer").click()
    page.get_by_test_id("reactivate-confirm").click()
    page.get_by_test_id("cancel-smrtdialer").click()
    expect_step(page, "consequences", "smrtdialer")
    baselines.match("dialer-consequences")
    assert page.problems == []


@with_javascript
def test_the_teams_pages_look_as_they_did(page, still_server, baselines):
    base = still_server
    with database.connection_context():
        a_call()  # the calls page shows a call's card, with the number to call
    sign_in(page, base, "success@smrtphone.test", "success-pass")
    for name, path in [("console-requests", "/success/"), ("console-calls", "/success/calls"),
                       ("console-insights", "/success/insights"),
                       ("console-follow-ups", "/success/follow-ups"),
                       ("console-hours", "/success/hours"), ("qa-clock", "/qa/clock")]:
        page.goto(base + path)
        baselines.match(name)
    page.get_by_label("Move the clock forward by").fill("soon")
    page.get_by_role("button", name="Advance", exact=True).click()
    expect(page.locator(".error-summary")).to_be_visible()
    baselines.match("qa-clock-errors")
    assert page.problems == []


def test_a_changed_word_is_a_difference_and_the_same_page_is_none(tmp_path):
    """The comparison itself, on images of a page: a copy matches; one word
    changed in a line of text (same size) does not, and its diff is drawn."""
    from PIL import Image, ImageDraw

    from tests.browser import baselines as b

    def page(words):
        image = Image.new("RGB", (390, 200), "white")
        ImageDraw.Draw(image).text((10, 80), words, fill=(27, 31, 36))
        return image

    page("All data is permanently deleted after March 1").save(tmp_path / "expected.png")
    assert b.compare(tmp_path / "expected.png", page("All data is permanently deleted after March 1"))[0] == 0
    differing, total, diff = b.compare(tmp_path / "expected.png", page("All data is permanently deleted on March 1"))
    assert differing > b.MAX_DIFFERING and diff is not None and total == 390 * 200

"""An owner cancels smrtPhone in a real browser, with and without JavaScript.

needs_db: it reads the cancellation request and the subscriptions from the
database, on a server of its own."""
import pytest
from playwright.sync_api import expect

from tests.browser import support
from tests.browser.support import expect_step
from wizard.domain import policy
from wizard.store.db import database
from wizard.store.models import CancellationRequest, Subscription

sign_in = support.sign_in_to_products

pytestmark = pytest.mark.needs_db


def test_owner_cancels_smrtphone(page, journey, live_server):
    sign_in(page, live_server)
    # Account menu > Billing & Logs > Products
    page.locator("summary", has_text="Account").click()
    page.get_by_role("link", name="Billing & Logs").click()
    journey.saw("products")
    page.get_by_role("link", name="Cancel Subscription: smrtPhone").click()

    expect_step(page, "consequences")
    expect(page.get_by_text("+1 (617) 555-0101")).to_be_visible()
    expect(page.get_by_text("6 call recordings")).to_be_visible()
    journey.saw("consequences")
    page.get_by_role("button", name="Continue").click()

    expect_step(page, "acknowledge")
    if page.javascript:
        expect(page).to_have_url(live_server + "/cancel/1/acknowledge")
    journey.saw("acknowledge")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".field-error", has_text="Please tick this box to confirm you understand.")
           ).to_have_count(len(policy.SMRTPHONE_STATEMENTS))
    expect(page.get_by_role("alert")).to_contain_text("Please correct these before you continue")
    journey.saw("acknowledge-errors")
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Continue").click()

    expect_step(page, "survey")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".field-error", has_text="Please choose one reason.")).to_be_visible()
    journey.saw("survey-errors")
    # The summary's link takes the keyboard to the question.
    page.get_by_role("alert").get_by_role("link").click()
    if page.javascript:
        expect(page.get_by_label("Too expensive")).to_be_focused()
    page.get_by_label("Too expensive").check()
    page.get_by_label("Anything you would like to add? (optional)").fill("Budget cuts")
    page.get_by_role("button", name="Continue").click()

    expect_step(page, "options")
    expect(page.get_by_role("link", name="Book a call with Customer Success")).to_be_visible()
    journey.saw("options")
    # Going back shows the earlier answer; going forward again works.
    page.go_back()
    expect_step(page, "survey")
    expect(page.get_by_label("Too expensive")).to_be_checked()
    page.go_forward()
    expect_step(page, "options")
    page.get_by_role("button", name="No thanks, continue to cancel").click()

    expect_step(page, "confirm")
    journey.saw("confirm")
    page.get_by_role("button", name="Confirm cancellation").click()
    expect(page.get_by_role("heading", name="Your cancellation is confirmed")).to_be_visible()
    expect(page).to_have_url(live_server + "/cancel/1/done")
    journey.saw("done")

    with database.connection_context():
        statuses = {s.product: s.status for s in Subscription.select()
                    .where(Subscription.account == 1)}
        assert statuses == {"smrtphone": "cancellation_pending", "smrtdialer": "cancellation_pending"}
        assert CancellationRequest.get().status == "confirmed"
    assert page.problems == []


def test_keep_my_account_returns_to_products(page, journey, live_server):
    sign_in(page, live_server)
    page.get_by_test_id("cancel-smrtphone").click()
    page.get_by_test_id("continue").click()
    expect_step(page, "acknowledge")
    page.get_by_test_id("keep-account").click()
    expect(page.get_by_text("Good news: your smrtPhone subscription stays active.")).to_be_visible()
    expect(page).to_have_url(live_server + "/billing/products")
    journey.saw("kept")
    with database.connection_context():
        assert CancellationRequest.get().status == "kept"
    assert page.problems == []

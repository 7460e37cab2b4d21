"""Offers that act, in a real browser with and without JavaScript: a
downgrade accepted from the wizard shows on Products and can be undone."""
from playwright.sync_api import expect

from tests.browser.test_cancel_journey import expect_step, sign_in
from wizard.db import database
from wizard.models import CancellationRequest, PlanChange


def test_a_downgrade_from_the_wizard_shows_on_products(page, live_server):
    sign_in(page, live_server)
    page.get_by_role("link", name="Cancel Subscription: smrtPhone").click()
    page.get_by_role("button", name="Continue").click()
    expect_step(page, "acknowledge")
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Continue").click()
    expect_step(page, "survey")
    page.get_by_label("Too expensive").check()
    page.get_by_role("button", name="Continue").click()
    expect_step(page, "options")

    page.get_by_role("link", name="Change your plan").click()
    expect(page.get_by_role("heading", name="Change your smrtPhone plan")).to_be_visible()
    page.get_by_role("link", name="Switch to Starter").click()
    expect(page.get_by_role("heading", name="Switch to Starter")).to_be_visible()
    expect(page.locator("#change-summary")).to_contain_text("when your current period ends")
    # Fewer seats than agents is refused at the field.
    page.get_by_label("Seats").fill("2")
    page.get_by_role("button", name="Show the price").click()
    expect(page.locator("#seats-error")).to_contain_text("please keep at least 3 seats")
    page.get_by_label("Seats").fill("4")
    page.get_by_role("button", name="Show the price").click()
    expect(page.locator("#change-summary")).to_contain_text("$100.00 a month (today $200.00)")
    page.get_by_role("button", name="Confirm the change").click()

    expect(page.get_by_role("heading", name="Products")).to_be_visible()
    expect(page.get_by_text("Your smrtPhone plan changes to Starter (4 seats, $100.00 a month)")).to_be_visible()
    expect(page.locator("#pending-smrtphone")).to_contain_text("Changes to Starter with 4 seats on")
    with database.connection_context():
        assert CancellationRequest.get().status == "retained"
        assert PlanChange.get().status == "scheduled"

    page.get_by_role("button", name="Undo this change to Starter: smrtPhone").click()
    expect(page.get_by_text("the change to Starter is undone")).to_be_visible()
    expect(page.locator("#pending-smrtphone")).to_have_count(0)
    with database.connection_context():
        assert PlanChange.get().status == "undone"
    assert page.problems == []

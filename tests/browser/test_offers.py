"""Offers that act, in a real browser with and without JavaScript: a
downgrade accepted from the wizard shows on Products and can be undone.

needs_db: it reads the request and the plan change from the database."""
import pytest
from playwright.sync_api import expect

from tests.browser.support import walk_to_offers
from wizard.store.db import database
from wizard.store.models import CancellationRequest, PlanChange

pytestmark = pytest.mark.needs_db


def test_a_downgrade_from_the_wizard_shows_on_products(page, journey, live_server):
    walk_to_offers(page, live_server, "Too expensive")

    page.get_by_test_id("offer-change_plan").get_by_role("link", name="Change your plan").click()
    expect(page.get_by_role("heading", name="Change your smrtPhone plan")).to_be_visible()
    journey.saw("plans")
    page.get_by_role("link", name="Switch to Starter").click()
    expect(page.get_by_role("heading", name="Switch to Starter")).to_be_visible()
    expect(page.locator("#change-summary")).to_contain_text("when your current period ends")
    journey.saw("switch-to-starter")
    # Fewer seats than agents is refused at the field.
    page.get_by_label("Seats").fill("2")
    page.get_by_role("button", name="Show the price").click()
    expect(page.locator("#seats-error")).to_contain_text("please keep at least 3 seats")
    journey.saw("switch-to-starter-errors")
    page.get_by_label("Seats").fill("4")
    page.get_by_role("button", name="Show the price").click()
    expect(page.locator("#change-summary")).to_contain_text("$100.00 a month (today $200.00)")
    page.get_by_role("button", name="Confirm the change").click()

    expect(page.get_by_role("heading", name="Products")).to_be_visible()
    expect(page.get_by_text("Your smrtPhone plan changes to Starter (4 seats, $100.00 a month)")).to_be_visible()
    expect(page.locator("#pending-smrtphone")).to_contain_text("Changes to Starter with 4 seats on")
    journey.saw("products-with-a-change")
    with database.connection_context():
        assert CancellationRequest.get().status == "retained"
        assert PlanChange.get().status == "scheduled"

    page.get_by_role("button", name="Undo this change to Starter: smrtPhone").click()
    expect(page.get_by_text("the change to Starter is undone")).to_be_visible()
    expect(page.locator("#pending-smrtphone")).to_have_count(0)
    journey.saw("change-undone")
    with database.connection_context():
        assert PlanChange.get().status == "undone"
    assert page.problems == []

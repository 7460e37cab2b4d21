"""A call with Customer Success, in a real browser with and without
JavaScript: booked from Products, seen by staff, its outcome recorded and
counted in the insights.

needs_db: it reads the call from the database and moves the app's clock."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.support import sign_in_to_products as sign_in
from wizard import clock
from wizard.store.db import database
from wizard.store.models import Call

pytestmark = pytest.mark.needs_db
DESKTOP = {"width": 1280, "height": 900}


def sign_in_as_staff(page, base):
    page.context.clear_cookies()
    page.goto(base + "/auth/login")
    page.get_by_label("Email").fill("success@smrtphone.test")
    page.get_by_label("Password").fill("success-pass")
    page.get_by_role("button", name="Sign in").click()


def page_height(page):
    return page.evaluate("document.documentElement.scrollHeight")


def test_a_call_booked_from_products_is_held_and_counted(page, journey, live_server):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, email="owner@birch.test")
    page.get_by_role("link", name="Speak with our Success Team").click()
    expect(page.get_by_role("heading", name="Book a call with Customer Success")).to_be_visible()
    # The days first, then a day's times: one page of choices at a time.
    expect(page.get_by_test_id("call-zone")).to_contain_text(
        "Times are in Eastern Time (America/New_York).")
    expect(page.get_by_role("radio")).to_have_count(0)
    assert page_height(page) <= 2 * DESKTOP["height"], "the days fit two screens"
    journey.saw("book-a-call")
    page.get_by_test_id("call-day").first.click()
    expect(page.get_by_role("group", name=re.compile("^Choose a time on "))).to_be_visible()
    expect(page.get_by_label("The number we will call")).to_have_value("(212) 555-0140")
    assert page_height(page) <= 2 * DESKTOP["height"], "a day's times fit two screens"
    journey.saw("book-a-call-times")
    page.get_by_label("The number we will call").fill("12")
    page.get_by_role("button", name="Book this call").click()
    expect(page.locator("#start-error")).to_have_text("Please choose a time.")
    expect(page.locator("#number-error")).to_have_text(
        "Enter a phone number we can call, like (201) 555-0123.")
    expect(page).to_have_title(re.compile("^Error: Book a call with Customer Success"))
    expect(page.locator(".error-summary")).to_be_focused()
    journey.saw("book-a-call-errors")
    page.get_by_role("link", name="Show all times").click()
    expect(page.get_by_role("link", name="Show only 8 AM to 7 PM")).to_be_visible()
    page.get_by_test_id("other-day").click()
    page.get_by_test_id("call-day").first.click()
    page.get_by_role("radio").first.check()
    page.get_by_label("The number we will call").fill("212 555 0141")
    page.get_by_label("What would you like to talk about? (optional)").fill("Fewer seats")
    page.get_by_role("button", name="Book this call").click()
    expect(page.get_by_text("of Customer Success is booked for")).to_be_visible()
    # The confirmation says the number, and so does the call's card on Products.
    expect(page.locator(".flash")).to_contain_text("Customer Success will call you at (212) 555-0141.")
    expect(page.locator(".call")).to_contain_text("about Fewer seats")
    expect(page.locator(".call")).to_contain_text("Customer Success will call you at (212) 555-0141.")
    journey.saw("products-with-a-call")
    # A second call, while this one is ahead: the page offers to move it instead.
    page.goto(live_server + "/calls/book")
    expect(page.get_by_text("You already have a call with")).to_be_visible()
    page.get_by_test_id("move-call").click()
    expect(page.get_by_role("heading", name="Move your call")).to_be_visible()
    expect(page.get_by_text("Customer Success will call you at (212) 555-0141;")).to_be_visible()
    journey.saw("move-the-call")

    with database.connection_context():
        call = Call.get()
        staff_name = call.staff.name
    # Every staff member sees every call, whoever the round robin gave it to.
    sign_in_as_staff(page, live_server)
    page.get_by_role("link", name="Calls").click()
    card = page.locator(f"#call-{call.id}")
    expect(card).to_contain_text("Birch Homes")
    expect(card).to_contain_text("Fewer seats")
    expect(card).to_contain_text("Customer Success will call them at (212) 555-0141")
    journey.saw("staff-calls")

    # After the call: any staff member records how it went.
    clock.FROZEN = call.end + timedelta(minutes=5)
    try:
        page.reload()
        card = page.locator(f"#call-{call.id}")
        card.get_by_label("Outcome").select_option("saved")
        card.get_by_label("Notes").fill("Moved them to fewer seats.")
        card.get_by_role("button", name="Record how the call with Birch Homes went").click()
        expect(page.get_by_text("Recorded: the call with Birch Homes.")).to_be_visible()
        journey.saw("staff-call-recorded")
        page.get_by_role("link", name="Insights").click()
        journey.saw("insights")
        row = page.locator("#calls-table tbody tr", has_text=staff_name)
        expect(row.locator("td").nth(0)).to_have_text("1")  # booked
        expect(row.locator("td").nth(1)).to_have_text("1")  # held
    finally:
        clock.FROZEN = None
    with database.connection_context():
        assert Call.get().outcome == "saved"
    assert page.problems == []

"""A call booked from the wizard's offers ends in a follow-up, in a real
browser with and without JavaScript: staff record "Needs a follow-up" with a
day, *My follow-ups* lists it, and the QA clock moved past that day's
morning makes the sweep email the staff member.

needs_db: it reads the email from the database; qa_mode: it moves the clock."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.support import walk_to_offers
from wizard import clock
from wizard.store.db import database
from wizard.store.models import Call, FollowUp, OutboxMessage, User

pytestmark = [pytest.mark.qa_mode, pytest.mark.needs_db]


def advance_clock(page, base, amount):
    page.goto(base + "/qa/clock")
    page.get_by_label("Move the clock forward by").fill(amount)
    page.get_by_role("button", name="Advance", exact=True).click()
    expect(page.get_by_test_id("qa-clock-banner")).to_be_visible()


def test_a_call_from_the_wizard_becomes_a_follow_up_and_its_reminder(page, journey, live_server):
    walk_to_offers(page, live_server, "My support experience")
    page.get_by_test_id("offer-book_call").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Book a call with Customer Success")).to_be_visible()
    page.get_by_test_id("call-day").first.click()
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Book this call").click()
    expect(page.get_by_text("of Customer Success is booked for")).to_be_visible()

    with database.connection_context():
        call = Call.get()
        staff = User.get_by_id(call.staff_id)
        assert call.request_id is not None, "booked from the wizard's request"
    page.context.clear_cookies()
    advance_clock(page, live_server, "3d")  # the call is over
    page.goto(live_server + "/auth/login")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill("success-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Calls with owners")).to_be_visible()

    due = (clock.now().astimezone(ZoneInfo(staff.timezone or "UTC")) + timedelta(days=2)).date()
    card = page.locator(f"#call-{call.id}")
    card.get_by_label("Outcome").select_option("follow_up")
    card.get_by_label("Notes").fill("Call back with the new support hours.")
    card.get_by_label("Follow up on").fill(due.isoformat())
    card.get_by_role("button", name="Record how the call with Acme Realty went").click()
    expect(page.get_by_text("Recorded: the call with Acme Realty.")).to_be_visible()
    page.get_by_role("link", name="My follow-ups").click()
    expect(page.get_by_role("heading", name="My follow-ups")).to_be_visible()
    expect(page.locator("section.card")).to_contain_text("Call back with the new support hours.")
    journey.saw("my-follow-ups")

    advance_clock(page, live_server, "3d")  # past the due morning: the sweep runs at once
    with database.connection_context():
        (reminder,) = OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.FOLLOW_UP_DUE)
        assert reminder.to_address == staff.email and "Acme Realty" in reminder.subject
        assert FollowUp.get().due_on == due
    assert page.problems == []

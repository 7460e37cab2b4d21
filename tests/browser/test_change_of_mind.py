"""After cancelling: the banner, reactivation, and smrtDialer on its own, in a
real browser with and without JavaScript."""
from playwright.sync_api import expect

from tests.browser.test_cancel_journey import expect_step, sign_in
from wizard.db import database
from wizard.models import Subscription


def statuses():
    with database.connection_context():
        return {s.product: s.status for s in Subscription.select().where(Subscription.account == 1)}


def press(page, name):
    page.get_by_role("button", name=name).click()


def read_and_acknowledge(page):
    press(page, "Continue")
    expect(page.get_by_role("heading", name="Acknowledge", exact=True)).to_be_visible()
    for box in page.get_by_role("checkbox").all():
        box.check()
    press(page, "Continue")


def answer_survey(page, reason):
    expect(page.get_by_role("heading", name="Tell us why", exact=True)).to_be_visible()
    page.get_by_label(reason, exact=True).check()
    press(page, "Continue")


def confirm(page):
    press(page, "Confirm cancellation")
    expect(page.get_by_role("heading", name="Your cancellation is confirmed")).to_be_visible()


def test_cancel_see_the_banner_reactivate_then_smrtdialer_alone(page, live_server):
    sign_in(page, live_server)
    page.get_by_role("link", name="Cancel Subscription: smrtPhone").click()
    read_and_acknowledge(page)
    answer_survey(page, "Other")
    press(page, "No thanks, continue to cancel")
    confirm(page)
    assert statuses() == {"smrtphone": "cancellation_pending", "smrtdialer": "cancellation_pending"}

    banner = page.locator(".banner")
    expect(banner).to_contain_text("Cancellation scheduled: service ends")
    banner.get_by_role("link", name="Reactivate").click()
    press(page, "Reactivate smrtPhone")
    expect(page.get_by_text("Welcome back: smrtPhone is active again.")).to_be_visible()
    expect(page.locator(".banner")).to_have_count(0)
    assert statuses() == {"smrtphone": "active", "smrtdialer": "cancellation_pending"}

    page.get_by_role("link", name="Reactivate smrtDialer").click()
    press(page, "Reactivate smrtDialer")
    expect(page.get_by_text("Welcome back: smrtDialer is active again.")).to_be_visible()
    assert statuses() == {"smrtphone": "active", "smrtdialer": "active"}

    page.get_by_role("link", name="Cancel Subscription: smrtDialer").click()
    expect_step(page, "consequences", "smrtdialer")
    read_and_acknowledge(page)
    answer_survey(page, "Not using it enough")
    confirm(page)
    assert statuses() == {"smrtphone": "active", "smrtdialer": "cancellation_pending"}

    page.get_by_role("link", name="Account > Billing & Logs > Products").click()
    page.get_by_role("link", name="Reactivate smrtDialer").click()
    press(page, "Reactivate smrtDialer")
    expect(page.get_by_text("Welcome back: smrtDialer is active again.")).to_be_visible()
    assert statuses() == {"smrtphone": "active", "smrtdialer": "active"}
    assert page.problems == []

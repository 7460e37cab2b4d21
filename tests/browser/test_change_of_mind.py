"""After canceling: the banner, reactivation, and smrtDialer on its own, in a
real browser with and without JavaScript.

needs_db: it reads the subscriptions from the database, on a server of its own."""
import pytest
from playwright.sync_api import expect

from tests.browser.support import expect_step
from tests.browser.support import answer_survey, confirm, press, read_and_acknowledge
from tests.browser.support import sign_in_to_products as sign_in
from wizard.store.db import database
from wizard.store.models import Subscription

pytestmark = pytest.mark.needs_db


def statuses():
    with database.connection_context():
        return {s.product: s.status for s in Subscription.select().where(Subscription.account == 1)}


def test_cancel_see_the_banner_reactivate_then_smrtdialer_alone(page, journey, live_server):
    sign_in(page, live_server)
    page.get_by_test_id("cancel-smrtphone").click()
    read_and_acknowledge(page)
    answer_survey(page, "Other")
    journey.saw("options")
    page.get_by_test_id("offer-none").click()
    confirm(page)
    assert statuses() == {"smrtphone": "cancellation_pending", "smrtdialer": "cancellation_pending"}

    banner = page.get_by_test_id("cancellation-banner")
    expect(banner).to_contain_text("Cancellation scheduled: service ends")
    open_products = page.get_by_role("link", name="Account > Billing & Logs > Products")
    open_products.click()
    journey.saw("products-canceled")
    banner.get_by_role("link", name="Reactivate").click()
    journey.saw("reactivate-smrtphone")
    press(page, "Reactivate smrtPhone")
    expect(page.get_by_text("Welcome back: smrtPhone is active again.")).to_be_visible()
    expect(page.get_by_test_id("cancellation-banner")).to_have_count(0)
    journey.saw("smrtphone-reactivated")
    assert statuses() == {"smrtphone": "active", "smrtdialer": "cancellation_pending"}

    page.get_by_test_id("reactivate-smrtdialer").click()
    journey.saw("reactivate-smrtdialer")
    press(page, "Reactivate smrtDialer")
    expect(page.get_by_text("Welcome back: smrtDialer is active again.")).to_be_visible()
    assert statuses() == {"smrtphone": "active", "smrtdialer": "active"}

    page.get_by_test_id("cancel-smrtdialer").click()
    expect_step(page, "consequences", "smrtdialer")
    journey.saw("smrtdialer-consequences")
    read_and_acknowledge(page)
    answer_survey(page, "Not using it enough")
    expect_step(page, "confirm", "smrtdialer")
    journey.saw("smrtdialer-confirm")
    confirm(page)
    journey.saw("smrtdialer-done")
    assert statuses() == {"smrtphone": "active", "smrtdialer": "cancellation_pending"}

    page.get_by_role("link", name="Account > Billing & Logs > Products").click()
    page.get_by_test_id("reactivate-smrtdialer").click()
    page.get_by_test_id("reactivate-confirm").click()
    expect(page.get_by_text("Welcome back: smrtDialer is active again.")).to_be_visible()
    assert statuses() == {"smrtphone": "active", "smrtdialer": "active"}
    assert page.problems == []

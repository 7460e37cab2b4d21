"""The whole flow on a 390 px wide phone screen, with and without
JavaScript: nothing scrolls sideways, the buttons are on screen, and every
page, including its error states, passes axe-core.

Both journeys run against E2E_BASE_URL too. The owner's journey cancels
Acme's smrtPhone (and with it smrtDialer) and then reactivates both, so Acme
ends active again; on the way it sends the confirmation and reactivation
emails, and Customer Success sees one confirmed-then-reactivated request. A
run interrupted half-way is undone by the next one (it reactivates first).
The staff journey only reads.
"""
from playwright.sync_api import expect

from tests.browser.support import (
    STEP_NAMES,
    advance,
    answer,
    bring_back,
    expect_step,
    open_products,
    sign_in,
    start_wizard,
)
from wizard.store.models import Product


def expect_on_screen(page, locator, width):
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, \
        f"{locator} is off-screen: {box}"


def test_the_whole_wizard_on_a_phone(page, journey, base_url):
    journey.on_phone()
    page.goto(base_url + "/auth/login")
    journey.saw("sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".field-error").first).to_be_visible()
    journey.saw("sign-in-errors")
    sign_in(page, base_url)
    bring_back(page, base_url)
    open_products(page, base_url)
    expect_on_screen(page, page.get_by_test_id("cancel-smrtphone"), journey.width)
    journey.saw("products")
    # The pages an offer opens, looked at without changing anything.
    page.get_by_test_id("change-plan-smrtphone").click()
    expect(page.get_by_role("heading", name="Change your smrtPhone plan")).to_be_visible()
    journey.saw("plans")
    open_products(page, base_url)
    page.get_by_role("link", name="Speak with our Success Team").click()
    expect(page.get_by_role("heading", name="Book a call with Customer Success")).to_be_visible()
    # The days, then a day's times: each fits two screens of a phone.
    assert page.evaluate("document.documentElement.scrollHeight") <= 2 * 844
    journey.saw("book-a-call")
    page.get_by_test_id("call-day").first.click()
    assert page.evaluate("document.documentElement.scrollHeight") <= 2 * 844
    journey.saw("book-a-call-times")
    page.get_by_role("button", name="Book this call").click()
    expect(page.locator("#start-error")).to_be_visible()
    journey.saw("book-a-call-errors")

    start_wizard(page, base_url)
    for name in STEP_NAMES[:-1]:
        expect_step(page, name)
        journey.saw(name)
        if name in ("acknowledge", "survey"):  # what a step says when submitted empty
            advance(page, name)
            expect(page.get_by_role("alert")).to_be_visible()
            journey.saw(f"{name}-errors")
        answer(page, name)
        advance(page, name)
    expect_step(page, "confirm")
    journey.saw("confirm")
    expect_on_screen(page, page.get_by_test_id("confirm-cancellation"), journey.width)
    page.get_by_test_id("confirm-cancellation").click()
    expect(page.get_by_test_id("cancellation-confirmed")).to_be_visible()
    expect(page.get_by_test_id("cancellation-banner")).to_be_visible()
    journey.saw("done")

    page.get_by_test_id("banner-reactivate").click()
    expect(page.get_by_test_id("reactivate-confirm")).to_be_visible()
    journey.saw("reactivate")
    page.get_by_test_id("reactivate-confirm").click()
    expect(page.get_by_text("Welcome back: smrtPhone is active again.")).to_be_visible()
    journey.saw("reactivated")
    page.get_by_test_id(f"reactivate-{Product.SMRTDIALER}").click()
    page.get_by_test_id("reactivate-confirm").click()
    expect(page.get_by_text("Welcome back: smrtDialer is active again.")).to_be_visible()
    expect(page.get_by_test_id("cancel-smrtphone")).to_be_visible()
    journey.saw("both-active")
    assert page.problems == []


def test_the_success_console_on_a_phone(page, journey, base_url):
    journey.on_phone()
    sign_in(page, base_url, "success@smrtphone.test", "success-pass")
    expect(page.get_by_role("heading", name="Calls with owners")).to_be_visible()  # staff land on Calls
    page.get_by_role("link", name="Cancellation requests").click()
    expect(page.get_by_role("heading", name="Cancellation requests")).to_be_visible()
    journey.saw("requests")
    requests = page.locator("table.requests tbody th a")
    if requests.count():  # a fresh demo has none; a shared server usually has some
        requests.first.click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        journey.saw("one-request")
    page.goto(base_url + "/success/?first=2026-13-01")
    journey.saw("requests-bad-filter")
    for tab, heading in (("Calls", "Calls"), ("My follow-ups", "My follow-ups"), ("Insights", "Insights")):
        page.get_by_role("link", name=tab, exact=True).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        journey.saw(tab.lower())
    page.goto(base_url + "/success/hours")
    journey.saw("hours")
    assert page.problems == []

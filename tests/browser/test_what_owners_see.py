"""What the layout rules cannot see alone, looked at as an owner would, with
JavaScript and without: leaving is never weaker than staying, a refused form
is announced from its summary, and focus does not paint a box around a
heading the page moved it to.

needs_db: these walk a fresh demo's wizard to its end."""
import pytest
from playwright.sync_api import expect

from tests.browser.support import expect_step, sign_in, sign_in_to_products

pytestmark = pytest.mark.needs_db

# What gives a button its visual weight.
WEIGHT = """(el) => { const s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {height: Math.round(r.height), font: s.fontSize + ' ' + s.fontWeight, padding: s.padding,
          filled: s.backgroundColor !== 'rgb(255, 255, 255)' && s.backgroundColor !== 'rgba(0, 0, 0, 0)',
          border: s.borderTopWidth}; }"""
FOCUSED = """() => { const el = document.activeElement;
  return {summary: !!(el && el.classList.contains('error-summary')), tag: el && el.tagName,
          outline: el ? getComputedStyle(el).outlineStyle : null}; }"""


def weight(locator):
    return locator.evaluate(WEIGHT)


def expect_refused_and_focused(page, label):
    """The page is titled "Error: ..." and focus is on its error summary."""
    expect(page.locator(".error-summary")).to_be_visible()
    assert page.title().startswith("Error: "), f"{label}: title {page.title()!r}"
    page.wait_for_function("document.activeElement && document.activeElement.classList.contains('error-summary')")
    assert page.evaluate(FOCUSED)["summary"], f"{label}: focus is not on the error summary"


def test_going_on_weighs_as_much_as_keeping_on_every_step(page, live_server):
    sign_in_to_products(page, live_server)
    page.get_by_test_id("cancel-smrtphone").click()
    for step in ("consequences", "acknowledge", "survey", "options", "confirm"):
        expect_step(page, step)
        keep = weight(page.get_by_test_id("keep-account"))
        go_on = page.get_by_test_id({"options": "offer-none", "confirm": "confirm-cancellation"}
                                    .get(step, "continue"))
        on = weight(go_on)
        assert keep["filled"] and on["filled"], f"{step}: both buttons filled ({keep}, {on})"
        assert (on["height"], on["font"], on["padding"], on["border"]) == \
            (keep["height"], keep["font"], keep["padding"], keep["border"]), f"{step}: {on} against {keep}"
        if step == "options":
            for offer in page.locator(".offer .button").all():
                assert weight(offer)["height"] == on["height"], "No thanks is as big as an offer"
            go_on.click()
        elif step == "acknowledge":
            for box in page.get_by_role("checkbox").all():
                box.check()
            go_on.click()
        elif step == "survey":
            page.get_by_label("Too expensive", exact=True).check()
            go_on.click()
        elif step != "confirm":
            go_on.click()
    assert page.problems == []


def test_a_refused_form_is_titled_error_with_focus_on_its_summary(page, live_server):
    page.goto(live_server + "/auth/login")
    page.get_by_role("button", name="Sign in").click()
    expect_refused_and_focused(page, "sign-in")

    sign_in_to_products(page, live_server)
    page.get_by_test_id("cancel-smrtphone").click()
    page.get_by_test_id("continue").click()
    expect_step(page, "acknowledge")
    # The step's heading took focus (the script's, or autofocus): no ring around it.
    focused = page.evaluate(FOCUSED)
    assert focused["tag"] == "H2" and focused["outline"] == "none", focused
    page.get_by_test_id("continue").click()
    expect_refused_and_focused(page, "acknowledge")
    # The summary's link takes the owner to the field.
    page.locator(".error-summary a").first.click()
    assert page.evaluate("document.activeElement.type") == "checkbox"

    page.goto(live_server + "/billing/products")
    page.get_by_test_id("change-plan-smrtphone").click()
    page.get_by_role("link", name="Switch to Starter").click()
    page.get_by_label("Seats").fill("2.5")
    page.get_by_role("button", name="Show the price").click()
    expect_refused_and_focused(page, "seats")
    # One message for one fault.
    expect(page.locator("#seats-error")).to_have_text("Please enter a whole number of seats, 1 or more.")

    page.goto(live_server + "/calls/book")
    page.get_by_test_id("call-day").first.click()
    page.get_by_role("button", name="Book this call").click()
    expect_refused_and_focused(page, "booking")
    assert page.problems == []


def test_the_teams_refused_forms_are_titled_error_with_focus_on_their_summary(page, live_server):
    sign_in(page, live_server, "success@smrtphone.test", "success-pass")
    page.goto(live_server + "/success/hours")
    # The time zone is a choice of real zones, grouped by region.
    assert page.locator("#timezone optgroup[label='America'] option[value='America/New_York']").count() == 1
    page.locator("#d0_1_from").fill("17:00")
    page.locator("#d0_1_to").fill("09:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect_refused_and_focused(page, "hours")
    expect(page.locator("#day-0-error")).to_have_text("Hours must end after they start (5:00 PM to 9:00 AM).")
    assert page.problems == []

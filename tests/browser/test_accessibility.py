"""Every page passes axe-core with no violations (WCAG 2.2 A and AA rules and
axe's best practices), in Chromium, including pages showing form errors, and
is usable by keyboard.

needs_db: these start from a fresh demo and leave Acme canceled, so they run
on a server of their own; the journeys' own checks (conftest.Journey) cover
the pages against E2E_BASE_URL."""
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE_TAGS, close_context, open_context, results_dir
from tests.browser.layout import LayoutWatch
from tests.browser.support import sign_in_to_products as sign_in
from tests.support.helpers import progress
from wizard.domain import policy

pytestmark = pytest.mark.needs_db


def violations(page, axe_source):
    page.add_script_tag(content=axe_source)
    result = page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return {passes: r.passes.length, violations: r.violations.map(v => ({id: v.id,
            help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))};
    }""", AXE_TAGS + ["best-practice"])
    assert result["passes"] > 10, "axe did not really run"
    return result["violations"]


@pytest.fixture
def js_page(request, chromium):
    # axe runs as a script in the page; the pages themselves are the same without JS.
    context = open_context(chromium, bypass_csp=True)
    page = context.new_page()
    page.javascript = True
    page.layout = LayoutWatch(page, results_dir(request.node))  # as the `page` fixture's
    page.layout.install(context)
    yield page
    broken = page.layout.report()
    close_context(request, context, also_failed=bool(broken))
    if broken:
        pytest.fail(broken, pytrace=False)


def check(page, axe_source, label):
    found = violations(page, axe_source)
    assert found == [], f"{label}: {found}"


def test_every_page_passes_axe(js_page, live_server, axe_source):
    page = js_page
    page.goto(live_server + "/auth/login")
    check(page, axe_source, "login")
    page.get_by_role("button", name="Sign in").click()
    check(page, axe_source, "login with errors")

    sign_in(page, live_server)
    check(page, axe_source, "products")
    page.get_by_role("link", name="Cancel Subscription: smrtPhone").click()
    check(page, axe_source, "what will happen")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".progress")).to_have_text(progress("acknowledge"))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".field-error").first).to_be_visible()
    check(page, axe_source, "acknowledge with errors")
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".progress")).to_have_text(progress("survey"))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".field-error").first).to_be_visible()
    check(page, axe_source, "survey with errors")
    page.get_by_label("Too expensive").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".progress")).to_have_text(progress("options"))
    check(page, axe_source, "options")
    page.get_by_role("button", name="No thanks, continue to cancel").click()
    expect(page.locator(".progress")).to_have_text(progress("confirm"))
    check(page, axe_source, "confirm")
    page.get_by_role("button", name="Confirm cancellation").click()
    expect(page.get_by_role("heading", name="Your cancellation is confirmed")).to_be_visible()
    check(page, axe_source, "done, with the banner")
    page.get_by_test_id("banner-reactivate").click()
    check(page, axe_source, "reactivate")
    page.goto(live_server + "/cancel/999/consequences")
    check(page, axe_source, "error page")


def test_the_wizard_works_by_keyboard_alone(js_page, live_server):
    page = js_page
    sign_in(page, live_server)
    page.goto(live_server + "/cancel/1/consequences")
    continue_button = page.get_by_role("button", name="Continue")
    for _ in range(60):
        page.keyboard.press("Tab")
        if continue_button.evaluate("b => b === document.activeElement"):
            break
    else:
        pytest.fail("Continue cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".progress")).to_have_text(progress("acknowledge"))
    # After the swap, focus is on the new step's heading (htmx honours
    # autofocus), so the next Tab reaches the first checkbox.
    expect(page.locator("#step-title")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("checkbox").first).to_be_focused()
    # Space ticks a focused checkbox; Tab moves on through all of them.
    for _ in range(len(policy.SMRTPHONE_STATEMENTS)):
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
    assert all(box.is_checked() for box in page.get_by_role("checkbox").all())
    page.keyboard.press("Enter")
    expect(page.locator(".progress")).to_have_text(progress("survey"))


def test_the_plan_pages_pass_axe(js_page, live_server, axe_source):
    page = js_page
    sign_in(page, live_server)
    page.goto(live_server + "/billing/plans/1")
    check(page, axe_source, "plans")
    page.goto(live_server + "/billing/plans/1/phone-starter")
    check(page, axe_source, "switch to starter")
    page.goto(live_server + "/billing/plans/1/phone-starter?seats=2")
    expect(page.locator("#seats-error")).to_be_visible()
    check(page, axe_source, "switch to starter, with an error")
    page.goto(live_server + "/billing/plans/1/phone-starter")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.locator("#pending-smrtphone")).to_be_visible()
    check(page, axe_source, "products with a scheduled change")


def test_the_console_passes_axe(js_page, live_server, axe_source):
    page = js_page
    sign_in(page, live_server)  # the owner starts a request, so the pages have rows
    page.get_by_role("link", name="Cancel Subscription: smrtPhone").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".progress")).to_have_text(progress("acknowledge"))
    page.context.clear_cookies()
    page.goto(live_server + "/auth/login")
    page.get_by_label("Email").fill("success@smrtphone.test")
    page.get_by_label("Password").fill("success-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Calls with owners")).to_be_visible()  # staff land on Calls
    page.get_by_role("link", name="Cancellation requests").click()
    expect(page.get_by_role("heading", name="Cancellation requests")).to_be_visible()
    check(page, axe_source, "requests")
    page.goto(live_server + "/success/?q=%25_nobody&sort=revenue")
    check(page, axe_source, "requests, searched")
    page.goto(live_server + "/success/?after=changed")
    check(page, axe_source, "requests, with a changed page link")
    page.goto(live_server + "/success/?first=2026-13-01")
    check(page, axe_source, "requests, with a bad filter")
    page.goto(live_server + "/success/requests/1")
    check(page, axe_source, "one request")
    page.goto(live_server + "/success/insights")
    check(page, axe_source, "insights")
    page.goto(live_server + "/success/follow-ups")
    check(page, axe_source, "my follow-ups")


def test_the_call_pages_pass_axe(js_page, live_server, axe_source):
    page = js_page
    sign_in(page, live_server)
    page.goto(live_server + "/calls/book")
    check(page, axe_source, "book a call")
    page.get_by_test_id("call-day").first.click()
    check(page, axe_source, "book a call, a day's times")
    page.get_by_role("button", name="Book this call").click()
    expect(page.locator("#start-error")).to_be_visible()
    check(page, axe_source, "book a call, with an error")
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Book this call").click()
    expect(page.locator(".call")).to_be_visible()
    check(page, axe_source, "products with a call")
    page.context.clear_cookies()
    page.goto(live_server + "/auth/login")
    page.get_by_label("Email").fill("success@smrtphone.test")
    page.get_by_label("Password").fill("success-pass")
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server + "/success/calls")
    check(page, axe_source, "calls")
    page.goto(live_server + "/success/hours")
    check(page, axe_source, "hours")


@pytest.mark.qa_mode
def test_the_qa_clock_page_and_banner_pass_axe_and_work_by_keyboard(js_page, live_server, axe_source):
    page = js_page
    page.goto(live_server + "/qa/clock")
    check(page, axe_source, "QA clock")
    page.get_by_label("Move the clock forward by").fill("ninety days")
    page.keyboard.press("Enter")
    expect(page.locator("#amount-error")).to_be_visible()
    check(page, axe_source, "QA clock, with an error")
    page.get_by_label("Move the clock forward by").fill("91d")
    page.keyboard.press("Enter")
    banner = page.get_by_test_id("qa-clock-banner")
    expect(banner).to_contain_text("QA clock: +91 days (now ")
    expect(page.get_by_role("region", name="QA clock notice")).to_be_visible()
    check(page, axe_source, "QA clock, moved")
    sign_in(page, live_server)
    expect(banner).to_be_visible()
    check(page, axe_source, "products with the QA clock banner")
    page.get_by_role("link", name="Cancel Subscription: smrtPhone").click()
    page.get_by_role("button", name="Continue").click()  # an htmx swap of the panel
    expect(page.locator(".progress")).to_have_text(progress("acknowledge"))
    expect(banner).to_contain_text("QA clock: +91 days")

"""Moving around the wizard as people do, with and without JavaScript: the
browser's Back and Forward buttons, reloading every step, and signing out
half-way. Nothing is lost and nothing is sent twice.

Both journeys run against E2E_BASE_URL too. They start a smrtPhone request
as Acme's owner and end it with Keep my account, so Acme stays active; an
open request left by an interrupted run is kept first. Signing out ends
owner@acme.test's sessions on every device.
"""
from playwright.sync_api import expect

from tests.browser.support import (
    STEP_NAMES,
    advance,
    answer,
    expect_answered,
    expect_step,
    keep_account,
    shown_step,
    sign_in,
    sign_out,
    start_wizard,
)


def test_back_forward_and_reload_lose_nothing_and_send_nothing(page, journey, base_url):
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    sign_in(page, base_url)
    start_wizard(page, base_url)
    for i, name in enumerate(STEP_NAMES):
        expect_step(page, name)
        journey.saw(name)
        sent = len(posts)
        page.reload()
        expect_step(page, name)
        if i:
            previous = STEP_NAMES[i - 1]
            page.go_back()
            expect_step(page, previous)
            expect_answered(page, previous)
            page.go_forward()
            expect_step(page, name)
        assert posts[sent:] == [], f"moving around {name} sent {posts[sent:]}"
        if i < len(STEP_NAMES) - 1:
            answer(page, name)
            advance(page, name)
    keep_account(page)
    journey.saw("kept")
    assert page.problems == []


def test_signing_out_mid_wizard_resumes_where_they_stopped(page, journey, base_url):
    sign_in(page, base_url)
    start_wizard(page, base_url)
    stop_at = STEP_NAMES.index("options")
    for name in STEP_NAMES[:stop_at]:
        expect_step(page, name)
        answer(page, name)
        advance(page, name)
    expect_step(page, "options")
    journey.saw("options")

    sign_out(page)
    journey.saw("signed-out")
    sign_in(page, base_url)
    expect(page.get_by_test_id("product-smrtphone")).to_contain_text("You have a cancellation in progress")
    journey.saw("products-in-progress")
    page.get_by_test_id("cancel-smrtphone").click()
    assert shown_step(page) == "options"
    expect_step(page, "options")
    journey.saw("resumed")
    # Back through the wizard's own link: every answer is still there.
    for name in reversed(STEP_NAMES[:stop_at]):
        page.get_by_test_id("back").click()
        expect_step(page, name)
        expect_answered(page, name)
    keep_account(page)
    assert page.problems == []

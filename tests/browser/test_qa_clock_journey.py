"""The 90 days after canceling, lived in minutes with the QA clock, in a real
browser with and without JavaScript: the service ends at the period's end, the
30- and 7-day reminders arrive, the purge erases Acme at 90 days, its owner can
no longer sign in, and Birch Homes is untouched.

needs_db: it reads the dates from the database and runs the worker itself."""
import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.support import sign_in_to_products as sign_in
from tests.browser.support import answer_survey, confirm, press, read_and_acknowledge
from tests.support.jobs import counts_of, run_worker
from wizard.store.db import database
from wizard.store.models import Account, OutboxMessage, PurgeSchedule, Subscription

pytestmark = [pytest.mark.qa_mode, pytest.mark.needs_db]


def move_clock_to(page, base, moment):
    """Set the QA clock on its page, as QA would (the sweep runs at once)."""
    page.goto(base + "/qa/clock")
    page.get_by_label("Set the clock to").fill(f"{moment:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_test_id("qa-clock-banner")).to_contain_text("QA clock: +")


def advance_clock(page, base, amount):
    page.goto(base + "/qa/clock")
    page.get_by_label("Move the clock forward by").fill(amount)
    page.get_by_role("button", name="Advance", exact=True).click()
    expect(page.get_by_test_id("qa-clock-banner")).to_be_visible()


def sign_in_to(page, base, email, password="owner-pass"):
    page.goto(base + "/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def mails(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.fixture
def worker_environment(tmp_path, redis_url, monkeypatch):
    """The live server's settings, for the worker this test runs in its own process."""
    for name, value in {"DATABASE_URL": f"sqlite:///{tmp_path / 'browser.sqlite3'}",
                        "REDIS_URL": redis_url, "RECORDINGS_DIR": str(tmp_path / "recordings"),
                        "OUTBOX_DIR": str(tmp_path / "outbox"), "MAIL_SERVER": "",
                        "WIZARD_QA": "1"}.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def test_the_ninety_days_after_cancelling_on_the_qa_clock(page, journey, live_server,
                                                          worker_environment, redis_url):
    journey.on_phone()  # and on a phone: the closed page too must fit 390 px
    outbox = str(worker_environment / "outbox")
    recordings = str(worker_environment / "recordings")
    sign_in(page, live_server)
    page.get_by_role("link", name="Cancel Subscription: smrtPhone").click()
    read_and_acknowledge(page)
    answer_survey(page, "Other")
    press(page, "No thanks, continue to cancel")
    confirm(page)
    journey.saw("done")
    with database.connection_context():
        acme, birch = (Account.get(Account.name == name).id for name in ("Acme Realty", "Birch Homes"))
        service_ends = Subscription.get(Subscription.account == acme,
                                        Subscription.product == "smrtphone").current_period_end
        erasure = PurgeSchedule.for_account(acme).due_at
        birch_before = counts_of(birch, recordings)

    # QA moves the clock on its page, signed in or not (a closed account's
    # owner is sent to the closed page wherever they go).
    page.context.clear_cookies()
    # An hour after the paid period: the service has ended; the owner sees it closed.
    move_clock_to(page, live_server, service_ends + timedelta(hours=1))
    journey.saw("qa-clock")
    sign_in_to(page, live_server, "owner@acme.test")
    expect(page.get_by_test_id("qa-clock-banner")).to_be_visible()
    page.goto(live_server + "/billing/closed")
    expect(page.get_by_role("heading", name="Your smrtPhone account is closed")).to_be_visible()
    journey.saw("closed")
    page.context.clear_cookies()
    with database.connection_context():
        assert {s.status for s in Subscription.select().where(Subscription.account == acme)} \
            == {Subscription.ENDED}

    # 30 days and then 7 days before the erasure: a reminder each.
    move_clock_to(page, live_server, erasure - timedelta(days=29, hours=23))
    run_worker(redis_url)
    assert [m for m in mails(outbox) if m.endswith(f"{OutboxMessage.REMINDER_30}.eml")], mails(outbox)
    move_clock_to(page, live_server, erasure - timedelta(days=6, hours=23))
    run_worker(redis_url)
    assert [m for m in mails(outbox) if m.endswith(f"{OutboxMessage.REMINDER_7}.eml")], mails(outbox)

    # Past the 90 days: the purge erases Acme, and only Acme.
    advance_clock(page, live_server, "8d")
    run_worker(redis_url)
    with database.connection_context():
        assert PurgeSchedule.for_account(acme).status == PurgeSchedule.DONE
        assert not any(counts_of(acme, recordings).values()), "Acme is erased"
        assert counts_of(birch, recordings) == birch_before, "Birch Homes is untouched"

    sign_in_to(page, live_server, "owner@acme.test")
    expect(page.get_by_role("heading", name="Products")).to_have_count(0)
    expect(page.get_by_text("That email and password do not match an account.").first).to_be_visible()
    journey.saw("erased-owner-refused")
    sign_in(page, live_server, "owner@birch.test", "owner-pass")
    assert page.problems == []

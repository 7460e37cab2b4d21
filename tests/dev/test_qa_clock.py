"""The QA clock: `flask --app wizard clock ...` and /qa/clock move the time of
every process in QA mode, run the sweep at once, and show a banner; outside
QA mode none of it exists and a stored offset is ignored."""
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import DEMO_LOGINS, NOW
from tests.support.helpers import cancel_smrtphone, subscription, text
from tests.support.jobs import counts_of, rq_queue, run_worker
from tests.support.purge import rows_of
from wizard import ROOT, clock, config, create_app, queue
from wizard.store.models import Account, OutboxMessage, PurgeSchedule, QaClockOffset, Subscription

qa_mode = pytest.mark.qa_mode
BANNER = 'data-testid="qa-clock-banner"'


def clock_command(app, *args):
    return app.test_cli_runner().invoke(args=["clock", *args])


def stored():
    return QaClockOffset.seconds()


# -- the command --------------------------------------------------------------------------

@qa_mode
def test_the_command_advances_sets_shows_and_resets_the_clock(app):
    assert "not moved" in clock_command(app, "show").output

    moved = clock_command(app, "advance", "91d")
    assert moved.exit_code == 0, moved.output
    assert "QA clock: +91 days (now Thursday, February 25, 2027 at 3:00 PM UTC)." in moved.output
    assert "Sweep:" in moved.output
    assert clock.now() == NOW + timedelta(days=91)
    assert "QA clock: +91 days" in clock_command(app, "show").output

    # Amounts add up, in any of the units, together or apart.
    assert clock_command(app, "advance", "1w", "2d 3h").exit_code == 0
    assert clock_command(app, "advance", "30m").exit_code == 0
    assert clock.now() == NOW + timedelta(days=100, hours=3, minutes=30)
    assert "+100 days 3 hours 30 minutes" in clock_command(app, "show").output

    assert clock_command(app, "set", "2027-03-01T09:00").exit_code == 0
    assert clock.now() == datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)
    assert clock_command(app, "set", "2026-11-20").exit_code == 0  # the past works too
    assert "QA clock: -6 days 15 hours" in clock_command(app, "show").output

    reset = clock_command(app, "reset")
    assert reset.exit_code == 0 and "the real time" in reset.output
    assert clock.now() == NOW and stored() == 0
    assert "not moved" in clock_command(app, "show").output


@qa_mode
@pytest.mark.parametrize("args, refusal", [
    (["advance", "91"], "Give an amount such as 91d"),
    (["advance", "d"], "Give an amount such as 91d"),
    (["advance", "1.5d"], "Give an amount such as 91d"),
    (["advance", "91x"], "Give an amount such as 91d"),
    (["advance", "91d; reset"], "Give an amount such as 91d"),
    (["advance", "9" * 1_000_000 + "d"], "Give an amount such as 91d"),
    (["advance", "600w"], "within 3650 days"),
    (["set", "tomorrow"], "Give a date and time such as 2027-03-01T09:00"),
    (["set", "2027-13-01"], "Give a date and time such as 2027-03-01T09:00"),
    (["set", "9999-12-31"], "within 3650 days"),
], ids=["no-unit", "no-number", "fraction", "unknown-unit", "junk", "1-MB", "too-far",
        "words", "no-such-month", "year-9999"])
def test_bad_amounts_and_moments_are_refused_and_move_nothing(app, args, refusal):
    assert clock_command(app, "advance", "2d").exit_code == 0
    result = clock_command(app, *args)
    assert result.exit_code != 0
    assert refusal in result.output
    assert "Traceback" not in result.output
    assert stored() == 2 * 86400


def test_the_command_refuses_outside_qa_mode(app):
    for args in (["advance", "91d"], ["set", "2027-03-01T09:00"], ["show"], ["reset"]):
        result = clock_command(app, *args)
        assert result.exit_code == 1, args
        assert "The QA clock works only in QA mode, and QA mode is off." in result.output
    assert stored() == 0
    assert clock.now() == NOW


# -- QA mode off: nothing to see, nothing read --------------------------------------------

def test_a_stored_offset_is_ignored_and_never_read_when_qa_mode_is_off(app, owner):
    QaClockOffset.store(91 * 86400, NOW)
    statements = []
    handler = logging.Handler()
    handler.emit = lambda record: statements.append(record.getMessage())
    logger = logging.getLogger("peewee")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        page = owner.get("/billing/products")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    assert page.status_code == 200 and BANNER not in text(page)
    assert statements and not [s for s in statements if "qaclockoffset" in s]
    assert clock.now() == NOW
    assert owner.get("/qa/clock").status_code == 404
    assert owner.post("/qa/clock/advance", {"amount": "1d"}).status_code == 404
    assert stored() == 91 * 86400


def test_qa_mode_comes_from_the_setting_or_a_running_make_run_never_in_production(tmp_path):
    assert config.qa_mode(str(tmp_path), {}) is False
    assert config.qa_mode(str(tmp_path), {"WIZARD_QA": "1"}) is True
    config.mark_qa_mode(str(tmp_path))  # as `make run` does: this process is alive
    assert config.qa_mode(str(tmp_path), {}) is True
    assert config.qa_mode(str(tmp_path), {"WIZARD_QA": "0"}) is False
    assert config.qa_mode(str(tmp_path), {"WIZARD_ENV": "production"}) is False
    stopped = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True).stdout.strip()
    (tmp_path / config.QA_MODE_MARKER).write_text(stopped)  # a `make run` that has stopped
    assert config.qa_mode(str(tmp_path), {}) is False


def test_production_refuses_to_start_in_qa_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("WIZARD_ENV", "production")
    monkeypatch.setenv("WIZARD_QA", "1")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("METRICS_TOKEN", os.urandom(16).hex())
    monkeypatch.setenv("SECRET_KEY", os.urandom(32).hex())
    with pytest.raises(config.ConfigError, match="refuses QA mode"):
        create_app({"DATABASE_URL": "postgresql://db/wizard"})


# -- the banner ---------------------------------------------------------------------------

@qa_mode
def test_every_page_shows_the_banner_while_the_clock_is_moved(app, browser, owner):
    assert BANNER not in text(owner.get("/billing/products"))

    assert clock_command(app, "advance", "91d").exit_code == 0
    banner = "QA clock: +91 days (now Thursday, February 25, 2027 at 3:00 PM UTC)"
    for page in (owner.get("/billing/products"), owner.get(f"/cancel/{subscription().id}/consequences"),
                 owner.get("/billing/no-such-page"), browser.__class__(app.test_client()).get("/auth/login")):
        assert BANNER in text(page) and banner in text(page), page.request.path
    # An htmx swap replaces the wizard panel only; the banner lives outside it.
    fragment = owner.get(f"/cancel/{subscription().id}/consequences", htmx=True)
    assert fragment.status_code == 200 and BANNER not in text(fragment)

    assert clock_command(app, "reset").exit_code == 0
    assert BANNER not in text(owner.get("/billing/products"))


# -- other processes see it within about a second -----------------------------------------

WATCHER = """
import time
from jobs import job_context
from wizard import clock
with job_context():
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        print(round(clock.offset().total_seconds()), flush=True)
        time.sleep(0.05)
"""


@qa_mode
def test_another_process_sees_a_move_within_about_a_second(app, database_url, redis_url):
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, WIZARD_QA="1",
               PYTHONPATH=ROOT)
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert watcher.stdout.readline().strip() == "0", "the watcher starts unmoved"
        assert clock_command(app, "advance", "3h").exit_code == 0
        moved_at = time.monotonic()
        while watcher.stdout.readline().strip() != str(3 * 3600):
            assert time.monotonic() - moved_at < 10, "the watcher never saw the move"
        seen_after = time.monotonic() - moved_at
    finally:
        watcher.kill()
        watcher.wait()
    # OFFSET_TTL (1 s), plus a loaded machine's scheduling.
    assert seen_after < clock.OFFSET_TTL + 1.5, f"seen after {seen_after:.2f} s"


# -- moving the clock runs the sweep: service end, reminders, purge -----------------------

@qa_mode
def test_moving_the_clock_ends_the_service_reminds_and_erases_the_account(app, owner, redis_url):
    recordings = app.config["RECORDINGS_DIR"]
    acme, birch = Account.get(Account.name == "Acme Realty").id, Account.get(Account.name == "Birch Homes").id
    birch_before, birch_files = rows_of(birch), counts_of(birch, recordings)
    cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    period_end = subscription().current_period_end
    assert period_end < schedule.due_at - timedelta(days=30)

    # Past the paid period, 30 days before erasure: the service ends, the first reminder.
    assert clock_command(app, "set", (schedule.due_at - timedelta(days=29)).isoformat()).exit_code == 0
    assert Subscription.get_by_id(subscription().id).status == Subscription.ENDED
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.REMINDER_30).count() == 1
    # A week before: the second.
    moved = clock_command(app, "advance", "3w 2d")
    assert "1 erasure reminder(s)" in moved.output
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.REMINDER_7).count() == 1
    # Past the 90 days: the purge is queued for the worker now, not at its scheduled time.
    rq_queue(redis_url).empty()
    assert "1 purge(s)" in clock_command(app, "advance", "7d").output
    assert queue.purge_job_id(schedule) in rq_queue(redis_url).job_ids

    run_worker(redis_url)

    assert PurgeSchedule.get_by_id(schedule.id).status == PurgeSchedule.DONE
    assert not any(counts_of(acme, recordings).values()), "Acme is erased"
    # Birch is untouched by Acme's erasure, but for the billing periods its
    # active subscriptions renewed meanwhile (sweep.renew_periods).
    after = rows_of(birch)
    period_end = Subscription.current_period_end.column_name
    end_at = [f.column_name for f in Subscription._meta.sorted_fields].index(period_end)
    assert all(s.current_period_end > clock.now() for s in Subscription.select().where(
        (Subscription.account == birch) & (Subscription.status == Subscription.ACTIVE)))

    def without_ends(rows):
        return {table: [row[:end_at] + row[end_at + 1:] if table == "subscription" else row
                        for row in table_rows] for table, table_rows in rows.items()}
    assert without_ends(after) == without_ends(birch_before) and counts_of(birch, recordings) == birch_files
    signed_out = browser_for(app)
    assert signed_out.post("/auth/login", dict(zip(("email", "password"), DEMO_LOGINS["owner"]))
                           ).status_code == 422
    assert signed_out.post("/auth/login", dict(zip(("email", "password"), DEMO_LOGINS["other_owner"]))
                           ).status_code == 303


@qa_mode
def test_after_acme_is_erased_staff_still_see_its_reason_in_the_insights(app, owner, sign_in, redis_url):
    """The new user's walk: cancel as Acme's owner (reason: too expensive),
    move the QA clock 91 days, let the worker erase Acme; Customer Success
    still sees the request and its reason in the insights for those dates."""
    from tests.support.helpers import ANSWERS

    started = clock.now().date()
    assert ANSWERS["survey"]["reason"] == "too_expensive"
    cancel_smrtphone(owner)
    rq_queue(redis_url).empty()
    clock_command(app, "advance", "91d")
    run_worker(redis_url)
    assert PurgeSchedule.get().status == PurgeSchedule.DONE
    assert Account.get_or_none(Account.name == "Acme Realty") is None

    staff = sign_in("success")
    body = text(staff.get("/success/insights", query_string={
        "first": started.isoformat(), "last": clock.now().date().isoformat()}))
    assert "1 cancellation request started" in body
    assert "<tr><td>Too expensive</td><td>1</td></tr>" in body
    assert "Requests whose account has been erased since</dt><dd>1 (still counted above)" in body
    assert "Acme" not in text(staff.get("/success/", query_string={"first": started.isoformat()}))


def browser_for(app):
    from tests.conftest import Browser

    return Browser(app.test_client())


@qa_mode
def test_without_redis_the_move_and_the_database_work_are_done_and_it_says_so(app, owner, redis_url):
    cancel_smrtphone(owner)
    queue.init("redis://127.0.0.1:1/0", app.config["DEPLOYMENT"])  # nothing listens there
    try:
        result = clock_command(app, "advance", "40d")
    finally:
        queue.init(redis_url, app.config["DEPLOYMENT"])
    assert result.exit_code == 0, result.output
    assert "Redis did not answer at redis://127.0.0.1:1/0" in result.output
    assert "the worker's next sweep queues them" in result.output
    assert stored() == 40 * 86400
    assert Subscription.get_by_id(subscription().id).status == Subscription.ENDED


# -- the page -----------------------------------------------------------------------------

@qa_mode
def test_the_page_moves_the_clock_and_refuses_bad_input_next_to_its_field(app, browser):
    page = browser.get("/qa/clock")
    assert page.status_code == 200
    assert "nothing (the real time)" in text(page) and BANNER not in text(page)

    for url, data, field in (("/qa/clock/advance", {"amount": "ninety days"}, "amount"),
                             ("/qa/clock/advance", {}, "amount"),
                             ("/qa/clock/advance", {"amount": "9" * 5_000}, "amount"),
                             ("/qa/clock/set", {"moment": "2027-02-30"}, "moment")):
        refused = browser.post(url, data)
        assert refused.status_code == 422, (url, data.keys())
        assert f'<p class="field-error" id="{field}-error">Give a' in text(refused)
        assert f'aria-describedby="{field}-error' in text(refused)
    assert stored() == 0

    moved = browser.post("/qa/clock/advance", {"amount": "91d"}, follow_redirects=True)
    assert moved.status_code == 200 and moved.history[0].status_code == 303
    assert "QA clock: +91 days (now Thursday, February 25, 2027 at 3:00 PM UTC). Sweep:" in text(moved)
    assert BANNER in text(moved)
    assert browser.post("/qa/clock/set", {"moment": "2027-03-01T09:00"}).status_code == 303
    assert clock.now() == datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)
    assert browser.post("/qa/clock/reset").status_code == 303
    assert stored() == 0 and clock.now() == NOW

"""Guarantees the wizard makes, each in a test that fails if it is broken.

Every test here takes the `app` fixture (directly or through `owner` or
`sign_in`), so it runs on SQLite and on PostgreSQL. What a test checks is
read back with queries written here, not with the code under test.
"""
import hashlib
import json
import os
import re
from datetime import timedelta

import pytest

from tests.support.helpers import (
    all_rows,
    cancel_smrtphone,
    complete_steps,
    open_request,
    post_step,
    step_url,
    subscription,
    text,
    walk_wizard,
)
from tests.support.posts import POSTS, in_its_mode, state
from tests.support.purge import fill_every_table, rows_of
from wizard import clock, refusals
from wizard.domain import confirmation, lifecycle, policy, purge, reactivation
from wizard.domain import sweep as sweep_work
from wizard.domain.steps import STEPS_BY_PRODUCT
from wizard.store.models import (
    Account,
    AuditEvent,
    CancellationRequest,
    ErasureRecord,
    OutboxMessage,
    PhoneNumber,
    Plan,
    PurgeSchedule,
    Recording,
    Subscription,
    SurveyResponse,
    User,
)
from jobs.purge import run_purge
from jobs.sweep import sweep


# -- reading the database and the disk, independently of the code under test ----------

# rows_of(account_id): every row that belongs to the account, per table, as plain
# values. The tables are every one the models give a path to Account (walked in
# tests/support/purge.py, not read from wizard.domain.purge.STAGES), so a purge
# that selects the wrong rows, or forgets a table, cannot also hide it here.

def counts(rows):
    return {name: len(values) for name, values in rows.items()}


def shared_rows():
    """Rows of no account: the plans and Customer Success staff."""
    return {"plans": list(Plan.select().order_by(Plan.id).tuples()),
            "staff": list(User.select().where(User.account.is_null()).order_by(User.id).tuples())}


def files_under(folder):
    """{path relative to folder: sha256 of its bytes} of every file below `folder`."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return found


def account(name):
    return Account.get(Account.name == name)


def owner_of(name):
    return account(name).owner()


def purge_now(schedule):
    """Move the clock past the schedule's due time and run its purge job."""
    clock.FROZEN = schedule.due_at + timedelta(minutes=1)
    return run_purge(schedule.id, schedule.generation)


def confirm_page_count(browser, sub):
    page = browser.get(step_url(sub, "confirm"))
    assert page.status_code == 200
    match = re.search(r"<dt>Phone numbers lost</dt>\s*<dd>(\d+) of (\d+)</dd>", text(page))
    assert match, "the confirm step names the numbers lost"
    return f"{match.group(1)} of {match.group(2)}"


# -- 1. the survey comment on the Customer Success page is escaped ----------------------

@pytest.mark.parametrize("comment, escaped", [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"),
    ('"><img src=x onerror=alert(1)>', "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"),
], ids=["script", "bold", "attribute-breakout"])
def test_the_survey_comment_is_escaped_on_the_customer_success_page(owner, sign_in, comment, escaped):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    assert post_step(owner, sub, "survey", {"reason": "other", "comment": comment}).status_code == 303
    assert SurveyResponse.get().comment == comment, "stored as typed"

    page = sign_in("success").get("/success/")
    assert page.status_code == 200
    body = text(page)
    assert "Acme Realty" in body
    assert escaped in body
    assert comment not in body, "the comment must never reach the page as markup"


# -- 2. the purge leaves every other account alone -------------------------------------------

def walk_birch_through_the_wizard(sign_in):
    """Birch's owner cancels smrtDialer alone and stops smrtPhone's wizard before
    confirming: requests, acknowledgements, surveys, an offer decision, audit
    events and an email of Birch's own; generic rows fill the other tables."""
    birch = sign_in("other_owner")
    dialer = subscription("smrtdialer", account="Birch Homes")
    walk_wizard(birch, dialer)
    phone = subscription("smrtphone", account="Birch Homes")
    complete_steps(birch, phone, "confirm")
    assert subscription("smrtdialer", account="Birch Homes").status == "cancellation_pending"
    assert open_request(phone) is not None
    # And a row in every table that holds an account's data, however it got there.
    fill_every_table(account("Birch Homes").id)


def test_the_purge_leaves_every_other_account_alone(app, owner, sign_in):
    recordings = app.config["RECORDINGS_DIR"]
    walk_birch_through_the_wizard(sign_in)
    acme, birch = account("Acme Realty").id, account("Birch Homes").id
    birch_before = rows_of(birch)
    assert all(counts(birch_before).values()), f"Birch has rows in every table: {counts(birch_before)}"
    shared_before = shared_rows()
    birch_files = files_under(os.path.join(recordings, str(birch)))
    assert len(birch_files) == counts(birch_before)["recording"] > 0

    cancel_smrtphone(owner)
    assert purge_now(PurgeSchedule.get()) != "not claimed"
    assert PurgeSchedule.get().status == "done"
    assert not any(counts(rows_of(acme)).values()), "Acme itself was erased"

    birch_after = rows_of(birch)
    assert counts(birch_after) == counts(birch_before)
    assert birch_after == birch_before, "Birch's rows are unchanged, not only as many"
    assert shared_rows() == shared_before
    assert files_under(os.path.join(recordings, str(birch))) == birch_files


# -- 3. a due purge of an account that is active again erases nothing ---------------------

def test_a_due_purge_of_an_account_active_again_erases_nothing(app, owner):
    recordings = app.config["RECORDINGS_DIR"]
    acme = account("Acme Realty").id
    sub = cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    # Active again, but not through reactivation: the schedule is still armed.
    Subscription.update(status="active").where(Subscription.id == sub.id).execute()
    assert PurgeSchedule.get().status == "scheduled"
    before, files_before = rows_of(acme), files_under(os.path.join(recordings, str(acme)))
    assert len(files_before) == 6

    assert purge_now(schedule) == "not claimed"

    assert rows_of(acme) == before
    assert files_under(os.path.join(recordings, str(acme))) == files_before
    assert PurgeSchedule.get().status == "cancelled"
    assert ErasureRecord.select().count() == 0
    assert not OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.ERASURE_COMPLETE).exists()
    assert run_purge(schedule.id, schedule.generation) == "not claimed", "and it stays canceled"
    assert rows_of(acme) == before


# -- 4. every POST refuses a missing or foreign CSRF token ------------------------------------

@pytest.mark.qa_mode  # so the QA clock's routes exist too
def test_every_post_endpoint_is_in_the_csrf_list(app):

    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert posted == {p.endpoint for p in POSTS}
    steps = {(product, s.name) for product, steps in STEPS_BY_PRODUCT.items() for s in steps}
    assert steps == {p.step for p in POSTS if p.endpoint == "cancel.save_step"}


def post_with_token(browser, url, data, token, htmx):
    """Post as a browser would, but with `token` (None: no token at all)."""
    data, headers = dict(data), {}
    if token is not None:
        if htmx:
            headers["X-CSRFToken"] = token
        else:
            data["csrf_token"] = token
    return browser.post(url, data, htmx=htmx, csrf=False, headers=headers)


@pytest.mark.parametrize("token", ["missing", "same-owner-other-session", "other-account-session"])
@pytest.mark.parametrize("post", [in_its_mode(p) for p in POSTS], ids=str)
def test_every_post_refuses_a_missing_or_foreign_csrf_token(app, browser, sign_in, post, token):
    from tests.conftest import DEMO_LOGINS

    if post.signed_in:
        browser.login(*DEMO_LOGINS[post.role])
    url, data = post.setup(browser)
    foreign = None
    if token != "missing":
        other = sign_in("owner" if token == "same-owner-other-session" else "other_owner")
        foreign = other.token
        assert foreign and foreign != browser.token
        # The foreign token is good in its own session (a signed-in POST to
        # /auth/login passes CSRF and is redirected home; a bad token is a 400).
        assert other.post("/auth/login", {}).status_code == 302
    before = state(browser)

    for htmx in (False, True):
        response = post_with_token(browser, url, data, foreign, htmx)
        assert response.status_code == 400, (url, htmx, response.status_code)
        assert "This form has expired or was not sent from this site" in text(response)
    assert state(browser) == before, "a refused post changes nothing"

    # The same post with the session's own token would have acted.
    response = browser.post(url, data)
    assert response.status_code == 303, (url, response.status_code, text(response)[:500])
    assert state(browser) != before


# -- 5. confirm re-checks every earlier answer ------------------------------------------------

@pytest.mark.parametrize("missing", ["consequences", "acknowledge", "survey", "options"])
def test_confirm_refuses_a_request_missing_an_earlier_answer(app, missing):
    owner, phone, now = owner_of("Acme Realty"), subscription(), clock.now()
    req = lifecycle.start_or_resume(phone, owner, now)
    if missing != "consequences":
        lifecycle.mark_consequences_seen(req, now)
    if missing != "acknowledge":
        lifecycle.record_acknowledgements(req, owner, [s.key for s in policy.SMRTPHONE_STATEMENTS],
                                          "127.0.0.1", now)
    if missing != "survey":
        lifecycle.record_survey(req, "other", "", now)
    if missing != "options":
        lifecycle.decline_offers(req, owner, now)
    before = all_rows()
    events = AuditEvent.select().count()

    with pytest.raises(refusals.Incomplete) as refused:
        confirmation.confirm(req, owner, "127.0.0.1", now)

    assert refused.value.step_name == missing
    assert all_rows() == before
    assert [s.status for s in Subscription.select().where(Subscription.account == phone.account_id)] \
        == ["active", "active"]
    assert PurgeSchedule.select().count() == 0
    assert OutboxMessage.select().count() == 0
    assert AuditEvent.select().count() == events
    assert CancellationRequest.get_by_id(req.id).status == "open"


# -- 6. leases: no second worker inside a live one; a lost one stops its worker -----------------

class Stalled(Exception):
    """Stands for a worker that stops (a long pause) in the middle of a purge."""


def test_a_live_lease_keeps_other_workers_out_and_a_lost_lease_stops_its_worker(app, owner):
    recordings, exports = app.config["RECORDINGS_DIR"], app.config["EXPORTS_DIR"]
    acme = account("Acme Realty").id
    cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    before = rows_of(acme)
    t0 = schedule.due_at + timedelta(minutes=1)

    held = purge.claim_schedule(schedule.id, schedule.generation, "worker-a", t0)
    assert held is not None
    ticks = iter(range(100))

    def a_clock():  # worker A finds no archives, erases two batches of recordings, then stalls
        if next(ticks) == 3:
            raise Stalled
        return t0

    with pytest.raises(Stalled):
        purge.run(held, "worker-a", a_clock, recordings, batch_size=2, exports_dir=exports)
    midway, files_midway = rows_of(acme), files_under(os.path.join(recordings, str(acme)))
    assert len(midway["recording"]) == len(before["recording"]) - 4 == 2
    assert len(files_midway) == 2
    lease_end = PurgeSchedule.get_by_id(schedule.id).lease_expires_at
    assert lease_end == t0 + purge.LEASE

    # Inside A's lease, nobody else may claim the purge.
    for moment in (t0, t0 + purge.LEASE / 2, lease_end - timedelta(seconds=1)):
        assert purge.claim_schedule(schedule.id, schedule.generation, "worker-b", moment) is None, moment
    row = PurgeSchedule.get_by_id(schedule.id)
    assert (row.status, row.claimed_by, row.attempts, row.lease_expires_at) == \
        ("running", "worker-a", 1, lease_end)

    # Once it has expired, B takes over ...
    later = lease_end + timedelta(seconds=1)
    taken = purge.claim_schedule(schedule.id, schedule.generation, "worker-b", later)
    assert taken is not None
    assert PurgeSchedule.get_by_id(schedule.id).claimed_by == "worker-b"

    # ... and A, waking up, can neither renew nor erase anything more.
    with pytest.raises(purge.LostLease):
        purge._renew(held, "worker-a", later)
    with pytest.raises(purge.LostLease):
        purge.run(held, "worker-a", lambda: later, recordings, batch_size=2, exports_dir=exports)
    assert rows_of(acme) == midway
    assert files_under(os.path.join(recordings, str(acme))) == files_midway
    assert PurgeSchedule.get_by_id(schedule.id).claimed_by == "worker-b"

    # B finishes, with exact counts across both workers.
    record = purge.run(taken, "worker-b", lambda: later, recordings, batch_size=2, exports_dir=exports)
    assert record.verified
    assert not any(counts(rows_of(acme)).values())
    erased = json.loads(record.counts)
    for stage, model, _ in purge.stages():
        assert erased.get(stage, 0) == len(before[model._meta.table_name]), stage


# -- 7. the purge deletes no file outside the account's own folder ----------------------------

OUTSIDE_PATHS = {
    "up-out-of-recordings": lambda acme, birch, birch_file, tmp: f"../{birch}/x.wav",
    "through-the-account-into-birch": lambda acme, birch, birch_file, tmp: f"{acme}/../{birch_file}",
    "into-birchs-folder": lambda acme, birch, birch_file, tmp: birch_file,
    "absolute": lambda acme, birch, birch_file, tmp: str(tmp / "elsewhere" / "x.wav"),
    "folder-named-like-the-account": lambda acme, birch, birch_file, tmp: f"{acme}0/x.wav",
}


@pytest.mark.parametrize("kind", OUTSIDE_PATHS)
def test_the_purge_never_deletes_a_file_outside_the_accounts_folder(app, owner, tmp_path, kind):
    recordings = app.config["RECORDINGS_DIR"]
    acme, birch = account("Acme Realty"), account("Birch Homes").id
    birch_file = Recording.select().where(Recording.account == birch).order_by(Recording.id).first().path
    relative = OUTSIDE_PATHS[kind](acme.id, birch, birch_file, tmp_path)
    target = os.path.normpath(os.path.join(recordings, relative))
    assert os.path.commonpath([target, os.path.join(recordings, str(acme.id))]) != \
        os.path.join(recordings, str(acme.id)), "the path really leads outside Acme's folder"
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(b"not Acme's")
    with open(target, "rb") as f:
        content = f.read()
    Recording.create(account=acme, path=relative, size_bytes=len(content), created_at=clock.now())

    cancel_smrtphone(owner)
    assert purge_now(PurgeSchedule.get()) != "not claimed"

    assert PurgeSchedule.get().status == "done"
    assert not os.path.exists(os.path.join(recordings, str(acme.id))), "Acme's own files went"
    assert os.path.exists(target), f"{relative} was deleted"
    with open(target, "rb") as f:
        assert f.read() == content


# -- 8. the confirm step counts the numbers lost ----------------------------------------------

def test_the_confirm_step_says_how_many_numbers_are_lost(owner):
    sub = subscription()
    complete_steps(owner, sub, "confirm")
    statuses = sorted(n.port_out_status for n in PhoneNumber.select().where(
        PhoneNumber.account == sub.account_id))
    assert statuses == ["none", "none", "none", "ported", "requested"]
    # The ported number is kept; the one whose port-out is only requested is lost.
    assert confirm_page_count(owner, sub) == "4 of 5"

    PhoneNumber.update(port_out_status="ported").where(PhoneNumber.e164 == "+16175550101").execute()
    assert confirm_page_count(owner, sub) == "3 of 5"


# -- 9. no reactivation is offered while the purge runs ---------------------------------------

@pytest.mark.parametrize("phone_status", ["ended", "cancellation_pending"])
def test_no_reactivation_is_offered_while_the_purge_runs(owner, phone_status):
    sub = cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    # The purge may start at its due time, which is also the last moment to reactivate.
    clock.FROZEN = schedule.due_at
    if phone_status == "ended":  # as usual by then: the paid period is over
        assert sweep_work.end_services(clock.now()) == 2
    assert subscription().status == phone_status
    # Where the way back is offered until the purge starts:
    pages = ["/billing/products", "/billing/closed" if phone_status == "ended" else f"/cancel/{sub.id}/done"]
    for url in pages:
        assert f'href="/billing/reactivate/{sub.id}"' in text(owner.get(url)), url

    assert purge.claim_schedule(schedule.id, schedule.generation, "worker", clock.now()) is not None
    assert PurgeSchedule.get().status == "running"

    page = owner.get(f"/billing/reactivate/{sub.id}")
    assert page.status_code == 409
    body = text(page)
    assert "Your data is being permanently erased" in body
    assert 'action="/billing/reactivate/' not in body
    assert "Reactivate smrtPhone</button>" not in body
    for url in pages:
        response = owner.get(url)
        assert response.status_code == 200, url
        body = text(response)
        assert "/billing/reactivate/" not in body, url
        assert "Reactivate</a>" not in body, url
        if phone_status == "cancellation_pending":
            assert "Cancellation scheduled: service ends" in body, url
        if url != f"/cancel/{sub.id}/done":
            assert "Your data is being permanently erased" in body, url
    assert owner.post(f"/billing/reactivate/{sub.id}", {}).status_code == 409
    assert subscription().status == phone_status


# -- 10. confirming twice -------------------------------------------------------------------

def test_confirm_called_twice_confirms_once(app):
    from tests.support.jobs import ready_to_confirm

    now = clock.now()
    req, owner = ready_to_confirm(account("Acme Realty"), now)

    first = confirmation.confirm(req, owner, "127.0.0.1", now)
    after_first = all_rows()
    clock.FROZEN = now + timedelta(seconds=5)
    again = confirmation.confirm(req, owner, "127.0.0.1", clock.now())  # `req` as read before

    assert (again.id, again.status) == (first.id, "confirmed")
    assert again.confirmed_at == first.confirmed_at == now
    assert again.reactivation_deadline == first.reactivation_deadline
    assert all_rows() == after_first, "the second call wrote nothing"
    assert AuditEvent.select().where(AuditEvent.kind == "cancellation.confirmed").count() == 1
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.CANCELLATION_CONFIRMED).count() == 1
    assert PurgeSchedule.get().generation == 1


# -- 11. reminders are voided at the moment of reactivation -----------------------------------

def test_reactivation_voids_a_pending_reminder_at_once(owner, redis_url):
    cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    clock.FROZEN = schedule.due_at - timedelta(days=29)
    assert sweep()["reminders"] == 1  # composed and queued; no worker runs
    reminder = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.REMINDER_30)
    assert reminder.status == "pending"

    reactivation.reactivate(subscription(), owner_of("Acme Realty"), "127.0.0.1", clock.now())

    assert subscription().status == "active"
    assert OutboxMessage.get_by_id(reminder.id).status == "void"


# -- 12. the domain refuses an unknown survey reason -----------------------------------------

def test_the_domain_refuses_an_unknown_survey_reason(app):
    owner, now = owner_of("Acme Realty"), clock.now()
    req = lifecycle.start_or_resume(subscription(), owner, now)
    with pytest.raises(refusals.Incomplete) as refused:
        lifecycle.record_survey(req, "free_money", "", now)
    assert refused.value.step_name == "survey"
    assert SurveyResponse.select().count() == 0

    lifecycle.record_survey(req, "other", "first answer", now)
    stored = list(SurveyResponse.select().tuples())
    with pytest.raises(refusals.Incomplete):
        lifecycle.record_survey(req, "free_money", "", now + timedelta(minutes=1))
    assert list(SurveyResponse.select().tuples()) == stored, "an earlier answer stays as it was"

"""What the owner reads, on each screen and in each email: only promises that
apply, the right product and tense, titles that say what happened, and links
that lead where they say."""
import email.policy
import os
import re
from datetime import timedelta

import pytest

from tests.support.helpers import (
    text,
    ACK_ALL,
    cancel_smrtdialer,
    errors_page,
    cancel_smrtphone,
    complete_steps,
    open_request,
    post_step,
    plain_text,
    request_id_on,
    step_url,
    subscription,
    walk_wizard,
)
from wizard import clock
from wizard.domain import sweep, policy
from wizard.web import url_map
from wizard.store.models import Account, OutboxMessage, Product, PurgeSchedule, Subscription

CRM_PROMISE = "CRM data (contacts, call logs and texts)"
BIRCH = "Birch Homes"


def birch_phone():
    return subscription(account=BIRCH)


def mail_body(kind):
    return OutboxMessage.get(OutboxMessage.kind == kind).body


def statement_keys(page):
    """The ids of the page's checkboxes (in whatever order their attributes come)."""
    inputs = re.findall(r"<input\b[^>]*>", text(page))
    return {re.search(r'\bid="(\w+)"', tag).group(1) for tag in inputs if 'type="checkbox"' in tag}


# -- promises that do not apply ---------------------------------------------------

def test_an_account_without_crm_or_credit_is_promised_neither(sign_in):
    birch = sign_in("other_owner")
    sub = birch_phone()
    assert "non-refundable" not in text(birch.get(step_url(sub, "consequences")))
    walk_wizard(birch, sub)
    done = text(birch.get(f"/cancel/{sub.id}/done"))
    assert "Your cancellation is confirmed" in done
    assert CRM_PROMISE not in done
    mail = mail_body(OutboxMessage.CANCELLATION_CONFIRMED)
    assert "reactivate until" in mail and CRM_PROMISE not in mail

    clock.FROZEN = sub.current_period_end + timedelta(minutes=1)
    sweep.end_services(clock.now())
    closed = text(birch.get("/billing/closed"))
    assert "Your smrtPhone account is closed" in closed and CRM_PROMISE not in closed


def test_the_erasure_notice_names_the_crm_only_for_an_account_that_had_one(app, sign_in, redis_url):
    from jobs.sweep import sweep
    from tests.support.jobs import run_worker

    walk_wizard(sign_in("other_owner"), birch_phone())
    clock.FROZEN = PurgeSchedule.get().due_at + timedelta(minutes=1)
    sweep()
    run_worker(redis_url)  # the purge, which queues the notice
    run_worker(redis_url)  # the notice itself (written to the outbox folder)
    outbox = app.config["OUTBOX_DIR"]
    [sent] = [f for f in os.listdir(outbox) if f.endswith(f"{OutboxMessage.ERASURE_COMPLETE}.eml")]
    with open(os.path.join(outbox, sent), "rb") as f:
        body = plain_text(email.message_from_binary_file(f, policy=email.policy.default))
    assert "has now been permanently erased" in body
    assert "CRM" not in body


def test_an_account_with_crm_and_credit_is_promised_both(owner):
    sub = subscription()
    step_one = text(owner.get(step_url(sub, "consequences")))
    assert "$42.50" in step_one and "non-refundable" in step_one
    cancel_smrtphone(owner)
    assert "Your CRM data (contacts, call logs and texts) remains intact." in \
        text(owner.get(f"/cancel/{sub.id}/done"))
    assert "Your CRM data (contacts, call logs and texts) remains intact." in \
        mail_body(OutboxMessage.CANCELLATION_CONFIRMED)


def test_only_statements_that_apply_are_to_be_acknowledged(owner, sign_in):
    every = {s.key for s in policy.SMRTPHONE_STATEMENTS}
    acme = subscription()
    complete_steps(owner, acme, "acknowledge")
    assert statement_keys(owner.get(step_url(acme, "acknowledge"))) == every

    # Birch Homes has no credit; and here its smrtDialer is already cancelled.
    birch = sign_in("other_owner")
    sub = birch_phone()
    Subscription.update(status="cancellation_pending").where(
        (Subscription.account == sub.account_id) & (Subscription.product == Product.SMRTDIALER)).execute()
    complete_steps(birch, sub, "acknowledge")
    page = birch.get(step_url(sub, "acknowledge"))
    assert statement_keys(page) == every - {"credits_nonrefundable", "dialer_cancelled"}
    assert "non-refundable" not in text(page) and "cancels my smrtDialer" not in text(page)
    # Ticking every box shown is enough.
    shown = {key: "y" for key in statement_keys(page)}
    assert post_step(birch, sub, "acknowledge", shown).status_code == 303


def test_a_statement_that_comes_to_apply_before_confirming_must_be_acknowledged(sign_in):
    birch = sign_in("other_owner")
    sub = birch_phone()
    complete_steps(birch, sub, "confirm")
    confirm = birch.get(step_url(sub, "confirm"))
    assert confirm.status_code == 200
    # Credit appears on the account after the owner acknowledged.
    Account.update(credit_balance_cents=500).where(Account.id == sub.account_id).execute()
    response = birch.post(step_url(sub, "confirm"), {"request_id": request_id_on(confirm)})
    assert response.status_code == 303 and response.location.endswith(step_url(sub, "acknowledge"))
    assert birch_phone().status == "active"
    assert "credits_nonrefundable" in statement_keys(birch.get(step_url(sub, "acknowledge")))


def test_complete_cancellation_is_dated_beside_the_statement(owner):
    sub = subscription()
    complete_steps(owner, sub, "acknowledge")
    body = text(owner.get(step_url(sub, "acknowledge")))
    statement = next(s for s in policy.SMRTPHONE_STATEMENTS if s.key == "no_reactivation_after")
    assert statement.text in body
    hint = ("If you confirm today, complete cancellation is on Wednesday, February 24, 2027, "
            "when all data is erased.")
    assert f'<p class="hint" id="no_reactivation_after-hint">{hint}</p>' in body
    assert 'aria-describedby="no_reactivation_after-hint"' in body


# -- smrtDialer alone ---------------------------------------------------------------------

def test_the_smrtdialer_only_email_says_smrtdialer_ends_not_the_account(owner):
    dialer = cancel_smrtdialer(owner)
    mail = mail_body(OutboxMessage.CANCELLATION_CONFIRMED)
    assert "keep using your account" not in mail
    assert "You can keep using smrtDialer until Tuesday, December 15, 2026. smrtPhone is not affected." \
        in mail
    assert f"To reactivate smrtDialer: http://127.0.0.1:5000/billing/reactivate/{dialer.id}" in mail


def test_the_smrtdialer_wizard_offers_to_keep_smrtdialer_not_the_account(owner):
    dialer = subscription(Product.SMRTDIALER)
    body = text(owner.get(step_url(dialer, "consequences")))
    assert ">Keep smrtDialer</button>" in body and "Keep my account" not in body
    assert ">Keep my account</button>" in text(owner.get(step_url(subscription(), "consequences")))


# -- the closed account -------------------------------------------------------------------

def close(owner):
    sub = cancel_smrtphone(owner)
    clock.FROZEN = sub.current_period_end + timedelta(minutes=1)
    sweep.end_services(clock.now())
    return sub


def test_the_closed_page_and_products_say_when_data_is_erased_in_the_right_tense(owner):
    close(owner)
    erased = "will be permanently erased on <time datetime=\"2027-02-24\">Wednesday, February 24, 2027</time>."
    assert erased in text(owner.get("/billing/closed"))
    assert erased in text(owner.get("/billing/products"))

    clock.FROZEN = PurgeSchedule.get().due_at + timedelta(minutes=1)  # due, the purge not yet run
    for url in ("/billing/closed", "/billing/products"):
        body = text(owner.get(url))
        assert "will be permanently erased" not in body, url
        assert ("was due to be permanently erased on <time datetime=\"2027-02-24\">Wednesday, "
                "February 24, 2027</time>, and is being erased now.") in body, url

    PurgeSchedule.update(status=PurgeSchedule.RUNNING).execute()
    assert "is being permanently erased now." in text(owner.get("/billing/closed"))


def test_an_admin_of_a_closed_account_is_told_what_is_true(owner, sign_in):
    close(owner)
    admin = sign_in("admin")
    products = text(admin.get("/billing/products"))
    assert "Only the Account Owner can cancel" not in products
    assert "Only the Account Owner can reactivate a subscription." in products
    assert "Please ask Olivia Owens (owner@acme.test)." in products
    closed = text(admin.get("/billing/closed"))
    assert "Only the Account Owner can reactivate smrtPhone" in closed
    assert 'class="button primary"' not in closed, "no button that would only refuse"

    # After the 90 days nobody can do anything: no one is sent to the owner.
    clock.FROZEN = PurgeSchedule.get().due_at + timedelta(days=1)
    products = text(admin.get("/billing/products"))
    assert "Only the Account Owner" not in products
    assert "can be canceled on its own" not in products
    assert "The 90 days to change your mind ended" in text(admin.get("/billing/closed"))


def test_an_admin_of_an_active_account_is_told_only_the_owner_can_cancel(sign_in, owner):
    products = text(sign_in("admin").get("/billing/products"))
    assert "Only the Account Owner can change plans or cancel a subscription." in products
    assert "Please ask Olivia Owens (owner@acme.test)." in products
    assert 'id="erasure"' not in products
    own = text(owner.get("/billing/products"))
    assert "Only the Account Owner" not in own and "Please ask" not in own


# -- error pages ---------------------------------------------------------------------

def title_of(response):
    return re.search(r"<title>(.*?)</title>", text(response)).group(1)


def test_each_kind_of_refusal_has_its_own_title(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    stale = owner.post(step_url(sub, "survey"), {"request_id": "999999", "reason": "other"})
    assert stale.status_code == 409
    assert title_of(stale) == "This form is out of date · smrtPhone"
    assert '<h1 id="error-title">This form is out of date</h1>' in text(stale)

    dialer = subscription(Product.SMRTDIALER)
    cancel_smrtphone(owner)
    first = owner.post(f"/billing/reactivate/{dialer.id}", {})
    assert first.status_code == 409
    assert title_of(first) == "Cannot reactivate · smrtPhone"
    assert "Reactivate smrtPhone first" in text(first)

    again = owner.get(f"/cancel/{dialer.id}/")
    assert again.status_code == 409 and title_of(again) == "Already canceled · smrtPhone"
    titles = {title_of(r) for r in (stale, first, again)}
    assert len(titles) == 3 and not any("Already done" in t for t in titles)


def test_an_htmx_refusal_retitles_the_page(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    stale = owner.post(step_url(sub, "survey"), {"request_id": "999999", "reason": "other"}, htmx=True)
    assert stale.status_code == 409
    assert text(stale).lstrip().startswith("<title>This form is out of date · smrtPhone</title>")


def test_a_flash_is_not_shown_on_a_later_unrelated_error_page(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    # Keep my account flashes for Products; the redirect is not followed here.
    kept = owner.post(f"/cancel/{sub.id}/keep", {"request_id": str(open_request(sub).id)})
    assert kept.status_code == 303
    missing = owner.get("/cancel/999999/")
    assert missing.status_code == 404
    assert "stays active" not in text(missing)
    assert "stays active" in text(owner.get("/billing/products")), "the message waits for its page"


# -- the error summary -----------------------------------------------------------------

def summary_links(response):
    summary = text(response).split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<li><a href="#([\w-]+)">(.*?)</a></li>', summary)


def test_the_error_summary_names_each_field_briefly_and_links_to_it(owner):
    sub = subscription()
    complete_steps(owner, sub, "acknowledge")
    partial = {k: v for k, v in ACK_ALL.items() if k != "numbers_lost"}
    response = errors_page(owner, sub, "acknowledge", post_step(owner, sub, "acknowledge", partial))
    assert summary_links(response) == [
        ("numbers_lost", "Phone numbers: Please tick this box to confirm you understand.")]
    assert 'id="numbers_lost"' in text(response)

    complete_steps(owner, sub, "survey")
    response = errors_page(owner, sub, "survey", post_step(owner, sub, "survey", {"comment": "no reason"}))
    assert summary_links(response) == [("reason-0", "Reason: Please choose one reason.")]
    assert 'id="reason-0"' in text(response)

    complete_steps(owner, sub, "options")
    response = errors_page(owner, sub, "options", post_step(owner, sub, "options", {}))
    assert summary_links(response) == [("choice", "Options: Please choose an option.")]
    assert 'id="choice"' in text(response)


# -- emails link to the page that does what they say --------------------------------------

def link(body, prefix):
    return re.search(re.escape(prefix) + r"(\S+)", body).group(1)


def test_the_reactivate_link_leads_to_reactivation_after_signing_in(app, owner):
    sub = cancel_smrtphone(owner)
    url = link(mail_body(OutboxMessage.CANCELLATION_CONFIRMED), "Reactivate here: http://127.0.0.1:5000")
    assert url == f"/billing/reactivate/{sub.id}"

    from tests.conftest import Browser
    reader = Browser(app.test_client())
    response = reader.get(url)
    assert response.status_code == 302 and "/auth/login?next=" in response.location
    login = reader.get(response.location)
    assert 'autocomplete="username"' in text(login) and 'autocomplete="current-password"' in text(login)
    next_field = re.compile(r'name="next" type="hidden" value="([^"]*)"')
    # A mistyped password first: the way back survives it.
    wrong = reader.post("/auth/login", {"email": "owner@acme.test", "password": "typo",
                                        "next": next_field.search(text(login)).group(1)})
    assert wrong.status_code == 422
    signed_in = reader.post("/auth/login", {"email": "owner@acme.test", "password": "owner-pass",
                                            "next": next_field.search(text(wrong)).group(1)})
    assert signed_in.status_code == 303 and signed_in.location == url
    page = reader.get(url)
    assert page.status_code == 200 and ">Reactivate smrtPhone</button>" in text(page)


def test_reminders_and_welcome_back_link_to_reactivation(owner):
    sub = cancel_smrtphone(owner)
    clock.FROZEN = PurgeSchedule.get().due_at - timedelta(days=29)
    sweep.compose_reminders(clock.now(), url_map.links("http://127.0.0.1:5000"))
    reminder = mail_body(OutboxMessage.REMINDER_30)
    assert f"http://127.0.0.1:5000/billing/reactivate/{sub.id}" in reminder
    assert "/billing/products" not in reminder

    assert owner.post(f"/billing/reactivate/{sub.id}", {}).status_code == 303
    dialer = subscription(Product.SMRTDIALER)
    welcome = mail_body(OutboxMessage.REACTIVATION_CONFIRMED)
    assert f"smrtDialer stays canceled until you reactivate it:\nhttp://127.0.0.1:5000/billing/reactivate/{dialer.id}" \
        in welcome


@pytest.mark.parametrize("target", ["/\t/evil.test", "/\\/evil.test", "/ok\\..\\evil", "/a b"])
def test_next_with_hidden_characters_is_not_followed(browser, target):
    response = browser.post("/auth/login", {"email": "owner@acme.test", "password": "owner-pass",
                                            "next": target})
    assert response.status_code == 303 and response.location == "/billing/products"


def test_call_emails_link_to_moving_cancelling_and_booking_again(app, owner):
    """Each of the owner's call emails links to the page that does what it says:
    another time (the call's reschedule page), canceling (Products, where the
    call's Cancel button is), and, once canceled, booking again."""
    from wizard.domain import availability, sweep as due_work
    from wizard.store.models import Call

    base = "http://127.0.0.1:5000"
    start = availability.free_slots(clock.now())[-1].start
    owner.get("/calls/book")
    assert owner.post("/calls/book", {"start": start.isoformat(), "topic": "",
                                      "number": "(617) 555-0101"}).status_code == 303
    call = Call.get()
    owner_mails = {m.kind: m.body for m in OutboxMessage.select().where(
        OutboxMessage.to_address == "owner@acme.test")}
    booked = owner_mails[OutboxMessage.CALL_BOOKED]
    assert link(booked, f"Another time: {base}") == f"/calls/{call.id}/reschedule"
    assert link(booked, f"Cancel it, from Products: {base}") == "/billing/products"
    page = owner.get(f"/calls/{call.id}/reschedule")
    assert page.status_code == 200 and "Move your call" in text(page)
    assert f'action="/calls/{call.id}/cancel"' in text(owner.get("/billing/products"))

    clock.FROZEN = call.start - timedelta(hours=20)
    assert due_work.compose_call_reminders(clock.now(), url_map.links(base)) == 1
    reminder = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.CALL_REMINDER).body
    assert link(reminder, f"Another time: {base}") == f"/calls/{call.id}/reschedule"

    assert owner.post(f"/calls/{call.id}/cancel", {}).status_code == 303
    cancelled = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.CALL_CANCELLED,
                                  OutboxMessage.to_address == "owner@acme.test").body
    assert link(cancelled, "You are welcome to book another time: " + base) == "/calls/book"

"""Emails over real SMTP (a local aiosmtpd server): confirmation, reminders 30
and 7 days before erasure, reactivation, and the erasure notice, each once."""
from datetime import timedelta


from tests.support.helpers import cancel_smrtphone, plain_text
from tests.support.jobs import run_worker
from wizard import clock
from wizard.store.models import OutboxMessage, PurgeSchedule
from jobs.mail import send_message
from jobs.sweep import sweep


def test_each_email_arrives_once_at_the_right_time(owner, redis_url, smtp):
    phone = cancel_smrtphone(owner)
    run_worker(redis_url)
    assert smtp.subjects() == ["Your smrtPhone and smrtDialer cancellation is confirmed"]
    rcpt, confirmation = smtp.messages[0]
    assert rcpt == ["owner@acme.test"]
    body = plain_text(confirmation)
    assert "reactivate until Wednesday, February 24, 2027" in body
    assert f"http://127.0.0.1:5000/billing/reactivate/{phone.id}" in body

    due = PurgeSchedule.get().due_at
    clock.FROZEN = due - timedelta(days=31)
    sweep()
    run_worker(redis_url)
    assert len(smtp.messages) == 1, "no reminder before 30 days"

    clock.FROZEN = due - timedelta(days=29)
    sweep()
    run_worker(redis_url)
    clock.FROZEN += timedelta(days=1)
    sweep()  # again, a day later: nothing new
    run_worker(redis_url)
    # Sent when the 30-day window opened (the sweep saw it 29 days ahead).
    assert smtp.subjects()[1:] == ["Your smrtPhone data will be erased in 29 days"]
    assert "You can reactivate until Wednesday, February 24, 2027" in plain_text(smtp.messages[1][1])

    clock.FROZEN = due - timedelta(days=6)
    sweep()
    sweep()
    run_worker(redis_url)
    assert smtp.subjects()[2:] == ["Your smrtPhone data will be erased in 6 days"]

    clock.FROZEN = due + timedelta(minutes=1)
    sweep()
    run_worker(redis_url)
    run_worker(redis_url)
    assert smtp.subjects()[3:] == ["Your smrtPhone data has been erased"]
    assert smtp.messages[3][0] == ["owner@acme.test"]
    notice = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.ERASURE_COMPLETE)
    assert (notice.status, notice.to_address, notice.body, notice.body_html) == ("sent", None, "", None)
    assert OutboxMessage.select().count() == 1, "the account's other emails were erased with it"

    sweep()
    run_worker(redis_url)
    assert len(smtp.messages) == 4


def test_a_reminder_not_sent_before_reactivation_is_never_sent(owner, redis_url, smtp):
    sub = cancel_smrtphone(owner)
    run_worker(redis_url)
    clock.FROZEN = PurgeSchedule.get().due_at - timedelta(days=6)
    sweep()  # composes the 7-day reminder and enqueues it ...
    owner.post(f"/billing/reactivate/{sub.id}", {})  # ... but the owner comes back first
    run_worker(redis_url)
    assert "Your smrtPhone data will be erased in 6 days" not in smtp.subjects()
    assert OutboxMessage.get(OutboxMessage.kind == OutboxMessage.REMINDER_7).status == "void"


def test_a_late_reminder_says_when_reactivation_ended(owner, redis_url, smtp):
    from wizard.store.models import Subscription

    sub = subscription_with_long_period(Subscription, days=150)
    cancel_smrtphone(owner)
    run_worker(redis_url)
    schedule = PurgeSchedule.get()
    assert schedule.due_at == sub.current_period_end  # erasure waits for the paid period
    clock.FROZEN = schedule.due_at - timedelta(days=6)
    sweep()
    run_worker(redis_url)
    body = plain_text(smtp.messages[-1][1])
    assert "The 90 days to change your mind ended on" in body
    assert "You can reactivate" not in body


def subscription_with_long_period(Subscription, days):
    from tests.support.helpers import subscription

    sub = subscription()
    Subscription.update(current_period_end=clock.now() + timedelta(days=days)).where(
        Subscription.id == sub.id).execute()
    return subscription()


def test_sending_the_same_message_twice_delivers_it_once(owner, redis_url, smtp):
    cancel_smrtphone(owner)
    message = OutboxMessage.get()
    assert send_message(message.id) == "sent"
    assert send_message(message.id) == "not claimed"
    run_worker(redis_url)  # the job queued at confirm finds it sent
    assert len(smtp.messages) == 1


def test_reactivation_confirmation_is_emailed(owner, redis_url, smtp):
    sub = cancel_smrtphone(owner)
    owner.post(f"/billing/reactivate/{sub.id}", {})
    run_worker(redis_url)
    assert smtp.subjects() == ["Your smrtPhone and smrtDialer cancellation is confirmed",
                               "smrtPhone is active again"]
    assert "smrtDialer stays canceled" in \
        plain_text(smtp.messages[1][1])


def test_a_sender_that_died_mid_send_is_retried_after_its_lease(owner, redis_url, smtp):
    cancel_smrtphone(owner)
    message = OutboxMessage.get()
    OutboxMessage.update(status="sending", lease_expires_at=clock.now() + timedelta(minutes=5)).execute()
    assert sweep()["messages"] == 0
    clock.FROZEN = clock.now() + timedelta(minutes=6)
    assert sweep()["messages"] == 1
    run_worker(redis_url)
    assert len(smtp.messages) == 1
    assert OutboxMessage.get_by_id(message.id).status == "sent"


def test_a_reminder_composed_as_the_owner_reactivates_is_not_sent(owner, redis_url, smtp):
    from wizard.domain import mail
    from wizard.store.models import Account

    sub = cancel_smrtphone(owner)
    run_worker(redis_url)
    schedule = PurgeSchedule.get()
    clock.FROZEN = schedule.due_at - timedelta(days=6)
    owner.post(f"/billing/reactivate/{sub.id}", {})
    # The sweep had read the schedule just before; it writes the reminder just after.
    account = Account.get_by_id(schedule.account_id)
    late = mail.erasure_reminder(schedule, 7, account, account.owner(), clock.now(), None, None)
    assert send_message(late.id) == "not claimed"
    assert OutboxMessage.get_by_id(late.id).status == "void"
    run_worker(redis_url)
    assert all("erased" not in subject for subject in smtp.subjects())


def test_the_confirmation_names_only_what_was_cancelled(owner, redis_url, smtp):
    from tests.support.helpers import cancel_smrtdialer

    cancel_smrtdialer(owner)
    clock.FROZEN = clock.now() + timedelta(days=1)
    cancel_smrtphone(owner)
    run_worker(redis_url)
    assert smtp.subjects() == ["Your smrtDialer cancellation is confirmed",
                               "Your smrtPhone cancellation is confirmed"]


def test_the_last_reminder_says_tomorrow(owner, redis_url, smtp):
    cancel_smrtphone(owner)
    run_worker(redis_url)
    clock.FROZEN = PurgeSchedule.get().due_at - timedelta(hours=20)
    sweep()
    run_worker(redis_url)
    assert smtp.subjects()[-1] == "Your smrtPhone data will be erased tomorrow"

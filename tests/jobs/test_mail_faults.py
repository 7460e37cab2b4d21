"""The mail server refuses for a while: each email is tried again with a
growing wait, none is lost, none is sent twice once the server is back, and
one that keeps failing is reported to the operators once."""
import os
from datetime import timedelta

from tests.support.helpers import cancel_smrtphone
from tests.support.jobs import run_worker
from tests.support.processes import free_port
from jobs.sweep import sweep
from wizard import clock
from wizard.domain import outbox
from wizard.store.models import OutboxMessage


def waiting():
    return OutboxMessage.select().where(OutboxMessage.kind != OutboxMessage.OPS_ALERT).order_by(OutboxMessage.id)


def handed_out():
    """The messages the sweep would hand to a sender now."""
    return [m.id for m in outbox.unsent(clock.now())]


def test_while_smtp_refuses_emails_wait_then_go_once(owner, redis_url, smtp, monkeypatch):
    monkeypatch.setenv("OPS_EMAIL", "ops@smrtphone.test")
    monkeypatch.setenv("MAIL_MAX_ATTEMPTS", "3")
    up_port = os.environ["MAIL_PORT"]
    smtp_port = str(free_port())  # nothing listens here: the server is "down"
    monkeypatch.setenv("MAIL_PORT", smtp_port)
    cancel_smrtphone(owner)
    run_worker(redis_url)
    (confirmation,) = waiting()
    print(f"SMTP down: 1 try, message {confirmation.id} {confirmation.status}, "
          f"next try at {confirmation.lease_expires_at}")
    assert (confirmation.status, confirmation.attempts) == (OutboxMessage.SENDING, 1)
    assert confirmation.lease_expires_at == clock.now() + timedelta(minutes=1)

    # Before its wait is over the sweep does not hand it out; after, it does.
    for attempt, wait in ((2, 1), (3, 2), (4, 4)):
        clock.FROZEN = OutboxMessage.get_by_id(confirmation.id).lease_expires_at - timedelta(seconds=1)
        assert confirmation.id not in handed_out(), "still waiting"
        clock.FROZEN += timedelta(seconds=2)
        assert confirmation.id in handed_out()
        sweep()
        run_worker(redis_url)
        again = OutboxMessage.get_by_id(confirmation.id)
        print(f"try {attempt}: {again.status}, waits {outbox.retry_delay(attempt)}")
        assert again.attempts == attempt and again.status == OutboxMessage.SENDING
        assert outbox.retry_delay(attempt - 1) == timedelta(minutes=wait)
    assert smtp.messages == []

    alerts = list(OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.OPS_ALERT))
    assert [(a.to_address, a.subject) for a in alerts] == [
        ("ops@smrtphone.test", f"Email {confirmation.id} keeps failing")], "one alert, at the 3rd try"
    assert "owner@acme.test" not in alerts[0].body

    monkeypatch.setenv("MAIL_PORT", up_port)  # the server is back
    clock.FROZEN = OutboxMessage.get_by_id(confirmation.id).lease_expires_at + timedelta(seconds=1)
    sweep()
    run_worker(redis_url)
    sweep()
    run_worker(redis_url)
    print(f"SMTP back: {smtp.subjects()}")
    assert sorted(smtp.subjects()) == sorted(
        ["Your smrtPhone and smrtDialer cancellation is confirmed", f"Email {confirmation.id} keeps failing"])
    assert {m.status for m in OutboxMessage.select()} == {OutboxMessage.SENT}
    clock.FROZEN += timedelta(hours=2)
    sweep()
    run_worker(redis_url)
    assert len(smtp.messages) == 2, "nothing is sent twice"


def test_the_wait_between_tries_doubles_up_to_an_hour():
    assert [outbox.retry_delay(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 20)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60, 60)]

"""The emails of a call, through the real mail job: one per recipient per
change, each with its calendar invitation, and the reminder a day ahead, once."""
import email
import email.policy
import os
from datetime import timedelta

from tests.support.calls import calls_emails, demo_staff, event_of, owner, utc
from tests.support.helpers import plain_text
from tests.support.jobs import run_worker
from wizard.domain import calls, mail, outbox
from wizard import clock, queue
from wizard.store.models import Call, OutboxMessage
from jobs.mail import send_message
from jobs.sweep import sweep

CASEY_ONLY = utc(2026, 11, 30, 17, 0)  # Monday 12:00 in New York
DAY = timedelta(days=1)


def send_all(redis_url):
    queue.enqueue_account_work(owner().account_id)
    run_worker(redis_url)


def invitation_of(message):
    """The text/calendar part of a delivered email: (its METHOD param, filename, text)."""
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.iter_parts()]
    part = parts[0]
    return part.get_param("method"), part.get_filename(), part.get_content()


def test_booking_moving_and_cancelling_email_each_person_once_with_the_invitation(app, redis_url, smtp):
    casey, _ = demo_staff()
    made = calls.book(owner(), CASEY_ONLY, "Our bill", clock.now())
    send_all(redis_url)
    assert sorted((rcpt[0], m["Subject"]) for rcpt, m in smtp.messages) == [
        ("owner@acme.test", "Your call with smrtPhone Customer Success is booked"),
        ("success@smrtphone.test", "Call booked: Acme Realty, Monday, November 30, 2026 at 12:00 PM EST"),
    ]
    for rcpt, message in smtp.messages:
        method, filename, ics = invitation_of(message)
        assert (method, filename) == ("REQUEST", "invite.ics")
        calendar, event = event_of(ics)
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == made.uid and int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == CASEY_ONLY and event.decoded("DTEND") == CASEY_ONLY + timedelta(minutes=30)
        assert event["DTSTART"].to_ical() == b"20261130T170000Z"  # UTC
        assert event.decoded("DTSTAMP") == clock.now()
        assert str(event["ORGANIZER"]) == "mailto:success@smrtphone.test"
        assert event["ORGANIZER"].params["CN"] == "Casey Success"
        assert str(event["ATTENDEE"]) == "mailto:owner@acme.test"
        assert event["ATTENDEE"].params["CN"] == "Olivia Owens"
        assert str(event["STATUS"]) == "CONFIRMED"
        # A phone call happens at a number: the one Customer Success calls.
        assert str(event["LOCATION"]) == "(617) 555-0101"
        assert str(event["DESCRIPTION"]) == (
            "Customer Success will call you at (617) 555-0101.\n\nOur bill" if rcpt == ["owner@acme.test"]
            else "Call Olivia Owens at (617) 555-0101.\n\nOur bill")
        assert str(event["SUMMARY"])
    owner_body = plain_text(next(m for r, m in smtp.messages if r == ["owner@acme.test"]))
    assert "booked for Monday, November 30, 2026 at 12:00 PM EST" in owner_body
    assert "Our bill" in owner_body
    assert "Customer Success will call you at (617) 555-0101." in owner_body.splitlines()
    staff_body = plain_text(next(m for r, m in smtp.messages if r != ["owner@acme.test"]))
    assert "Olivia Owens <owner@acme.test>" in staff_body and "Acme Realty" in staff_body
    assert "Call them at: (617) 555-0101 (Customer Success calls the owner)" in staff_body.splitlines()

    moved = calls.reschedule(made, CASEY_ONLY + DAY, owner(), clock.now())
    send_all(redis_url)
    assert len(smtp.messages) == 4
    for rcpt, message in smtp.messages[2:]:
        assert "moved" in message["Subject"]
        method, _, ics = invitation_of(message)
        calendar, event = event_of(ics)
        assert method == str(calendar["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == made.uid and int(event["SEQUENCE"]) == 1 == moved.sequence
        assert event.decoded("DTSTART") == CASEY_ONLY + DAY
        assert str(event["LOCATION"]) == "(617) 555-0101", "moving keeps the number"
    moved_body = plain_text(next(m for r, m in smtp.messages[2:] if r == ["owner@acme.test"]))
    assert "Customer Success will call you at (617) 555-0101." in moved_body.splitlines()

    calls.cancel_call(moved, casey, clock.now())
    send_all(redis_url)
    assert len(smtp.messages) == 6
    assert sorted(rcpt[0] for rcpt, _ in smtp.messages[4:]) == ["owner@acme.test", "success@smrtphone.test"]
    for rcpt, message in smtp.messages[4:]:
        assert "canceled" in message["Subject"]
        method, _, ics = invitation_of(message)
        calendar, event = event_of(ics)
        assert method == str(calendar["METHOD"]) == "CANCEL"
        assert str(event["UID"]) == made.uid and int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["ATTENDEE"]) == "mailto:owner@acme.test"

    # Nothing is sent twice: another sweep, another worker.
    sweep()
    run_worker(redis_url)
    assert len(smtp.messages) == 6
    assert len({m.dedupe_key for m in calls_emails()}) == len(calls_emails()) == 6


def test_a_call_that_changes_hands_cancels_it_for_the_first_staff_member(app, redis_url, smtp):
    made = calls.book(owner(), utc(2026, 11, 30, 9, 0), "", clock.now())  # London morning: Morgan
    # Morgan is busy at 14:00 on 1 December; the call moves there, to Casey.
    calls.book(owner("Birch Homes"), utc(2026, 12, 1, 13, 30), "", clock.now())
    calls.reschedule(made, utc(2026, 12, 1, 14, 0), owner(), clock.now())
    send_all(redis_url)  # Acme's emails only
    sent = {(rcpt[0], invitation_of(m)[0], int(event_of(invitation_of(m)[2])[1]["SEQUENCE"]))
            for rcpt, m in smtp.messages}
    assert len(smtp.messages) == 5
    assert sent == {
        ("owner@acme.test", "REQUEST", 0), ("morgan@smrtphone.test", "REQUEST", 0),
        ("owner@acme.test", "REQUEST", 1), ("success@smrtphone.test", "REQUEST", 1),
        ("morgan@smrtphone.test", "CANCEL", 1),
    }
    organizers = {rcpt[0]: str(event_of(invitation_of(m)[2])[1]["ORGANIZER"])
                  for rcpt, m in smtp.messages[2:]}
    assert organizers == {"owner@acme.test": "mailto:success@smrtphone.test",
                          "success@smrtphone.test": "mailto:success@smrtphone.test",
                          "morgan@smrtphone.test": "mailto:morgan@smrtphone.test"}


def test_the_eml_file_carries_the_invitation(app, redis_url):
    made = calls.book(owner(), CASEY_ONLY, "", clock.now())
    owner_copy = calls_emails()[0]
    assert send_message(owner_copy.id) == "sent"
    folder = app.config["OUTBOX_DIR"]
    [name] = [f for f in os.listdir(folder) if f.endswith(f"{OutboxMessage.CALL_BOOKED}.eml")]
    with open(os.path.join(folder, name), "rb") as f:
        written = email.message_from_binary_file(f, policy=email.policy.default)
    assert written["To"] == "owner@acme.test"
    method, filename, ics = invitation_of(written)
    assert (method, filename) == ("REQUEST", "invite.ics")
    assert str(event_of(ics)[1]["UID"]) == made.uid


def test_a_message_without_an_invitation_has_no_attachment(app, redis_url):
    from jobs.mail import as_email

    message = outbox.compose("plain:1", "plain", "owner@acme.test", "Hi", "Body", clock.now())
    assert message.attachment_ics is None
    assert not list(as_email(message, "from@smrtphone.test").iter_attachments())


# -- the reminder ----------------------------------------------------------------------------

def test_the_reminder_goes_once_a_day_before_the_call(app, redis_url, smtp):
    made = calls.book(owner(), CASEY_ONLY + 3 * DAY, "", clock.now())
    send_all(redis_url)
    assert len(smtp.messages) == 2

    clock.FROZEN = made.start - DAY - timedelta(minutes=5)
    assert sweep()["call_reminders"] == 0
    clock.FROZEN = made.start - DAY + timedelta(minutes=2)
    assert sweep()["call_reminders"] == 1
    clock.FROZEN += timedelta(minutes=3)
    assert sweep()["call_reminders"] == 0
    run_worker(redis_url)
    clock.FROZEN = made.start - timedelta(hours=2)
    assert sweep()["call_reminders"] == 0
    run_worker(redis_url)
    reminders = [(rcpt, m) for rcpt, m in smtp.messages if m["Subject"].startswith("Reminder")]
    assert len(reminders) == 1
    rcpt, message = reminders[0]
    assert rcpt == ["owner@acme.test"]
    assert "Thursday, December 3, 2026 at 12:00 PM EST" in plain_text(message)
    assert "Customer Success will call you at (617) 555-0101." in plain_text(message).splitlines()
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert "<p>Customer Success will call you at (617) 555-0101.</p>" in html


def test_a_call_kept_without_a_number_says_nothing_of_one(app, redis_url, smtp):
    """Calls booked before the number was asked (migration 15) keep NULL."""
    made = calls.book(owner(), CASEY_ONLY, "", clock.now())
    Call.update(callback_number=None).where(Call.id == made.id).execute()
    calls.reschedule(made, CASEY_ONLY + DAY, owner(), clock.now())
    send_all(redis_url)
    for _, message in smtp.messages[2:]:
        assert "call you at" not in plain_text(message) and "Call them at" not in plain_text(message)
        _, _, ics = invitation_of(message)
        assert "LOCATION" not in ics


def test_a_moved_call_is_reminded_of_its_new_time_and_not_the_old(app, redis_url, smtp):
    made = calls.book(owner(), CASEY_ONLY + 3 * DAY, "", clock.now())
    clock.FROZEN = made.start - DAY + timedelta(minutes=1)
    sweep()  # composes the reminder for the old time ...
    calls.reschedule(made, CASEY_ONLY + 7 * DAY, owner(), clock.now())  # ... which stops being true
    run_worker(redis_url)
    assert not [m for _, m in smtp.messages if m["Subject"].startswith("Reminder")]
    assert OutboxMessage.get(OutboxMessage.kind == OutboxMessage.CALL_REMINDER).status == "void"
    clock.FROZEN = CASEY_ONLY + 6 * DAY + timedelta(minutes=1)
    assert sweep()["call_reminders"] == 1
    run_worker(redis_url)
    reminders = [m for _, m in smtp.messages if m["Subject"].startswith("Reminder")]
    assert len(reminders) == 1 and "Monday, December 7, 2026 at 12:00 PM EST" in plain_text(reminders[0])


def test_no_reminder_for_a_cancelled_call(app, redis_url, smtp):
    made = calls.book(owner(), CASEY_ONLY + 3 * DAY, "", clock.now())
    calls.cancel_call(made, owner(), clock.now())
    clock.FROZEN = made.start - DAY + timedelta(minutes=1)
    assert sweep()["call_reminders"] == 0
    run_worker(redis_url)
    assert not [m for _, m in smtp.messages if m["Subject"].startswith("Reminder")]


def test_a_reminder_composed_as_the_call_is_cancelled_is_not_sent(app, redis_url, smtp):
    made = calls.book(owner(), CASEY_ONLY + 3 * DAY, "", clock.now())
    clock.FROZEN = made.start - DAY + timedelta(minutes=1)
    calls.cancel_call(made, owner(), clock.now())
    # The sweep had read the call just before; it writes the reminder just after.
    late = mail.call_reminder(made, clock.now())
    assert send_message(late.id) == "not claimed"
    assert OutboxMessage.get_by_id(late.id).status == "void"


def test_a_call_booked_within_a_day_gets_no_reminder(app, redis_url, smtp):
    made = calls.book(owner(), CASEY_ONLY, "", clock.now())  # 4 days ahead ...
    clock.FROZEN = CASEY_ONLY - timedelta(hours=20)
    moved = calls.reschedule(made, CASEY_ONLY + timedelta(hours=1), owner(), clock.now())  # ... moved late
    assert sweep()["call_reminders"] == 0
    assert moved.start - clock.now() < DAY

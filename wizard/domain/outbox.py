"""Emails as rows: what to say, to whom, and whether it went.

Composing a message writes an OutboxMessage in the caller's transaction; the
mail job (jobs/mail.py) claims and sends it after commit. A message's
dedupe_key is unique, so composing the same email twice queues it once.
"""
import math
from datetime import datetime, timedelta, timezone

from . import formatting, invitation, policy
from wizard.store.db import transaction
from wizard.store.models import Booking, OutboxMessage, Product, PurgeSchedule

SEND_LEASE = timedelta(minutes=5)


def compose(dedupe_key, kind, to_address, subject, body, now, account_id=None,
            status=OutboxMessage.PENDING, attachment_ics=None):
    """Queue a message unless one with this key exists; return its row.

    The row's `is_new` says whether this call queued it. `attachment_ics`:
    a calendar invitation the email carries (text), or None.
    """
    inserted = (
        OutboxMessage.insert(
            dedupe_key=dedupe_key, kind=kind, account_id=account_id, to_address=to_address,
            subject=subject, body=body, created_at=now, status=status,
            attachment_ics=attachment_ics,
        )
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    message = OutboxMessage.get(OutboxMessage.dedupe_key == dedupe_key)
    message.is_new = bool(inserted)
    return message


def _date(moment, account):
    return formatting.local_date(moment, account.timezone)


def reactivate_url(base_url, subscription):
    """The page that reactivates `subscription` (wizard/billing/views.py
    reactivate). The domain has no url_for, so the path is spelled here,
    once; signing in first comes back to it (the login's `next`)."""
    return f"{base_url}/billing/reactivate/{subscription.id}"


def cancellation_confirmed(req, subscription, owner, now, base_url):
    account = subscription.account
    products = (" and ".join(Product.NAMES[p] for p in req.products_cancelled())
                or subscription.product_name)
    lines = [
        f"Hello {owner.name},",
        "",
        f"We have received your request to cancel {products} for {account.name}.",
    ]
    ends = _date(subscription.current_period_end, account)
    if req.reactivation_deadline:
        lines += [
            f"You can keep using your account until {ends}.",
            f"You can change your mind and reactivate until {_date(req.reactivation_deadline, account)}.",
            f"After that, all smrtPhone data is permanently erased on {_date(req.purge_due_at, account)}.",
        ]
        if account.crm_name:  # a promise only an account with a CRM can be given
            lines.append("Your CRM data (contacts, call logs and texts) remains intact.")
        lines += ["", f"Changed your mind? Reactivate here: {reactivate_url(base_url, subscription)}"]
    else:
        # smrtDialer alone: it is smrtDialer that ends, not the account.
        lines += [
            f"You can keep using smrtDialer until {ends}. smrtPhone is not affected.",
            "",
            f"To reactivate smrtDialer: {reactivate_url(base_url, subscription)}",
        ]
    lines += ["", "Thank you for being part of smrtPhone."]
    return compose(f"cancellation-confirmed:{req.id}", "cancellation_confirmed", owner.email,
                   f"Your {products} cancellation is confirmed", "\n".join(lines), now, account.id)


def plan_changed(change, subscription, owner, sentence, now, base_url):
    """The owner's record of a plan change: `sentence` says what and when."""
    account = subscription.account
    lines = [f"Hello {owner.name},", "", sentence]
    if change.status == change.SCHEDULED:
        lines += ["", f"To undo it before then: {base_url}/billing/products"]
    lines += ["", "Thank you for staying with smrtPhone."]
    subject = (f"Your {subscription.product_name} plan change is scheduled"
               if change.status == change.SCHEDULED else f"Your {subscription.product_name} plan has changed")
    return compose(f"plan-change:{change.id}", "plan_changed", owner.email, subject,
                   "\n".join(lines), now, account.id)


def plan_change_undone(change, subscription, owner, now, base_url):
    account = subscription.account
    lines = [f"Hello {owner.name},", "",
             f"As you asked, your {subscription.product_name} plan stays as it is: "
             f"{subscription.plan.name}, {subscription.seats} seat{'' if subscription.seats == 1 else 's'}, "
             f"{formatting.money(subscription.price_cents)} a month.",
             "", f"Products: {base_url}/billing/products"]
    return compose(f"plan-change-undone:{change.id}", "plan_change_undone", owner.email,
                   f"Your {subscription.product_name} plan stays as it is", "\n".join(lines), now,
                   account.id)


def erasure_reminder(schedule, window, account, owner, now, base_url, deadline):
    """The reminder of the `window`-day window (30 or 7) before erasure.

    It names the real number of days left (a late sweep may send it late) and
    the last day to reactivate, which is earlier than erasure when the paid
    period outlasts the 90 days.
    """
    days_left = max(1, math.ceil((schedule.due_at - now) / timedelta(days=1)))
    in_days = "tomorrow" if days_left == 1 else f"in {days_left} days"
    lines = [
        f"Hello {owner.name},",
        "",
        f"{in_days.capitalize()}, on {_date(schedule.due_at, account)}, all smrtPhone data of "
        f"{account.name} will be permanently erased: agents, call flows, call logs, recordings, "
        "billing history, and phone numbers that were not ported out.",
        "",
    ]
    if deadline is None or now <= deadline:
        until = f" until {_date(deadline, account)}" if deadline else ""
        phone = account.subscription(Product.SMRTPHONE)
        lines.append(f"Changed your mind? You can reactivate{until}: {reactivate_url(base_url, phone)}")
    else:
        lines.append(f"The 90 days to change your mind ended on {_date(deadline, account)}.")
    return compose(f"erasure-reminder-{window}:{schedule.id}:{schedule.generation}",
                   f"reminder_{window}", owner.email,
                   f"Your smrtPhone data will be erased {in_days}",
                   "\n".join(lines), now, account.id)


def void_reminders(account_id):
    """Reminders not yet sent stop being true when the account is reactivated."""
    OutboxMessage.update(status=OutboxMessage.VOID).where(
        (OutboxMessage.account_id == account_id) & (OutboxMessage.kind.startswith("reminder_"))
        & OutboxMessage.status.in_((OutboxMessage.PENDING, OutboxMessage.SENDING))).execute()


def _still_true(message):
    """A reminder is true only while its purge is scheduled, in its generation.

    Voiding at reactivation covers most cases; this covers a reminder the
    sweep composed in the same moment as a reactivation. A call reminder
    likewise only while the call is booked at the time it names.
    """
    if message.kind == CALL_REMINDER:
        _, booking_id, start = message.dedupe_key.split(":")
        return Booking.select().where(
            (Booking.id == int(booking_id)) & (Booking.status == Booking.BOOKED)
            & (Booking.start == datetime.strptime(start, _KEY_TIME).replace(tzinfo=timezone.utc))
        ).exists()
    if not message.kind.startswith("reminder_"):
        return True
    _, schedule_id, generation = message.dedupe_key.split(":")
    return PurgeSchedule.select().where(
        (PurgeSchedule.id == int(schedule_id)) & (PurgeSchedule.generation == int(generation))
        & (PurgeSchedule.status == PurgeSchedule.SCHEDULED)).exists()


def reactivation_confirmed(account, subscription, owner, now, base_url, event_id):
    """`event_id` is the reactivation's audit event: one email per reactivation."""
    lines = [
        f"Hello {owner.name},",
        "",
        f"Welcome back: {subscription.product_name} is active again for {account.name}.",
    ]
    if subscription.dialer_stays_cancelled():
        lines += [
            "smrtDialer stays cancelled until you reactivate it:",
            reactivate_url(base_url, account.subscription(Product.SMRTDIALER)),
        ]
    return compose(f"reactivated:{event_id}", "reactivation_confirmed",
                   owner.email, f"{subscription.product_name} is active again", "\n".join(lines),
                   now, account.id)


def erasure_complete(schedule, email, name, now, had_crm=False):
    """`had_crm`: the account had a CRM connection, so its CRM data is worth a word."""
    lines = [
        f"Hello {name},",
        "",
        "As promised, all smrtPhone data of your former account has now been permanently erased.",
    ]
    if had_crm:
        lines.append("Your CRM data (contacts, call logs and texts) is outside smrtPhone and was not touched.")
    lines += [
        "",
        "If you decide to return someday, you are always welcome to start fresh with a new account.",
    ]
    # Held until the erasure is verified (see release_erasure_notice).
    return compose(erasure_notice_key(schedule), "erasure_complete", email,
                   "Your smrtPhone data has been erased", "\n".join(lines), now, status=OutboxMessage.HELD)


def erasure_notice_key(schedule):
    return f"erasure-complete:{schedule.id}:{schedule.generation}"


def erasure_notice(schedule):
    """The erasure notice of `schedule`, or None (the account had no owner)."""
    return OutboxMessage.get_or_none(OutboxMessage.dedupe_key == erasure_notice_key(schedule))


def release_erasure_notice(schedule):
    """Let the held notice go; return it (None if the account had no owner)."""
    OutboxMessage.update(status=OutboxMessage.PENDING).where(
        (OutboxMessage.dedupe_key == erasure_notice_key(schedule))
        & (OutboxMessage.status == OutboxMessage.HELD)).execute()
    return erasure_notice(schedule)


# -- calls with Customer Success -------------------------------------------------
#
# One row per recipient and per change: the key names the booking, its
# SEQUENCE and the recipient, so each change is emailed once to each. Each
# email but the reminder carries the invitation as the call now stands.

CALL_BOOKED, CALL_RESCHEDULED, CALL_CANCELLED, CALL_REMINDER = (
    "call_booked", "call_rescheduled", "call_cancelled", "call_reminder")
_KEY_TIME = "%Y%m%dT%H%M%SZ"
SIGNATURE = ["", "smrtPhone Customer Success"]


def _call_key(kind, booking, recipient):
    return f"{kind.replace('_', '-')}:{booking.id}:{booking.sequence}:{recipient}"


def _reason(booking):
    """Why the owner was cancelling, when the call came from the wizard."""
    survey = booking.request.survey() if booking.request_id else None
    if survey is None:
        return None
    return dict(policy.SURVEY_REASONS).get(survey.reason)


def _to_owner(kind, booking, now, subject, lines, method):
    owner, staff, account = booking.owner, booking.staff, booking.account
    ics = invitation.invitation(booking, owner, staff, method, now,
                                summary="smrtPhone call with Customer Success",
                                description=booking.topic)
    body = "\n".join([f"Hello {owner.name},", "", *lines, *SIGNATURE])
    return compose(_call_key(kind, booking, "owner"), kind, owner.email, subject, body, now,
                   account.id, attachment_ics=ics)


def _to_staff(kind, booking, staff, now, subject, lines, method):
    owner, account = booking.owner, booking.account
    ics = invitation.invitation(booking, owner, staff, method, now,
                                summary=f"Call with {owner.name} ({account.name})",
                                description=booking.topic)
    body = "\n".join([f"Hello {staff.name},", "", *lines])
    return compose(_call_key(kind, booking, f"staff-{staff.id}"), kind, staff.email, subject, body,
                   now, account.id, attachment_ics=ics)


def _owner_when(booking):
    return formatting.local_datetime(booking.start, booking.account.timezone)


def _staff_when(booking, staff):
    return formatting.local_datetime(booking.start, staff.staff_timezone)


def _call_facts(booking):
    """What the staff member needs to know about the caller."""
    owner, account = booking.owner, booking.account
    lines = [f"Account: {account.name}", f"Account Owner: {owner.name} <{owner.email}>",
             f"Their time: {_owner_when(booking)}"]
    reason = _reason(booking)
    if reason:
        lines.append(f"They were cancelling; the reason they gave: {reason}")
    lines.append(f"Topic: {booking.topic}" if booking.topic else "Topic: (none given)")
    return lines


def _topic_lines(booking):
    return ["", f"What you would like to talk about: {booking.topic}"] if booking.topic else []


def _owner_call_links(booking, base_url):
    """Where the owner moves or cancels the call (signing in first returns there);
    without a base URL (tests of the rules alone), the sentence alone."""
    if not base_url:
        return ["You can reschedule or cancel the call from your smrtPhone account."]
    return [f"Another time: {base_url}/calls/{booking.id}/reschedule",
            f"Cancel it, from Products: {base_url}/billing/products"]


def call_booked(booking, now, base_url=None):
    """Confirm a new call to the owner and to the staff member; return the rows."""
    staff = booking.staff
    minutes = int((booking.end - booking.start).total_seconds() // 60)
    owner_lines = [
        f"Your call with {staff.name} of smrtPhone Customer Success is booked for "
        f"{_owner_when(booking)}.",
        f"It lasts {minutes} minutes; the invitation is attached for your calendar.",
        *_topic_lines(booking),
        "",
        *_owner_call_links(booking, base_url),
    ]
    staff_lines = [f"A call has been booked with you for {_staff_when(booking, staff)}.", "",
                   *_call_facts(booking)]
    return [
        _to_owner(CALL_BOOKED, booking, now, "Your call with smrtPhone Customer Success is booked",
                  owner_lines, invitation.REQUEST),
        _to_staff(CALL_BOOKED, booking, staff, now,
                  f"Call booked: {booking.account.name}, {_staff_when(booking, staff)}",
                  staff_lines, invitation.REQUEST),
    ]


def call_rescheduled(booking, previous_staff, now, base_url=None):
    """Tell the owner and the staff member of the new time; if the call changed
    hands, the new staff member gets it as booked and the previous one a
    cancellation. Return the rows."""
    staff = booking.staff
    owner_lines = [
        f"Your call with smrtPhone Customer Success has moved to {_owner_when(booking)}, "
        f"with {staff.name}.",
        "The updated invitation is attached for your calendar.",
        *_topic_lines(booking),
        "",
        *_owner_call_links(booking, base_url),
    ]
    messages = [_to_owner(CALL_RESCHEDULED, booking, now,
                          "Your call with smrtPhone Customer Success has moved",
                          owner_lines, invitation.REQUEST)]
    if previous_staff.id == staff.id:
        messages.append(_to_staff(
            CALL_RESCHEDULED, booking, staff, now,
            f"Call moved: {booking.account.name}, {_staff_when(booking, staff)}",
            [f"A call of yours has moved to {_staff_when(booking, staff)}.", "", *_call_facts(booking)],
            invitation.REQUEST))
    else:
        messages.append(_to_staff(
            CALL_RESCHEDULED, booking, staff, now,
            f"Call booked: {booking.account.name}, {_staff_when(booking, staff)}",
            [f"A call has been moved to you, for {_staff_when(booking, staff)}.", "",
             *_call_facts(booking)],
            invitation.REQUEST))
        messages.append(_to_staff(
            CALL_CANCELLED, booking, previous_staff, now,
            f"Call reassigned: {booking.account.name}",
            [f"Your call with {booking.owner.name} ({booking.account.name}) has moved to "
             f"{staff.name}. It is off your calendar."],
            invitation.CANCEL))
    return messages


def call_cancelled(booking, now, base_url=None):
    """Tell the owner and the staff member that the call is off; return the rows."""
    staff = booking.staff
    return [
        _to_owner(CALL_CANCELLED, booking, now, "Your call with smrtPhone Customer Success is cancelled",
                  [f"Your call with {staff.name} on {_owner_when(booking)} is cancelled.",
                   f"You are welcome to book another time: {base_url}/calls/book" if base_url
                   else "You are welcome to book another time from your smrtPhone account."],
                  invitation.CANCEL),
        _to_staff(CALL_CANCELLED, booking, staff, now,
                  f"Call cancelled: {booking.account.name}, {_staff_when(booking, staff)}",
                  [f"The call with {booking.owner.name} ({booking.account.name}) on "
                   f"{_staff_when(booking, staff)} is cancelled."],
                  invitation.CANCEL),
    ]


def call_reminder(booking, now, base_url=None):
    """Remind the owner of the call a day ahead: once per booking and start."""
    owner = booking.owner
    lines = [f"Hello {owner.name},", "",
             f"A reminder: your call with {booking.staff.name} of smrtPhone Customer Success is "
             f"on {_owner_when(booking)}.", *_topic_lines(booking), "",
             "Need another time?", *_owner_call_links(booking, base_url),
             *SIGNATURE]
    return compose(f"call-reminder:{booking.id}:{booking.start.astimezone(timezone.utc):{_KEY_TIME}}",
                   CALL_REMINDER, owner.email, "Reminder: your call with smrtPhone Customer Success",
                   "\n".join(lines), now, booking.account_id)


def void_call_reminders(booking_id):
    """Reminders of a call not yet sent stop being true when it moves or is cancelled."""
    OutboxMessage.update(status=OutboxMessage.VOID).where(
        (OutboxMessage.kind == CALL_REMINDER)
        & OutboxMessage.dedupe_key.startswith(f"call-reminder:{booking_id}:")
        & OutboxMessage.status.in_((OutboxMessage.PENDING, OutboxMessage.SENDING))).execute()


def claim_message(message_id, now):
    """Take a message to send; None if it is sent or another sender holds it."""
    with transaction():
        taken = (
            OutboxMessage.update(status=OutboxMessage.SENDING, lease_expires_at=now + SEND_LEASE,
                                 attempts=OutboxMessage.attempts + 1)
            .where(
                (OutboxMessage.id == message_id)
                & _waiting(now)
            )
            .execute()
        )
        if not taken:
            return None
        message = OutboxMessage.get_by_id(message_id)
        if not _still_true(message):
            OutboxMessage.update(status=OutboxMessage.VOID).where(OutboxMessage.id == message_id).execute()
            return None
        return message


def mark_sent(message, now):
    """Record the send, if this sender still holds the message; return whether it did.

    The erasure notice then loses its address and text: they were the last
    personal data kept of the erased account.
    """
    changes = {"status": OutboxMessage.SENT, "sent_at": now, "lease_expires_at": None}
    if message.kind == "erasure_complete":
        changes.update(to_address=None, body="")
    with transaction():
        return bool(
            OutboxMessage.update(**changes)
            # The key too: ids can be reused once a purge deleted messages.
            .where((OutboxMessage.id == message.id) & (OutboxMessage.dedupe_key == message.dedupe_key)
                   & (OutboxMessage.status == OutboxMessage.SENDING)
                   & (OutboxMessage.attempts == message.attempts))
            .execute()
        )


def _waiting(now):
    """Messages to send: pending, or being sent by a sender whose lease ran out."""
    return ((OutboxMessage.status == OutboxMessage.PENDING)
            | ((OutboxMessage.status == OutboxMessage.SENDING) & (OutboxMessage.lease_expires_at < now)))


def unsent(now, limit=500):
    """Messages waiting to be sent, or whose sender died."""
    return (
        OutboxMessage.select(OutboxMessage.id)
        .where(_waiting(now))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )

"""Emails as rows: queue one once, hand it to one sender, record that it went.

This is the delivery bookkeeping; what an email says, and who gets it, is
wizard/domain/mail.py. Composing a message writes an OutboxMessage in the
caller's transaction; the mail job (jobs/mail.py) claims and sends it after
commit. A message's dedupe_key is unique, so composing the same email twice
queues it once.
"""
from datetime import timedelta

from wizard.store.db import transaction
from wizard.store.models import Call, OutboxMessage, PurgeSchedule

SEND_LEASE = timedelta(minutes=5)
# After a failed send, the next try waits FIRST_RETRY, doubled each failure,
# at most LAST_RETRY apart: a mail server down for an hour is tried some
# eight times, not 1,200, and a message is never given up.
FIRST_RETRY, LAST_RETRY = timedelta(minutes=1), timedelta(hours=1)


def compose(dedupe_key, kind, to_address, subject, body, now, account_id=None,
            status=OutboxMessage.PENDING, attachment_ics=None, body_html=None, **facts):
    """Queue a message unless one with this key exists; return its row.

    The row's `is_new` says whether this call queued it. `attachment_ics`:
    a calendar invitation the email carries (text), or None. `body_html`: the
    HTML alternative of `body`, or None. `facts`: what a reminder must still
    be true of when it is sent (purge_schedule_id and purge_generation, or
    call_id and call_start; see `_still_true`).
    """
    inserted = (
        OutboxMessage.insert(
            dedupe_key=dedupe_key, kind=kind, account_id=account_id, to_address=to_address,
            subject=subject, body=body, body_html=body_html, created_at=now, status=status,
            attachment_ics=attachment_ics, **facts,
        )
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    message = OutboxMessage.get(OutboxMessage.dedupe_key == dedupe_key)
    message.is_new = bool(inserted)
    return message


def _unsent():
    return OutboxMessage.status.in_((OutboxMessage.PENDING, OutboxMessage.SENDING))


def void_reminders(account_id):
    """Erasure reminders not yet sent stop being true when the account is reactivated."""
    OutboxMessage.update(status=OutboxMessage.VOID).where(
        (OutboxMessage.account_id == account_id)
        & OutboxMessage.kind.in_(OutboxMessage.ERASURE_REMINDERS) & _unsent()).execute()


def void_call_reminders(call_id):
    """Reminders of a call not yet sent stop being true when it moves or is canceled."""
    OutboxMessage.update(status=OutboxMessage.VOID).where(
        (OutboxMessage.kind == OutboxMessage.CALL_REMINDER)
        & (OutboxMessage.call_id == call_id) & _unsent()).execute()


def void_by_key(dedupe_key):
    """The email of `dedupe_key`, if not yet sent, is no longer wanted."""
    OutboxMessage.update(status=OutboxMessage.VOID).where(
        (OutboxMessage.dedupe_key == dedupe_key) & _unsent()).execute()


def _still_true(message):
    """A reminder is true only while its purge is scheduled, in its generation.

    Voiding at reactivation covers most cases; this covers a reminder the
    sweep composed in the same moment as a reactivation. A call reminder
    likewise only while the call is booked at the time it names.
    """
    if message.kind == OutboxMessage.CALL_REMINDER:
        return Call.select().where(
            (Call.id == message.call_id) & (Call.status == Call.BOOKED)
            & (Call.start == message.call_start)).exists()
    if message.kind in OutboxMessage.ERASURE_REMINDERS:
        return PurgeSchedule.select().where(
            (PurgeSchedule.id == message.purge_schedule_id)
            & (PurgeSchedule.generation == message.purge_generation)
            & (PurgeSchedule.status == PurgeSchedule.SCHEDULED)).exists()
    return True


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

    The erasure notice then loses its address and text (both parts): they
    were the last personal data kept of the erased account.
    """
    changes = {"status": OutboxMessage.SENT, "sent_at": now, "lease_expires_at": None}
    if message.kind == OutboxMessage.ERASURE_COMPLETE:
        changes.update(to_address=None, body="", body_html=None)
    with transaction():
        return bool(
            OutboxMessage.update(**changes)
            # The key too: ids can be reused once a purge deleted messages.
            .where((OutboxMessage.id == message.id) & (OutboxMessage.dedupe_key == message.dedupe_key)
                   & (OutboxMessage.status == OutboxMessage.SENDING)
                   & (OutboxMessage.attempts == message.attempts))
            .execute()
        )


def retry_delay(attempts):
    """How long after its `attempts`-th failed send a message waits."""
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), LAST_RETRY)


def send_failed(message, now):
    """The server refused or could not be reached: not sent. Hold the message
    (as being sent, its lease the retry's time) so that no sweep hands it
    out again before retry_delay; return whether this sender still held it."""
    with transaction():
        return bool(
            OutboxMessage.update(lease_expires_at=now + retry_delay(message.attempts))
            .where((OutboxMessage.id == message.id) & (OutboxMessage.status == OutboxMessage.SENDING)
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

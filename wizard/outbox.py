"""Emails as rows: what to say, to whom, and whether it went.

Composing a message writes an OutboxMessage in the caller's transaction; the
mail job (jobs/mail.py) claims and sends it after commit. A message's
dedupe_key is unique, so composing the same email twice queues it once.
"""
from datetime import timedelta

from . import formatting
from .db import transaction
from .models import OutboxMessage

SEND_LEASE = timedelta(minutes=5)


def compose(dedupe_key, kind, to_address, subject, body, now, account_id=None):
    """Queue a message unless one with this key exists; return its row.

    The row's `is_new` says whether this call queued it.
    """
    inserted = (
        OutboxMessage.insert(
            dedupe_key=dedupe_key, kind=kind, account_id=account_id, to_address=to_address,
            subject=subject, body=body, created_at=now,
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


def cancellation_confirmed(req, subscription, owner, now, base_url):
    account = subscription.account
    products = "smrtPhone and smrtDialer" if req.product == "smrtphone" else "smrtDialer"
    lines = [
        f"Hello {owner.name},",
        "",
        f"We have received your request to cancel {products} for {account.name}.",
        f"You can keep using your account until {_date(subscription.current_period_end, account)}.",
    ]
    if req.reactivation_deadline:
        lines += [
            f"You can change your mind and reactivate until {_date(req.reactivation_deadline, account)}.",
            f"After that, all smrtPhone data is permanently erased on {_date(req.purge_due_at, account)}.",
            "Your CRM data (contacts, call logs and texts) remains intact.",
            "",
            f"Changed your mind? Reactivate here: {base_url}/billing/products",
        ]
    else:
        lines += ["", f"To reactivate smrtDialer: {base_url}/billing/products"]
    lines += ["", "Thank you for being part of smrtPhone."]
    return compose(f"cancellation-confirmed:{req.id}", "cancellation_confirmed", owner.email,
                   f"Your {products} cancellation is confirmed", "\n".join(lines), now, account.id)


def erasure_reminder(schedule, days, account, owner, now, base_url):
    lines = [
        f"Hello {owner.name},",
        "",
        f"In {days} days, on {_date(schedule.due_at, account)}, all smrtPhone data of "
        f"{account.name} will be permanently erased: agents, call flows, call logs, recordings, "
        "billing history, and phone numbers that were not ported out.",
        "",
        f"Changed your mind? Reactivate before then: {base_url}/billing/products",
    ]
    return compose(f"erasure-reminder-{days}:{schedule.id}:{schedule.generation}", f"reminder_{days}",
                   owner.email, f"Your smrtPhone data will be erased in {days} days",
                   "\n".join(lines), now, account.id)


def reactivation_confirmed(account, subscription, owner, now, base_url, event_id):
    """`event_id` is the reactivation's audit event: one email per reactivation."""
    lines = [
        f"Hello {owner.name},",
        "",
        f"Welcome back: {subscription.product_name} is active again for {account.name}.",
    ]
    if subscription.product == "smrtphone":
        lines += [
            "smrtDialer was cancelled with smrtPhone and stays cancelled until you reactivate it:",
            f"{base_url}/billing/products",
        ]
    return compose(f"reactivated:{event_id}", "reactivation_confirmed",
                   owner.email, f"{subscription.product_name} is active again", "\n".join(lines),
                   now, account.id)


def erasure_complete(schedule, email, name, now):
    lines = [
        f"Hello {name},",
        "",
        "As promised, all smrtPhone data of your former account has now been permanently erased.",
        "Your CRM data (contacts, call logs and texts) is outside smrtPhone and was not touched.",
        "",
        "If you decide to return someday, you are always welcome to start fresh with a new account.",
    ]
    return compose(f"erasure-complete:{schedule.id}:{schedule.generation}", "erasure_complete", email,
                   "Your smrtPhone data has been erased", "\n".join(lines), now)


def claim(message_id, now):
    """Take a message to send; None if it is sent or another sender holds it."""
    with transaction():
        taken = (
            OutboxMessage.update(status="sending", lease_expires_at=now + SEND_LEASE,
                                 attempts=OutboxMessage.attempts + 1)
            .where(
                (OutboxMessage.id == message_id)
                & ((OutboxMessage.status == "pending")
                   | ((OutboxMessage.status == "sending") & (OutboxMessage.lease_expires_at < now)))
            )
            .execute()
        )
        return OutboxMessage.get_by_id(message_id) if taken else None


def mark_sent(message, now):
    """Record the send; forget the address of an erasure notice."""
    changes = {"status": "sent", "sent_at": now, "lease_expires_at": None}
    if message.kind == "erasure_complete":
        changes["to_address"] = None
    OutboxMessage.update(**changes).where(OutboxMessage.id == message.id).execute()


def unsent(now, limit=500):
    """Messages waiting to be sent, or whose sender died."""
    return (
        OutboxMessage.select(OutboxMessage.id)
        .where((OutboxMessage.status == "pending")
               | ((OutboxMessage.status == "sending") & (OutboxMessage.lease_expires_at < now)))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )

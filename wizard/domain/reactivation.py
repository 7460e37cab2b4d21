"""Changing one's mind: reactivating a canceled subscription.

Plain functions, no Flask, no RQ. smrtPhone may be reactivated by its owner
until the reactivation deadline (confirmation + 90 days) and only while its
erasure has not started; doing so disarms the purge. smrtDialer stays
canceled (the article: it must be reactivated by hand) and may be
reactivated whenever smrtPhone is active.
"""
from dataclasses import dataclass
from typing import Optional

from . import formatting, history, mail, outbox, policy, purge
from wizard.store.db import transaction
from wizard.store.models import (
    AuditEvent,
    CancellationRequest,
    Product,
    PurgeSchedule,
    Subscription,
)
from wizard.refusals import AlreadyActive, CannotReactivate, require_owner

ERASING = ("Your data is being permanently erased, so this account can no longer be "
           "reactivated. You are always welcome to start fresh with a new account.")
SMRTPHONE_FIRST = ("Reactivate smrtPhone first: smrtDialer works only with "
                   "an active smrtPhone account.")

@dataclass
class Reactivation:
    """Whether a subscription can be reactivated now, and if not, why."""

    allowed: bool
    reason: str = ""


@dataclass
class Reactivated:
    """What reactivating did: the subscription as it is now, and the queued
    purge job it made pointless (None when there was none)."""

    subscription: Subscription
    superseded_purge: Optional[purge.QueuedPurge] = None


def reactivation_for(subscription, now):
    """Say whether `subscription` may be reactivated now (see reactivate)."""
    if subscription.is_active:
        return Reactivation(False, f"{subscription.product_name} is active.")
    account = subscription.account
    if subscription.waits_for_smrtphone(account.subscription(Product.SMRTPHONE)):
        return Reactivation(False, SMRTPHONE_FIRST)
    if not subscription.is_smrtphone:
        return Reactivation(True)
    req = subscription.latest_request(CancellationRequest.CONFIRMED)
    schedule = PurgeSchedule.for_account(account.id)
    deadline = req.reactivation_deadline if req else None
    if schedule is not None and schedule.has_started:
        return Reactivation(False, ERASING)
    if deadline is not None and now > deadline:
        ended = policy.window_ended(formatting.local_date(deadline, account.timezone))
        return Reactivation(False, f"{ended} You are always welcome to start fresh with a new "
                                   "account.")
    return Reactivation(True)


def reactivate(subscription, user, ip, now, links=None):
    """Make a canceled subscription active again; return what it did (Reactivated).

    smrtPhone: owner only, before the reactivation deadline and before the
    purge has started; the purge schedule is disarmed in the same
    transaction. smrtDialer: owner only, while smrtPhone is active.
    A subscription whose period ended starts a new month from today;
    otherwise the paid period simply continues. `links` makes the email's
    links (wizard/domain/mail.py).
    """
    require_owner(user, subscription)
    with transaction():
        Subscription.lock_for_account(subscription.account_id)
        fresh = Subscription.get_by_id(subscription.id)
        if fresh.is_active:
            raise AlreadyActive(fresh)
        verdict = reactivation_for(fresh, now)
        if not verdict.allowed:
            raise CannotReactivate(verdict.reason)
        superseded = None
        if fresh.is_smrtphone:
            try:
                superseded = purge.disarm(fresh.account_id, now)
            except purge.Started:
                raise CannotReactivate(ERASING) from None
            outbox.void_reminders(fresh.account_id)
        period_end = fresh.current_period_end
        if period_end <= now:
            period_end = now + policy.BILLING_PERIOD
        changed = (
            Subscription.update(status=Subscription.ACTIVE, current_period_end=period_end,
                                cancellation_requested_at=None, cancellation_requested_by=None,
                                ended_at=None)
            .where((Subscription.id == fresh.id) & (Subscription.status != Subscription.ACTIVE))
            .execute()
        )
        if not changed:
            raise AlreadyActive(fresh)
        event = AuditEvent.record("subscription.reactivated", fresh.account_id, user, ip, now,
                                  product=fresh.product, subscription=fresh.id)
        history.reactivated(fresh.id, now)
        reactivated = Subscription.get_by_id(fresh.id)
        mail.reactivation_confirmed(reactivated.account, reactivated, user, now, links, event.id)
        return Reactivated(reactivated, superseded)

"""Confirming a cancellation: the wizard's last step, in one transaction.

It lives apart from wizard/lifecycle.py because it re-checks the step list
(wizard/steps.py), which is itself built from lifecycle's functions.
"""
from . import history, mail, purge, steps
from wizard.store.db import transaction
from .lifecycle import key_dates
from wizard.store.models import AuditEvent, CancellationRequest, Product, Subscription
from wizard.refusals import AlreadyCancelled, Incomplete, RequestClosed, require_owner


def confirm(req, user, ip, now, links=None):
    """Confirm the cancellation; safe to call twice.

    Re-checks every earlier step of the request's wizard, then in one
    transaction marks the subscription (and smrtDialer with smrtPhone)
    cancellation-pending, stores the reactivation deadline and the purge due
    date, arms the purge schedule and queues the confirmation email. A second
    call for an already confirmed request returns it unchanged. smrtDialer
    alone has no purge: its access just ends with its period. `links` makes
    the email's links (wizard/domain/mail.py).
    """
    with transaction():
        held = Subscription.lock_for_account(req.account_id)
        fresh = req.refreshed()
        if fresh.is_confirmed:
            return fresh
        subscription = _checked(req, fresh, held, user)
        deadline = purge_due = None
        if subscription.is_smrtphone:
            deadline, purge_due = key_dates(subscription.current_period_end, now)
        products = _products_cancelled(fresh, subscription, held)
        if not _close_request(fresh, products, deadline, purge_due, now):
            return fresh.refreshed()  # another confirm won between our read and write
        history.cancelled(fresh.account_id, products, now)  # before: this request is no save
        _cancel_subscriptions(fresh, subscription, products, user, now)
        history.closed(fresh, CancellationRequest.CONFIRMED, now)
        history.reached(fresh, steps.steps_for(fresh.product, fresh)[-1].name, now)
        if subscription.is_smrtphone:
            purge.arm(fresh.account_id, fresh.id, purge_due, now)
        AuditEvent.record(
            "cancellation.confirmed", fresh.account_id, user, ip, now,
            request=fresh.id, products=products,
            service_ends_at=subscription.current_period_end.isoformat(),
            reactivation_deadline=deadline.isoformat() if deadline else None,
            purge_due_at=purge_due.isoformat() if purge_due else None)
        fresh.status, fresh.confirmed_at = CancellationRequest.CONFIRMED, now
        fresh.reactivation_deadline, fresh.purge_due_at = deadline, purge_due
        fresh.cancelled_products = " ".join(products)
        mail.cancellation_confirmed(fresh, subscription, user, now, links)
        return fresh


def _checked(req, fresh, held, user):
    """The request's subscription, once the request is open, the user its
    owner, every earlier step complete and the subscription still active."""
    if not fresh.is_open:
        raise RequestClosed()
    fresh.subscription = next(s for s in held if s.id == fresh.subscription_id)
    require_owner(user, fresh.subscription)
    # Which statements apply: smrtDialer as locked here (a reactivation
    # racing us has either committed or waits); the credit as read before.
    fresh.know_account_facts(req.account_facts()[0], Subscription.dialer_active_among(held))
    skipped = steps.first_unfinished(fresh)
    if skipped is not None:
        raise Incomplete(skipped.unfinished, skipped.name)
    if not fresh.subscription.is_active:
        raise AlreadyCancelled(fresh.subscription)
    return fresh.subscription


def _products_cancelled(fresh, subscription, held):
    """What confirming cancels: smrtPhone takes smrtDialer with it; only what
    is active is canceled now (smrtDialer may already be)."""
    wanted = ((Product.SMRTPHONE, Product.SMRTDIALER) if subscription.is_smrtphone
              else (fresh.product,))
    return [s.product for s in held if s.product in wanted and s.is_active]


def _close_request(fresh, products, deadline, purge_due, now):
    """Mark the request confirmed, if it is still open; return whether it was."""
    return (
        CancellationRequest.update(
            status=CancellationRequest.CONFIRMED, open_for=None, closed_at=now,
            updated_at=now, confirmed_at=now, reactivation_deadline=deadline,
            purge_due_at=purge_due, cancelled_products=" ".join(products),
        )
        .where((CancellationRequest.id == fresh.id)
               & (CancellationRequest.status == CancellationRequest.OPEN))
        .execute()
    )


def _cancel_subscriptions(fresh, subscription, products, user, now):
    """Make `products` cancellation-pending, and close a smrtDialer wizard left
    open (moot once smrtPhone takes smrtDialer with it)."""
    cancelled = (
        Subscription.update(
            status=Subscription.CANCELLATION_PENDING,
            cancellation_requested_at=now,
            cancellation_requested_by=user,
        )
        .where(
            (Subscription.account == fresh.account_id)
            & (Subscription.product.in_(products))
            & (Subscription.status == Subscription.ACTIVE)
        )
        .execute()
    )
    if not cancelled:  # cancelled elsewhere since we read it: roll back
        raise AlreadyCancelled(subscription)
    left_open = list(CancellationRequest.select().where(
        (CancellationRequest.account == fresh.account_id)
        & (CancellationRequest.product.in_(products))
        & (CancellationRequest.status == CancellationRequest.OPEN)))
    if left_open:
        (CancellationRequest
         .update(status=CancellationRequest.SUPERSEDED, open_for=None, closed_at=now,
                 updated_at=now)
         .where(CancellationRequest.id.in_([r.id for r in left_open])).execute())
    for left in left_open:
        history.closed(left, CancellationRequest.SUPERSEDED, now)

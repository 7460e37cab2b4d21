"""Confirming a cancellation: the wizard's last step, in one transaction.

It lives apart from wizard/lifecycle.py because it re-checks the step list
(wizard/steps.py), which is itself built from lifecycle's functions.
"""
from . import mail, purge, steps
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
        if not fresh.is_open:
            raise RequestClosed()
        fresh.subscription = next(s for s in held if s.id == fresh.subscription_id)
        require_owner(user, fresh.subscription)
        # Which statements apply: smrtDialer as locked here (a reactivation
        # racing us has either committed or waits); the credit as read before.
        fresh.know_account_facts(req.account_facts()[0], any(
            s.product == Product.SMRTDIALER and s.is_active for s in held))
        skipped = steps.first_unfinished(fresh)
        if skipped is not None:
            raise Incomplete(skipped.unfinished, skipped.name)

        subscription = fresh.subscription
        if not subscription.is_active:
            raise AlreadyCancelled(subscription)
        whole_account = subscription.is_smrtphone
        deadline = purge_due = None
        if whole_account:
            deadline, purge_due = key_dates(subscription.current_period_end, now)
        wanted = (Product.SMRTPHONE, Product.SMRTDIALER) if whole_account else (fresh.product,)
        # Only what is active is cancelled now (smrtDialer may already be).
        products = [s.product for s in held if s.product in wanted and s.is_active]
        closed = (
            CancellationRequest.update(
                status=CancellationRequest.CONFIRMED, open_for=None, closed_at=now,
                updated_at=now, confirmed_at=now, reactivation_deadline=deadline,
                purge_due_at=purge_due, cancelled_products=" ".join(products),
            )
            .where((CancellationRequest.id == fresh.id)
                   & (CancellationRequest.status == CancellationRequest.OPEN))
            .execute()
        )
        if not closed:  # another confirm won between our read and write
            return fresh.refreshed()
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
        # A smrtDialer wizard left open is moot once smrtPhone takes smrtDialer with it.
        (CancellationRequest
         .update(status=CancellationRequest.SUPERSEDED, open_for=None, closed_at=now,
                 updated_at=now)
         .where((CancellationRequest.account == fresh.account_id)
                & (CancellationRequest.product.in_(products))
                & (CancellationRequest.status == CancellationRequest.OPEN))
         .execute())
        if whole_account:
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

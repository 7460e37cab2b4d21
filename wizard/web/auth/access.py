"""Who may act on a subscription: its account's owner, and nobody else."""
from flask import abort
from flask_login import current_user
from werkzeug.exceptions import NotFound

from wizard.store.models import Product, Subscription


class ForeignId(NotFound):
    """A 404 for an id that exists but is another account's: shown as any 404
    (its existence is not ours to reveal), written to the audit log
    (web/errors.py)."""


def not_found(found):
    """Refuse an id as unknown; `found`: it is someone else's, which is audited."""
    raise ForeignId() if found else NotFound()


def owned_subscription(subscription_id, refusal):
    """Return the subscription if the signed-in user owns its account.

    Another account's subscription is a 404 (its existence is not ours to
    reveal); an admin or agent of the right account gets 403 with `refusal`;
    Customer Success staff, who see every account, get 403: they may not act
    for an owner.
    """
    user = current_user._get_current_object()  # once: each use of the proxy looks it up
    if user.is_success_staff:
        abort(403, description="Customer Success cannot cancel, reactivate or change a plan "
                               "on an owner's behalf. Only the Account Owner can.")
    # Usually one of the subscriptions the signed-in read brought
    # (reads.signed_in): no second statement.
    mine = user.account.subscriptions_read if user.account_id is not None else ()
    sub = next((s for s in mine if s.id == subscription_id), None)
    if sub is None:
        sub = Subscription.by_id(subscription_id)
    if sub is None or user.account_id is None or sub.account_id != user.account_id:
        not_found(sub is not None)
    if not user.owns(sub):
        abort(403, description=refusal)
    return sub


def smrtphone_of(user):
    """The signed-in user's smrtPhone subscription (the account's latest), as
    the signed-in read brought it; None for staff and the signed out."""
    if not user.is_authenticated or user.account_id is None:
        return None
    return Subscription.latest_of(user.account.subscriptions_read, Product.SMRTPHONE)

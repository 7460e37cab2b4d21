"""Who may act on a subscription: its account's owner, and nobody else."""
from flask import abort, g
from flask_login import current_user

from wizard.store.models import Subscription


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
    # Usually one of the subscriptions read with the user (User.by_session_id,
    # which hands them the user's account): no second query.
    sub = next((s for s in g.get("subscriptions", ()) if s.id == subscription_id), None)
    if sub is None:
        sub = Subscription.by_id(subscription_id)
    if sub is None or user.account_id is None or sub.account_id != user.account_id:
        g.foreign_id = sub is not None  # another account's: the audit log notes the try
        abort(404)
    if not user.owns(sub):
        abort(403, description=refusal)
    return sub


def bring_with_user(extra):
    """Have this request's signed-in statement also bring `extra` (a
    models.SIGNED_IN_WITH_* name): what the page will read, in the same round
    trip as the user. For a blueprint's url_value_preprocessor, which Flask
    runs before any hook can load the user."""
    g.signed_in_extra = extra


def extra_for_user():
    """What bring_with_user asked for on this request, or None."""
    return g.get("signed_in_extra")

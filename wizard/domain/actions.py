"""What the signed-in user may do to each subscription on Products, and why not.

Only the Account Owner may act: cancel what is active (smrtDialer only beside
an active smrtPhone), reactivate what was canceled while that is still
possible, or read why it no longer is.
"""
from dataclasses import dataclass

from .reactivation import reactivation_for


@dataclass(frozen=True)
class Action:
    CANCEL, REACTIVATE, NONE = "cancel", "reactivate", "none"

    kind: str
    reason: str = ""  # for NONE: why nothing can be done, when the owner should know


def actions_for(user, subscriptions, now):
    """Return {subscription id: Action} for `user` over an account's subscriptions.

    Anyone but the account's owner may do nothing, and gets an empty dict
    (Products then says who can cancel).
    """
    subscriptions = list(subscriptions)
    if not all(user.owns(s) for s in subscriptions):
        return {}
    phone = next((s for s in subscriptions if s.is_smrtphone), None)
    return {s.id: action_for(s, phone, now) for s in subscriptions}


def action_for(subscription, phone, now):
    """What the owner may do to `subscription`, given the account's smrtPhone `phone`."""
    if subscription.is_active:
        if subscription.waits_for_smrtphone(phone):
            return Action(Action.NONE)
        return Action(Action.CANCEL)
    verdict = reactivation_for(subscription, now)
    if verdict.allowed:
        return Action(Action.REACTIVATE)
    return Action(Action.NONE, verdict.reason)


def possible(subscriptions, now):
    """What the owner could do here, as verbs: ["cancel"], ["reactivate"], both or none.

    Whoever reads Products is told what is true: an admin of a closed
    account is not told that only the owner can cancel when nothing can be.
    """
    subscriptions = list(subscriptions)
    phone = next((s for s in subscriptions if s.is_smrtphone), None)
    kinds = {action_for(s, phone, now).kind for s in subscriptions}
    return [verb for kind, verb in ((Action.CANCEL, "cancel"), (Action.REACTIVATE, "reactivate"))
            if kind in kinds]

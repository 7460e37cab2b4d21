"""Where a cancellation request ended, as Customer Success reads it: the
console's states, and which of them are saves. Decided once, here
(`outcome_of`), for the history's records (history.py) and whatever counts them."""
from wizard.store.models import CancellationRequest

IN_PROGRESS, KEPT, SAVED, CALL_BOOKED, CONFIRMED, REACTIVATED = (
    "in_progress", "kept", "saved", "call_booked", "confirmed", "reactivated")
OUTCOMES = {
    IN_PROGRESS: "In progress",
    KEPT: "Kept the account",
    SAVED: "Saved by an offer",
    CALL_BOOKED: "Call booked",
    CONFIRMED: "Confirmed",
    REACTIVATED: "Reactivated",
}
SAVES = (KEPT, SAVED, CALL_BOOKED)  # the account stayed
DECIDED = (CONFIRMED, REACTIVATED)  # the owner went through with it


def outcome_of(status, accepted_offer, undone, reactivated):
    """Where a request ended, as Customer Success reads it (one of OUTCOMES).

    A plan change accepted as an offer and then undone is no save by the
    offer: the owner kept the account. A confirmed request whose
    subscription was reactivated afterwards is "reactivated"; a request
    superseded by smrtPhone's cancellation (which took its product too)
    reads as confirmed.
    """
    if status == CancellationRequest.OPEN:
        return IN_PROGRESS
    if status == CancellationRequest.KEPT:
        return KEPT
    if status == CancellationRequest.SAVED_BY_OFFER:
        if undone:
            return KEPT
        return CALL_BOOKED if accepted_offer == "book_call" else SAVED
    return REACTIVATED if reactivated else CONFIRMED

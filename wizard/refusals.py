"""Why an operation is refused: one exception per reason, with its HTTP status
and the sentence the owner reads.

A domain function raises one of these having changed nothing. The app turns
any of them into an error page (or the wizard's error panel, for htmx) with
the class's status and title, so a view catches only what it answers
differently: `Incomplete`, which sends the owner back to the step to finish.
Each kind of refusal has its own title (the page's heading and <title>), so
"This form is out of date" is not headed "Already done".
"""


class Refusal(Exception):
    """The operation was refused; nothing was changed."""

    status = 409
    title = "This cannot be done now"
    message = "This cannot be done now."

    def __init__(self, message=None):
        super().__init__(message or self.message)


class NotAllowed(Refusal):
    """The user may not do this (only the Account Owner may cancel)."""

    status = 403
    title = "Only the Account Owner"
    message = "Only the Account Owner can cancel or reactivate a subscription."


class AlreadyCancelled(Refusal):
    """The subscription is not active, so there is nothing to cancel."""

    title = "Already canceled"

    def __init__(self, subscription, then=""):
        """`then`: what the owner can do instead, said after the fact."""
        super().__init__(f"{subscription.product_name} is already canceled.{' ' + then if then else ''}")


class RequestClosed(Refusal):
    """The cancellation request was already kept, retained or confirmed."""

    title = "This cancellation has ended"

    message = ("This cancellation request has already ended. "
               "Start again from Products if you still wish to cancel.")


class StaleForm(Refusal):
    """The form was drawn for a request other than the open one."""

    title = "This form is out of date"

    message = "This form is out of date. Please reload the page and try again."


class AlreadyActive(Refusal):
    """There is nothing to reactivate."""

    title = "Already active"

    def __init__(self, subscription):
        super().__init__(f"{subscription.product_name} is already active.")


class CannotReactivate(Refusal):
    """Too late to reactivate, the purge has started, or smrtPhone must come first."""

    title = "Cannot reactivate"


class Incomplete(Refusal):
    """An earlier answer is missing or no longer valid; `step_name` says where."""

    title = "An earlier step is not finished"

    def __init__(self, message, step_name):
        super().__init__(message)
        self.step_name = step_name


def require_owner(user, subscription):
    """Raise NotAllowed unless `user` is the owner of the subscription's account."""
    if not user.owns(subscription):
        raise NotAllowed()


class NotValid(Refusal):
    """A value the owner chose cannot be used; `field` names where to say so."""

    status = 422
    title = "Please check your answer"

    def __init__(self, message, field):
        super().__init__(message)
        self.field = field


class NotActive(Refusal):
    """The subscription is not active, so its plan cannot change."""

    title = "Not active"

    def __init__(self, subscription):
        super().__init__(f"{subscription.product_name} is not active, so its plan cannot change.")


class PlanChanged(Refusal):
    """The form was drawn for a plan, seats or scheduled change the
    subscription no longer has."""

    title = "Your plan has changed"

    message = ("Your plan has changed since this page was shown, or a change to it was "
               "scheduled. Please look at it again. Nothing was changed.")


class NothingToUndo(Refusal):
    title = "Nothing to undo"
    message = "There is no plan change waiting to be undone."


# -- calls with Customer Success -------------------------------------------------

class NotYourCall(NotAllowed):
    """Only the account's owner and Customer Success may book or change a call."""

    title = "Not allowed"

    message = "Only the Account Owner or Customer Success can book or change this call."


class StaffOnly(NotAllowed):
    """Only Customer Success staff may record how a call went, or set hours."""

    title = "Customer Success only"

    message = "Only Customer Success staff can do this."


class NotASlot(Refusal):
    """The time given is not one a call could start at (garbage, or off the grid)."""

    status = 422
    title = "Please pick another time"
    message = "Please pick one of the times offered."


class SlotInPast(NotASlot):
    message = "That time has already passed. Please pick another."


class TooSoon(NotASlot):
    def __init__(self, notice):
        hours = notice.total_seconds() / 3600
        super().__init__(f"Calls need at least {hours:g} hours' notice. Please pick a later time.")


class TooFarAhead(NotASlot):
    def __init__(self, horizon):
        super().__init__(f"Calls can be booked at most {horizon.days} days ahead. "
                         "Please pick an earlier time.")


class OutsideHours(NotASlot):
    message = "No one from Customer Success is working at that time. Please pick one of the times offered."


class SlotTaken(Refusal):
    """Every staff member working then is busy (it may have gone a moment ago)."""

    title = "That time was just taken"

    message = "That time was just taken. Please pick another."


class CallAlreadyBooked(Refusal):
    """The account holds as many calls ahead as it may (CallRules.standing_calls_per_account).
    `call`: the first of them, the one to move instead."""

    title = "You already have a call booked"

    def __init__(self, call, when_text):
        super().__init__(f"You already have a call with Customer Success on {when_text}. "
                         "You can move that call to another time instead.")
        self.call = call


class NotAPhoneNumber(Refusal):
    """The number Customer Success is to call is missing, or is no number a phone can call.
    `example`: a number written as the owner's country writes one."""

    status = 422
    title = "Please check the number"

    def __init__(self, example, missing=False):
        super().__init__("Enter the number we will call." if missing else
                         f"Enter a phone number we can call, like {example}.")


class TopicTooLong(Refusal):
    status = 422
    title = "Topic too long"

    def __init__(self, limit):
        super().__init__(f"Please keep the topic to {limit} characters or fewer.")


class NotesTooLong(Refusal):
    status = 422
    title = "Notes too long"

    def __init__(self, limit):
        super().__init__(f"Please keep the notes to {limit} characters or fewer.")


class FollowUpDate(Refusal):
    """A follow-up day in the past, more than a year ahead, or none."""

    status = 422
    title = "Choose another day"


class FollowUpDone(Refusal):
    """The follow-up is done already (or its note is missing)."""

    title = "Follow-up already done"


class CallCancelled(Refusal):
    """The call was canceled: there is nothing to change."""

    title = "Call already canceled"

    message = "This call has already been canceled."


class CallTookPlace(Refusal):
    """The call was held or missed: it can no longer be moved or canceled."""

    title = "The call has taken place"

    message = "This call has already taken place."


class CallChanged(Refusal):
    """Someone else changed the call at the same moment."""

    title = "Call changed meanwhile"

    message = "This call was changed a moment ago. Please reload the page and try again."


class CallNotYet(Refusal):
    title = "Call not started yet"
    message = "The outcome can be recorded once the call has started."


class UnknownOutcome(Refusal):
    status = 422
    title = "Please check your answer"
    message = "Please choose how the call went."


class BadHours(Refusal):
    """Staff hours that cannot be: an unknown time zone, a block that ends
    before it starts, blocks that overlap. `field` names where to say so
    ("timezone", or a weekday 0-6), when the domain knows."""

    status = 422
    title = "Please check the hours"

    def __init__(self, message=None, field=None):
        super().__init__(message)
        self.field = field


# -- download your data ----------------------------------------------------------

class ExportUnderWay(Refusal):
    """A second archive asked for while one is being built."""

    title = "Your download is being prepared"
    message = "Your download is already being prepared. Download your data shows how far it has got."


class ExportNotReady(Refusal):
    title = "Your download is not ready yet"
    message = "Your download is not ready yet. Download your data shows how far it has got."


class LinkNotValid(Refusal):
    """Tampered, of another account, or of an archive that is gone."""

    status = 404
    title = "This download link is not valid"
    message = "This download link is not valid. Open Download your data to get a working one."


class LinkExpired(Refusal):
    status = 410
    title = "This download link has expired"
    message = ("This download link has expired: downloads are kept for 7 days. "
               "Open Download your data to prepare a new one.")

"""Why an operation is refused: one exception per reason, with its HTTP status
and the sentence the owner reads.

A domain function raises one of these having changed nothing. The app turns
any of them into an error page (or the wizard's error panel, for htmx) with
the class's status, so a view catches only what it answers differently:
`Incomplete`, which sends the owner back to the step to finish.
"""


class Refusal(Exception):
    """The operation was refused; nothing was changed."""

    status = 409
    message = "This cannot be done now."

    def __init__(self, message=None):
        super().__init__(message or self.message)


class NotAllowed(Refusal):
    """The user may not do this (only the Account Owner may cancel)."""

    status = 403
    message = "Only the Account Owner can cancel or reactivate a subscription."


class AlreadyCancelled(Refusal):
    """The subscription is not active, so there is nothing to cancel."""

    def __init__(self, subscription):
        super().__init__(f"{subscription.product_name} is already cancelled.")


class RequestClosed(Refusal):
    """The cancellation request was already kept, retained or confirmed."""

    message = ("This cancellation request has already ended. "
               "Start again from Products if you still wish to cancel.")


class StaleForm(Refusal):
    """The form was drawn for a request other than the open one."""

    message = "This form is out of date. Please reload the page and try again."


class AlreadyActive(Refusal):
    """There is nothing to reactivate."""

    def __init__(self, subscription):
        super().__init__(f"{subscription.product_name} is already active.")


class CannotReactivate(Refusal):
    """Too late to reactivate, the purge has started, or smrtPhone must come first."""


class Incomplete(Refusal):
    """An earlier answer is missing or no longer valid; `step_name` says where."""

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

    def __init__(self, message, field):
        super().__init__(message)
        self.field = field


class NotActive(Refusal):
    """The subscription is not active, so its plan cannot change."""

    def __init__(self, subscription):
        super().__init__(f"{subscription.product_name} is not active, so its plan cannot change.")


class PlanChanged(Refusal):
    """The form was drawn for a plan the subscription no longer has."""

    message = ("Your plan has changed since this page was shown. "
               "Please look at it again. Nothing was changed.")


class NothingToUndo(Refusal):
    message = "There is no plan change waiting to be undone."

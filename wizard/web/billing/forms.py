from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import InputRequired, Length, NumberRange

from wizard.web.form_input import WholeNumberField

SEATS_MESSAGE = "Please enter a whole number of seats, 1 or more."


class ReactivateForm(FlaskForm):
    """Reactivation asks for nothing but intent (and the CSRF token)."""


class PrepareDataForm(FlaskForm):
    """Preparing the account's archive asks for nothing but intent."""


class UndoPlanChangeForm(FlaskForm):
    """Undoing a scheduled plan change asks for nothing but intent."""


def seats_field():
    return WholeNumberField(
        "Seats", message=SEATS_MESSAGE,
        validators=[InputRequired(SEATS_MESSAGE), NumberRange(min=1, max=100000, message=SEATS_MESSAGE)],
    )


class SeatsForm(FlaskForm):
    """The number of seats to price (a GET: it changes nothing, so no token)."""

    class Meta:
        csrf = False

    seats = seats_field()


class PlanChangeForm(FlaskForm):
    """Confirm the change. It carries the plan, seats and scheduled change the
    page was drawn for (plans.drawn_state), so a change made or scheduled
    meanwhile (another tab) is refused, not applied on top."""

    seats = HiddenField()
    request_id = HiddenField()
    drawn_plan = HiddenField()
    drawn_seats = HiddenField()
    drawn_pending = HiddenField()  # the scheduled change's id, or empty


class PortPinForm(FlaskForm):
    """Show the port-out PIN, or make a new one (its buttons' `action`): the
    password again, unless it was given within the last 10 minutes
    (auth/reauth.py)."""

    password = PasswordField("Your password", validators=[Length(max=200)],
                             render_kw={"autocomplete": "current-password"})

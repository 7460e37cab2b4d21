"""Booking a call: the time (one of the slots offered) and an optional topic."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField

from wizard.web.form_input import BoundedTextAreaField
from wizard.domain.policy import CALL_RULES


class SlotField(RadioField):
    """The slot's start as the page offered it (ISO 8601, UTC). The choices are
    the page's slots; what was posted is checked by the domain, which knows
    whether the time is still free, so the field only asks that one was chosen."""

    def pre_validate(self, form):
        if not self.data:
            from wtforms.validators import StopValidation

            raise StopValidation("Please choose a time.")


class BookForm(FlaskForm):
    start = SlotField("Choose a time", choices=[], validate_choice=False)
    topic = BoundedTextAreaField(
        "What would you like to talk about? (optional)", max_length=CALL_RULES.topic_max_length,
        message=f"Please keep it to {CALL_RULES.topic_max_length} characters or fewer.")
    request_id = HiddenField()


class CancelCallForm(FlaskForm):
    """Cancelling a call asks for nothing but intent."""

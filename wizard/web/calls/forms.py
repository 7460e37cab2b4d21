"""Booking a call: the time (one of the slots offered) and an optional topic."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from wizard.web.form_input import BoundedTextAreaField
from wizard.domain import formatting
from wizard.domain.policy import CALL_RULES


class SlotField(RadioField):
    """The slot's start as the page offered it (ISO 8601, UTC). The choices are
    the page's slots; what was posted is checked by the domain, which knows
    whether the time is still free, so the field only asks that one was chosen."""

    def pre_validate(self, form):
        if not self.data:
            raise StopValidation("Please choose a time.")

    def offer(self, days, timezone_name):
        """Offer the slots of `days` (pairs of a local date and its free slots),
        each labelled with its time in `timezone_name`. Return the same pairs
        with each slot's radio option in its place: one group, numbered across
        the days (start-0, start-1, ...)."""
        self.choices = [SelectChoice(slot.start.isoformat(), formatting.local_time(slot.start, timezone_name))
                        for _, slots in days for slot in slots]
        options = iter(self)
        return [(day, [next(options) for _ in slots]) for day, slots in days]


class BookForm(FlaskForm):
    start = SlotField("Choose a time", choices=[], validate_choice=False)
    topic = BoundedTextAreaField(
        "What would you like to talk about? (optional)", max_length=CALL_RULES.topic_max_length,
        message=f"Please keep it to {CALL_RULES.topic_max_length} characters or fewer.")
    request_id = HiddenField()
    # Moving: the call's SEQUENCE when the page was drawn (calls.reschedule).
    drawn_sequence = HiddenField()

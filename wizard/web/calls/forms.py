"""Booking a call: the time (one of the slots offered), the number Customer
Success calls and an optional topic; moving one: the time alone."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TelField
from wtforms.validators import StopValidation, ValidationError

from wizard.web.form_input import BoundedTextAreaField
from wizard.domain import formatting, phones
from wizard.domain.policy import CALL_RULES
from wizard.refusals import NotAPhoneNumber


class SlotField(RadioField):
    """The slot's start as the page offered it (ISO 8601, UTC). The choices are
    the page's slots; what was posted is checked by the domain, which knows
    whether the time is still free, so the field only asks that one was chosen."""

    def pre_validate(self, form):
        if not self.data:
            raise StopValidation("Please choose a time.")

    def offer(self, slots, timezone_name):
        """Offer `slots` (one day's), each labelled with its time in
        `timezone_name`; return their radio options (start-0, start-1, ...)."""
        self.choices = [(slot.start.isoformat(), formatting.local_time(slot.start, timezone_name))
                        for slot in slots]
        return list(self)


class NumberField(TelField):
    """A phone number as typed; the page never echoes more than could be one."""

    def _value(self):
        return super()._value()[:phones.MAX_LENGTH]


class MoveForm(FlaskForm):
    start = SlotField("Choose a time", choices=[], validate_choice=False)
    # Moving: the call's SEQUENCE when the page was drawn (calls.reschedule).
    drawn_sequence = HiddenField()


class BookForm(MoveForm):
    """`timezone_name`: the account's, whose country reads the number."""

    number = NumberField("The number we will call",
                         render_kw={"autocomplete": "tel", "spellcheck": "false"})
    topic = BoundedTextAreaField(
        "What would you like to talk about? (optional)", max_length=CALL_RULES.topic_max_length,
        message=f"Please keep it to {CALL_RULES.topic_max_length} characters or fewer.")
    request_id = HiddenField()

    def __init__(self, *args, timezone_name="UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone_name = timezone_name

    def validate_number(self, field):
        """The domain's rule (phones.parse_number), so every fault shows at once."""
        try:
            phones.parse_number(field.data, self.timezone_name)
        except NotAPhoneNumber as exc:
            raise ValidationError(str(exc)) from None

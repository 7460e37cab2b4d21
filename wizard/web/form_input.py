"""What a request may hold: no NUL character anywhere; and in a posted form,
text, one value per field, of a sane length.

No form of this site takes a file, repeats a field or needs a value longer
than MAX_FIELD_LENGTH characters, and no body larger than MAX_CONTENT_LENGTH
bytes (a 413). Anything else was not sent by our pages: it is refused with
400 before any view reads it, so it can change nothing, sign no one in and
never reach code that expects a string.
"""
from flask import abort, current_app, request
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import Length, StopValidation

NOTHING_CHANGED = "Nothing was changed."


def refuse_unusable_forms():
    """Refuse a NUL character anywhere, and a body holding a file, a repeated
    field or an over-long value."""
    # No text we keep may hold NUL: PostgreSQL refuses it, so refuse it here.
    # Only a POST's form is read by any view (a GET's body is not even parsed).
    has_form = request.method in ("POST", "PUT", "PATCH", "DELETE")
    fields = [*request.args.listvalues(), *(request.form.listvalues() if has_form else ())]
    names = [*request.args, *(request.form if has_form else ())]
    if any("\x00" in value for values in fields for value in values) or \
            any("\x00" in name for name in names):
        abort(400, description="The request contains a character that is not allowed.")
    if not has_form:
        return
    if request.files:
        abort(400, description="This form takes text only, not files. Please send it from "
                               f"its page. {NOTHING_CHANGED}")
    longest = current_app.config["MAX_FIELD_LENGTH"]
    for name, values in request.form.lists():
        if len(values) > 1:
            abort(400, description=f"The form sent the field “{name[:40]}” more than once. "
                                   f"Please reload the page and try again. {NOTHING_CHANGED}")
        if len(values[0]) > longest:
            abort(400, description=f"A field of this form is longer than {longest:,} "
                                   f"characters, more than any field here takes. {NOTHING_CHANGED}")


class BoundedTextAreaField(TextAreaField):
    """A text area of at most `max_length` characters.

    Longer text is refused with `message`, and the form shown again holds
    only its first `max_length` characters: a page never echoes back
    whatever size was sent.
    """

    def __init__(self, label=None, validators=(), *, max_length, message, **kwargs):
        super().__init__(label, [*validators, Length(max=max_length, message=message)], **kwargs)
        self.max_length = max_length

    def _value(self):
        return super()._value()[:self.max_length]


class TickBox(BooleanField):
    """A checkbox that only its own value ticks: "y", what its input sends.

    wtforms' BooleanField takes any value but "false" and "" as a tick, so a
    crafted "n", "0" or "no" would confirm a statement the owner never
    ticked. The page drawn again always offers "y", never what was sent.
    """

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and valuelist[0] == "y"

    def _value(self):
        return "y"



class WholeNumberField(IntegerField):
    """A whole number, refused with one message of ours: what is not a whole
    number ("2.5", "many") gets `message` alone, not wtforms' "Not a valid
    integer value." followed by the validators' own message for the same fault."""

    def __init__(self, label=None, validators=(), *, message, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.message) from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the parse's message is the only one

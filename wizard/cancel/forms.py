"""Forms of the cancellation wizard. Every form carries the request id it was
drawn for, so a form from a stale tab or a closed request is refused."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation

from .. import policy


class StepForm(FlaskForm):
    request_id = HiddenField()


class ContinueForm(StepForm):
    """A step with nothing to answer: Continue is the whole form."""


class ConfirmForm(StepForm):
    pass


class KeepForm(StepForm):
    pass


def acknowledge_form(statements, **kwargs):
    """Build a form with one required checkbox per statement."""

    class AcknowledgeForm(StepForm):
        pass

    for statement in statements:
        setattr(
            AcknowledgeForm,
            statement.key,
            BooleanField(
                statement.text,
                validators=[DataRequired("Please tick this box to confirm you understand.")],
            ),
        )
    form = AcknowledgeForm(**kwargs)
    form.statements = statements
    return form


class ReasonField(RadioField):
    """A radio group whose errors say what to do, not "Not a valid choice"."""

    def pre_validate(self, form):
        if not self.raw_data or not self.raw_data[0]:
            raise StopValidation("Please choose one reason.")
        if self.data not in policy.SURVEY_REASON_KEYS:
            raise StopValidation("Please choose one of the reasons listed.")


class SurveyForm(StepForm):
    reason = ReasonField(
        "What made you decide to leave?",
        choices=[SelectChoice(value, label) for value, label in policy.SURVEY_REASONS],
    )
    comment = TextAreaField(
        "Anything you would like to add? (optional)",
        validators=[
            Length(
                max=policy.COMMENT_MAX_LENGTH,
                message=f"Please keep the comment to {policy.COMMENT_MAX_LENGTH:,} characters or fewer.",
            )
        ],
    )



class OptionsForm(StepForm):
    """One submit button per offer (name="choice"), plus "none" to go on."""

    choice = StringField(validators=[InputRequired("Please choose an option.")])

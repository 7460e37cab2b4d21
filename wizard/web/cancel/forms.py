"""Forms of the cancellation wizard. Every form carries the request id it was
drawn for, so a form from a stale tab or a closed request is refused.

A step of wizard/steps.py names its form class here; `for_step` builds it.
Each step form is built by its `for_request(req, **kwargs)`, which shows
the request's saved answers again (Back, reload, another device).
"""
from functools import lru_cache

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, StopValidation

from wizard.domain import lifecycle, policy
from wizard.web.form_input import BoundedTextAreaField, TickBox


def for_step(step, req, **kwargs):
    """Build the form of `step` for `req` (None before the first Continue)."""
    return STEP_FORMS[step.form].for_request(req, **kwargs)


class StepForm(FlaskForm):
    request_id = HiddenField()
    # What the error summary calls each field ("Reason: Please choose one
    # reason."), where its label is a question or a whole sentence.
    short_names = {}

    @classmethod
    def for_request(cls, req, **kwargs):
        return cls(**kwargs)


class ContinueForm(StepForm):
    """A step with nothing to answer: Continue is the whole form."""


class ConfirmForm(StepForm):
    pass


class KeepForm(StepForm):
    pass


class AcknowledgeForm(StepForm):
    """One required checkbox per statement of the request's product."""

    @classmethod
    def for_request(cls, req, **kwargs):
        statements = lifecycle.statements_for(req)
        Form = cls.with_statements(tuple(statements))
        if lifecycle.acknowledged(req):
            kwargs = {**{key: True for key in req.acknowledged_versions()}, **kwargs}
        form = Form(**kwargs)
        form.statements = statements
        form.short_names = {s.key: s.short for s in statements}
        return form

    @classmethod
    @lru_cache(maxsize=None)
    def with_statements(cls, statements):
        """The form class with one checkbox per statement (a tuple of policy
        Statements, constants): made once per set of statements, not per page."""

        class Form(cls):
            pass

        for statement in statements:
            setattr(Form, statement.key, TickBox(
                statement.text,
                validators=[DataRequired("Please tick this box to confirm you understand.")],
            ))
        return Form


class ReasonField(RadioField):
    """A radio group whose errors say what to do, not "Not a valid choice"."""

    def pre_validate(self, form):
        problem = policy.survey_problem(self.raw_data[0] if self.raw_data else None, "")
        if problem is not None:
            raise StopValidation(problem[1])


class SurveyForm(StepForm):
    short_names = {"reason": "Reason", "comment": "Comment"}

    @classmethod
    def for_request(cls, req, **kwargs):
        survey = req.survey() if req else None
        if survey:
            kwargs = {"reason": survey.reason, "comment": survey.comment, **kwargs}
        return cls(**kwargs)

    reason = ReasonField(
        "What made you decide to leave?",
        choices=[SelectChoice(value, label) for value, label in policy.SURVEY_REASONS],
    )
    comment = BoundedTextAreaField(
        "Anything you would like to add? (optional)",
        max_length=policy.COMMENT_MAX_LENGTH,
        message=policy.COMMENT_TOO_LONG,
    )


class OptionsForm(StepForm):
    """One submit button per offer (name="choice"), plus "none" to go on."""

    short_names = {"choice": "Options"}

    choice = StringField(validators=[InputRequired("Please choose an option.")])


STEP_FORMS = {form.__name__: form for form in (
    ContinueForm, AcknowledgeForm, SurveyForm, OptionsForm, ConfirmForm)}

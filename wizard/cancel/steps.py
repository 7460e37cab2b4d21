"""The wizard as data: the ordered steps of each product's cancellation.

A step names its URL segment, its title, the partial that renders it, the
form it posts, whether it is complete for a request, and what saving it does.
Navigation (step n of N, back, the first incomplete step) is computed from
this list alone, so adding a step is one entry here plus a form and a partial.
"""
from dataclasses import dataclass
from typing import Callable

from flask import current_app

from .. import lifecycle, policy
from . import forms


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    template: str
    make_form: Callable  # (request, **form kwargs) -> FlaskForm
    is_complete: Callable  # (CancellationRequest or None) -> bool
    save: Callable  # (request, form, user, ip, now) -> None
    context: Callable = lambda subscription, req, now: {}  # extra template values
    condition: Callable = lambda req: True


def _done_if(check):
    return lambda req: req is not None and check(req)


def _survey_initial(req):
    survey = req.survey() if req else None
    return {"reason": survey.reason, "comment": survey.comment} if survey else {}


def _acknowledge_initial(req):
    return {key: True for key in req.acknowledged_versions()} if lifecycle.acknowledged(req) else {}


def _consequences_context(subscription, req, now):
    return {"facts": lifecycle.consequences(subscription, now)}


def _options_context(subscription, req, now):
    survey = req.survey()
    return {
        "offers": lifecycle.offers_for_request(req),
        "lead": policy.REASON_LEADS.get(survey.reason) if survey else None,
    }


def _save_consequences(req, form, user, ip, now):
    lifecycle.mark_consequences_seen(req, now)


def _save_acknowledgements(req, form, user, ip, now):
    accepted = [s.key for s in form.statements if form[s.key].data]
    lifecycle.record_acknowledgements(req, user, accepted, ip, now)


def _save_survey(req, form, user, ip, now):
    lifecycle.record_survey(req, form.reason.data, form.comment.data, now)


def _save_options(req, form, user, ip, now):
    if form.choice.data == "none":
        lifecycle.decline_offers(req, user, now)
    else:
        lifecycle.accept_offer(req, user, form.choice.data, ip, now)


def _save_confirm(req, form, user, ip, now):
    lifecycle.confirm(req, user, ip, now, base_url=current_app.config["BASE_URL"])


ACKNOWLEDGE = Step(
    "acknowledge", "Acknowledge", "cancel/_acknowledge.html",
    lambda req, **kw: forms.acknowledge_form(
        lifecycle.statements_for(req.product), **_acknowledge_initial(req), **kw
    ),
    _done_if(lifecycle.acknowledged), _save_acknowledgements,
)

SURVEY = Step(
    "survey", "Tell us why", "cancel/_survey.html",
    lambda req, **kw: forms.SurveyForm(**_survey_initial(req), **kw),
    _done_if(lifecycle.survey_answered), _save_survey,
)


def _dialer_context(subscription, req, now):
    return {"phone": subscription.account.subscription("smrtphone")}


SMRTPHONE_STEPS = (
    Step(
        "consequences", "What will happen", "cancel/_consequences.html",
        lambda req, **kw: forms.ContinueForm(**kw),
        _done_if(lifecycle.consequences_seen), _save_consequences,
        context=_consequences_context,
    ),
    ACKNOWLEDGE,
    SURVEY,
    Step(
        "options", "Before you go", "cancel/_options.html",
        lambda req, **kw: forms.OptionsForm(**kw),
        _done_if(lifecycle.offers_declined), _save_options,
        context=_options_context,
    ),
    Step(
        "confirm", "Confirm", "cancel/_confirm.html",
        lambda req, **kw: forms.ConfirmForm(**kw),
        _done_if(lambda req: req.status == "confirmed"), _save_confirm,
        context=_consequences_context,
    ),
)

# Cancelling smrtDialer alone: the same machinery, a shorter list.
SMRTDIALER_STEPS = (
    Step(
        "consequences", "What will happen", "cancel/_dialer_consequences.html",
        lambda req, **kw: forms.ContinueForm(**kw),
        _done_if(lifecycle.consequences_seen), _save_consequences,
        context=_dialer_context,
    ),
    ACKNOWLEDGE,
    SURVEY,
    Step(
        "confirm", "Confirm", "cancel/_dialer_confirm.html",
        lambda req, **kw: forms.ConfirmForm(**kw),
        _done_if(lambda req: req.status == "confirmed"), _save_confirm,
        context=_dialer_context,
    ),
)

STEPS_BY_PRODUCT = {"smrtphone": SMRTPHONE_STEPS, "smrtdialer": SMRTDIALER_STEPS}


def steps_for(product, req=None):
    """Return the active steps of `product`'s wizard for `req`, in order."""
    return [s for s in STEPS_BY_PRODUCT[product] if s.condition(req)]


def find(steps, name):
    return next((s for s in steps if s.name == name), None)


def first_incomplete(steps, req):
    """Return the first step not yet complete (the last step if all are)."""
    return next((s for s in steps if not s.is_complete(req)), steps[-1])


def reachable(steps, req, step):
    """True when every step before `step` is complete."""
    return steps.index(step) <= steps.index(first_incomplete(steps, req))

"""The wizard as data: the ordered steps of each product's cancellation.

A step names its URL segment, its title, the partial that renders it, the
form it posts (a class in wizard/cancel/forms.py, by name), whether it is
complete for a request, what saving it does, what to tell an owner who
skipped it, and whether it applies to a request at all (`condition`).

Everything else is computed from these lists: the pages' "Step n of N",
Back, the first incomplete step a visitor is sent to, where an owner stopped
(for Customer Success), and what confirm re-checks. So adding a step is one
entry here plus a form and a partial.

The last step of each list finishes the wizard: posting it confirms the
cancellation (wizard/confirmation.py), which first re-checks every earlier
step of the list. Its `save` is None.

No Flask here: a save gets the form's data as a dict, and whatever else it
needs as arguments.
"""
from dataclasses import dataclass, replace
from typing import Callable, Optional

from . import history, lifecycle, policy
from wizard.store.db import transaction
from wizard.store.models import Product, Subscription
from wizard.refusals import Incomplete


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    template: str
    form: str  # the name of a form class in wizard/cancel/forms.py
    is_complete: Callable  # (CancellationRequest or None) -> bool
    save: Optional[Callable]  # (request, answers: dict, user, ip, now) -> None
    unfinished: str = ""  # why confirm sends the owner back here
    context: Callable = lambda subscription, req, now: {}  # extra template values
    condition: Callable = lambda req: True  # (CancellationRequest or None) -> bool
    # A step whose answer is a row of a model of its own (with a `request`
    # foreign key): the purge erases it with the request (purge.stages), and
    # Customer Success reads it as `summary(request)` (text, or None when
    # unanswered) on the request's page.
    answer_model: Optional[type] = None
    summary: Optional[Callable] = None


def _done_if(check):
    return lambda req: req is not None and check(req)


def _consequences_context(subscription, req, now):
    return {"facts": lifecycle.consequences(subscription, now)}


def _options_context(subscription, req, now):
    survey = req.survey()
    offers = lifecycle.offers_for_request(req)
    return {
        "offers": offers,
        "lead": policy.REASON_LEADS.get(survey.reason) if survey else None,
        # An offer that changes a plan opens that product's plans page.
        # The step's subscription comes from the signed-in read, which brings
        # its account's subscriptions (wizard/store/reads.py).
        "plan_pages": {o.key: Subscription.latest_of(subscription.account.subscriptions_read,
                                                     o.changes_plan_of).id
                       for o in offers if o.changes_plan_of},
    }


def _acknowledge_context(subscription, req, now):
    """When "complete cancellation" would happen if the owner confirmed now."""
    if not subscription.is_smrtphone:
        return {}
    _, erasure_at = lifecycle.key_dates(subscription.current_period_end, now)
    return {"erasure_at": erasure_at}


def _dialer_context(subscription, req, now):
    return {"phone": subscription.account.subscription(Product.SMRTPHONE)}


def _save_consequences(req, answers, user, ip, now):
    lifecycle.mark_consequences_seen(req, now)


def _save_acknowledgements(req, answers, user, ip, now):
    accepted = [s.key for s in lifecycle.statements_for(req) if answers.get(s.key) is True]
    lifecycle.record_acknowledgements(req, user, accepted, ip, now)


def _save_survey(req, answers, user, ip, now):
    lifecycle.record_survey(req, answers["reason"], answers["comment"], now)


def _save_options(req, answers, user, ip, now):
    if answers["choice"] != "none":
        # An offer is accepted on its own page, where it acts (a plan changes,
        # a call is booked): the step itself only says No thanks.
        raise Incomplete("That option is not available.", "options")
    lifecycle.decline_offers(req, user, now)


def consequences_step(template, context):
    """What will happen: the same step for both products, each with its page."""
    return Step("consequences", "What will happen", template, "ContinueForm",
                _done_if(lifecycle.consequences_seen), _save_consequences,
                unfinished="Please read what will happen first.", context=context)


def confirm_step(template, context):
    """The last step: posting it confirms (see the module's docstring)."""
    return Step("confirm", "Confirm", template, "ConfirmForm",
                _done_if(lambda req: req.is_confirmed), None, context=context)


ACKNOWLEDGE = Step(
    "acknowledge", "Acknowledge", "cancel/_acknowledge.html", "AcknowledgeForm",
    _done_if(lifecycle.acknowledged), _save_acknowledgements,
    unfinished="Please acknowledge every statement.",
    context=_acknowledge_context,
)

SURVEY = Step(
    "survey", "Tell us why", "cancel/_survey.html", "SurveyForm",
    _done_if(lifecycle.survey_answered), _save_survey,
    unfinished="Please answer the survey.",
)

SMRTPHONE_STEPS = (
    consequences_step("cancel/_consequences.html", _consequences_context),
    ACKNOWLEDGE,
    SURVEY,
    Step(
        policy.OFFERS_STEP, "Before you go", "cancel/_options.html", "OptionsForm",
        _done_if(lifecycle.offers_answered), _save_options,
        unfinished="Please look at the options before you go.",
        context=_options_context,
    ),
    confirm_step("cancel/_confirm.html", _consequences_context),
)

# Cancelling smrtDialer alone: the same machinery, a shorter list. Its survey
# is left out when smrtPhone's wizard already asked it ("Cancel only smrtDialer").
SMRTDIALER_STEPS = (
    consequences_step("cancel/_dialer_consequences.html", _dialer_context),
    ACKNOWLEDGE,
    replace(SURVEY, condition=lambda req: req is None or req.survey_carried_from is None),
    confirm_step("cancel/_dialer_confirm.html", _dialer_context),
)

STEPS_BY_PRODUCT = {Product.SMRTPHONE: SMRTPHONE_STEPS, Product.SMRTDIALER: SMRTDIALER_STEPS}


def steps_for(product, req=None):
    """Return the steps of `product`'s wizard that apply to `req`, in order.

    `req` is None before the owner's first Continue.
    """
    return [s for s in STEPS_BY_PRODUCT[product] if s.condition(req)]


def save(step, req, answers, user, ip, now):
    """Save `step`'s answers for `req` and note, in the same transaction, that
    the request's record reached the step (wizard/domain/history.py)."""
    with transaction():
        step.save(req, answers, user, ip, now)
        history.reached(req, step.name, now)


def answer_models():
    """The models steps keep their own answers in (Step.answer_model), each once."""
    return list(dict.fromkeys(s.answer_model for steps in STEPS_BY_PRODUCT.values()
                              for s in steps if s.answer_model is not None))


def answers_for_staff(req):
    """(step title, answer) of each step of `req` that keeps its answer in a
    model of its own and says how Customer Success reads it."""
    return [(s.title, s.summary(req)) for s in steps_for(req.product, req)
            if s.summary is not None and s.summary(req) is not None]


def find(steps, name):
    return next((s for s in steps if s.name == name), None)


def first_incomplete(steps, req):
    """Return the first step not yet complete (the last step if all are)."""
    return next((s for s in steps if not s.is_complete(req)), steps[-1])


def reachable(steps, req, step):
    """True when every step before `step` is complete."""
    return steps.index(step) <= steps.index(first_incomplete(steps, req))


def first_unfinished(req):
    """The first step before the last that `req` has not completed, or None.

    Confirm calls this: whatever list `req` has, every step before the
    last must be complete before the cancellation can be confirmed.
    """
    steps = steps_for(req.product, req)
    return next((s for s in steps[:-1] if not s.is_complete(req)), None)


def where_stopped(req):
    """The title of the step an open request waits at (None once it has ended)."""
    if not req.is_open:
        return None
    return first_incomplete(steps_for(req.product, req), req).title

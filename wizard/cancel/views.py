"""The cancellation wizard's pages.

Each step has its own URL (/cancel/<subscription id>/<step>). A GET shows the
step; a POST saves it and moves on (303 for a plain browser; for htmx, the
next step's panel with HX-Push-Url). Progress lives in the CancellationRequest
row, so the wizard resumes on any device. Nothing here is written on a GET.
"""
from flask import (
    Blueprint, abort, flash, make_response, redirect, render_template, request, url_for,
)
from flask_login import current_user, login_required

from .. import clock, htmx, lifecycle, queue
from ..auth import access
from ..models import CancellationRequest, OfferDecision
from . import steps as wizard_steps
from .forms import KeepForm

bp = Blueprint("cancel", __name__, url_prefix="/cancel")


def client_ip():
    return request.remote_addr


def owned_subscription(subscription_id):
    return access.owned_subscription(subscription_id, "Only the Account Owner can cancel a subscription.")


def step_url(sub, step):
    return url_for("cancel.step", subscription_id=sub.id, name=step.name)


def go_to(sub, step, message=None):
    """Redirect to `step` (a 303, so a POST becomes a GET)."""
    if message:
        flash(message, "warning")
    return htmx.vary(redirect(step_url(sub, step), code=303))


def not_cancellable(sub):
    """Answer for a subscription with no open request that is not active."""
    if sub.latest_request("confirmed"):
        return htmx.vary(redirect(url_for("cancel.done", subscription_id=sub.id), code=303))
    abort(409, description=f"{sub.product_name} is already cancelled; there is nothing to cancel.")


def render_step(sub, steps, step, req, form, status=200, push=False):
    context = dict(
        subscription=sub,
        steps=steps,
        step=step,
        number=steps.index(step) + 1,
        previous=steps[steps.index(step) - 1] if steps.index(step) else None,
        req=req,
        form=form,
        keep_form=KeepForm(request_id=req.id if req else ""),
        **step.context(sub, req, clock.now()),
    )
    if htmx.wants_fragment():
        return htmx.fragment(
            render_template("cancel/_panel.html", **context),
            push_url=step_url(sub, step) if push else None,
            status=status,
        )
    return htmx.vary(make_response(render_template("cancel/wizard.html", **context), status))


@bp.get("/<id:subscription_id>/")
@login_required
def start(subscription_id):
    """Send the owner to where their cancellation stands."""
    sub = owned_subscription(subscription_id)
    steps = wizard_steps.steps_for(sub.product)
    req = lifecycle.open_request(sub)
    if req is None and not sub.is_active:
        return not_cancellable(sub)
    return go_to(sub, wizard_steps.first_incomplete(steps, req))


@bp.route("/<id:subscription_id>/<name>", methods=["GET", "POST"])
@login_required
def step(subscription_id, name):
    sub = owned_subscription(subscription_id)
    steps = wizard_steps.steps_for(sub.product)
    current = wizard_steps.find(steps, name)
    if current is None:
        abort(404)
    req = lifecycle.open_request(sub)

    if request.method == "POST":
        refusal = check_post(sub, steps, current, req)
        if refusal is not None:
            return refusal
    elif req is None and not sub.is_active:
        return not_cancellable(sub)

    if not wizard_steps.reachable(steps, req, current):
        return go_to(
            sub, wizard_steps.first_incomplete(steps, req),
            "Please complete this step first." if request.method == "POST" else None,
        )

    form = current.make_form(req, request_id=req.id if req else "")
    if request.method == "GET":
        return render_step(sub, steps, current, req, form)
    if not form.validate():
        return render_step(sub, steps, current, req, form, status=422)

    now = clock.now()
    try:
        if req is None:
            req = lifecycle.start_or_resume(sub, current_user, now, client_ip())
        current.save(req, form, current_user, client_ip(), now)
    except lifecycle.Incomplete as exc:
        return go_to(sub, wizard_steps.find(steps, exc.step_name), str(exc))
    except lifecycle.NotAllowed as exc:
        abort(403, description=str(exc))
    except (lifecycle.AlreadyCancelled, lifecycle.RequestClosed) as exc:
        abort(409, description=str(exc))

    req = CancellationRequest.get_by_id(req.id)
    if req.status == "confirmed":
        queue.enqueue_account_work(sub.account_id)
        return htmx.leave_to(url_for("cancel.done", subscription_id=sub.id))
    if req.status == "retained":
        return htmx.leave_to(url_for("cancel.follow_up", subscription_id=sub.id))
    following = steps[steps.index(current) + 1]
    if htmx.wants_fragment():
        # formdata=None: the next step's form must not read this POST's fields.
        return render_step(sub, steps, following, req,
                           following.make_form(req, formdata=None, request_id=req.id), push=True)
    return go_to(sub, following)


def check_post(sub, steps, current, req):
    """Refuse a POST drawn for another request; None when it may go on.

    The hidden request_id says which request the form was drawn for. An empty
    one is a form drawn before any request existed (step one), which joins the
    open request if another tab has started one meanwhile.
    """
    posted = request.form.get("request_id", "")
    if req is not None and posted == str(req.id):
        return None
    if posted == "" and (req is None or current is steps[0]):
        # Out-of-order posts without a request fall through to the
        # first-incomplete redirect.
        if req is None and not sub.is_active:
            return not_cancellable(sub)
        return None
    stale = None
    if posted.isascii() and posted.isdigit() and len(posted) <= 9:
        stale = CancellationRequest.get_or_none(
            (CancellationRequest.id == int(posted)) & (CancellationRequest.subscription == sub)
        )
    if (stale is not None and current.name == "confirm" and req is None
            and stale == sub.latest_request("confirmed")):
        # A second click on Confirm: the cancellation already happened once.
        return htmx.leave_to(url_for("cancel.done", subscription_id=sub.id))
    if stale is not None and not stale.is_open:
        abort(409, description="This cancellation request has already ended. "
                               "Start again from Products if you still wish to cancel.")
    abort(409, description="This form is out of date. Please reload the page and try again.")


@bp.post("/<id:subscription_id>/keep")
@login_required
def keep(subscription_id):
    """End the request: the owner keeps their account."""
    sub = owned_subscription(subscription_id)
    form = KeepForm()
    req = lifecycle.open_request(sub)
    posted = form.request_id.data or ""
    if req is not None:
        if posted not in ("", str(req.id)):
            abort(409, description="This form is out of date. Please reload the page and try again.")
        try:
            lifecycle.keep_account(req, current_user, client_ip(), clock.now())
        except lifecycle.RequestClosed as exc:
            abort(409, description=str(exc))
    elif not sub.is_active:
        abort(409, description=f"{sub.product_name} is already cancelled. "
                               "To keep it, reactivate it from Products.")
    flash(f"Good news: your {sub.product_name} subscription stays active. Nothing was cancelled.",
          "success")
    return htmx.leave_to(url_for("billing.products"))


@bp.get("/<id:subscription_id>/done")
@login_required
def done(subscription_id):
    sub = owned_subscription(subscription_id)
    req = sub.latest_request("confirmed")
    if req is None:
        abort(404)
    # Name smrtDialer only if this cancellation took it too.
    dialer_cancelled = req.product == "smrtphone" and "smrtdialer" in req.cancelled_products.split()
    return render_template("cancel/done.html", subscription=sub, req=req,
                           dialer_cancelled=dialer_cancelled)


@bp.get("/<id:subscription_id>/follow-up")
@login_required
def follow_up(subscription_id):
    sub = owned_subscription(subscription_id)
    req = sub.latest_request("retained")
    if req is None:
        abort(404)
    decision = (
        OfferDecision.select()
        .where((OfferDecision.request == req) & (OfferDecision.accepted == True))  # noqa: E712
        .first()
    )
    return render_template("cancel/follow_up.html", subscription=sub, req=req, decision=decision)

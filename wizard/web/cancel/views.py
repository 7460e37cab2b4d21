"""The cancellation wizard's pages.

Each step has its own URL (/cancel/<subscription id>/<step>). A GET shows the
step; a POST saves it and moves on (303 for a plain browser; for htmx, the
next step's panel with HX-Push-Url). Progress lives in the CancellationRequest
row, so the wizard resumes on any device. Nothing here is written on a GET.
"""
from flask import (
    Blueprint, abort, flash, make_response, redirect, render_template, request,
    url_for,
)
from flask_login import current_user, login_required

from wizard import clock, queue
from wizard.domain import confirmation, history, lifecycle, portout, steps as wizard_steps
from wizard.web import htmx, invalid_forms, links, ratelimits
from wizard.web.auth import access
from wizard.web.templating import titled
from wizard.store.models import CancellationRequest, Product, Subscription
from wizard.refusals import AlreadyCancelled, Incomplete, RequestClosed, StaleForm
from . import forms

bp = Blueprint("cancel", __name__, url_prefix="/cancel")


# The wizard's last step, of either product: posting it confirms.
CONFIRM_STEPS = {steps[-1].name for steps in wizard_steps.STEPS_BY_PRODUCT.values()}


def posts_confirm(view_args):
    """Whether a step's POST confirms (only that one meets the per-user limit)."""
    return view_args.get("name") in CONFIRM_STEPS


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
    if sub.latest_request(CancellationRequest.CONFIRMED):
        return htmx.vary(redirect(url_for("cancel.done", subscription_id=sub.id), code=303))
    raise AlreadyCancelled(sub, "There is nothing to cancel.")


def render_step(sub, steps, step, req, form, status=200, push=False):
    context = dict(
        # The page's title, also sent with every htmx swap of the panel.
        page_title=titled(f"{step.title} · Cancel {sub.product_name}", form),
        subscription=sub,
        steps=steps,
        step=step,
        number=steps.index(step) + 1,
        previous=steps[steps.index(step) - 1] if steps.index(step) else None,
        req=req,
        form=form,
        **step.context(sub, req, clock.now()),
    )
    if htmx.wants_fragment():
        return htmx.fragment(
            render_template("cancel/_panel.html", **context),
            push_url=step_url(sub, step) if push else None,
            status=status,
            title=context["page_title"],
        )
    return htmx.vary(make_response(render_template("cancel/wizard.html", **context), status))


@bp.get("/<id:subscription_id>/")
@login_required
def start(subscription_id):
    """Send the owner to where their cancellation stands."""
    sub = owned_subscription(subscription_id)
    req = sub.open_request_read  # read with the signed-in user
    if req is None and not sub.is_active:
        return not_cancellable(sub)
    return go_to(sub, wizard_steps.first_incomplete(wizard_steps.steps_for(sub.product, req), req))


def open_step(subscription_id, name):
    """(subscription, its steps, the step named `name`, the open request or None)."""
    sub = owned_subscription(subscription_id)
    req = sub.open_request_read  # read with the signed-in user
    if req is not None:
        # Which statements apply, from the account the signed-in read brought.
        account = sub.account
        req.know_account_facts(account.credit_balance_cents,
                               Subscription.dialer_active_among(account.subscriptions_read))
    steps = wizard_steps.steps_for(sub.product, req)
    current = wizard_steps.find(steps, name)
    if current is None:
        abort(404)
    return sub, steps, current, req


@bp.get("/<id:subscription_id>/<name>")
@login_required
def step(subscription_id, name):
    """Show one step of the wizard.

    Steps whose predecessors are incomplete send the owner to the first
    incomplete one. A GET never reaches the rate limiter: only save_step has
    a limit (a GET still cost flask-limiter a noticeable part of a page
    working out that no limit applied).
    """
    sub, steps, current, req = open_step(subscription_id, name)
    if req is None and not sub.is_active:
        return not_cancellable(sub)
    if not wizard_steps.reachable(steps, req, current):
        return go_to(sub, wizard_steps.first_incomplete(steps, req))
    # A plain post that failed is redirected here: its answers and errors, once.
    refused = invalid_forms.rebuild(lambda formdata: forms.for_step(
        current, req, formdata=formdata, request_id=req.id if req else ""))
    if refused is not None:
        return render_step(sub, steps, current, req, refused, status=422)
    return render_step(sub, steps, current, req,
                       forms.for_step(current, req, request_id=req.id if req else ""))


@bp.post("/<id:subscription_id>/<name>")
@login_required
@ratelimits.per_user_when(lambda: posts_confirm(request.view_args or {}))
def save_step(subscription_id, name):
    """Save one step of the wizard and move on (the same URL as `step`).

    A POST must carry the id of the open request (see check_post); one that
    skips ahead is sent to the first incomplete step. Posting the last step
    confirms the cancellation.
    """
    sub, steps, current, req = open_step(subscription_id, name)
    refusal = check_post(sub, steps, current, req)
    if refusal is not None:
        return refusal
    if not wizard_steps.reachable(steps, req, current):
        return go_to(sub, wizard_steps.first_incomplete(steps, req),
                     "Please complete this step first.")

    form = forms.for_step(current, req, request_id=req.id if req else "")
    valid = form.validate()
    if req is not None:  # how many posts a step takes, refused ones included
        history.count_post(req, current.name)
    if not valid:
        return (invalid_forms.remember(step_url(sub, current), form)
                or render_step(sub, steps, current, req, form, status=422))

    now = clock.now()
    try:
        if req is None:
            req = lifecycle.start_or_resume(sub, current_user, now, client_ip())
            history.count_post(req, current.name)
        if current is steps[-1]:
            confirmation.confirm(req, current_user, client_ip(), now,
                                 links=links.for_app())
        else:
            wizard_steps.save(current, req, form.data, current_user, client_ip(), now)
    except Incomplete as exc:
        back = wizard_steps.find(steps, exc.step_name) or wizard_steps.first_incomplete(steps, req)
        return go_to(sub, back, str(exc))

    req = req.refreshed()
    if req.is_confirmed:
        queue.enqueue_account_work(sub.account_id)
        return htmx.leave_to(url_for("cancel.done", subscription_id=sub.id))
    if current is steps[-1]:
        # Confirm found the request closed by another tab (Keep, say) between
        # its read and its write: the cancellation this page was for has ended.
        raise RequestClosed()
    # The answer just saved may change which steps apply.
    steps = wizard_steps.steps_for(sub.product, req)
    following = steps[steps.index(current) + 1]
    if htmx.wants_fragment():
        # formdata=None: the next step's form must not read this POST's fields.
        return render_step(sub, steps, following, req,
                           forms.for_step(following, req, formdata=None, request_id=req.id),
                           push=True)
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
    stale = sub.request_posted(posted)
    if (stale is not None and current is steps[-1] and req is None
            and stale == sub.latest_request(CancellationRequest.CONFIRMED)):
        # A second click on Confirm: the cancellation already happened once.
        return htmx.leave_to(url_for("cancel.done", subscription_id=sub.id))
    if stale is not None and not stale.is_open:
        raise RequestClosed()
    raise StaleForm()


@bp.post("/<id:subscription_id>/keep")
@login_required
def keep(subscription_id):
    """End the request: the owner keeps their account."""
    sub = owned_subscription(subscription_id)
    form = forms.KeepForm()
    req = sub.open_request_read  # read with the signed-in user
    posted = form.request_id.data or ""
    if req is not None:
        if posted not in ("", str(req.id)):
            raise StaleForm()
        lifecycle.keep_account(req, current_user, client_ip(), clock.now())
    elif not sub.is_active:
        raise AlreadyCancelled(sub, "To keep it, reactivate it from Products.")
    flash(f"Good news: your {sub.product_name} subscription stays active. Nothing was canceled.",
          "success")
    return htmx.leave_to(url_for("billing.products"))


@bp.post("/<id:subscription_id>/instead")
@login_required
def dialer_instead(subscription_id):
    """"Cancel only smrtDialer", from smrtPhone's offers: into smrtDialer's own wizard."""
    dialer = owned_subscription(subscription_id)
    req = lifecycle.offer_request(dialer.account, request.form.get("request_id", ""))
    if req is None:  # an answer to smrtPhone's offers: it needs their request
        raise StaleForm()
    lifecycle.cancel_dialer_instead(req, dialer, current_user, client_ip(), clock.now())
    return go_to(dialer, wizard_steps.steps_for(dialer.product)[0])


@bp.get("/<id:subscription_id>/done")
@login_required
def done(subscription_id):
    """The confirmation: what was canceled, until when it works, the way back."""
    sub = owned_subscription(subscription_id)
    req = sub.latest_request(CancellationRequest.CONFIRMED)
    if req is None:
        abort(404)
    # Name smrtDialer only if this cancellation took it too.
    dialer_cancelled = sub.is_smrtphone and Product.SMRTDIALER in req.products_cancelled()
    # Only the owner confirms (and reads this page): the confirmation went to them.
    return render_template("cancel/done.html", subscription=sub, req=req,
                           dialer_cancelled=dialer_cancelled, emailed_to=current_user.email,
                           numbers_released_at=portout.release_at(sub) if sub.is_smrtphone else None)

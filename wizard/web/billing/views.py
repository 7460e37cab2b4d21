"""Account menu > Billing & Logs: Products, reactivation, plans and the closed account.

(The banner on every page and the closing of an ended account are app-wide
hooks: wizard/web/hooks.py.)
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from wizard.domain import actions, lifecycle, plans, policy, reactivation
from wizard import clock, queue
from wizard.web import links, ratelimits
from wizard.web.auth import access
from wizard.store import reads
from wizard.store.models import (
    Call,
    CancellationRequest,
    Plan,
    PlanChange,
    Product,
    PurgeSchedule,
    posted_id_value,
)
from wizard.refusals import AlreadyActive, NotActive, NotValid
from .forms import PlanChangeForm, ReactivateForm, SeatsForm, UndoPlanChangeForm

bp = Blueprint("billing", __name__, url_prefix="/billing")

@bp.get("/")
@login_required
def index():
    return redirect(url_for("billing.products"))


@bp.get("/products")
@login_required
def products():
    """List the account's subscriptions, each with what the owner can do to it."""
    if current_user.account is None:
        abort(404)
    account = current_user.account
    subscriptions = account.subscriptions_read  # brought by the signed-in read
    now = clock.now()
    read = reads.products(account.id, now)
    return render_template(
        "billing/products.html",
        account=account,
        subscriptions=subscriptions,
        possible=actions.possible(subscriptions, now),
        schedule=read.schedule,
        now=now,
        open_requests={s.id: s.open_request_read for s in subscriptions
                       if s.open_request_read is not None and s.open_request_read.is_open},
        pending_changes=read.pending_changes,
        undo_form=UndoPlanChangeForm(),
        calls=Call.booked_of_account(account.id, now) if read.calls_ahead else [],
        # Named to the others, who are told to ask the owner.
        owner=None if current_user.is_owner else account.owner(),
        can_cancel=current_user.is_owner,
        actions=actions.actions_for(current_user, subscriptions, now),
    )


@bp.route("/reactivate/<id:subscription_id>", methods=["GET", "POST"])
@login_required
@ratelimits.per_user
def reactivate(subscription_id):
    """Show what reactivating does; on POST, do it."""
    sub = access.owned_subscription(subscription_id,
                                    "Only the Account Owner can reactivate a subscription.")
    form = ReactivateForm()
    now = clock.now()
    if request.method == "POST":  # CSRFProtect has checked the token
        done = reactivation.reactivate(sub, current_user, request.remote_addr, now,
                                       links=links.for_app())
        queue.cancel_purge(done.superseded_purge)
        queue.enqueue_account_work(sub.account_id)
        message = f"Welcome back: {sub.product_name} is active again."
        if sub.dialer_stays_cancelled():
            message += " smrtDialer stays canceled until you reactivate it below."
        flash(message, "success")
        return redirect(url_for("billing.products"), code=303)
    if sub.is_active:
        raise AlreadyActive(sub)
    verdict = reactivation.reactivation_for(sub, now)
    return render_template("billing/reactivate.html", subscription=sub, verdict=verdict,
                           form=form, now=now, dialer_cancelled=sub.dialer_stays_cancelled(),
                           ), (200 if verdict.allowed else 409)


@bp.get("/closed")
@login_required
def closed():
    """The closed account: what happened, what happens next, the way back."""
    phone = access.smrtphone_of(current_user)
    if phone is None or not phone.has_ended:
        return redirect(url_for("billing.products"))
    now = clock.now()
    account = current_user.account
    return render_template("billing/closed.html", phone=phone,
                           req=phone.latest_request(CancellationRequest.CONFIRMED),
                           schedule=PurgeSchedule.for_account(phone.account_id),
                           verdict=reactivation.reactivation_for(phone, now),
                           account=account, owner=account.owner(),
                           can_reactivate=current_user.owns(phone), now=now)


# -- changing a plan -----------------------------------------------------------------------

def plan_owner_subscription(subscription_id):
    return access.owned_subscription(subscription_id, "Only the Account Owner can change a plan.")


def back_url(sub, req):
    if req is not None:
        return url_for("cancel.step", subscription_id=req.subscription_id, name="options")
    return url_for("billing.products")


@bp.get("/plans/<id:subscription_id>")
@login_required
def plans_page(subscription_id):
    """Every plan of the product beside the current one, each a way to switch."""
    sub = plan_owner_subscription(subscription_id)
    req = lifecycle.offer_request(sub.account, request.args.get("request", ""))
    if not sub.is_active:
        raise NotActive(sub)
    return render_template("billing/plans.html", subscription=sub, req=req,
                           rows=plans.catalogue(sub, clock.now()),
                           pending=PlanChange.pending(sub.id), back=back_url(sub, req),
                           plan_features=policy.PLAN_FEATURES,
                           dialer_alone=req is not None and req.product == Product.SMRTPHONE
                           and not sub.is_smrtphone)


@bp.route("/plans/<id:subscription_id>/<code>", methods=["GET", "POST"])
@login_required
@ratelimits.per_user
def change_plan(subscription_id, code):
    """Say exactly what switching to the plan `code` does and when; on POST, do it."""
    sub = plan_owner_subscription(subscription_id)
    plan = Plan.by_code(code)
    if plan is None:
        abort(404, description="There is no such plan.")
    now = clock.now()
    if request.method == "POST":
        form = PlanChangeForm()
        req = lifecycle.offer_request(sub.account, form.request_id.data or "")
        seats = posted_id_value(form.seats.data or "")
        drawn = (posted_id_value(form.drawn_plan.data or ""), posted_id_value(form.drawn_seats.data or ""),
                 posted_id_value(form.drawn_pending.data or ""))
        try:
            change, _ = plans.change(sub, plan, seats, current_user, request.remote_addr, now,
                                     drawn_for=drawn, request=req,
                                     links=links.for_app())
        except NotValid as exc:
            seats_form = SeatsForm(formdata=None, seats=seats)
            return render_plan_change(sub, plan, req, seats_form, None, {exc.field: str(exc)})
        queue.enqueue_account_work(sub.account_id)
        flash(plans.describe(change, sub), "success")
        return redirect(url_for("billing.products"), code=303)

    req = lifecycle.offer_request(sub.account, request.args.get("request", ""))
    if "seats" in request.args:  # the owner asked for another number of seats
        seats_form = SeatsForm(request.args)
        if not seats_form.validate():
            return render_plan_change(sub, plan, req, seats_form, None, {})
    else:
        seats_form = SeatsForm(formdata=None, seats=min(sub.seats, plan.max_seats))
    try:
        offered = plans.quote(sub, plan, seats_form.seats.data, now)
    except NotValid as exc:
        return render_plan_change(sub, plan, req, seats_form, None, {exc.field: str(exc)})
    return render_plan_change(sub, plan, req, seats_form, offered, {})


def render_plan_change(sub, plan, req, seats_form, offered, errors):
    """The plan's page: its quote and Confirm, or what stands in the way (422)."""
    for field, message in errors.items():
        if field == "seats":
            seats_form.seats.errors = [message]
    drawn_plan, drawn_seats, drawn_pending = plans.drawn_state(sub, PlanChange.pending(sub.id))
    confirm_form = PlanChangeForm(formdata=None, seats=offered.seats if offered else "",
                                  request_id=req.id if req else "", drawn_plan=drawn_plan,
                                  drawn_seats=drawn_seats, drawn_pending=drawn_pending or "")
    status = 200 if offered is not None else 422
    return render_template("billing/plan_change.html", subscription=sub, plan=plan, req=req,
                           seats_form=seats_form, confirm_form=confirm_form, quote=offered,
                           plan_error=errors.get("plan"), back=url_for(
                               "billing.plans_page", subscription_id=sub.id,
                               **({"request": req.id} if req else {}))), status


@bp.post("/plans/<id:subscription_id>/undo")
@login_required
@ratelimits.per_user
def undo_plan_change(subscription_id):
    """Undo a scheduled change: the plan stays as it is."""
    sub = plan_owner_subscription(subscription_id)
    change = plans.undo(sub, current_user, request.remote_addr, clock.now(),
                        links=links.for_app())
    queue.enqueue_account_work(sub.account_id)
    flash(f"Done: the change to {change.to_plan.name} is undone. "
          f"Your {sub.product_name} plan stays {sub.plan.name}.", "success")
    return redirect(url_for("billing.products"), code=303)

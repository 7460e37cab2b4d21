"""Account menu > Billing & Logs: Products, reactivation, and the closed account.

Every signed-in request of an account user reads its smrtPhone subscription
once (`g.phone`): it drives the "Cancellation scheduled" banner on every page,
and once the paid period is over it closes the account to everything but
Products, reactivation and the closed-account page.
"""
from flask import (
    Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for,
)
from flask_login import current_user, login_required

from .. import clock, lifecycle, queue
from ..auth import access
from ..models import CancellationRequest, PurgeSchedule
from .forms import ReactivateForm

bp = Blueprint("billing", __name__, url_prefix="/billing")

# What a closed account can still reach.
OPEN_WHEN_CLOSED = {
    "static", "index", "auth.login", "auth.logout",
    "billing.index", "billing.products", "billing.reactivate", "billing.closed",
}


@bp.before_app_request
def load_account_state():
    g.phone = None
    if not current_user.is_authenticated or current_user.account_id is None:
        return None
    g.phone = current_user.account.subscription("smrtphone")
    if g.phone is not None and g.phone.status == "ended" and request.endpoint not in OPEN_WHEN_CLOSED \
            and request.endpoint is not None:
        return redirect(url_for("billing.closed"), code=303)
    return None


@bp.app_context_processor
def cancellation_banner():
    phone = g.get("phone")
    if phone is None or phone.status != "cancellation_pending":
        return {"banner": None}
    # Offer the way back only while it is open (not past the deadline, say).
    can_reactivate = (current_user.is_owner
                      and lifecycle.reactivation_for(phone, clock.now()).allowed)
    return {"banner": {"service_ends_at": phone.current_period_end,
                       "timezone": current_user.account.timezone,
                       "reactivate_url": url_for("billing.reactivate", subscription_id=phone.id),
                       "owner": current_user.is_owner,
                       "can_reactivate": can_reactivate}}


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
    now = clock.now()
    subscriptions = list(account.subscriptions())
    phone = next((s for s in subscriptions if s.product == "smrtphone"), None)
    open_requests = {
        r.subscription_id: r
        for r in CancellationRequest.select().where(
            (CancellationRequest.account == account) & (CancellationRequest.status == "open")
        )
    }
    actions = {}
    for sub in subscriptions:
        if not current_user.is_owner:
            continue
        if sub.is_active:
            # smrtDialer works only beside an active smrtPhone.
            if sub.product == "smrtphone" or (phone is not None and phone.is_active):
                actions[sub.id] = ("cancel", None)
        else:
            verdict = lifecycle.reactivation_for(sub, now)
            actions[sub.id] = ("reactivate", None) if verdict.allowed else ("blocked", verdict.reason)
    return render_template(
        "billing/products.html",
        account=account,
        subscriptions=subscriptions,
        open_requests=open_requests,
        owner=account.owner(),
        can_cancel=current_user.is_owner,
        actions=actions,
    )


@bp.route("/reactivate/<id:subscription_id>", methods=["GET", "POST"])
@login_required
def reactivate(subscription_id):
    """Show what reactivating does; on POST, do it."""
    sub = access.owned_subscription(subscription_id,
                                    "Only the Account Owner can reactivate a subscription.")
    form = ReactivateForm()
    now = clock.now()
    if request.method == "POST":  # CSRFProtect has checked the token
        try:
            lifecycle.reactivate(sub, current_user, request.remote_addr, now,
                                 base_url=current_app.config["BASE_URL"])
        except (lifecycle.AlreadyActive, lifecycle.CannotReactivate) as exc:
            abort(409, description=str(exc))
        schedule = PurgeSchedule.get_or_none(PurgeSchedule.account_id == sub.account_id)
        if sub.product == "smrtphone" and schedule is not None:
            queue.cancel_purge(sub.account_id, schedule.generation - 1)
        queue.enqueue_account_work(sub.account_id)
        message = f"Welcome back: {sub.product_name} is active again."
        if sub.dialer_stays_cancelled():
            message += " smrtDialer stays cancelled until you reactivate it below."
        flash(message, "success")
        return redirect(url_for("billing.products"), code=303)
    if sub.is_active:
        abort(409, description=f"{sub.product_name} is already active.")
    verdict = lifecycle.reactivation_for(sub, now)
    return render_template("billing/reactivate.html", subscription=sub, verdict=verdict,
                           form=form, now=now, dialer_cancelled=sub.dialer_stays_cancelled(),
                           ), (200 if verdict.allowed else 409)


@bp.get("/closed")
@login_required
def closed():
    """The closed account: what happened, what happens next, the way back."""
    phone = g.get("phone")
    if phone is None or phone.status != "ended":
        return redirect(url_for("billing.products"))
    req = phone.latest_request("confirmed")
    schedule = PurgeSchedule.get_or_none(PurgeSchedule.account_id == phone.account_id)
    verdict = lifecycle.reactivation_for(phone, clock.now())
    return render_template("billing/closed.html", phone=phone, req=req, schedule=schedule,
                           verdict=verdict, account=current_user.account)

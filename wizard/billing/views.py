"""Account menu > Billing & Logs: Products, reactivation, and the closed account.

Every signed-in request of an account user reads its smrtPhone subscription
once (`g.phone`): it drives the "Cancellation scheduled" banner on every page,
and once the paid period is over it closes the account to everything but
Products, reactivation and the closed-account page.
"""
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import actions, clock, queue, reactivation
from ..auth import access
from ..models import CancellationRequest, Product, PurgeSchedule
from ..refusals import AlreadyActive
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
    g.phone = current_user.account.subscription(Product.SMRTPHONE)
    if g.phone is not None and g.phone.has_ended and request.endpoint not in OPEN_WHEN_CLOSED \
            and request.endpoint is not None:
        return redirect(url_for("billing.closed"), code=303)
    return None


@bp.app_context_processor
def cancellation_banner():
    phone = g.get("phone")
    if phone is None or not phone.is_cancellation_pending:
        return {"banner": None}
    # Offer the way back only while it is open (not past the deadline, say).
    can_reactivate = (current_user.is_owner
                      and reactivation.reactivation_for(phone, clock.now()).allowed)
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
    subscriptions = list(account.subscriptions())
    return render_template(
        "billing/products.html",
        account=account,
        subscriptions=subscriptions,
        open_requests=account.open_requests(),
        owner=account.owner(),
        can_cancel=current_user.is_owner,
        actions=actions.actions_for(current_user, subscriptions, clock.now()),
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
        done = reactivation.reactivate(sub, current_user, request.remote_addr, now,
                                       base_url=current_app.config["BASE_URL"])
        queue.cancel_purge(done.superseded_purge)
        queue.enqueue_account_work(sub.account_id)
        message = f"Welcome back: {sub.product_name} is active again."
        if sub.dialer_stays_cancelled():
            message += " smrtDialer stays cancelled until you reactivate it below."
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
    phone = g.get("phone")
    if phone is None or not phone.has_ended:
        return redirect(url_for("billing.products"))
    return render_template("billing/closed.html", phone=phone,
                           req=phone.latest_request(CancellationRequest.CONFIRMED),
                           schedule=PurgeSchedule.for_account(phone.account_id),
                           verdict=reactivation.reactivation_for(phone, clock.now()),
                           account=current_user.account)

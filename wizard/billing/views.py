"""Account menu > Billing & Logs: the Products page."""
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from .. import lifecycle
from ..models import CancellationRequest

bp = Blueprint("billing", __name__, url_prefix="/billing")


@bp.get("/")
@login_required
def index():
    return redirect(url_for("billing.products"))


@bp.get("/products")
@login_required
def products():
    """List the account's subscriptions, each with its Cancel Subscription action."""
    if current_user.account is None:
        abort(404)
    account = current_user.account
    subscriptions = list(account.subscriptions())
    open_requests = {
        r.subscription_id: r
        for r in CancellationRequest.select().where(
            (CancellationRequest.account == account) & (CancellationRequest.status == "open")
        )
    }
    return render_template(
        "billing/products.html",
        account=account,
        subscriptions=subscriptions,
        open_requests=open_requests,
        owner=account.owner(),
        can_cancel=current_user.is_owner,
        cancellable_products=("smrtphone",),
    )

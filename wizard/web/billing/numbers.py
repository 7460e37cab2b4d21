"""Keep your numbers: the port-out kit (wizard/domain/portout.py).

The owner's page of each number, its status and the last day it can be
ported, what the new carrier asks for, and the port-out PIN behind the
password. Admins and agents are told that only the Account Owner can port
numbers out; a closed account's numbers are gone (hooks.close_ended_accounts
sends it to the closed page).
"""
from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from wizard import clock
from wizard.domain import portout
from wizard.web import ratelimits
from wizard.web.auth import access, reauth
from wizard.web.templating import titled

from .forms import PortPinForm
from .views import bp

ONLY_THE_OWNER = "Only the Account Owner can port numbers out, and see the port-out PIN."
WRONG_PASSWORD = "That password is not right. Please try again."
REVEAL, REGENERATE = "reveal", "regenerate"
# Set by a granted POST, read once by the page it redirects to: the PIN is
# shown on that one view (never in a URL), and not on a reload.
SHOW_PIN_ONCE = "show_port_pin_once"


def owners_account():
    """The signed-in owner's account and its smrtPhone subscription; 403 for
    anyone else of the account, 404 for staff (who have none)."""
    phone = access.smrtphone_of(current_user)
    if phone is None:
        abort(404)
    if not current_user.is_owner:
        abort(403, description=ONLY_THE_OWNER)
    return current_user.account, phone


def kit_page(account, phone, form, shown_pin=None, status=200):
    response = current_app.make_response((render_template(
        "billing/numbers.html", title=titled("Keep your numbers: port them out", form),
        account=account, owner=current_user, numbers=portout.numbers_to_keep(account.id, phone),
        released=portout.release_at(phone), account_number=portout.account_number(account),
        leaving=phone.is_cancellation_pending, form=form, shown_pin=shown_pin,
        confirmed=reauth.recently_confirmed()), status))
    # The PIN is never kept by a cache or the browser's history.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/numbers")
@login_required
def numbers():
    account, phone = owners_account()
    shown = session.pop(SHOW_PIN_ONCE, False)
    return kit_page(account, phone, PortPinForm(formdata=None),
                    shown_pin=portout.pin(account, current_app.config["SECRET_KEY"]) if shown else None)


@bp.post("/numbers/pin")
@login_required
@ratelimits.reauth_limit
@ratelimits.per_user
def port_pin():
    """Show the PIN, or make a new one and show it; the password first,
    unless given within the last 10 minutes. Each is audited."""
    account, phone = owners_account()
    form = PortPinForm()
    action = request.form.get("action", REVEAL)
    if action not in (REVEAL, REGENERATE):
        abort(400, description="This form can show the PIN or make a new one, nothing else.")
    if not reauth.recently_confirmed():
        if not form.password.data:
            form.password.errors = ["Please enter your password to see the PIN."]
            return kit_page(account, phone, form, status=422)
        if not reauth.confirm(current_user, form.password.data):
            ratelimits.count_failed_sign_in()
            form.password.errors = [WRONG_PASSWORD]
            return kit_page(account, phone, form, status=422)
    now = clock.now()
    if action == REGENERATE:
        account = portout.regenerate(account, current_user, request.remote_addr, now)
    portout.revealed(account, current_user, request.remote_addr, now)
    session[SHOW_PIN_ONCE] = True
    return redirect(url_for("billing.numbers", _anchor="pin-title"), code=303)

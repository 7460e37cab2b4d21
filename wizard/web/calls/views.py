"""Calls with Customer Success: an owner books, moves or cancels one.

Reached from "Book a call with Customer Success" in the wizard's offers (the
request then ends as saved, pending the call) and from "Speak with our
Success Team" on Products. Staff move and cancel calls through the same
pages, from their console. The free times are those of the next 14 days
(wizard/availability.py), shown in the account's time zone.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from wizard.domain import availability, calls, formatting, lifecycle
from wizard import clock, queue
from wizard.web import invalid_forms, links, ratelimits
from wizard.store.models import Call, posted_id_value
from wizard.web.auth import access
from wizard.refusals import NotASlot, SlotTaken, TopicTooLong
from .forms import BookForm

bp = Blueprint("calls", __name__, url_prefix="/calls")


def managed_call(call_id):
    """The call, if the signed-in user may change it: its account's owner, or staff.

    Another account's call is a 404 (its existence is not ours to reveal);
    an admin or agent of the account gets 403.
    """
    call = Call.by_id(call_id)
    if call is None or not (current_user.is_success_staff or current_user.account_id == call.account_id):
        access.not_found(call is not None)
    if not call.manageable_by(current_user):
        abort(403, description="Only the Account Owner or Customer Success can change this call.")
    return call


def after_change(call):
    """Where a change of `call` lands: Products for the owner, the console for staff."""
    queue.enqueue_account_work(call.account_id)
    if current_user.is_success_staff:
        return redirect(url_for("success.calls"), code=303)
    return redirect(url_for("billing.products"), code=303)


def when(call, timezone_name):
    return formatting.local_datetime(call.start, timezone_name)


def kept_or_posted_form():
    """The booking form: as posted, or as a refused post left it (invalid_forms)."""
    return invalid_forms.rebuild(BookForm) or BookForm()


def slots_page(form, account_timezone, title, action, call=None, req=None, status=200,
               again=None):
    """The free times and the form. A plain post that was refused goes back to
    `again` (by default `action`) to be shown once (invalid_forms)."""
    if request.method == "POST":
        refused = invalid_forms.remember(again or action, form, status)
        if refused is not None:
            return refused
    now = clock.now()
    free = availability.group_by_local_date(availability.free_slots(now), account_timezone)
    days = form.start.offer(free, account_timezone)  # each free slot as the form's radio option
    return render_template("calls/book.html", form=form, days=days, tz=account_timezone,
                           title=title, action=action, call=call, req=req), status


@bp.route("/book", methods=["GET", "POST"])
@login_required
@ratelimits.per_user
def book():
    """The free times of the next 14 days; on POST, book the one chosen."""
    if not current_user.is_owner:
        abort(403, description="Only the Account Owner can book a call with Customer Success.")
    account = current_user.account
    form = kept_or_posted_form()
    req = lifecycle.offer_request(account, form.request_id.data if request.method == "POST"
                         else request.args.get("request", ""))
    if req is not None and request.method == "GET":
        form.request_id.data = str(req.id)
    status = invalid_forms.status()
    if request.method == "POST":
        status = 422
        if form.validate():
            try:
                call = calls.book(current_user, availability.parse_start(form.start.data),
                                    form.topic.data, clock.now(), request=req,
                                    links=links.for_app())
            except (NotASlot, SlotTaken) as exc:
                form.start.errors = [str(exc)]
                status = exc.status
            except TopicTooLong as exc:
                form.topic.errors = [str(exc)]
            else:
                flash(f"Your call with {call.staff.name} of Customer Success is booked for "
                      f"{when(call, account.timezone)}. We have emailed you an invitation.", "success")
                return after_change(call)
    return slots_page(form, account.timezone, "Book a call with Customer Success",
                      url_for("calls.book"), req=req, status=status,
                      again=url_for("calls.book", request=req.id if req else None))


@bp.route("/<id:call_id>/reschedule", methods=["GET", "POST"])
@login_required
@ratelimits.per_user
def reschedule(call_id):
    """Pick another time for a call; on POST, move it there."""
    call = managed_call(call_id)
    form = kept_or_posted_form()
    status = invalid_forms.status()
    if request.method == "POST":
        status = 422
        if form.validate():
            drawn = posted_id_value(form.drawn_sequence.data or "")
            try:
                moved = calls.reschedule(call, availability.parse_start(form.start.data),
                                           current_user, clock.now(), links=links.for_app(),
                                           drawn_sequence=-1 if drawn is None else drawn)
            except (NotASlot, SlotTaken) as exc:
                form.start.errors = [str(exc)]
                status = exc.status
            else:
                flash(f"The call is moved to {when(moved, call.account.timezone)}. "
                      "Updated invitations are on their way.", "success")
                return after_change(moved)
    form.drawn_sequence.data = str(call.sequence)  # the page is drawn for the call as it is now
    return slots_page(form, call.account.timezone, "Move your call",
                      url_for("calls.reschedule", call_id=call.id), call=call, status=status)


@bp.post("/<id:call_id>/cancel")
@login_required
@ratelimits.per_user
def cancel(call_id):
    """Cancel a call; its time is free again."""
    call = managed_call(call_id)  # CSRFProtect has checked the token
    calls.cancel_call(call, current_user, clock.now(), links=links.for_app())
    flash(f"The call of {when(call, call.account.timezone)} is cancelled.", "success")
    return after_change(call)

"""Calls with Customer Success: an owner books, moves or cancels one.

Reached from "Book a call with Customer Success" in the wizard's offers (the
request then ends as saved, pending the call) and from "Speak with our
Success Team" on Products. Staff move and cancel calls through the same
pages, from their console. The free times are those of the next 14 days
(wizard/availability.py), shown in the account's time zone.

One page of choices at a time, and no JavaScript: first the days with free
times (links), then, at ?day=YYYY-MM-DD, that day's times as radios with
the number to call and the topic. By default only times within the owner's
day are offered (8 AM to 7 PM there, CALL_RULES); ?all=1 ("Show all times")
offers every one. Moving a call takes the same two steps and keeps the
call's number. An account with a call ahead already is shown that call, to
move, instead of the days.
"""
import re
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from wizard.domain import availability, calls, formatting, lifecycle, phones
from wizard.domain.policy import CALL_RULES
from wizard import clock, queue
from wizard.web import invalid_forms, links, ratelimits
from wizard.store.models import Call, PhoneNumber, posted_id_value
from wizard.web.auth import access
from wizard.refusals import CallAlreadyBooked, NotAPhoneNumber, NotASlot, SlotTaken, TopicTooLong
from .forms import BookForm, MoveForm

bp = Blueprint("calls", __name__, url_prefix="/calls")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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


def kept_or_posted_form(build):
    """The form: as posted, or as a refused post left it (invalid_forms)."""
    return invalid_forms.rebuild(build) or build()


def day_asked(timezone_name, form):
    """The day whose times the page shows (?day=YYYY-MM-DD), or None: the
    page then shows the days. A post without one shows the day of the time
    it posted. A day that is not a date is a 400."""
    text = request.args.get("day", "")
    if not text and request.method == "POST":
        try:
            return availability.parse_start(form.start.data).astimezone(
                ZoneInfo(timezone_name)).date()
        except NotASlot:
            return None
    if not text:
        return None
    try:
        if not DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        abort(400, description="That is not a day. Please choose one of the days offered.")


def page_url(endpoint, **values):
    """This page's address with `values` changed (None drops one): for its links and form."""
    def url(**changes):
        args = {**values, **changes}
        return url_for(endpoint, **{k: v for k, v in args.items() if v is not None})
    return url


def slots_page(form, account_timezone, title, url, call=None, req=None, status=200,
               ahead=None):
    """The days with free times, or (?day=) that day's times and the form. A
    plain post that was refused goes back to the page it came from, to be
    shown once (invalid_forms). `ahead`: the call the account holds already
    (booking is then refused, pointing at it)."""
    if request.method == "POST":
        refused = invalid_forms.remember(url(), form, status)
        if refused is not None:
            return refused
    all_times = request.args.get("all") == "1"
    days = [] if ahead else availability.offered_days(clock.now(), account_timezone, all_times)
    day = day_asked(account_timezone, form)
    slots = dict(days).get(day, []) if day else []
    if day is not None and not slots and not ahead and status == 200:
        status = 404  # no times that day (any more): the days are shown instead
    anchor = "move-call" if ahead else "days-title"
    elsewhere = [] if slots else [(anchor, messages[0]) for messages in form.errors.values()]
    return render_template(
        "calls/book.html", form=form, days=days, day=day if slots else None, missing_day=day,
        options=form.start.offer(slots, account_timezone), tz=account_timezone,
        zone=formatting.time_zone_label(account_timezone), all_times=all_times,
        owner_day=f"{formatting.clock_hour(CALL_RULES.owner_day_from)} to "
                  f"{formatting.clock_hour(CALL_RULES.owner_day_until)}",
        title=title, url=url, call=call, req=req, ahead=ahead, elsewhere=elsewhere), status


@bp.route("/book", methods=["GET", "POST"])
@login_required
@ratelimits.per_user
def book():
    """The days with free times of the next 14 days, then a day's times; on
    POST, book the one chosen, to be called at the number given."""
    if not current_user.is_owner:
        abort(403, description="Only the Account Owner can book a call with Customer Success.")
    account = current_user.account
    form = kept_or_posted_form(lambda **kw: BookForm(timezone_name=account.timezone, **kw))
    req = lifecycle.offer_request(account, form.request_id.data if request.method == "POST"
                         else request.args.get("request", ""))
    if request.method == "GET":
        if req is not None:
            form.request_id.data = str(req.id)
        if invalid_forms.recall() is None:  # a fresh page: the account's main number
            main = PhoneNumber.main_of(account.id)
            form.number.data = phones.phone_number(main.e164 if main else "", account.timezone)
    url = page_url("calls.book", request=req.id if req else None, day=request.args.get("day"),
                   all=request.args.get("all"))
    status = invalid_forms.status()
    if request.method == "POST":
        status = 422
        if form.validate():
            try:
                call = calls.book(current_user, availability.parse_start(form.start.data),
                                  form.topic.data, clock.now(), request=req,
                                  links=links.for_app(), number=form.number.data)
            except (NotASlot, SlotTaken, CallAlreadyBooked) as exc:
                form.start.errors = [str(exc)]
                status = exc.status
            except TopicTooLong as exc:
                form.topic.errors = [str(exc)]
            except NotAPhoneNumber as exc:
                form.number.errors = [str(exc)]
            else:
                said = (f"Your call with {call.staff.name} of Customer Success is booked for "
                        f"{when(call, account.timezone)}.",
                        phones.calls_you_at(call.callback_number, account.timezone),
                        "We have emailed you an invitation.")
                flash(" ".join(filter(None, said)), "success")
                return after_change(call)
    return slots_page(form, account.timezone, "Book a call with Customer Success", url,
                      req=req, status=status, ahead=calls.call_to_move_instead(account.id, clock.now()))


@bp.route("/<id:call_id>/reschedule", methods=["GET", "POST"])
@login_required
@ratelimits.per_user
def reschedule(call_id):
    """Pick another time for a call; on POST, move it there. The number
    Customer Success calls stays the call's."""
    call = managed_call(call_id)
    form = kept_or_posted_form(MoveForm)
    url = page_url("calls.reschedule", call_id=call.id, day=request.args.get("day"),
                   all=request.args.get("all"))
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
    return slots_page(form, call.account.timezone, "Move your call", url, call=call,
                      status=status)


@bp.post("/<id:call_id>/cancel")
@login_required
@ratelimits.per_user
def cancel(call_id):
    """Cancel a call; its time is free again."""
    call = managed_call(call_id)  # CSRFProtect has checked the token
    calls.cancel_call(call, current_user, clock.now(), links=links.for_app())
    flash(f"The call of {when(call, call.account.timezone)} is canceled.", "success")
    return after_change(call)

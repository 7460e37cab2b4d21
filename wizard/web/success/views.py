"""Customer Success: who is leaving, where they stopped, what saved them.

Everything here is for staff (role success) only, and only reads: staff
cannot cancel, reactivate or change a plan for an owner (those views refuse
anyone but the Account Owner).
"""
from datetime import date, timedelta

from flask import (
    Blueprint, abort, flash, make_response, redirect, render_template, request,
    stream_with_context, url_for,
)
from flask_login import current_user, login_required

from wizard.domain import availability, console, followups, formatting, insights, listing
from wizard.domain import calls as call_rules  # the view calls() is the board
from wizard import clock
from wizard.web import invalid_forms
from wizard.store.models import Call, CallOutcome, StaffHours, StaffOverride
from wizard.refusals import BadHours, FollowUpDate, NotesTooLong, UnknownOutcome
from . import cursors
from .forms import FilterForm, FollowUpDoneForm, OutcomeForm, OverrideForm, WeeklyHoursForm

bp = Blueprint("success", __name__, url_prefix="/success")

@bp.before_request
@login_required
def staff_only():
    if not current_user.is_success_staff:
        abort(403, description="This page is for the Customer Success team.")


def filters():
    """The filter form read from the query string; (form, range) or (form, None) if invalid."""
    if not request.args:  # the default range, shown in the date fields
        default = console.Range.default(clock.now())
        return FilterForm(formdata=None, first=default.first.date(),
                          last=default.last.date()), default
    form = FilterForm(request.args)
    if not form.validate():
        return form, None
    return form, form.within(clock.now())


def valid_filters():
    """(form, range) for a download, whose bad filters are a 400 naming each."""
    form, within = filters()
    if within is None:
        abort(400, description="The filters are not valid: " + "; ".join(
            f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items()))
    return form, within


@bp.get("/")
def index():
    """The cancellation requests, 50 a page: searched, filtered by state,
    product, reason and date, and sorted."""
    form, within = filters()
    if within is None:
        return render_template("success/index.html", form=form, page=None), 422
    chosen = form.listing_filters(within)
    after = cursors.read(request.args.get("after"), chosen.sort)
    if after is cursors.TAMPERED:
        return render_template("success/index.html", form=form, page=None,
                               cursor_error=cursors.TAMPERED_MESSAGE), 422
    found = listing.page(chosen, after)
    return render_template(
        "success/index.html", form=form, page=found, total=listing.count(chosen), within=within,
        erased=console.erased_count(within), paged=after is not None,
        sort_names=listing.SORTS, page_size=listing.PAGE_SIZE,
        next_url=url_for("success.index", **form.query_args(),
                         after=cursors.write(chosen.sort, found.after)) if found.after else None)


@bp.get("/requests.csv")
def requests_csv():
    """The filtered requests as a CSV file, written as it is read."""
    form, within = valid_filters()
    rows = console.csv_lines(listing.batches(form.listing_filters(within)))
    return csv_file(stream_with_context(rows), "cancellation-requests", within)


@bp.get("/calls.csv")
def calls_csv():
    """The calls booked in the date range as a CSV file."""
    _, within = valid_filters()
    return csv_file(console.calls_csv(console.calls_booked(within)), "calls", within)


def csv_file(body, name, within):
    """`body` (text, or lines as they are written: Flask streams a generator) as a download."""
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{within.first:%Y%m%d}-{within.last:%Y%m%d}.csv"')
    return response


@bp.get("/requests/<id:request_id>")
def request_detail(request_id):
    """One request: its answers, acknowledgements, offers, time spent and audit trail."""
    found = console.detail(request_id)
    if found is None:
        abort(404)
    return render_template("success/request.html", found=found, row=found.row,
                           outcome_names=CallOutcome.NAMES, call_statuses=Call.STATUS_NAMES)


@bp.get("/insights")
def insights_page():
    """Reasons, the funnel, offers, saves and revenue saved, for a date range."""
    form, within = filters()
    if within is None:
        return render_template("success/insights.html", form=form, figures=None), 422
    return render_template("success/insights.html", form=form,
                           figures=insights.figures(within, clock.now()),
                           outcome_names=CallOutcome.NAMES, reason_labels=console.REASON_LABELS)


# -- calls ------------------------------------------------------------------------------------

# The board shows the calls of the past week too, so their outcomes can be recorded.
RECENT = timedelta(days=7)


def calls_page(forms=None, status=200):
    now = clock.now()
    board = console.calls_board(now - RECENT)
    forms = forms or {}
    for row in board:
        forms.setdefault(row.call.id, OutcomeForm(formdata=None, prefix=f"call{row.call.id}",
                                                  held="no_show" if row.call.status == Call.NO_SHOW
                                                  else "held", outcome=row.call.outcome or "",
                                                  notes=row.call.outcome_notes))
    return render_template("success/calls.html", board=board, forms=forms, now=now,
                           outcome_names=CallOutcome.NAMES), status


@bp.get("/calls")
def calls():
    """Upcoming calls (and the past week's), with what staff need to prepare."""
    refused = invalid_forms.rebuild_one(  # an outcome refused, redirected here
        "outcome", lambda call_id, formdata: OutcomeForm(formdata=formdata, prefix=f"call{call_id}"))
    return calls_page(refused, status=invalid_forms.status()) if refused else calls_page()


@bp.post("/calls/<id:call_id>/outcome")
def record_outcome(call_id):
    """Mark a call held or missed and record what came of it."""
    call = Call.by_id(call_id)
    if call is None:
        abort(404)
    form = OutcomeForm(prefix=f"call{call.id}")
    if form.validate():
        try:
            call_rules.record_outcome(call, current_user, form.held.data == "held",
                                      form.outcome.data, form.notes.data, clock.now(),
                                      follow_up_on=form.follow_up_on.data)
        except UnknownOutcome as exc:
            form.outcome.errors = [str(exc)]
        except FollowUpDate as exc:
            form.follow_up_on.errors = [str(exc)]
        except NotesTooLong as exc:
            form.notes.errors = [str(exc)]
        else:
            flash(f"Recorded: the call with {call.account.name}.", "success")
            return redirect(url_for("success.calls") + f"#call-{call.id}", code=303)
    return (invalid_forms.remember(url_for("success.calls") + f"#call-{call.id}", form,
                                   which=f"outcome-{call.id}")
            or calls_page({call.id: form}, status=422))


# -- follow-ups -------------------------------------------------------------------------------

def follow_ups_page(forms=None, status=200):
    now = clock.now()
    tasks = followups.open_for(current_user)
    forms = forms or {}
    for task in tasks:
        forms.setdefault(task.id, FollowUpDoneForm(formdata=None, prefix=f"done{task.id}"))
    return render_template("success/follow_ups.html", follow_ups=tasks, forms=forms,
                           today=followups.staff_today(current_user, now)), status


@bp.get("/follow-ups")
def follow_ups():
    """The signed-in staff member's open follow-ups, due first."""
    refused = invalid_forms.rebuild_one(
        "done", lambda task_id, formdata: FollowUpDoneForm(formdata=formdata, prefix=f"done{task_id}"))
    return follow_ups_page(refused, status=invalid_forms.status()) if refused else follow_ups_page()


@bp.post("/follow-ups/<id:follow_up_id>/done")
def complete_follow_up(follow_up_id):
    """Mark one's own follow-up done, with a note (another's is not found)."""
    task = followups.own(follow_up_id, current_user)
    if task is None:
        abort(404)
    form = FollowUpDoneForm(prefix=f"done{task.id}")
    if form.validate():
        try:
            followups.complete(task, current_user, form.note.data, clock.now())
        except NotesTooLong as exc:
            form.note.errors = [str(exc)]
        else:
            flash("The follow-up is done.", "success")
            return redirect(url_for("success.follow_ups"), code=303)
    return (invalid_forms.remember(url_for("success.follow_ups") + f"#follow-up-{task.id}", form,
                                   which=f"done-{task.id}")
            or follow_ups_page({task.id: form}, status=422))


# -- hours ------------------------------------------------------------------------------------

def hours_page(weekly=None, override=None, day_errors=None, status=200):
    staff = current_user
    if weekly is None:
        values = {"timezone": staff.timezone or "America/New_York"}
        seen = {}
        for row in StaffHours.for_staff(staff):
            block = seen[row.weekday] = seen.get(row.weekday, 0) + 1
            if block <= 2:
                values[f"d{row.weekday}_{block}_from"] = f"{row.starts:%H:%M}"
                values[f"d{row.weekday}_{block}_to"] = "24:00" if row.end_minute >= 1440 \
                    else f"{row.ends:%H:%M}"
        weekly = WeeklyHoursForm(formdata=None, **values)
    today = clock.now().date()
    return render_template("success/hours.html", weekly=weekly,
                           override=override or OverrideForm(formdata=None),
                           overrides=StaffOverride.for_staff(staff, from_day=today),
                           weekdays=availability.WEEKDAYS, day_errors=day_errors or {}), status


@bp.get("/hours")
def hours():
    """Your weekly hours and the dates that differ."""
    refused = invalid_forms.which()
    if refused == "weekly":  # refused, redirected here: the answers and errors, once
        form = invalid_forms.rebuild(WeeklyHoursForm, "weekly")
        day_errors = {int(day): message for day, message in invalid_forms.extra().items()}
        return hours_page(weekly=form, day_errors=day_errors, status=422)
    if refused == "override":
        form = invalid_forms.rebuild(OverrideForm, "override")
        return hours_page(override=form, status=422)
    return hours_page()


@bp.post("/hours")
def save_hours():
    """Replace your time zone and weekly hours."""
    form = WeeklyHoursForm()
    day_errors = {}
    if not form.validate():
        for name, messages in form.errors.items():
            if name.startswith("d"):  # d<weekday>_<block>_<edge>: shown on its day's row
                day_errors.setdefault(int(name[1]), messages[0])
    else:
        blocks = []
        for weekday in range(7):
            for block in (1, 2):
                starts, ends = form[f"d{weekday}_{block}_from"], form[f"d{weekday}_{block}_to"]
                if bool(starts.data) != bool(ends.data):
                    day_errors[weekday] = "Please give both times of a block, or neither."
                elif starts.data:
                    blocks.append((weekday, starts.data, ends.data))
        if not day_errors:
            try:
                availability.set_weekly_hours(current_user, form.timezone.data.strip(), blocks)
            except BadHours as exc:
                if exc.field == "timezone":
                    form.timezone.errors = [str(exc)]
                else:
                    day_errors[exc.field] = str(exc)
            else:
                flash("Your weekly hours are saved.", "success")
                return redirect(url_for("success.hours"), code=303)
    return (invalid_forms.remember(url_for("success.hours"), form, which="weekly",
                                   extra={str(day): message for day, message in day_errors.items()})
            or hours_page(weekly=form, day_errors=day_errors, status=422))


@bp.post("/hours/overrides")
def add_override():
    """Set other hours, or a day off, on one date."""
    form = OverrideForm()
    if form.validate():
        blocks = [(form.starts.data, form.ends.data)] if form.starts.data else []
        try:
            availability.set_date_override(current_user, form.day.data, blocks)
        except BadHours as exc:
            form.ends.errors = [str(exc)]
        else:
            flash(f"{formatting.spoken_day(form.day.data, with_year=False)}: saved.", "success")
            return redirect(url_for("success.hours"), code=303)
    return (invalid_forms.remember(url_for("success.hours"), form, which="override")
            or hours_page(override=form, status=422))


@bp.post("/hours/overrides/<day>/remove")
def remove_override(day):
    """Let the weekly hours apply again on `day`."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    availability.clear_date_override(current_user, when)
    flash("The weekly hours apply again that day.", "success")
    return redirect(url_for("success.hours"), code=303)

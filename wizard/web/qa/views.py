"""/qa/clock: QA moves the clock from a page, as with `flask --app wizard clock`.

The blueprint is registered only in QA mode (else /qa/clock is a 404), and
production refuses to start in QA mode. The page is open to any visitor, not
only to staff: QA moves the clock before signing in as the owner they watch,
and after the purge no one of that account can sign in at all. Each move runs
the sweep at once, so what came due happens within seconds.

It also puts the banner "QA clock: +91 days (now ...)" on every page while
an offset is in effect (templates/_qa_clock_banner.html).
"""
from flask import Blueprint, flash, render_template, url_for

from wizard import clock, queue
from wizard.web import htmx, links
from wizard.domain import qaclock, sweep
from wizard.domain.qaclock import ClockRefused
from .forms import AdvanceForm, ResetForm, SetForm

bp = Blueprint("qa", __name__, url_prefix="/qa")


def clock_page(advance_form=None, set_form=None, status=200):
    offset = clock.offset()
    return render_template(
        "qa/clock.html", advance_form=advance_form or AdvanceForm(), set_form=set_form or SetForm(),
        reset_form=ResetForm(), offset=offset, offset_label=qaclock.describe(offset) if offset else None,
        now=clock.now(), examples=qaclock.AMOUNT_EXAMPLES,
    ), status


def moved():
    """Run the sweep, say what it did, and go back to the page."""
    summary = queue.enqueue_due(sweep.run(clock.now(), links.for_app()))
    flash(qaclock.moved_message(clock.offset(), clock.now(), summary), "success")
    if not queue.reachable():
        flash(qaclock.redis_missing_message(queue.redis_url()), "warning")
    return htmx.leave_to(url_for("qa.show"))


@bp.get("/clock")
def show():
    """Where the clock stands, and the forms that move it."""
    return clock_page()


def move_clock(form, field, move, **page):
    """Validate `form`, then move the clock by what `field` holds (`move`);
    a refused move is shown next to the field, and the clock stays."""
    if form.validate():
        try:
            move(field.data)
        except ClockRefused as exc:
            field.errors = [str(exc)]
        else:
            return moved()
    return clock_page(status=422, **page)


@bp.post("/clock/advance")
def advance():
    form = AdvanceForm()
    return move_clock(form, form.amount,
                      lambda amount: qaclock.advance(qaclock.parse_amount(amount)),
                      advance_form=form)


@bp.post("/clock/set")
def set_to():
    form = SetForm()
    return move_clock(form, form.moment,
                      lambda moment: qaclock.set_to(qaclock.parse_moment(moment)),
                      set_form=form)


@bp.post("/clock/reset")
def reset():
    qaclock.reset()  # nothing to validate: CSRFProtect checked the token before this view
    return moved()

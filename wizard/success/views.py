"""Customer Success: who is leaving, where they stopped, what saved them.

Everything here is for staff (role success) only, and only reads: staff
cannot cancel, reactivate or change a plan for an owner (those views refuse
anyone but the Account Owner).
"""
from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user, login_required

from .. import clock, insights
from .forms import FilterForm

bp = Blueprint("success", __name__, url_prefix="/success")

LISTED = 200  # requests on one page of the list


@bp.app_template_global()
def offer_title(key):
    return insights.offer_title(key)


@bp.before_request
@login_required
def staff_only():
    if not current_user.is_success_staff:
        abort(403, description="This page is for the Customer Success team.")


def filters():
    """The filter form read from the query string; (form, range) or (form, None) if invalid."""
    form = FilterForm(request.args)
    if request.args and not form.validate():
        return form, None
    return form, form.within(clock.now())


@bp.get("/")
def index():
    """The cancellation requests, newest first, filtered by state, product, reason and date."""
    form, within = filters()
    if within is None:
        return render_template("success/index.html", form=form, rows=[], erased=0, shown=LISTED), 422
    listed = insights.rows(within, state=form.state.data or None, product=form.product.data or None,
                           reason=form.reason.data or None)
    return render_template("success/index.html", form=form, rows=listed[:LISTED], total=len(listed),
                           erased=insights.erased_count(within), shown=LISTED, within=within)


@bp.get("/requests.csv")
def requests_csv():
    """The filtered requests as a CSV file."""
    form, within = filters()
    if within is None:
        abort(400, description="The filters are not valid: " + "; ".join(
            f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items()))
    listed = insights.rows(within, state=form.state.data or None, product=form.product.data or None,
                           reason=form.reason.data or None)
    response = make_response(insights.as_csv(listed))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="cancellation-requests-{within.first:%Y%m%d}-{within.last:%Y%m%d}.csv"')
    return response


@bp.get("/requests/<id:request_id>")
def request_detail(request_id):
    """One request: its answers, acknowledgements, offers, time spent and audit trail."""
    found = insights.detail(request_id)
    if found is None:
        abort(404)
    return render_template("success/request.html", found=found, row=found.row)


@bp.get("/insights")
def insights_page():
    """Reasons, the funnel, offers, saves and revenue saved, for a date range."""
    form, within = filters()
    if within is None:
        return render_template("success/insights.html", form=form, figures=None), 422
    return render_template("success/insights.html", form=form,
                           figures=insights.figures(within, clock.now()))

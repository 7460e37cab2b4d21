"""Customer Success: who is leaving, and where they stopped."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from peewee import JOIN

from ..cancel import steps as wizard_steps
from ..models import Account, CancellationRequest, SurveyResponse

bp = Blueprint("success", __name__, url_prefix="/success")


@bp.get("/")
@login_required
def index():
    """List the latest cancellation requests with their status and reason."""
    if not current_user.is_success_staff:
        abort(403, description="This page is for the Customer Success team.")
    rows = (
        CancellationRequest.select(CancellationRequest, Account, SurveyResponse)
        .join(Account)
        .switch(CancellationRequest)
        .join(SurveyResponse, JOIN.LEFT_OUTER,
              on=(SurveyResponse.request == CancellationRequest.id), attr="survey_row")
        .order_by(CancellationRequest.started_at.desc())
        .limit(100)
    )
    requests = []
    for req in rows:
        steps = wizard_steps.steps_for(req.product)
        where = (wizard_steps.first_incomplete(steps, req).title if req.is_open else None)
        survey = getattr(req, "survey_row", None)
        survey = survey if survey is not None and survey.id else None
        requests.append((req, where, survey))
    return render_template("success/index.html", requests=requests)

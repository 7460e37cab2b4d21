"""Customer Success: who is leaving, and where they stopped."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from ..cancel import steps as wizard_steps
from ..models import Account, CancellationRequest

bp = Blueprint("success", __name__, url_prefix="/success")


@bp.get("/")
@login_required
def index():
    """List the latest cancellation requests with their status and reason."""
    if not current_user.is_success_staff:
        abort(403, description="This page is for the Customer Success team.")
    rows = list(
        CancellationRequest.select(CancellationRequest, Account)
        .join(Account)
        .order_by(CancellationRequest.started_at.desc())
        .limit(100)
    )
    CancellationRequest.prefetch_answers(rows)
    requests = []
    for req in rows:
        steps = wizard_steps.steps_for(req.product)
        where = wizard_steps.first_incomplete(steps, req).title if req.is_open else None
        requests.append((req, where, req.survey()))
    return render_template("success/index.html", requests=requests)

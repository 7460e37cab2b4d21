"""Customer Success: who is leaving, and where they stopped."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from .. import steps as wizard_steps
from ..models import CancellationRequest

bp = Blueprint("success", __name__, url_prefix="/success")


@bp.get("/")
@login_required
def index():
    """List the latest cancellation requests with their status and reason."""
    if not current_user.is_success_staff:
        abort(403, description="This page is for the Customer Success team.")
    requests = [(req, wizard_steps.where_stopped(req), req.survey())
                for req in CancellationRequest.latest(100)]
    return render_template("success/index.html", requests=requests)

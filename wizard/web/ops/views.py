"""For operators and their probes: /healthz, /readyz and /metrics.

None needs a session and none shows anyone's data. /healthz answers while
the process runs, touching nothing; /readyz answers 200 only when the
database answers, its migrations are current and Redis answers, else 503
naming what is down; /metrics is Prometheus' text, behind METRICS_TOKEN
(a bearer token; production refuses to start without one).

The hooks open no database connection for these (hooks.WITHOUT_DATABASE):
each opens its own, so a database that is down is a 503 that says so.
"""
import hmac

from flask import Blueprint, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from wizard import clock, queue
from wizard.domain import operations
from wizard.store import migrations
from wizard.store.db import database
from wizard.web.ops import metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _database_state():
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1")
            return "ok" if migrations.is_current() else "migrations pending"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        current_app.logger.warning("readyz: the database does not answer: %s", exc)
        return "down"


@bp.get("/readyz")
def readyz():
    checks = {"database": _database_state(), "redis": "ok" if queue.reachable() else "down"}
    ready = all(state == "ok" for state in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def _require_token():
    expected = current_app.config["METRICS_TOKEN"]
    if not expected:
        return  # development: no token set, /metrics is open (production refuses to start so)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        abort(401, description="The metrics need the bearer token METRICS_TOKEN.")


def _state():
    with database.connection_context():
        figures = operations.figures(clock.now(), current_app.config["MAIL_MAX_ATTEMPTS"])
    return figures, queue.depth()


@bp.get("/metrics")
def metrics_page():
    _require_token()
    try:
        body = metrics.scrape(_state)
    except Exception as exc:  # noqa: BLE001 - the database is down: say so, don't 500
        current_app.logger.warning("metrics: cannot read the state: %s", exc)
        abort(503, description="The database does not answer; no metrics for now.")
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}

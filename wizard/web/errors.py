"""Every error as a page, or as the wizard panel for htmx, with its own title;
refused authorizations written to the audit log."""
from flask import current_app, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from peewee import InterfaceError, OperationalError

from wizard import clock
from wizard.refusals import NotAllowed, Refusal, StaleForm
from wizard.store.models import AuditEvent
from wizard.web import htmx, ratelimits
from wizard.web.auth import access
from wizard.web.extensions import login_manager

ERROR_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "This cannot be done now",
    413: "Too much sent",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Not available now",
}  # by status; a Refusal carries its own title

CSRF_MESSAGE = ("This form has expired or was not sent from this site. "
                "Please reload the page and try again. Nothing was changed.")


def register(app):
    """Register a handler for each kind of error."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(Refusal, refused)
    for code in (400, 401, 403, 404, 405, 409, 503):
        app.register_error_handler(code, http_error)
    app.register_error_handler(413, too_large)
    app.register_error_handler(429, too_many)
    app.register_error_handler(500, server_error)
    # The database went away mid-request (a restart): this request fails, cleanly.
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)


def render_error(code, message, title=None):
    """The error page (or panel, for htmx) with `code`, `message` and a title."""
    title = title or ERROR_TITLES.get(code, "Error")
    if htmx.wants_fragment():
        body = render_template("_error_panel.html", code=code, title=title, message=message)
        return htmx.fragment(body, status=code, title=title)
    body = render_template("error.html", code=code, title=title, message=message)
    return htmx.vary(current_app.make_response((body, code)))


def audit_refusal(code, message):
    """Write a refused authorization to the audit log: who, from where, what."""
    signed_in = current_user.is_authenticated
    AuditEvent.record("access.refused", current_user.account_id if signed_in else None,
                      current_user.id if signed_in else None, request.remote_addr,
                      clock.now(), status=code, method=request.method,
                      path=request.path[:300], reason=(message or "")[:300])


def csrf_error(exc):
    return render_error(400, CSRF_MESSAGE, title="This form has expired")


def refused(exc):
    """A domain function said no, having changed nothing."""
    if isinstance(exc, (NotAllowed, StaleForm)):  # someone else's, or a forged form
        audit_refusal(exc.status, str(exc))
    return render_error(exc.status, str(exc), exc.title)


def http_error(exc):
    code = exc.code
    if code == 403 or isinstance(exc, access.ForeignId):
        audit_refusal(code, exc.description)
    return render_error(code, exc.description)


def too_large(exc):
    size = current_app.config["MAX_CONTENT_LENGTH"] // 1024
    return render_error(413, f"The form sent more than {size:,} KB, far more than any form "
                             "here needs. Nothing was changed.")


def too_many(exc):
    """Raised by a rate limit before the view ran (wizard/web/ratelimits.py)."""
    wait = ratelimits.seconds_until_retry()
    current_app.logger.warning("Rate limit reached: %s %s from %s (%s)", request.method,
                               request.path[:300], request.remote_addr, exc.description)
    response = render_error(429, f"{exc.description} Please try again in "
                                 f"{ratelimits.wait_in_words(wait)}. Nothing was changed.")
    response.headers["Retry-After"] = str(wait)
    return response


def database_unavailable(exc):
    current_app.logger.error("The database failed during %s %s: %s", request.method,
                             request.path[:300], exc)
    # The hooks after this ask who is signed in; with the database gone,
    # asking would fail again. For the rest of this request nobody is (the
    # session is left as it is: the owner stays signed in for the next one).
    login_manager._update_request_context_with_user(None)
    message = "The service is unavailable for a moment. Please try again shortly. Nothing was changed."
    return render_template("unavailable.html", message=message), 503, {"Retry-After": "5"}


def server_error(exc):
    return render_error(500, "Please try again in a moment. Nothing was changed.")

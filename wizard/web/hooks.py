"""Every app-wide hook, registered in one place in the order Flask runs them.

Before each request, in this order:
  0. start_timing            note when it began (metrics)
  1. open_database           take a connection from the pool (not for the
                             operators' probes: WITHOUT_DATABASE)
  2. Flask-WTF's CSRFProtect refuse a POST without a valid token (400)
  3. signing.reuse_signed_token   hand Flask-WTF the token signed a minute ago
  4. flask-limiter           count a POST against its limits (429)
  5. invalid_forms.take_kept_fields   the answers and errors of a refused plain post
  6. end_idle_sessions       sign out a session unused for IDLE_SESSION_HOURS
  7. close_ended_accounts    an ended account reaches only Products and the way back
  8. form_input.refuse_unusable_forms   NUL, files, repeated or over-long fields (400)
After each request: signing.remember_signed_token, flask-limiter's, security_headers,
count_request (metrics: by endpoint and status, with its time).
On teardown: close_database.
Templates get the formatting filters and url_for (templating), the
cancellation banner, and in QA mode the QA clock's banner.

Flask-Login reads the signed-in user when a hook first asks for it
(wizard/web/auth/views.py load_user: reads.signed_in, one statement).
"""
import logging

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from wizard import clock, logs
from wizard.domain import qaclock, reactivation
from wizard.store.db import database
from wizard.web import form_input, invalid_forms, signing, templating
from wizard.web.auth import access
from wizard.web.ops import metrics
from wizard.web.extensions import csrf, htmx, limiter, login_manager

# No inline script or style anywhere: htmx reads its config from a <meta> tag
# and its indicator styles live in the stylesheet.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)

# What a closed account can still reach.
OPEN_WHEN_CLOSED = {
    "static", "index", "auth.login", "auth.logout",
    "billing.index", "billing.products", "billing.reactivate", "billing.closed",
    # Download your data: until the erasure, the data is still there to take.
    "billing.data", "billing.data_progress", "billing.prepare_data", "billing.download_data",
}

# Sent when the session cookie is secure (HTTPS): browsers then refuse plain
# HTTP to this host for two years.
STRICT_TRANSPORT_SECURITY = "max-age=63072000"

SEEN_AT_GRANULARITY = 300  # seconds between refreshes of the session's seen_at


def register(app):
    """Bind the extensions and register the hooks, in the order above."""
    app.before_request(start_timing)
    app.before_request(open_database)
    app.teardown_request(close_database)
    login_manager.init_app(app)
    csrf.init_app(app)
    signing.init_csrf_reuse(app)
    app.before_request(signing.reuse_signed_token)
    app.after_request(signing.remember_signed_token)
    htmx.init_app(app)
    limiter.init_app(app)
    templating.init_app(app)
    app.before_request(invalid_forms.take_kept_fields)
    app.before_request(end_idle_sessions)
    app.before_request(close_ended_accounts)
    app.before_request(form_input.refuse_unusable_forms)
    app.after_request(security_headers)
    app.after_request(count_request)
    app.context_processor(cancellation_banner)
    if app.config["WIZARD_QA"]:
        app.context_processor(qa_clock_banner)


REQUEST_LOG = logging.getLogger("wizard.requests")

# Open their own connection (wizard/web/ops/views.py): a probe must be
# answered, 200 or 503, whatever the database does.
WITHOUT_DATABASE = {"ops.healthz", "ops.readyz", "ops.metrics_page"}


def open_database():
    if request.endpoint not in WITHOUT_DATABASE:
        database.connect(reuse_if_open=True)


def is_signed_in():
    """Is someone signed in? Never asked for the operators' probes, which a
    session must not steer and whose answer must not need the database."""
    return request.endpoint not in WITHOUT_DATABASE and current_user.is_authenticated


def start_timing():
    """Note when the request began, and the id its log lines carry (wizard/logs.py)."""
    g.request_started = metrics.started()
    logs.use_id(logs.accepted_id(request.headers.get("X-Request-ID")))


def count_request(response):
    """Count and time the request (metrics), log it as one line, and hand its id back."""
    began = g.get("request_started", metrics.started())
    metrics.observe(request.endpoint, request.method, response.status_code, began)
    response.headers["X-Request-ID"] = logs.current_id() or ""
    REQUEST_LOG.info("%s %s %s", request.method, request.path[:300], response.status_code, extra={
        "method": request.method, "path": request.path[:300], "status": response.status_code,
        "duration_ms": round(metrics.elapsed_ms(began), 2),
        "user_id": current_user.id if is_signed_in() else None})
    return response


def close_database(exc):
    if not database.is_closed():
        database.close()


def end_idle_sessions():
    """Sign out a session left unused for longer than IDLE_SESSION_HOURS."""
    if not is_signed_in():
        return None
    now = clock.session_now()
    seen = session.get("seen_at")
    if seen is not None and now - seen > current_app.config["IDLE_SESSION_HOURS"] * 3600:
        logout_user()
        session.pop("seen_at", None)
        flash("You were signed out after a while without activity. Please sign in again.", "info")
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET"
                                else None), code=303)
    if seen is None or now - seen > SEEN_AT_GRANULARITY:
        # Refreshed now and then, not on every page: a cookie that changed on
        # every response would make Back onto a re-shown form miss the
        # browser's cache (its Vary: Cookie no longer matches).
        session["seen_at"] = now
    return None


def close_ended_accounts():
    """Once smrtPhone's paid period is over, the account reaches only Products,
    reactivation and the closed-account page."""
    phone = access.smrtphone_of(current_user) if is_signed_in() else None
    if phone is not None and phone.has_ended and request.endpoint not in OPEN_WHEN_CLOSED \
            and request.endpoint is not None:
        return redirect(url_for("billing.closed"), code=303)
    return None


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # frame-ancestors for browsers that read CSP, X-Frame-Options for those that don't.
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if request.endpoint != "static" and is_signed_in():
        # An account's pages must not outlive the session in a shared cache or the
        # browser's history: Back after signing out shows nothing of them. Form
        # errors are shown after a redirect (invalid_forms), so Back never lands
        # on a POST the browser would have to send again.
        response.headers["Cache-Control"] = "no-store"
    return response


def cancellation_banner():
    """The "Cancellation scheduled" banner of every page, while smrtPhone's is."""
    phone = access.smrtphone_of(current_user)
    if phone is None or not phone.is_cancellation_pending:
        return {"banner": None}
    # Offer the way back only while it is open (not past the deadline, say).
    can_reactivate = (current_user.is_owner
                      and reactivation.reactivation_for(phone, clock.now()).allowed)
    return {"banner": {"service_ends_at": phone.current_period_end,
                       "timezone": current_user.account.timezone,
                       "reactivate_url": url_for("billing.reactivate", subscription_id=phone.id),
                       "owner": current_user.is_owner,
                       "can_reactivate": can_reactivate}}


def qa_clock_banner():
    """What the QA clock's banner shows: nothing while the clock is not moved."""
    offset = clock.offset()
    if not offset:
        return {"qa_clock": None}
    return {"qa_clock": {"offset": qaclock.describe(offset), "now": clock.now()}}

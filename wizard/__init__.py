"""The smrtPhone cancellation wizard: a Flask app built by create_app()."""
import inspect
import os

from flask import Flask, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from wizard import clock, config, queue
from wizard.web import (
    csrf_tokens, form_input, htmx, invalid_forms, ratelimits, sessions, templating,
)
from wizard.store import db
from wizard.domain import qaclock
from wizard.store.models import AuditEvent
from .refusals import NotAllowed, Refusal, StaleForm
from wizard.web.extensions import csrf, htmx as htmx_ext, limiter, login_manager
from wizard.web.links import IdConverter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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

ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "This cannot be done now",
    413: "Too much sent",
    429: "Too many attempts",
    500: "Something went wrong",
}  # by status; a Refusal carries its own title


class WizardFlask(Flask):
    """Flask for an app whose views and hooks are all plain functions.

    Flask asks, on every request, whether each hook and the view is a
    coroutine function (some twenty inspections a page). None is here:
    create_app checks that once, at start-up, instead.
    """

    def ensure_sync(self, func):
        return func

    def check_no_coroutines(self):
        hooks = [self.view_functions.values()]
        for registry in (self.before_request_funcs, self.after_request_funcs,
                         self.teardown_request_funcs, self.url_value_preprocessors,
                         self.template_context_processors, self.url_default_functions):
            hooks += registry.values()
        hooks += [handlers.values() for by_code in self.error_handler_spec.values()
                  for handlers in by_code.values()]
        coroutines = [f for functions in hooks for f in functions
                      if inspect.iscoroutinefunction(f)]
        if coroutines:
            raise RuntimeError(f"async views and hooks are not supported here: {coroutines}")


def create_app(test_config=None):
    """Build the app: defaults, then the environment, then test overrides."""
    app = WizardFlask(
        __name__,
        instance_path=config.instance_path(),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    app.config.update(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    config.check_production(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = config.secret_key_file(app.instance_path)

    app.session_interface = sessions.RememberingSessionInterface()
    app.url_map.converters["id"] = IdConverter
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],
                                x_proto=app.config["PROXY_HOPS"])
    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    csrf_tokens.init_app(app)
    htmx_ext.init_app(app)
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = ratelimits.storage_uri(app.config["REDIS_URL"])
    limiter.init_app(app)
    templating.init_app(app)
    invalid_forms.init_app(app)
    queue.init(app.config["REDIS_URL"], app.config["DEPLOYMENT"])
    qaclock.follow(app.config["WIZARD_QA"])

    from wizard.web import auth, billing, calls, cancel, success
    from wizard.dev import cli

    app.register_blueprint(auth.bp)
    app.register_blueprint(billing.bp)
    app.register_blueprint(calls.bp)
    app.register_blueprint(cancel.bp)
    app.register_blueprint(success.bp)
    if app.config["WIZARD_QA"]:
        from wizard.web import qa

        app.register_blueprint(qa.bp)  # /qa/clock and the banner: QA mode only
    cli.init_app(app)

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return redirect(auth.views.home_for(current_user))

    form_input.init_app(app)  # NUL, files, repeated fields, over-long values: 400

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user.is_authenticated and request.endpoint != "static":
            # An account's pages must not outlive the session in a shared cache or the
            # browser's history: Back after signing out shows nothing of them. Form
            # errors are shown after a redirect (invalid_forms), so Back never lands
            # on a POST the browser would have to send again.
            response.headers["Cache-Control"] = "no-store"
        return response

    register_error_pages(app)
    app.check_no_coroutines()
    return app


def register_error_pages(app):
    """Render every error as a page, or as the wizard panel for htmx."""

    def render_error(code, message, title=None):
        title = title or ERROR_TITLES.get(code, "Error")
        if htmx.wants_fragment():
            body = render_template("_error_panel.html", code=code, title=title, message=message)
            return htmx.fragment(body, status=code, title=title)
        body = render_template("error.html", code=code, title=title, message=message)
        return htmx.vary(app.make_response((body, code)))

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(
            400, "This form has expired or was not sent from this site. "
                 "Please reload the page and try again. Nothing was changed.",
            title="This form has expired")

    def audit_refusal(code, message):
        """Write a refused authorization to the audit log: who, from where, what."""
        signed_in = current_user.is_authenticated
        AuditEvent.record("access.refused", current_user.account_id if signed_in else None,
                          current_user.id if signed_in else None, request.remote_addr,
                          clock.now(), status=code, method=request.method,
                          path=request.path[:300], reason=(message or "")[:300])

    @app.errorhandler(Refusal)
    def refused(exc):
        # A domain function said no, having changed nothing.
        if isinstance(exc, (NotAllowed, StaleForm)):  # someone else's, or a forged form
            audit_refusal(exc.status, str(exc))
        return render_error(exc.status, str(exc), exc.title)

    def error_page(exc, code):
        if code == 403 or (code == 404 and g.get("foreign_id")):
            audit_refusal(code, exc.description)
        return render_error(code, exc.description)

    for code in (400, 403, 404, 405, 409):
        app.register_error_handler(code, lambda exc, code=code: error_page(exc, code))

    @app.errorhandler(413)
    def too_large(exc):
        size = app.config["MAX_CONTENT_LENGTH"] // 1024
        return render_error(413, f"The form sent more than {size:,} KB, far more than any form "
                                 "here needs. Nothing was changed.")

    @app.errorhandler(429)
    def too_many(exc):
        # Raised by a rate limit before the view ran (wizard/ratelimits.py).
        wait = ratelimits.seconds_until_retry()
        app.logger.warning("Rate limit reached: %s %s from %s (%s)", request.method,
                           request.path[:300], request.remote_addr, exc.description)
        response = render_error(429, f"{exc.description} Please try again in "
                                     f"{ratelimits.wait_in_words(wait)}. Nothing was changed.")
        response.headers["Retry-After"] = str(wait)
        return response

    @app.errorhandler(500)
    def server_error(exc):
        return render_error(500, "Please try again in a moment. Nothing was changed.")

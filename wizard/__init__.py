"""The smrtPhone cancellation wizard: a Flask app built by create_app().

The layers, top to bottom (ARCHITECTURE.md): wizard/web (hooks, errors,
blueprints), wizard/domain (the product's rules), wizard/store (database,
models, reads); beside them the seams clock, config, queue and refusals,
and wizard/dev for developers. create_app puts them together.
"""
import os

from flask import Flask, redirect, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from wizard import config, files, logs, queue
from wizard.domain import qaclock
from wizard.store import db
from wizard.web import errors, hooks, ratelimits, signing
from wizard.web.links import IdConverter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config=None):
    """Build the app: defaults, then the environment, then test overrides."""
    app = Flask(__name__, instance_path=config.instance_path(),
                template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(ROOT, "static"))
    configure(app, test_config)
    connect(app)
    hooks.register(app)
    register_blueprints(app)
    errors.register(app)
    return app


def configure(app, test_config):
    """Settings: defaults and the environment, then `test_config`; refuse unsafe ones."""
    app.config.update(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    files.private_folder(app.instance_path)
    config.check_production(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = config.secret_key_file(app.instance_path)
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = ratelimits.storage_uri(app.config["REDIS_URL"])


def connect(app):
    """The request's plumbing and the services: proxies, sessions, database, Redis, clock."""
    app.session_interface = signing.RememberingSessionInterface()
    app.url_map.converters["id"] = IdConverter
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],
                                x_proto=app.config["PROXY_HOPS"])
    if not app.testing:  # under pytest, its own capture keeps the logs
        logs.configure()
    db.init_app(app)
    queue.init(app.config["REDIS_URL"], app.config["DEPLOYMENT"])
    qaclock.follow(app.config["WIZARD_QA"])


def register_blueprints(app):
    """One blueprint per area (the QA clock's in QA mode only), the CLI, and `/`."""
    from wizard.dev import cli
    from wizard.web import auth, billing, calls, cancel, ops, success

    for area in (auth, billing, calls, cancel, ops, success):
        app.register_blueprint(area.bp)
    if app.config["WIZARD_QA"]:
        from wizard.web import qa

        app.register_blueprint(qa.bp)  # /qa/clock: QA mode only
    cli.init_app(app)

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return redirect(auth.views.home_for(current_user))

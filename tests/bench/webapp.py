"""The web benchmark's WSGI application (never part of the product).

`application` serves the wizard as create_app() builds it from the
environment, and under /bare a bare Flask page: a template of the same size
as a wizard step (BENCH_BARE_BYTES), no database, no sign-in. One gunicorn
serves both, so the two are measured the same way in the same run.

    gunicorn -w 2 tests.bench.webapp:application
"""
import os

from flask import Blueprint, Flask, render_template
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from wizard import create_app

# Each rendered line of bare.html is about this many bytes.
BARE_LINE_BYTES = 85

bare_bp = Blueprint("bare", __name__, template_folder="templates")


@bare_bp.get("/")
def page():
    lines = max(1, int(os.environ.get("BENCH_BARE_BYTES", "5000")) // BARE_LINE_BYTES)
    return render_template("bare.html", lines=lines)


def create_bare_app():
    bare = Flask(__name__)
    bare.register_blueprint(bare_bp)
    return bare


application = DispatcherMiddleware(create_app(), {"/bare": create_bare_app()})

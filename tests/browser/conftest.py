"""Browser tests: Playwright driving Debian's Chromium against a live server.

The server is the real app on a free port, on a SQLite file of its own.
Without /usr/bin/chromium these tests are skipped loudly, except under
CI=true, where they fail (.ci/run installs Chromium).
"""
import os
import shutil
import threading
import warnings

import pytest
from werkzeug.serving import make_server

from tests.conftest import TEST_PASSWORD_METHOD
from wizard import clock, create_app, migrations
from wizard.db import database, init_database
from wizard.demo import seed_demo

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: browser tests cannot run (apt-get install chromium)."
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        warnings.warn(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(request, tmp_path, redis_url):
    """Serve a freshly seeded app (in QA mode with @pytest.mark.qa_mode); yield its base URL."""
    url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    db = init_database(url)
    with db.connection_context():
        migrations.migrate(db)
        seed_demo(str(tmp_path / "recordings"), password_method=TEST_PASSWORD_METHOD,
                  call_logs=40, recordings=6, invoices=3, past_call=False)
    app = create_app({"SECRET_KEY": "browser-tests", "DATABASE_URL": url, "REDIS_URL": redis_url,
                      "RECORDINGS_DIR": str(tmp_path / "recordings"),
                      "OUTBOX_DIR": str(tmp_path / "outbox"),
                      "PASSWORD_HASH_METHOD": TEST_PASSWORD_METHOD,
                      "WIZARD_QA": request.node.get_closest_marker("qa_mode") is not None})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    clock.use_offset(None)  # a QA-mode server's offset ends with its test
    if not database.is_closed():
        database.close()


@pytest.fixture(params=["javascript", "no-javascript"])
def page(request, chromium):
    context = chromium.new_context(java_script_enabled=request.param == "javascript")
    page = context.new_page()
    page.javascript = request.param == "javascript"
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.on("console", lambda msg: page.problems.append(msg.text)
            if msg.type == "error" and "status of 4" not in msg.text else None)
    yield page
    context.close()

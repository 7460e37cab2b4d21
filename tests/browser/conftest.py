"""Browser tests: Playwright driving Debian's Chromium against a live server.

Without E2E_BASE_URL the server is the real app on a free port, on a SQLite
file of its own, seeded with the demo data. With E2E_BASE_URL (what
`BASE_URL=... make e2e` sets) the journeys run against that server instead,
and those marked `needs_db` (they read or write the app's database directly)
are skipped with the reason. tests/browser/README.md is the guide.

Without /usr/bin/chromium these tests are skipped loudly, except under
CI=true, where they fail (.ci/run installs Chromium).

On failure a test leaves a screenshot, the page's HTML and a Playwright trace
in test-results/<test name>/; every journey's pages go to test-results/gallery/.
"""
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
import warnings
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.browser.layout import LayoutWatch
from tests.conftest import TEST_PASSWORD_METHOD
from wizard import ROOT, clock, create_app
from wizard.store import migrations
from wizard.store.db import database, init_database
from wizard.dev.demo import seed_demo

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
# Not BASE_URL itself: the app reads BASE_URL for its email links, and a
# shell that exports it for `make run` must not turn `make test` against it.
BASE_URL = os.environ.get("E2E_BASE_URL", "").rstrip("/")
RESULTS = os.path.join(ROOT, "test-results")
GALLERY = os.path.join(RESULTS, "gallery")
# One line per page checked: journey, mode, number, step, path, axe's passed
# and violated rules (tab-separated), so a run's accessibility can be read at a glance.
AXE_LOG = os.path.join(GALLERY, "axe-results.tsv")
AXE = os.path.join(ROOT, ".venv", "node", "node_modules", "axe-core", "axe.min.js")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}
BROWSER_DIR = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_db: the journey reads or writes the app's database itself (or needs "
                   "a freshly seeded demo), so it runs on a server of its own (`live_server`); "
                   "skipped when the suite runs against E2E_BASE_URL")


def pytest_collection_modifyitems(config, items):
    if not BASE_URL:
        return
    skip = pytest.mark.skip(reason=f"needs_db: needs the app's database or a fresh demo, which a "
                                   f"run against {BASE_URL} cannot have (run without BASE_URL)")
    for item in items:
        if str(item.path).startswith(BROWSER_DIR) and (
                "needs_db" in item.keywords or "live_server" in getattr(item, "fixturenames", ())):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures know it failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def failed(node):
    return any(getattr(node, f"report_{when}", None) is not None
               and getattr(node, f"report_{when}").failed for when in ("setup", "call"))


def results_dir(node):
    """test-results/<test name>/, the name made safe for a folder."""
    return os.path.join(RESULTS, re.sub(r"[^\w.-]+", "-", node.name).strip("-"))


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: browser tests cannot run (apt-get install chromium)."
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        warnings.warn(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # A fresh gallery per run, so a page that is gone is not reviewed.
    shutil.rmtree(GALLERY, ignore_errors=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source():
    if not os.path.exists(AXE):
        message = f"axe-core not installed at {AXE} (make install installs it with npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with open(AXE) as f:
        return f.read()


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


@pytest.fixture(scope="session")
def _reachable_base_url():
    try:
        urllib.request.urlopen(BASE_URL + "/auth/login", timeout=10).close()
    except (urllib.error.URLError, OSError) as exc:
        pytest.exit(f"E2E_BASE_URL={BASE_URL} does not answer ({exc}); is `make run` running?",
                    returncode=3)
    return BASE_URL


@pytest.fixture
def base_url(request):
    """Where the journey runs: E2E_BASE_URL, or a live server of its own."""
    if BASE_URL:
        return request.getfixturevalue("_reachable_base_url")
    return request.getfixturevalue("live_server")


def open_context(chromium, **options):
    """A browser context that records a trace, kept only if the test fails."""
    context = chromium.new_context(**options)
    # DOM snapshots of every action, without the screencast: the screencast
    # made the journeys a third slower, snapshots cost about a tenth.
    context.tracing.start(snapshots=True)
    return context


def close_context(request, context, also_failed=False):
    """Keep the pages and the trace of a test that failed (or whose layout
    did: `also_failed`); forget those of one that passed."""
    if failed(request.node) or also_failed:
        folder = results_dir(request.node)
        os.makedirs(folder, exist_ok=True)
        for n, page in enumerate(context.pages, start=1):
            suffix = "" if n == 1 else f"-{n}"
            try:
                page.screenshot(path=os.path.join(folder, f"screenshot{suffix}.png"), full_page=True)
                with open(os.path.join(folder, f"page{suffix}.html"), "w") as f:
                    f.write(page.content())
            except Exception as exc:  # a crashed page must not hide the test's own failure
                warnings.warn(f"could not save the page of {request.node.name}: {exc}")
        context.tracing.stop(path=os.path.join(folder, "trace.zip"))
    else:
        context.tracing.stop()
        # A folder left by an earlier failure would say this test fails.
        shutil.rmtree(results_dir(request.node), ignore_errors=True)
    context.close()


@pytest.fixture(params=["javascript", "no-javascript"])
def page(request, chromium):
    """A tab, with JavaScript or without, whose every view is held to the
    layout rules (layout.py): the test fails at its end if one broke."""
    javascript = request.param == "javascript"
    # What an earlier run left would be mistaken for this run's.
    shutil.rmtree(results_dir(request.node), ignore_errors=True)
    context = open_context(chromium, java_script_enabled=javascript)
    page = context.new_page()
    page.javascript = javascript
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.on("console", lambda msg: page.problems.append(msg.text)
            if msg.type == "error" and "status of 4" not in msg.text else None)
    page.layout = LayoutWatch(page, results_dir(request.node))
    page.layout.install(context)
    yield page
    broken = page.layout.report()
    close_context(request, context, also_failed=bool(broken))
    if broken:
        pytest.fail(broken, pytrace=False)


class Journey:
    """Looks at every page a journey reaches: axe-core finds no violation,
    the page fits the screen's width when the journey set one, and a
    screenshot goes to the gallery as <journey>-<js|nojs>-NN-<step>.png.

    axe-core checks a copy: the page's HTML (as it is now, after any htmx
    swap) is served at its own URL to a second tab that has JavaScript and
    the same screen size, with the same stylesheet. Run in the page itself,
    axe could not run without JavaScript, and with it the page's CSP blocks
    the inline styles axe sets (and reports them as errors)."""

    def __init__(self, request, page, axe_source, chromium):
        self.request, self.page, self.axe_source, self.chromium = request, page, axe_source, chromium
        self.name = request.node.originalname.removeprefix("test_")
        self.mode = "js" if page.javascript else "nojs"
        self.count = 0
        self.width = None
        self._inspector = None

    def on_phone(self):
        self.page.set_viewport_size(PHONE)
        self.width = PHONE["width"]

    def saw(self, step):
        """Check the page now shown, called `step` in the gallery."""
        self.count += 1
        label = f"{self.name} ({self.mode}) page {self.count}, {step}"
        found, passed = self.axe_violations()
        os.makedirs(GALLERY, exist_ok=True)
        with open(AXE_LOG, "a") as log:
            log.write("\t".join([self.name, self.mode, f"{self.count:02d}", step,
                                 urlsplit(self.page.url).path, str(passed), str(len(found))]) + "\n")
        assert found == [], f"{label}: axe-core found {found}"
        # The page fixture's watch looks at every view; the gallery's pages
        # are looked at here once more, as they are now, so a failure stops
        # the journey where it is seen.
        self.page.layout.check(f"gallery page {step}")
        assert not self.page.layout.failures, f"{label}:\n{self.page.layout.report()}"
        os.makedirs(GALLERY, exist_ok=True)
        self.page.screenshot(path=os.path.join(
            GALLERY, f"{self.name}-{self.mode}-{self.count:02d}-{step}.png"), full_page=True)
        # The screenshot leaves style="" on some inputs; htmx would copy it onto
        # the next swap's inputs and the CSP would (rightly) refuse and log it.
        self.page.evaluate("document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))")

    def axe_violations(self):
        url, html = self.page.url, self.page.content()
        target = self.inspector()
        target.set_viewport_size(self.page.viewport_size)
        target.route(lambda u: u == url, lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html))
        target.goto(url)
        target.unroute_all()
        result = target.evaluate("""async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
            return {passes: r.passes.length, violations: r.violations.map(v => ({id: v.id,
                help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))};
        }""", AXE_TAGS)
        assert result["passes"] > 5, "axe did not really run"
        return result["violations"], result["passes"]

    def inspector(self):
        if self._inspector is None:
            self._context = self.chromium.new_context(java_script_enabled=True)
            self._context.add_init_script(self.axe_source)
            self._inspector = self._context.new_page()
        return self._inspector

    def close(self):
        if self._inspector is not None:
            self._context.close()


@pytest.fixture
def journey(request, page, axe_source, chromium):
    journey = Journey(request, page, axe_source, chromium)
    yield journey
    journey.close()

"""`make bench-pages`: each wizard step and Products in one process, with no
HTTP server: where the web benchmark's figures come from, in seconds.

The same setup as tests/bench/web.py (demo data, production settings, the
Acme owner signed in and walked to the last step), served by Flask's test
client; beside it the bare page of the web benchmark, rendered the same way.
For SQLite and, when one can be found, PostgreSQL, prints per page:

  page_<name>_ms_<db>          milliseconds a request (the best of 5 rounds of
                               100: the machine is shared, the best round is
                               the least disturbed)
  page_<name>_statements_<db>  the SQL statements it runs
  bare_page_ms                 the bare page

`python -m tests.bench.pages --profile /cancel/1/survey` also prints
cProfile's 40 costliest calls of that page (SQLite).
"""
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time

from flask import Flask, render_template

from tests.support import postgres
from tests.bench import web
from tests.bench.seed import statements
from wizard import ROOT, clock, create_app
from wizard.store.db import close_pool

ROUNDS, REQUESTS = 5, 100


def best_ms(get):
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(REQUESTS):
            get()
        best = min(best, (time.perf_counter() - started) / REQUESTS * 1000)
    return best


def owner_client(url, folder):
    key = "k" * 40
    cookie, sub_id, page_bytes = web.prepare(url, folder, key)
    app = create_app(web.settings(url, folder, key))
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = web.BROWSER
    client.set_cookie("session", cookie)
    pages = {name: f"/cancel/{sub_id}/{name}" for name in web.STEP_NAMES}
    pages["products"] = "/billing/products"
    for path in pages.values():
        status = client.get(path).status_code
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}, not 200")
    return client, pages, page_bytes


def measure(url, label, folder):
    client, pages, page_bytes = owner_client(url, folder)
    lines = []
    try:
        for name, path in pages.items():
            lines.append(f"page_{name}_ms_{label}={best_ms(lambda: client.get(path)):.2f}")
            lines.append(f"page_{name}_statements_{label}={statements(lambda: client.get(path))}")
    finally:
        close_pool()
    return lines, page_bytes


def bare_ms(page_bytes):
    bare = Flask("bare", template_folder=os.path.join(ROOT, "tests", "bench", "templates"))
    lines = max(1, page_bytes // 85)  # as tests/bench/webapp.py sizes it
    bare.add_url_rule("/", "page", lambda: render_template("bare.html", lines=lines))
    client = bare.test_client()
    return best_ms(lambda: client.get("/"))


def profile(path, folder):
    client, _, _ = owner_client(f"sqlite:///{folder}/profile.sqlite3", folder)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(300):
        client.get(path)
    profiler.disable()
    close_pool()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main(argv):
    clock.FROZEN = None
    os.environ["WIZARD_QA"] = "0"
    folder = tempfile.mkdtemp(prefix="wizard-bench-pages-")
    server = None
    try:
        if argv[:1] == ["--profile"]:
            return profile(argv[1], folder)
        lines, page_bytes = measure(f"sqlite:///{folder}/pages.sqlite3", "sqlite", folder)
        server = postgres.find_or_start()
        if server is not None:
            lines += measure(server.url, "postgres", folder)[0]
        lines.append(f"bare_page_ms={bare_ms(page_bytes):.2f}")
        print("\n".join(lines))
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])

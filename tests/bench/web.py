"""`make bench-web`: the wizard's pages under gunicorn, beside a bare Flask page.

For SQLite (WAL) and, when one can be found, PostgreSQL: a fresh database
with the demo data, the Acme owner signed in and walked to the wizard's last
step (every step's GET then answers 200 and changes nothing), gunicorn with
2 workers and the production settings (WIZARD_ENV=production, a random
SECRET_KEY) serving tests.bench.webapp: the wizard, and under /bare a page
rendered from a template of the same size with no database and no sign-in.
wrk (Debian's package) then runs 20 connections for 10 s on the bare page,
each wizard step and Products, the bare page again, and 50 connections for
60 s over all the owner's pages at once (BENCH_WEB_SECONDS and
BENCH_WEB_LONG_SECONDS shorten a trial run).

In this process, on SQLite: the median sign-in time with a known and an
unknown email (both with a wrong password; the app's scrypt hashes), and
step 1 for an account with 1,000,000 call logs and 100,000 recordings
against step 1 for the demo account.

Ends with name=value lines:
  step_vs_bare_ratio      the slowest step's req/s / the bare page's (20 connections)
  products_vs_bare_ratio  Products' req/s / the bare page's
  step_p99_ms             the slowest step's 99th percentile latency (20 connections)
  errors_50c              non-2xx/3xx responses and socket errors, 50 connections
  fragment_max_kb         the largest htmx fragment of a step
  first_page_kb           step 1 as a first visit: HTML, CSS and JavaScript, gzipped
  login_timing_ratio      median sign-in time, known email / unknown email
  step_big_vs_small_ratio median step 1 time, the big account / the demo account
With PostgreSQL each figure is the worse of the two databases; the lines
before them give each database's own (`..._sqlite`, `..._postgres`).
"""
import gzip
import http.client
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from werkzeug.security import generate_password_hash

from tests.support import postgres
from tests.bench.seed import fresh_schema, log, seed_big_account
from tests.support.processes import GUNICORN_CONF, free_port, stop
from tests.support.redis_server import PrivateRedis
from wizard import ROOT, clock, create_app
from wizard.domain import policy
from wizard.store.db import close_pool, init_database
from wizard.dev.demo import create_account, ensure_plans, seed_demo
from wizard.store.models import Product, Subscription
from wizard.domain.steps import steps_for

STEP_NAMES = [s.name for s in steps_for(Product.SMRTPHONE)]
ANSWERS = {
    "consequences": {},
    "acknowledge": {s.key: "y" for s in policy.SMRTPHONE_STATEMENTS},
    "survey": {"reason": "too_expensive", "comment": "Budget cuts this quarter."},
    "options": {"choice": "none"},
}
SECONDS = int(os.environ.get("BENCH_WEB_SECONDS", "10"))
LONG_SECONDS = int(os.environ.get("BENCH_WEB_LONG_SECONDS", "60"))
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
REQUEST_ID = re.compile(r'name="request_id" type="hidden" value="(\d*)"')
FAST_HASH = "pbkdf2:sha256:1000"
# The owner's browser: signed in and then replayed by wrk with the same
# User-Agent, as a browser sends it. Flask-Login ties a session to the IP and
# User-Agent it signed in from; a request from another User-Agent is a
# suspicious one, marked not fresh with its cookie written again, which no
# owner's browser causes.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) wizard-bench"


def settings(url, folder, secret_key):
    return {"DATABASE_URL": url, "SECRET_KEY": secret_key,
            "RECORDINGS_DIR": os.path.join(folder, "recordings"),
            "OUTBOX_DIR": os.path.join(folder, "outbox"),
            # Sign-in is timed here, not limited (a no-op without Flask-Limiter).
            "RATELIMIT_ENABLED": False}


def sign_in(client, email, password):
    token = TOKEN.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    response = client.post("/auth/login", data={"email": email, "password": password,
                                                "csrf_token": token})
    return response


def walk_to_confirm(client, sub_id):
    """Answer steps 1 to 4 as the owner, so that every step's GET is a 200."""
    for name in STEP_NAMES[:-1]:
        page = client.get(f"/cancel/{sub_id}/{name}").get_data(as_text=True)
        form = dict(ANSWERS[name], csrf_token=TOKEN.search(page).group(1),
                    request_id=REQUEST_ID.search(page).group(1))
        response = client.post(f"/cancel/{sub_id}/{name}", data=form)
        assert response.status_code == 303, (name, response.status_code)


def prepare(url, folder, secret_key):
    """The demo data and a signed-in owner at the last step; return (cookie, sub id, step bytes)."""
    db = init_database(url)
    with db.connection_context():
        fresh_schema(db)
        seed_demo(os.path.join(folder, "recordings"), password_method=FAST_HASH)
    db.close()
    app = create_app(settings(url, folder, secret_key))
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    assert sign_in(client, "owner@acme.test", "owner-pass").status_code == 303
    with app.app_context():
        sub_id = Subscription.get(Subscription.product == Product.SMRTPHONE).id
    walk_to_confirm(client, sub_id)
    step_bytes = len(client.get(f"/cancel/{sub_id}/{STEP_NAMES[0]}").data)
    cookie = client.get_cookie("session").value
    close_pool()
    return cookie, sub_id, step_bytes


class Server:
    """gunicorn, 2 sync workers, the production settings, on a free port."""

    def __init__(self, url, folder, secret_key, redis_url, bare_bytes):
        self.port = free_port()
        env = dict(os.environ, WIZARD_ENV="production", WIZARD_DEPLOYMENT="bench-web",
                   ALLOW_INSECURE_COOKIE="1",  # plain HTTP on 127.0.0.1
                   METRICS_TOKEN=secret_key[:32],
                   SECRET_KEY=secret_key, DATABASE_URL=url,
                   ALLOW_SQLITE_IN_PRODUCTION="1", REDIS_URL=redis_url, WIZARD_INSTANCE=folder,
                   RECORDINGS_DIR=os.path.join(folder, "recordings"),
                   OUTBOX_DIR=os.path.join(folder, "outbox"), BENCH_BARE_BYTES=str(bare_bytes),
                   PYTHONPATH=ROOT)
        for name in ("WIZARD_CLOCK_AT", "WIZARD_CLOCK_OFFSET_DAYS"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONF, "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "tests.bench.webapp:application"], cwd=ROOT, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.get("/bare/")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise SystemExit("gunicorn did not start")
                time.sleep(0.2)

    def get(self, path, headers=None):
        return self.response(path, headers)[:2]

    def response(self, path, headers=None):
        """(status, body, headers) of a GET."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read(), response.headers
        finally:
            connection.close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        stop(self.process, 15)


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]


def wrk(url, connections, seconds, cookie=None, script=None):
    """Run wrk; return req/s, p50 ms, p99 ms and errors (socket errors, non-2xx/3xx)."""
    command = ["wrk", "--threads", "1", "--connections", str(connections),
               "--duration", f"{seconds}s", "--latency", "--timeout", "5s"]
    if cookie:
        command += ["--header", f"Cookie: session={cookie}", "--header", f"User-Agent: {BROWSER}"]
    if script:
        command += ["--script", script]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", out, re.M))
    if set(latency) != {"50", "99"}:
        raise SystemExit(f"cannot read wrk's latencies:\n{out}")
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = (sum(int(n) for n in socket.groups()) if socket else 0) + (
        int(non_2xx.group(1)) if non_2xx else 0)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _ms(latency["50"]), "p99": _ms(latency["99"]), "errors": errors}


def rotation_script(folder, paths):
    """A wrk script that asks for each of `paths` in turn."""
    script = os.path.join(folder, "rotate.lua")
    quoted = ", ".join(f'"{p}"' for p in paths)
    with open(script, "w") as f:
        f.write(f"local paths = {{{quoted}}}\nlocal i = 0\n"
                "request = function()\n  i = i % #paths + 1\n"
                "  return wrk.format(\"GET\", paths[i])\nend\n")
    return script


def bench_web(url, label, redis_url):
    """Serve one database with gunicorn and measure it; return its figures."""
    folder = tempfile.mkdtemp(prefix="wizard-bench-web-")
    secret_key = secrets.token_hex(32)
    try:
        log(f"web on {label}: demo data, the owner walked to the last step ...")
        cookie, sub_id, step_bytes = prepare(url, folder, secret_key)
        server = Server(url, folder, secret_key, redis_url, bare_bytes=step_bytes)
        try:
            return measure(server, folder, cookie, sub_id, label)
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(server, folder, cookie, sub_id, label):
    signed_in = {"Cookie": f"session={cookie}", "User-Agent": BROWSER}
    pages = {name: f"/cancel/{sub_id}/{name}" for name in STEP_NAMES}
    pages["products"] = "/billing/products"
    for name, path in pages.items():
        status, body, headers = server.response(path, signed_in)
        if status != 200:
            raise SystemExit(f"{label}: GET {path} answered {status}, not 200")
        if "Set-Cookie" in headers:
            # A browser's repeated views write no cookie; one that did would
            # be measuring a session Flask-Login found suspicious.
            raise SystemExit(f"{label}: GET {path} wrote the session cookie again")
    status, bare_body = server.get("/bare/")
    step_status, step_body = server.get(pages[STEP_NAMES[0]], signed_in)
    log(f"  bare page {len(bare_body)} bytes, step 1 {len(step_body)} bytes")

    fragments = []
    for name in STEP_NAMES:
        status, body = server.get(pages[name], dict(signed_in, **{
            "HX-Request": "true", "HX-Target": "wizard-panel", "HX-Current-URL": server.url("/")}))
        assert status == 200 and b"<html" not in body, (name, status)
        fragments.append(len(body))
    first_page = sum(len(gzip.compress(body)) for body in (
        step_body, server.get("/static/app.css")[1], server.get("/static/htmx-2.0.11.min.js")[1]))

    results = {"bare_1": wrk(server.url("/bare/"), 20, SECONDS)}
    for name, path in pages.items():
        results[name] = wrk(server.url(path), 20, SECONDS, cookie)
    results["bare_2"] = wrk(server.url("/bare/"), 20, SECONDS)
    for name, r in results.items():
        log(f"  {name}: {r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
            f"errors {r['errors']}")
    log(f"  50 connections for {LONG_SECONDS}s over every page ...")
    long = wrk(server.url("/"), 50, LONG_SECONDS, cookie,
               script=rotation_script(folder, list(pages.values())))
    log(f"  50 connections: {long['rps']:.0f} req/s, p99 {long['p99']:.1f} ms, "
        f"errors {long['errors']}")

    bare = max(results["bare_1"]["rps"], results["bare_2"]["rps"])
    slowest = min(STEP_NAMES, key=lambda name: results[name]["rps"])
    return {
        "bare_rps": bare,
        "slowest_step_rps": results[slowest]["rps"],
        "products_rps": results["products"]["rps"],
        "step_vs_bare_ratio": results[slowest]["rps"] / bare,
        "products_vs_bare_ratio": results["products"]["rps"] / bare,
        "step_p99_ms": max(results[name]["p99"] for name in STEP_NAMES),
        "errors_20c": sum(r["errors"] for r in results.values()),
        "errors_50c": long["errors"],
        "fragment_max_kb": max(fragments) / 1024,
        "first_page_kb": first_page / 1024,
    }


def median_ms(client, path, rounds):
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(timings)


def bench_login_timing(folder):
    """Median sign-in time, known email / unknown email, with the app's own hash."""
    url = f"sqlite:///{folder}/login.sqlite3"
    db = init_database(url)
    with db.connection_context():
        fresh_schema(db)
        seed_demo(os.path.join(folder, "recordings"), password_method="scrypt",
                  call_logs=10, recordings=2, invoices=1, past_call=False)
    db.close()
    app = create_app(dict(settings(url, folder, secrets.token_hex(32)),
                          PASSWORD_HASH_METHOD="scrypt"))
    client = app.test_client()
    token = TOKEN.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    timings = {"known": [], "unknown": []}
    for i in range(41):
        for kind, email in (("known", "owner@acme.test"), ("unknown", f"nobody{i}@acme.test")):
            started = time.perf_counter()
            response = client.post("/auth/login", data={"email": email, "password": "wrong-pass",
                                                          "csrf_token": token})
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 422, (kind, response.status_code)
            if i:  # the first round warms up (the dummy hash is made once)
                timings[kind].append(elapsed)
    close_pool()
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    log(f"sign-in: known email {known:.1f} ms, unknown email {unknown:.1f} ms (medians)")
    return known / unknown


def bench_big_vs_small(folder):
    """Step 1 for an account with 1,000,000 call logs and 100,000 recordings,
    against step 1 for the demo account, in this process (SQLite)."""
    url = f"sqlite:///{folder}/big.sqlite3"
    recordings = os.path.join(folder, "recordings")
    db = init_database(url)
    with db.connection_context():
        fresh_schema(db)
        seed_demo(recordings, password_method=FAST_HASH)
        big = create_account("Big Co", "owner@big.test",
                             lambda e: generate_password_hash("owner-pass", method=FAST_HASH),
                             ensure_plans(), owner_name="Big Owner", crm_name="Follow Up Boss",
                             credit_cents=100)
        started = time.perf_counter()
        seed_big_account(db, big.id, recordings, clock.now(), call_logs=1_000_000,
                         recordings=100_000, billing=10_000)
        log(f"step 1 of a big account: seeded in {time.perf_counter() - started:.1f}s")
        phones = {s.account_id: s.id for s in Subscription.select().where(
            Subscription.product == Product.SMRTPHONE)}
    db.close()
    app = create_app(settings(url, folder, secrets.token_hex(32)))
    small_client, big_client = app.test_client(), app.test_client()
    assert sign_in(small_client, "owner@acme.test", "owner-pass").status_code == 303
    assert sign_in(big_client, "owner@big.test", "owner-pass").status_code == 303
    small_path = f"/cancel/{min(phones.values())}/consequences"
    big_path = f"/cancel/{phones[big.id]}/consequences"
    cold_small = median_ms(small_client, small_path, 1)
    cold_big = median_ms(big_client, big_path, 1)  # counts the big account once
    small, big_ms = [], []
    for _ in range(5):  # interleaved, so a busy moment of the machine hits both
        small.append(median_ms(small_client, small_path, 40))
        big_ms.append(median_ms(big_client, big_path, 40))
    close_pool()
    small_ms, big_med = statistics.median(small), statistics.median(big_ms)
    log(f"  step 1: demo account {small_ms:.2f} ms, big account {big_med:.2f} ms "
        f"(first views, counting: {cold_small:.1f} ms and {cold_big:.1f} ms)")
    return big_med / small_ms, small_ms, big_med, cold_big


def main():
    clock.FROZEN = None
    if shutil.which("wrk") is None:
        raise SystemExit("make bench-web needs wrk (apt-get install wrk; `make bench-web` does it)")
    folder = tempfile.mkdtemp(prefix="wizard-bench-")
    redis = PrivateRedis(folder)
    server = postgres.find_or_start()
    lines, per_db = [], {}
    try:
        per_db["sqlite"] = bench_web(f"sqlite:///{folder}/web.sqlite3", "SQLite", redis.url)
        if server is not None:
            per_db["postgres"] = bench_web(server.url, "PostgreSQL", redis.url)
        else:
            log("no PostgreSQL found: the web figures are SQLite's alone")
        login_ratio = bench_login_timing(folder)
        big_ratio, small_ms, big_ms, cold_big = bench_big_vs_small(folder)
    finally:
        if server is not None:
            server.close()
        redis.stop()
        shutil.rmtree(folder, ignore_errors=True)

    for db_name, figures in per_db.items():
        for name, value in figures.items():
            lines.append(f"{name}_{db_name}={value:.2f}" if isinstance(value, float)
                         else f"{name}_{db_name}={value}")
    lines += [f"step1_small_ms={small_ms:.2f}", f"step1_big_ms={big_ms:.2f}",
              f"step1_big_first_view_ms={cold_big:.1f}"]
    worst = {
        "step_vs_bare_ratio": min(f["step_vs_bare_ratio"] for f in per_db.values()),
        "products_vs_bare_ratio": min(f["products_vs_bare_ratio"] for f in per_db.values()),
        "step_p99_ms": max(f["step_p99_ms"] for f in per_db.values()),
        "errors_50c": sum(f["errors_50c"] for f in per_db.values()),
        "fragment_max_kb": max(f["fragment_max_kb"] for f in per_db.values()),
        "first_page_kb": max(f["first_page_kb"] for f in per_db.values()),
    }
    lines += [f"step_vs_bare_ratio={worst['step_vs_bare_ratio']:.2f}",
              f"products_vs_bare_ratio={worst['products_vs_bare_ratio']:.2f}",
              f"step_p99_ms={worst['step_p99_ms']:.1f}",
              f"errors_50c={worst['errors_50c']}",
              f"fragment_max_kb={worst['fragment_max_kb']:.1f}",
              f"first_page_kb={worst['first_page_kb']:.1f}",
              f"login_timing_ratio={login_ratio:.2f}",
              f"step_big_vs_small_ratio={big_ratio:.2f}"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""`make soak`: the app as deployed (gunicorn with 2 workers, `rq worker` with
its scheduler, `rq cron` sweeping every 20 s) for SOAK_SECONDS (600), in QA
mode so that the clock can move, while:

- owners walk the wizard, then keep the account or confirm (and, later,
  reactivate while they still may);
- a Customer Success member reads the requests, the insights, the calls and
  the CSV export;
- an owner books a call, moves it and cancels it, again and again;
- the QA clock moves 3 days forward every minute, so that services end,
  reminders fall due and, late in the run, purges run.

Then it lets the worker and the sweep finish what is due and prints:

  soak_requests        requests sent
  soak_5xx             answers of 500 or more (target 0)
  soak_rss_growth_pct  the larger of the two gunicorn workers' RSS growth, from
                       a fifth into the run (minute 2 of 10) to the end (target <= 10)
  soak_lost_jobs       purges or emails due and not done at the end (target 0)

On PostgreSQL when one is found (as the tests find it), else SQLite; a
private Redis. Not part of `make test`: it takes ten minutes. SOAK_KEEP=1
keeps its folder (the processes' log, the outbox) for a look afterwards;
SOAK_STAFF=0 leaves the Customer Success reader out.
"""
import http.cookiejar
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from werkzeug.security import generate_password_hash

from tests.bench.web import ANSWERS, FAST_HASH, STEP_NAMES
from tests.support import postgres
from tests.support.processes import gunicorn, stop
from tests.support.redis_server import PrivateRedis
from wizard import ROOT, clock
from wizard.dev.demo import create_account, ensure_plans, seed_demo
from wizard.domain import qaclock
from wizard.store import migrations
from wizard.store.db import init_database
from wizard.store.models import OutboxMessage, Product, PurgeSchedule, Subscription

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
STAFF = os.environ.get("SOAK_STAFF", "1") != "0"  # 0: no Customer Success reader (to see what it costs)
OWNERS = 12  # accounts the wizard walkers take turns with
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
REQUEST_ID = re.compile(r'name="request_id" type="hidden" value="(\d*)"')
SLOT = re.compile(r'name="start" type="radio" value="([^"]+)"')
SEQUENCE = re.compile(r'name="drawn_sequence" type="hidden" value="(\d+)"')
CALL = re.compile(r'/calls/(\d+)/reschedule')
DAY = re.compile(r'href="[^"]*[?&](?:amp;)?day=([0-9-]+)"[^>]*data-testid="call-day"')


class Tally:
    def __init__(self):
        self.lock, self.requests, self.server_errors, self.seen = threading.Lock(), 0, 0, []

    def count(self, method, path, status):
        with self.lock:
            self.requests += 1
            if status >= 500:
                self.server_errors += 1
                self.seen.append(f"{status} {method} {path}")


class Browser:
    """A person's browser: cookies, CSRF tokens from the pages, no redirects followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base, tally):
        self.base, self.tally, self.token = base, tally, None
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect)

    def _open(self, method, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                status, text, location = response.status, response.read().decode(), None
        except urllib.error.HTTPError as answer:
            status, text = answer.code, answer.read().decode()
            location = answer.headers.get("Location")
        self.tally.count(method, path, status)
        found = TOKEN.search(text)
        if found:
            self.token = found.group(1)
        return status, text, location

    def get(self, path):
        return self._open("GET", path)

    def post(self, path, data):
        if self.token is None:
            self.get("/auth/login")
        return self._open("POST", path, dict(data, csrf_token=self.token))

    def sign_in(self, email, password):
        self.get("/auth/login")
        status, _, location = self.post("/auth/login", {"email": email, "password": password})
        if status == 303:
            self.get(location.replace(self.base, ""))  # the new session's token
        return status == 303


def walk_wizard(base, tally, accounts, stopping):
    """Owners in turn: walk the wizard, keep (2 in 3) or confirm; reactivate a
    confirmed account when they come back to it."""
    while not stopping.is_set():
        email, phone_id = random.choice(accounts)
        browser = Browser(base, tally)
        if not browser.sign_in(email, "owner-pass"):
            continue  # erased by now
        products = browser.get("/billing/products")[1]
        if f"/billing/reactivate/{phone_id}" in products:
            browser.get(f"/billing/reactivate/{phone_id}")
            browser.post(f"/billing/reactivate/{phone_id}", {})
            continue
        request_id = ""
        for name in STEP_NAMES[:-1]:
            status, page, _ = browser.get(f"/cancel/{phone_id}/{name}")
            if status != 200:
                break
            found = REQUEST_ID.search(page)
            request_id = found.group(1) if found else request_id
            browser.post(f"/cancel/{phone_id}/{name}", dict(ANSWERS[name], request_id=request_id))
        else:
            page = browser.get(f"/cancel/{phone_id}/{STEP_NAMES[-1]}")[1]
            found = REQUEST_ID.search(page)
            request_id = found.group(1) if found else request_id
            if random.random() < 2 / 3:
                browser.post(f"/cancel/{phone_id}/keep", {"request_id": request_id})
            else:
                browser.post(f"/cancel/{phone_id}/{STEP_NAMES[-1]}", {"request_id": request_id})
        browser.post("/auth/logout", {})


def read_console(base, tally, stopping):
    browser = Browser(base, tally)
    browser.sign_in("success@smrtphone.test", "success-pass")
    while not stopping.is_set():
        for path in ("/success/", "/success/insights", "/success/calls", "/success/requests.csv"):
            browser.get(path)
        time.sleep(0.5)


def book_and_move(base, tally, email, stopping):
    browser = Browser(base, tally)
    browser.sign_in(email, "owner-pass")
    while not stopping.is_set():
        days = DAY.findall(browser.get("/calls/book")[1])  # the days, then a day's times
        slots = SLOT.findall(browser.get(f"/calls/book?day={random.choice(days)}")[1]) if days else []
        if not slots:
            time.sleep(1)
            continue
        browser.post("/calls/book", {"start": random.choice(slots), "topic": "Soak",
                                     "number": "(617) 555-0101"})
        booked = CALL.findall(browser.get("/billing/products")[1])
        if not booked:
            continue
        call_id = booked[0]
        days = DAY.findall(browser.get(f"/calls/{call_id}/reschedule")[1])
        page = browser.get(f"/calls/{call_id}/reschedule?day={random.choice(days)}")[1] if days else ""
        sequence, starts = SEQUENCE.search(page), SLOT.findall(page)
        if sequence and starts:
            browser.post(f"/calls/{call_id}/reschedule",
                         {"start": random.choice(starts[:20]), "drawn_sequence": sequence.group(1)})
        browser.post(f"/calls/{call_id}/cancel", {})


def move_the_clock(env, stopping):
    while not stopping.wait(60):
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wizard",
                        "clock", "advance", "3d"], cwd=ROOT, env=env, capture_output=True)


def worker_pids(master_pid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master_pid:
                        pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


def seed(url, folder):
    db = init_database(url)
    with db.connection_context():
        migrations.migrate(db)
        seed_demo(os.path.join(folder, "recordings"), password_method=FAST_HASH, call_logs=200,
                  recordings=20, invoices=3)
        plans, hashed = ensure_plans(), generate_password_hash("owner-pass", FAST_HASH)
        accounts = []
        for n in range(OWNERS):
            account = create_account(f"Soak Realty {n}", f"owner{n}@soak.test", lambda _: hashed, plans,
                                     owner_name=f"Soak Owner {n}")
            phone = Subscription.get((Subscription.account == account)
                                     & (Subscription.product == Product.SMRTPHONE))
            accounts.append((f"owner{n}@soak.test", phone.id))
    db.close()
    return accounts


def due_and_not_done(url):
    """(emails, purges) due and not done, at the QA clock's now."""
    db = init_database(url)
    qaclock.follow(True)
    with db.connection_context():
        now = clock.now()
        emails = OutboxMessage.select().where(OutboxMessage.status.in_(
            (OutboxMessage.PENDING, OutboxMessage.SENDING))).count()
        purges = PurgeSchedule.select().where(
            ((PurgeSchedule.status == PurgeSchedule.SCHEDULED) & (PurgeSchedule.due_at <= now))
            | PurgeSchedule.status.in_((PurgeSchedule.RUNNING, PurgeSchedule.NEEDS_ATTENTION))).count()
        if emails:
            from peewee import fn

            print("  waiting emails by kind, status and tries:", list(
                OutboxMessage.select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts,
                                     fn.COUNT(OutboxMessage.id))
                .where(OutboxMessage.status.in_((OutboxMessage.PENDING, OutboxMessage.SENDING)))
                .group_by(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts).tuples()))
    db.close()
    return emails, purges


def lost_jobs(url, patience=240):
    """What is still due and not done once the worker and the sweep have had
    `patience` seconds to catch up with the backlog the run left."""
    deadline = time.monotonic() + patience
    while True:
        emails, purges = due_and_not_done(url)
        if not emails + purges or time.monotonic() > deadline:
            print(f"  at the end: {emails} emails and {purges} purges due and not done", flush=True)
            return emails + purges
        time.sleep(5)


def main():
    folder = tempfile.mkdtemp(prefix="wizard-soak-")
    server = postgres.find_or_start()
    url = server.url if server is not None else f"sqlite:///{folder}/soak.sqlite3"
    redis = PrivateRedis(folder)
    print(f"soak: {SECONDS} s on {'PostgreSQL' if server else 'SQLite'}, in {folder}", flush=True)
    accounts = seed(url, folder)
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis.url, WIZARD_QA="1",
               WIZARD_INSTANCE=os.path.join(folder, "instance"), PYTHONPATH=ROOT,
               RECORDINGS_DIR=os.path.join(folder, "recordings"),
               OUTBOX_DIR=os.path.join(folder, "outbox"), PASSWORD_HASH_METHOD=FAST_HASH,
               SIGN_IN_LIMIT_PER_IP="100000 per minute", SIGN_IN_LIMIT_PER_EMAIL="100000 per minute",
               USER_ACTION_LIMIT="100000 per minute", SWEEP_INTERVAL_SECONDS="20")
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    log = open(os.path.join(folder, "processes.log"), "w")
    jobs = [subprocess.Popen([rq, "worker", "--with-scheduler", "-c", "jobs.rq_settings"],
                             cwd=ROOT, env=env, stdout=log, stderr=log),
            subprocess.Popen([rq, "cron", "-c", "jobs.rq_settings", "jobs.schedule"],
                             cwd=ROOT, env=env, stdout=log, stderr=log)]
    tally, stopping = Tally(), threading.Event()
    try:
        with gunicorn(env, stderr=log) as base:
            clients = [threading.Thread(target=walk_wizard, args=(base, tally, accounts, stopping))
                       for _ in range(3)]
            if STAFF:
                clients.append(threading.Thread(target=read_console, args=(base, tally, stopping)))
            clients += [threading.Thread(target=book_and_move,
                                         args=(base, tally, "owner@birch.test", stopping)),
                        threading.Thread(target=move_the_clock, args=(env, stopping))]
            for client in clients:
                client.start()
            time.sleep(SECONDS / 5)
            master = _gunicorn_master()
            early = {pid: rss_kb(pid) for pid in worker_pids(master)}
            samples = [list(early.values())]
            for _ in range(int(SECONDS - SECONDS / 5) // 60):
                time.sleep(60)
                samples.append([rss_kb(pid) for pid in early])
            time.sleep((SECONDS - SECONDS / 5) % 60)
            late = {pid: rss_kb(pid) for pid in worker_pids(master)}
            print(f"  workers' RSS (MB) from a fifth in, each minute: "
                  f"{[[round((kb or 0) / 1024) for kb in minute] for minute in samples]}", flush=True)
            stopping.set()
            for client in clients:
                client.join(90)
        growth = max((100 * (late[p] - early[p]) / early[p] for p in early
                      if early[p] and late.get(p)), default=0.0)
        lost = lost_jobs(url)
    finally:
        for process in jobs:
            stop(process, 20)
        redis.stop()
        if server is not None:
            server.close()
        if not os.environ.get("SOAK_KEEP"):  # SOAK_KEEP=1 keeps the logs and files
            shutil.rmtree(folder, ignore_errors=True)
    for line in tally.seen[:10]:
        print(f"  {line}")
    print(f"soak_requests={tally.requests}")
    print(f"soak_5xx={tally.server_errors}")
    print(f"soak_rss_growth_pct={growth:.1f}")
    print(f"soak_lost_jobs={lost}")


def _gunicorn_master():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    parts = f.read().split(b"\0")
                if b"gunicorn" in parts and b"wizard:create_app()" in parts:
                    with open(f"/proc/{entry}/stat") as f:
                        parent = int(f.read().rsplit(")", 1)[1].split()[1])
                    if parent == os.getpid():
                        return int(entry)
            except (OSError, ValueError):
                pass
    raise SystemExit("no gunicorn master found")


if __name__ == "__main__":
    main()

"""`python -m tests.bench console` (part of `make bench`): the Customer
Success console over years of history, in one process, against the demo's
own small history served the same way in the same run.

For SQLite and PostgreSQL, a big history (20,000 accounts, 100,000 requests
over two years with their records, 10,000 calls) and a small one (the demo
plus 20 accounts, 100 requests, 10 calls), seeded in bulk. Prints:

  console_list_big_vs_small_ratio_<db>    first page of requests, default filters
  console_search_big_vs_small_ratio_<db>  a search by an owner's email
  insights_2y_big_vs_small_ratio_<db>     insights for two years, big ÷ the small's
  csv_100k_rss_growth_mb_<db>             peak RSS while streaming the CSV of 100,000
                                          requests, minus the RSS before
  insights_statements_<db>                statements the insights page runs (any range)
  console_list_ms_<db>, insights_2y_ms_<db> the big history's times, for the record

Each time is the best of a few rounds (the machine is shared).
"""
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from peewee import PostgresqlDatabase

from tests.bench import web
from tests.bench.seed import _bulk, _ts, fresh_schema, log, statements
from tests.support import postgres
from wizard import clock, create_app
from wizard.dev.demo import ensure_plans, seed_demo
from wizard.domain import outcomes, policy, tallies
from wizard.store.db import close_pool, init_database
from wizard.store.models import (
    Account, Call, CancellationRequest, OfferDecision, OfferShown, RecordStep,
    RequestRecord, Subscription, SurveyResponse, User,
)

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
BIG = dict(accounts=20_000, requests=100_000, calls=10_000)
SMALL = dict(accounts=20, requests=100, calls=10)
REASONS = [key for key, _ in policy.SURVEY_REASONS]
# By request number, mod 10: what each became (status, accepted offer, outcome).
FATES = [("confirmed", "", "confirmed")] * 4 + [("kept", "", "kept")] * 2 + [
    ("retained", "change_plan", "saved"), ("retained", "book_call", "call_booked"),
    ("open", "", "in_progress"), ("superseded", "", "confirmed")]
STEPS = ("consequences", "acknowledge", "survey", "options")
OFFSET = 1_000  # bulk ids start here, clear of the demo's own rows


def seed_history(db, accounts, requests, calls):
    """Accounts with an owner and smrtPhone, requests spread over two years
    (with answers, offers and records) and held calls, in bulk."""
    plan = ensure_plans()["phone-pro"]
    staff = User.by_email("success@smrtphone.test").id
    ids = range(OFFSET, OFFSET + accounts)
    _bulk(db, Account, ["id", "name", "timezone", "credit_balance_cents", "created_at"],
          ((i, f"Bench Realty {i}", "America/New_York", 0, _ts(NOW - timedelta(days=1200)))
           for i in ids))
    _bulk(db, User, ["id", "email", "name", "password_hash", "role", "account_id", "session_version"],
          ((i, f"owner{i}@bench.test", f"Bench Owner {i}", "x", "owner", i, 1) for i in ids))
    _bulk(db, Subscription, ["id", "account_id", "product", "plan_id", "seats", "price_cents", "status",
                             "current_period_end", "history_tag"],
          ((i, i, "smrtphone", plan.id, 1 + i % 5, plan.price_cents_per_seat * (1 + i % 5), "active",
            _ts(NOW + timedelta(days=10)), f"tag{i}") for i in ids))
    span = timedelta(days=730) / requests

    def started(j):
        return NOW - span * (requests - j)

    def request_rows():
        for j in range(requests):
            account = OFFSET + j % accounts
            status, _, _ = FATES[j % 10]
            at = started(j)
            closed = _ts(at + timedelta(minutes=9)) if status != "open" else None
            still_open = status == "open" and j >= requests - accounts  # one open request each at most
            yield (OFFSET + j, account, account, account if still_open else None, "smrtphone",
                   account, _ts(at), _ts(at + timedelta(minutes=9)), status, closed,
                   closed if status == "confirmed" else None, "", f"r{j}")

    def record_rows():
        for j in range(requests):
            account = OFFSET + j % accounts
            status, accepted, outcome = FATES[j % 10]
            on = started(j).date()
            saved = on if outcome in outcomes.SAVES else None
            seats = 1 + account % 5
            yield (f"r{j}", f"tag{account}", "smrtphone", "phone-pro", seats,
                   plan.price_cents_per_seat * seats, 12, on.isoformat(), tallies.week_of(on),
                   f"{on:%Y-%m}", REASONS[j % len(REASONS)], "change_plan adjust_dialer book_call",
                   " ".join(STEPS[:1 + j % 4]), accepted, outcome,
                   on.isoformat() if status != "open" else None, 540 if status != "open" else None,
                   saved.isoformat() if saved else None, f"{saved:%Y-%m}" if saved else None,
                   plan.price_cents_per_seat * seats if saved else None, False)

    _bulk(db, RequestRecord, ["id", "subscription_tag", "product", "plan", "seats", "monthly_cents",
                              "tenure_months", "started_on", "started_week", "started_month", "reason",
                              "offers_shown", "steps_reached", "offer_accepted", "outcome", "outcome_on", "decided_seconds", "saved_on",
                              "saved_month", "saved_cents", "counts_revenue"], record_rows())
    _bulk(db, CancellationRequest, ["id", "account_id", "subscription_id", "open_for_id", "product",
                                    "started_by_id", "started_at", "updated_at", "status", "closed_at",
                                    "confirmed_at", "cancelled_products", "record_id"], request_rows())
    _bulk(db, SurveyResponse, ["request_id", "reason", "comment", "answered_at"],
          ((OFFSET + j, REASONS[j % len(REASONS)], "", _ts(started(j))) for j in range(requests)))
    offers = ("change_plan", "adjust_dialer", "book_call")
    _bulk(db, OfferShown, ["request_id", "offer", "position"],
          ((OFFSET + j, o, p) for j in range(requests) for p, o in enumerate(offers)))
    _bulk(db, RecordStep, ["record_id", "step", "reached_after_seconds", "posts"],
          ((f"r{j}", s, 60 * n, 1) for j in range(requests) for n, s in enumerate(STEPS)))
    _bulk(db, OfferDecision, ["request_id", "offer", "accepted", "decided_at"],
          ((OFFSET + j, FATES[j % 10][1], True, _ts(started(j))) for j in range(requests)
           if FATES[j % 10][1]))
    def call_rows():
        for k in range(calls):
            j = k * (requests // calls)
            at = started(j)
            yield (OFFSET + j % accounts, OFFSET + j % accounts, staff, OFFSET + j, _ts(at),
                   _ts(at + timedelta(minutes=30)), "", f"bench-{k}@smrtphone.test", 0, "held", "saved",
                   "Kept on a smaller plan", _ts(at + timedelta(minutes=30)), _ts(at), _ts(at), _ts(at))

    _bulk(db, Call, ["account_id", "owner_id", "staff_id", "request_id", "start", "end", "topic", "uid",
                     "sequence", "status", "outcome", "outcome_notes", "outcome_at", "assigned_at",
                     "created_at", "updated_at"], call_rows())
    if isinstance(db, PostgresqlDatabase):  # the bulk ids moved no sequence
        for model in (Account, User, Subscription, CancellationRequest, SurveyResponse, OfferShown,
                      RecordStep, OfferDecision, Call):
            table = model._meta.table_name
            db.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                           f"(SELECT MAX(id) FROM \"{table}\"))")
        db.execute_sql("ANALYZE")  # as autovacuum would after a load this size
    tallies.rebuild_tallies()  # as `flask migrate` does for records the tallies have not counted


def staff_client(url, folder, volumes):
    db = init_database(url)
    with db.connection_context():
        fresh_schema(db)
        seed_demo(os.path.join(folder, "recordings"), password_method=web.FAST_HASH, call_logs=10,
                  recordings=2, invoices=1)
        seed_history(db, **volumes)
    db.close()
    app = create_app(web.settings(url, folder, "k" * 40))
    client = app.test_client()
    assert web.sign_in(client, "success@smrtphone.test", "success-pass").status_code == 303
    return client


def best_ms(get, rounds=7):
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        response = get()
        best = min(best, (time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"answered {response.status_code}")
    return best


TWO_YEARS = {"first": (NOW - timedelta(days=730)).date().isoformat(), "last": NOW.date().isoformat()}


def measure(url, folder, volumes):
    clock.FROZEN = NOW
    client = staff_client(url, folder, volumes)
    try:
        times = {
            "list": best_ms(lambda: client.get("/success/")),
            "search": best_ms(lambda: client.get("/success/", query_string={
                "q": f"owner{OFFSET + 7}@bench.test"})),
            "insights": best_ms(lambda: client.get("/success/insights", query_string=TWO_YEARS)),
        }
        insights_statements = statements(lambda: client.get("/success/insights", query_string=TWO_YEARS))
        short = statements(lambda: client.get("/success/insights"))
        if short != insights_statements:
            raise SystemExit(f"the insights' statements depend on the range: {short} vs {insights_statements}")
    finally:
        close_pool()
        clock.FROZEN = None
    rows, growth = csv_in_child(url, folder)
    return times, insights_statements, rows, growth


def csv_in_child(url, folder):
    """Stream the two years' CSV in a fresh process (whose heap no seeding
    has grown); return (rows, its peak RSS during the download minus before)."""
    done = subprocess.run([sys.executable, "-m", "tests.bench.console", "csv", url, folder],
                          capture_output=True, text=True, check=True)
    rows, growth = done.stdout.split()
    return int(rows), float(growth)


def _csv_child(url, folder):
    clock.FROZEN = NOW
    app = create_app(web.settings(url, folder, "k" * 40))
    client = app.test_client()
    assert web.sign_in(client, "success@smrtphone.test", "success-pass").status_code == 303
    client.get("/success/requests.csv", query_string={"first": NOW.date().isoformat()})  # warm
    reset_peak()
    before = rss_mb()
    response = client.get("/success/requests.csv", query_string=TWO_YEARS)
    rows = sum(chunk.count(b"\n") for chunk in response.response) - 1
    print(rows, f"{peak_rss_mb() - before:.1f}")


def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def peak_rss_mb():
    """The process's RSS high-water mark since it was last reset (/proc/self/clear_refs)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def figures(url, label, folder):
    log(f"console, small history, {label} ...")
    small, small_statements, _, _ = measure(url, folder, SMALL)
    log(f"console, big history, {label} (seeding some 1.5 million rows) ...")
    big, big_statements, rows, growth = measure(url, folder, BIG)
    if rows != BIG["requests"]:
        raise SystemExit(f"the CSV held {rows} rows, not {BIG['requests']}")
    return [
        f"console_list_big_vs_small_ratio_{label}={big['list'] / small['list']:.2f}",
        f"console_search_big_vs_small_ratio_{label}={big['search'] / small['search']:.2f}",
        f"insights_2y_big_vs_small_ratio_{label}={big['insights'] / small['insights']:.2f}",
        f"csv_100k_rss_growth_mb_{label}={growth:.1f}",
        f"insights_statements_{label}={big_statements}",
        f"console_list_ms_{label}={big['list']:.1f}",
        f"insights_2y_ms_{label}={big['insights']:.1f}",
    ]


def main():
    folder = tempfile.mkdtemp(prefix="wizard-bench-console-")
    os.environ["WIZARD_QA"] = "0"
    server = postgres.find_or_start()
    try:
        print("\n".join(figures(f"sqlite:///{folder}/console.sqlite3", "sqlite", folder)), flush=True)
        if server is not None:
            print("\n".join(figures(server.url, "postgres", folder)), flush=True)
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["csv"]:
        logging.disable(logging.CRITICAL)
        _csv_child(*sys.argv[2:4])
    else:
        main()

"""`make bench`: purge a big account on SQLite and PostgreSQL, time the
sweep's due-purge query over a million schedules, and time the free slots of
a call with Customer Success.

Ends with one name=value line per figure:
  purge_sqlite_s, purge_postgres_s   the purge of 1,000,000 call logs, 100,000
                                     recordings (files too) and 10,000 invoices
  purge_peak_rss_mb                  the purging process's peak RSS, any run
  purge_rss_mb_100k, purge_rss_mb_1m the same at 100,000 and 1,000,000 call logs
  sweep_due_ms                       the due-purge query, 1,000,000 rows, 100 due
  slots_ms, slots_ms_sqlite          the free slots of the next 14 days, 10 staff
                                     members with 1,000 calls (median; PostgreSQL, SQLite)
  slots_statements                   the SQL statements that takes, the same with
                                     10 calls and with 1,000 (else the bench fails)

`python -m tests.bench slots` (or `make bench-slots`) runs the slots part alone:
it takes seconds, where the whole bench takes many minutes.
`python -m tests.bench web` (or `make bench-web`) runs the web benchmark
(tests/bench/web.py); `make bench` runs it after this one.
`python -m tests.bench pages` (or `make bench-pages`) times each page in one
process, without a server (tests/bench/pages.py): seconds, to see where a
change goes before the web benchmark.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tests.support import postgres
from tests.bench.seed import fresh_schema, log, seed_big_account, seed_schedules
from tests.bench.slots import bench_slots
from wizard import ROOT, clock
from wizard.domain import sweep
from wizard.store.db import init_database
from wizard.dev.demo import create_account, ensure_plans
from wizard.store.models import PurgeSchedule, Subscription

FULL = dict(call_logs=1_000_000, recordings=100_000, billing=10_000)
TENTH = dict(call_logs=100_000, recordings=10_000, billing=1_000)


def prepare(url, folder, volumes):
    """A fresh schema, a big canceled account and a bystander; return the schedule id."""
    db = init_database(url)
    with db.connection_context():
        fresh_schema(db)
        now = clock.now()
        plans = ensure_plans()
        big = create_account("Big Co", "owner@big.test", lambda e: "x", plans,
                             owner_name="Big Owner", now=now)
        create_account("Bystander", "owner@by.test", lambda e: "x", plans,
                       owner_name="By Stander", now=now)
        started = time.perf_counter()
        seed_big_account(db, big.id, folder, now, **volumes)
        log(f"  seeded {volumes} in {time.perf_counter() - started:.1f}s")
        # Cancelled, period over: what a due purge finds.
        Subscription.update(status="ended").where(Subscription.account == big).execute()
        schedule = PurgeSchedule.create(account_id=big.id, due_at=now, status="scheduled",
                                        generation=1, updated_at=now)
    db.close()
    return schedule.id


def purge_in_child(url, schedule_id, folder):
    """Run the purge in a child process; return (result, peak RSS in MB)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.purge_child", url, str(schedule_id), folder],
        cwd=ROOT, stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=ROOT))
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"purge child failed with {child.returncode}")
    return json.loads(out), usage.ru_maxrss / 1024  # ru_maxrss is in KB on Linux


def bench_purge(url, volumes, label):
    folder = tempfile.mkdtemp(prefix="wizard-bench-rec-")
    try:
        log(f"purge on {label} ...")
        schedule_id = prepare(url, folder, volumes)
        result, rss_mb = purge_in_child(url, schedule_id, folder)
        counts = result["counts"]
        assert counts["call_logs"] == volumes["call_logs"], counts
        assert counts["recordings"] == volumes["recordings"], counts
        assert not os.listdir(folder), "recording files left behind"
        log(f"  purged in {result['elapsed_s']:.1f}s, peak RSS {rss_mb:.0f} MB, counts {counts}")
        return result["elapsed_s"], rss_mb
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_sweep_query(url, label):
    db = init_database(url)
    with db.connection_context():
        fresh_schema(db)
        now = clock.now()
        started = time.perf_counter()
        seed_schedules(db, 1_000_000, 100, now)
        db.execute_sql('ANALYZE "purgeschedule"')
        log(f"  seeded 1,000,000 schedules in {time.perf_counter() - started:.1f}s")
        query = sweep.due_purges(now)
        sql, params = query.sql()
        explain = "EXPLAIN ANALYZE " if label == "postgres" else "EXPLAIN QUERY PLAN "
        plan = [" ".join(str(c) for c in row) for row in db.execute_sql(explain + sql, params)]
        log(f"  query plan ({label}):\n    " + "\n    ".join(plan))
        timings = []
        for _ in range(25):
            t = time.perf_counter()
            rows = list(query.clone())
            timings.append((time.perf_counter() - t) * 1000)
        assert len(rows) == 100, len(rows)
        uses_index = any("purgeschedule_status_due_at" in line for line in plan)
    db.close()
    return statistics.median(timings), uses_index


def slots_figures(postgres_url, sqlite_url):
    """Time the free slots on both databases; print their name=value lines."""
    log("free slots of 10 staff members with 1,000 calls ...")
    pg_ms, pg_few, pg_many = bench_slots(postgres_url, "PostgreSQL", fresh_schema, log)
    sqlite_ms, sqlite_few, sqlite_many = bench_slots(sqlite_url, "SQLite", fresh_schema, log)
    if not pg_few == pg_many == sqlite_few == sqlite_many:
        raise SystemExit(f"the free slots' statements grow with the calls: PostgreSQL {pg_few} -> "
                         f"{pg_many}, SQLite {sqlite_few} -> {sqlite_many}")
    return [f"slots_ms={pg_ms:.2f}", f"slots_ms_sqlite={sqlite_ms:.2f}", f"slots_statements={pg_many}"]


def main():
    clock.FROZEN = None
    figures = {}
    if sys.argv[1:] == ["web"]:
        from tests.bench import web

        return web.main()
    if sys.argv[1:] == ["console"]:
        from tests.bench import console

        return console.main()
    if sys.argv[1:2] == ["pages"]:
        from tests.bench import pages

        return pages.main(sys.argv[2:])
    only_slots = sys.argv[1:] == ["slots"]
    if sys.argv[1:] and not only_slots:
        raise SystemExit("usage: python -m tests.bench [slots|web|console|pages [--profile PATH]]")
    sqlite_dir = tempfile.mkdtemp(prefix="wizard-bench-")
    server = postgres.find_or_start()
    if server is None:
        raise SystemExit("make bench needs PostgreSQL (TEST_DATABASE_URL, 127.0.0.1:5432 or its binaries)")
    try:
        slots_lines = slots_figures(server.url, f"sqlite:///{sqlite_dir}/slots.sqlite3")
        if only_slots:
            print("\n".join(slots_lines))
            return
        sqlite_url = f"sqlite:///{sqlite_dir}/bench.sqlite3"
        _, figures["purge_rss_mb_100k"] = bench_purge(sqlite_url, TENTH, "SQLite, 100,000 call logs")
        os.remove(sqlite_url[len("sqlite:///"):])
        figures["purge_sqlite_s"], figures["purge_rss_mb_1m"] = bench_purge(
            sqlite_url, FULL, "SQLite, 1,000,000 call logs")
        figures["purge_postgres_s"], pg_rss = bench_purge(server.url, FULL, "PostgreSQL, 1,000,000 call logs")
        figures["purge_peak_rss_mb"] = max(figures["purge_rss_mb_100k"], figures["purge_rss_mb_1m"], pg_rss)

        log("sweep's due-purge query on PostgreSQL ...")
        figures["sweep_due_ms"], pg_index = bench_sweep_query(server.url, "postgres")
        log("sweep's due-purge query on SQLite ...")
        sqlite_ms, sqlite_index = bench_sweep_query(sqlite_url, "sqlite")
        print(f"sweep_due_ms_sqlite={sqlite_ms:.2f}")
        print(f"sweep_due_uses_index={int(pg_index and sqlite_index)}")
    finally:
        server.close()
        shutil.rmtree(sqlite_dir, ignore_errors=True)
    for name in ("purge_sqlite_s", "purge_postgres_s", "purge_peak_rss_mb", "purge_rss_mb_100k",
                 "purge_rss_mb_1m", "sweep_due_ms"):
        value = figures[name]
        print(f"{name}={value:.2f}" if name.endswith(("_s", "_ms")) else f"{name}={value:.0f}")
    print("\n".join(slots_lines))


if __name__ == "__main__":
    main()

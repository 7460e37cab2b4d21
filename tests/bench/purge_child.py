"""Run one purge in a process of its own, as a worker would, and report.

Usage: python -m tests.bench.purge_child DATABASE_URL SCHEDULE_ID RECORDINGS_DIR
Prints one JSON line: elapsed seconds and the erasure counts. The parent
reads this process's peak RSS from wait4().
"""
import json
import sys
import time

from wizard import clock
from wizard.domain import purge
from wizard.store.db import init_database


def main(url, schedule_id, recordings_dir):
    db = init_database(url)
    with db.connection_context():
        started = time.perf_counter()
        schedule = purge.claim_schedule(int(schedule_id), 1, "bench", clock.now())
        if schedule is None:
            raise SystemExit("schedule not claimable")
        record = purge.run(schedule, "bench", clock.now, recordings_dir, batch_size=5000,
                           exports_dir=recordings_dir + "-exports")
        elapsed = time.perf_counter() - started
    print(json.dumps({"elapsed_s": elapsed, "counts": json.loads(record.counts)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])

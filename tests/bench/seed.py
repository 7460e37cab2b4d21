"""What the benchmarks share: progress lines, a fresh schema, counting SQL
statements, and bulk seeding by raw executemany (SQLite) or COPY (PostgreSQL),
because creating a million rows one by one would measure the seeding."""
import csv
import io
import logging
import os
import sys
from datetime import timedelta

from peewee import PostgresqlDatabase, SqliteDatabase

from wizard.store import migrations
from wizard.store.models import (
    MODELS,
    BillingRecord,
    CallLog,
    PurgeSchedule,
    Recording,
    SchemaVersion,
)

def log(message):
    """Progress goes to stderr; stdout holds only the name=value lines."""
    print(message, file=sys.stderr, flush=True)


class _StatementCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += isinstance(record.msg, tuple)  # SQL, not the pool's own lines


def statements(function):
    """Run `function`; return how many SQL statements peewee ran."""
    logger = logging.getLogger("peewee")
    counter, level = _StatementCounter(), logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        function()
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return counter.count


def fresh_schema(db):
    """Drop every table and migrate from nothing."""
    if isinstance(db, PostgresqlDatabase):
        db.drop_tables(MODELS + [SchemaVersion], safe=True, cascade=True)
    else:
        db.drop_tables(MODELS + [SchemaVersion], safe=True)
    migrations.migrate(db)


WAV = b"RIFF" + b"\0" * 60  # a small file; its content does not matter here


def _bulk(db, model, columns, rows, chunk=50_000):
    """Insert an iterable of tuples into `model`'s table, fast."""
    table = model._meta.table_name
    names = ", ".join(f'"{c}"' for c in columns)
    raw = db.connection()
    batch = []

    def flush():
        if not batch:
            return
        if isinstance(db, SqliteDatabase):
            marks = ", ".join("?" for _ in columns)
            raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
        else:
            buffer = io.StringIO()  # NULL is \N, so that "" stays an empty string
            csv.writer(buffer).writerows([r"\N" if v is None else v for v in row] for row in batch)
            buffer.seek(0)
            with raw.cursor() as cur, cur.copy(
                    f"COPY \"{table}\" ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
                copy.write(buffer.getvalue())  # psycopg 3's COPY
        batch.clear()

    with db.atomic():
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                flush()
        flush()


def _ts(moment):
    return moment.replace(tzinfo=None).isoformat(sep=" ")


def seed_big_account(db, account_id, recordings_dir, now, call_logs, recordings, billing):
    """Give account `account_id` the benchmark's volumes of data (and real files)."""
    _bulk(db, CallLog, ["account_id", "direction", "from_number", "to_number", "started_at", "duration_s"],
          ((account_id, "inbound", "+16175550000", "+16175550101",
            _ts(now - timedelta(minutes=i)), i % 600) for i in range(call_logs)))
    folder = os.path.join(recordings_dir, str(account_id))
    os.makedirs(folder, exist_ok=True)

    def recording_rows():
        for i in range(recordings):
            relative = os.path.join(str(account_id), f"r{i}.wav")
            with open(os.path.join(recordings_dir, relative), "wb") as f:
                f.write(WAV)
            yield (account_id, relative, len(WAV), _ts(now))

    _bulk(db, Recording, ["account_id", "path", "size_bytes", "created_at"], recording_rows())
    _bulk(db, BillingRecord, ["account_id", "invoice_number", "issued_at", "amount_cents", "description"],
          ((account_id, f"INV-{i}", _ts(now), 1000, "Monthly") for i in range(billing)))


def seed_schedules(db, total, due, now):
    """`total` purge schedules, of which `due` are due now; the rest done or in the future."""
    def rows():
        for i in range(1, total + 1):
            if i % (total // due) == 0:
                yield (i, _ts(now - timedelta(hours=1)), "scheduled", 1, "{}", 0, _ts(now))
            elif i % 2:
                yield (i, _ts(now - timedelta(days=400)), "done", 1, "{}", 1, _ts(now))
            else:
                yield (i, _ts(now + timedelta(days=1 + i % 90)), "scheduled", 1, "{}", 0, _ts(now))

    _bulk(db, PurgeSchedule, ["account_id", "due_at", "status", "generation", "checkpoint",
                              "attempts", "updated_at"], rows())

"""Versioned schema migrations, applied in order by `flask --app wizard migrate`.

Each migration is a function over (database, migrator) with a version number
and runs in its own transaction; SchemaVersion records what has run. A
migration that changes a table checks the live columns first
(`db.get_columns(table)`), so a database created by 0001 from today's models and an
older database migrated step by step end at the same schema.

To change the schema: edit the model, then append a migration here.
"""
from peewee import Proxy, SqliteDatabase
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator

from wizard import clock
from .db import database
from .models import MODELS, SchemaVersion


def _initial(db, migrator):
    db.create_tables(MODELS, safe=True)


def _purge_and_mail(db, migrator):
    from .models import ErasureRecord, OutboxMessage, PurgeSchedule

    db.create_tables([PurgeSchedule, ErasureRecord, OutboxMessage], safe=True)


def _cancelled_products(db, migrator):
    from playhouse.migrate import migrate as run

    from .models import CancellationRequest

    if not any(c.name == "cancelled_products" for c in db.get_columns("cancellationrequest")):
        run(migrator.add_column("cancellationrequest", "cancelled_products",
                                CancellationRequest.cancelled_products))


def _offers_that_act(db, migrator):
    from playhouse.migrate import migrate as run

    from .models import CancellationRequest, OfferShown, PlanChange

    if not any(c.name == "max_seats" for c in db.get_columns("plan")):
        # Plain SQL: both databases add a NOT NULL column with a default in
        # place, where peewee's SQLite migrator would copy the table, which
        # subscriptions point at.
        db.execute_sql("ALTER TABLE plan ADD COLUMN max_seats INTEGER NOT NULL DEFAULT 100")
    if not any(c.name == "survey_carried_from" for c in db.get_columns("cancellationrequest")):
        run(migrator.add_column("cancellationrequest", "survey_carried_from",
                                CancellationRequest.survey_carried_from))
    db.create_tables([OfferShown, PlanChange], safe=True)


def _call_bookings(db, migrator):
    from playhouse.migrate import migrate as run

    from .models import Call, OutboxMessage, StaffHours, StaffOverride, User

    db.create_tables([StaffHours, StaffOverride, Call], safe=True)
    if not any(c.name == "timezone" for c in db.get_columns("user")):
        run(migrator.add_column("user", "timezone", User.timezone))
    if not any(c.name == "attachment_ics" for c in db.get_columns("outboxmessage")):
        run(migrator.add_column("outboxmessage", "attachment_ics", OutboxMessage.attachment_ics))


def _session_versions(db, migrator):
    if not any(c.name == "session_version" for c in db.get_columns("user")):
        # Plain SQL, in place (see _offers_that_act); "user" is a reserved word.
        db.execute_sql('ALTER TABLE "user" ADD COLUMN session_version INTEGER NOT NULL DEFAULT 1')


def _account_data_counts(db, migrator):
    from .models import AccountDataCounts

    db.create_tables([AccountDataCounts], safe=True)


def _qa_clock(db, migrator):
    from .models import QaClockOffset

    db.create_tables([QaClockOffset], safe=True)


def _emails_as_templates(db, migrator):
    from playhouse.migrate import migrate as run

    from .models import OutboxMessage

    columns = {c.name for c in db.get_columns("outboxmessage")}
    for name in ("body_html", "purge_schedule_id", "purge_generation", "call_id",
                 "call_start"):
        if name not in columns:
            run(migrator.add_column("outboxmessage", name, getattr(OutboxMessage, name)))
    _facts_of_unsent_reminders(OutboxMessage)


def _facts_of_unsent_reminders(OutboxMessage):
    """Give reminders composed before these columns what the sender checks.

    Once, here: their keys name the purge and generation, or the call and
    start; from now on the composer writes the columns and nothing reads a key.
    """
    from datetime import datetime, timezone

    waiting = OutboxMessage.select().where(
        OutboxMessage.kind.in_((*OutboxMessage.ERASURE_REMINDERS, OutboxMessage.CALL_REMINDER))
        & OutboxMessage.status.in_((OutboxMessage.HELD, OutboxMessage.PENDING, OutboxMessage.SENDING))
        & OutboxMessage.purge_schedule_id.is_null() & OutboxMessage.call_id.is_null())
    for message in waiting:
        _, first, second = message.dedupe_key.split(":")
        if message.kind == OutboxMessage.CALL_REMINDER:
            start = datetime.strptime(second, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            changes = {"call_id": int(first), "call_start": start}
        else:
            changes = {"purge_schedule_id": int(first), "purge_generation": int(second)}
        OutboxMessage.update(**changes).where(OutboxMessage.id == message.id).execute()


def _one_call_per_account_at_a_time(db, migrator):
    """The unique index of (account, active_start). Calls booked twice at one
    time before it (a race of the booking form) keep the first booked; the
    others are cancelled, their time freed, so the index can be made."""
    from peewee import fn

    from .models import Call

    twice = (Call.select(Call.account, Call.active_start, fn.MIN(Call.id).alias("first"))
             .where(Call.active_start.is_null(False))
             .group_by(Call.account, Call.active_start).having(fn.COUNT(Call.id) > 1))
    for account_id, start, first in twice.tuples():
        (Call.update(status=Call.CANCELLED, active_start=None, sequence=Call.sequence + 1)
         .where((Call.account == account_id) & (Call.active_start == start) & (Call.id != first))
         .execute())
    # Named as a database made by migration 1 from today's models names it.
    db.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS "call_account_id_active_start" '
                   'ON "booking" ("account_id", "active_start")')


def _purges_that_need_attention(db, migrator):
    from playhouse.migrate import migrate as run

    from .models import PurgeSchedule

    if not any(c.name == "attention_reason" for c in db.get_columns("purgeschedule")):
        run(migrator.add_column("purgeschedule", "attention_reason", PurgeSchedule.attention_reason))



def _anonymous_history(db, migrator):
    """The anonymous records of requests (models/history.py). Existing
    requests get theirs from `flask --app wizard migrate`, which runs
    history.backfill after the migrations (the store knows no domain)."""
    from playhouse.migrate import migrate as run

    from .models import CancellationRequest, RecordStep, RequestRecord, Subscription

    db.create_tables([RequestRecord, RecordStep], safe=True)
    if not any(c.name == "history_tag" for c in db.get_columns("subscription")):
        run(migrator.add_column("subscription", "history_tag", Subscription.history_tag))
    if not any(c.name == "record_id" for c in db.get_columns("cancellationrequest")):
        run(migrator.add_column("cancellationrequest", "record_id", CancellationRequest.record))
        db.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS "cancellationrequest_record_id" '
                       'ON "cancellationrequest" ("record_id")')
    # The console's list: a page of the newest requests, by keyset.
    db.execute_sql('CREATE INDEX IF NOT EXISTS "cancellationrequest_started_at" '
                   'ON "cancellationrequest" ("started_at")')


def _follow_ups(db, migrator):
    from .models import FollowUp

    db.create_tables([FollowUp], safe=True)


# `flask --app wizard migrate` counts the existing records into the new
# tallies when it has just applied this one (history.rebuild_tallies).
RECORD_TALLIES = "running totals of the history, by period, for the insights"


def _record_tallies(db, migrator):
    from playhouse.migrate import migrate as run

    from .models import RecordTally, RequestRecord

    db.create_tables([RecordTally], safe=True)
    if not any(c.name == "counts_revenue" for c in db.get_columns("request_record")):
        run(migrator.add_column("request_record", "counts_revenue", RequestRecord.counts_revenue))


def _callback_number(db, migrator):
    """The number Customer Success calls the owner at, in E.164. Calls booked
    before keep NULL: their pages and emails leave the number out."""
    from playhouse.migrate import migrate as run

    from .models import Call

    if not any(c.name == "callback_number" for c in db.get_columns("booking")):
        run(migrator.add_column("booking", "callback_number", Call.callback_number))


def _port_out_kit(db, migrator):
    """What a new carrier asks for to port a number out: the service address
    and the generation of the port-out PIN (the PIN is derived, not stored)."""
    from playhouse.migrate import migrate as run

    from .models import Account

    columns = [c.name for c in db.get_columns("account")]
    if "service_address" not in columns:
        run(migrator.add_column("account", "service_address", Account.service_address))
    if "port_pin_generation" not in columns:
        run(migrator.add_column("account", "port_pin_generation", Account.port_pin_generation))


def _data_exports(db, migrator):
    """Download your data: the archives asked for, built and ready."""
    from .models import DataExport

    db.create_tables([DataExport], safe=True)


MIGRATIONS = [
    (1, "initial schema", _initial),
    (2, "purge schedules, erasure records, outbox", _purge_and_mail),
    (3, "what a cancellation cancelled", _cancelled_products),
    (4, "offers that act: plan changes, offers shown, seat limits", _offers_that_act),
    (5, "calls with Customer Success: staff hours, date overrides, bookings, invitations",
     _call_bookings),
    (6, "session versions: signing out ends the session", _session_versions),
    (7, "account data counts: step 1 costs the same for any account", _account_data_counts),
    (8, "the QA clock's offset", _qa_clock),
    (9, "emails as templates: the HTML alternative, what a reminder must still be true of",
     _emails_as_templates),
    (10, "one standing call per account at a time", _one_call_per_account_at_a_time),
    (11, "purges that need an operator's attention, and why", _purges_that_need_attention),
    (12, "the anonymous history of requests, kept after the purge", _anonymous_history),
    (13, "follow-ups: what a call's follow-up outcome leaves to do", _follow_ups),
    (14, RECORD_TALLIES, _record_tallies),
    (15, "the number Customer Success calls the owner at", _callback_number),
    (16, "the port-out kit: the service address and the PIN's generation", _port_out_kit),
    (18, "download your data: the account's archives", _data_exports),
]


def _real(db):
    return db.obj if isinstance(db, Proxy) else db


def pending(db=database):
    db = _real(db)
    db.create_tables([SchemaVersion], safe=True)
    done = {v.version for v in SchemaVersion.select(SchemaVersion.version)}
    return [m for m in MIGRATIONS if m[0] not in done]


def is_current(db=database):
    """Has every migration run? A read only: nothing is created (readiness)."""
    db = _real(db)
    if SchemaVersion._meta.table_name not in db.get_tables():
        return False
    done = {v.version for v in SchemaVersion.select(SchemaVersion.version)}
    return all(version in done for version, _, _ in MIGRATIONS)


def migrate(db=database):
    """Apply every pending migration; return the names of those applied."""
    db = _real(db)
    migrator = SqliteMigrator(db) if isinstance(db, SqliteDatabase) else PostgresqlMigrator(db)
    applied = []
    for version, name, apply in pending(db):
        with db.atomic():
            apply(db, migrator)
            SchemaVersion.create(version=version, name=name, applied_at=clock.now())
        applied.append(name)
    return applied

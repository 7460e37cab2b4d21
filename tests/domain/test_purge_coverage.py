"""The purge erases every table that holds an account's data, not only those it lists.

The tables are found by walking the models (tests/support/purge.py), so a
new table with a path to Account fails here until it is a stage of
wizard.domain.purge.stages() (its STAGES, and the answer models of the
wizard's steps) or declared below with its reason. Two checks,
because one alone can be fooled: the database's ON DELETE CASCADE deletes a
forgotten table's rows when the purge deletes the account row, so a purge
that forgot a table still leaves nothing behind; and SET NULL keeps a
forgotten table's rows with the link cleared, so no path leads to them any
more. So the first test reads the purge's own list, and the second runs the
purge and checks, table by table, that the rows it held went (by id), that
the purge itself counted them, and that no text of the account is left
anywhere in the database.
"""
import json
from datetime import timedelta

from peewee import ForeignKeyField

from tests.support.helpers import cancel_smrtphone, subscription, walk_wizard
from tests.support.purge import (
    PURGE_RECORDS,
    account_tables,
    belongs_to,
    fill_every_table,
    texts_only_of,
    where_texts_remain,
)
from wizard import clock
from wizard.domain import outbox, purge
from wizard.store.models import (
    Account,
    AccountDataCounts,
    ErasureRecord,
    OutboxMessage,
    PurgeSchedule,
    StaffHours,
    StaffOverride,
    User,
)
from jobs.purge import run_purge

# Tables with a path to Account that are no stage of the purge, on purpose.
# The row goes with its parent, which a stage deletes: the parent's ON DELETE
# CASCADE takes it (the test checks that the foreign key says so).
GOES_WITH_ITS_PARENT = {
    AccountDataCounts: "a cache of the account's counts, one row: it goes with the account row",
    StaffHours: "Customer Success staff's weekly hours; staff belong to no account, and "
                "hours a purged user had would go with the user",
    StaffOverride: "Customer Success staff's days off; as StaffHours",
}
# Kept after the account, holding nothing of it: the purge's own records
# (account_id is a plain integer there, so they outlive the account).
KEPT = {
    PurgeSchedule: "the schedule, marked done: ids, times, counts and a worker label",
    ErasureRecord: "the proof of erasure: a random surrogate id, counts and times",
}


def stage_models():
    return {model for _, model, _ in purge.stages()}


def stage_names():
    return {model: name for name, model, _ in purge.stages()}


def own_columns(model, where):
    """The rows `where` selects, as (id, every column but the foreign keys)."""
    columns = [f for f in model._meta.sorted_fields if not isinstance(f, ForeignKeyField)]
    return list(model.select(*columns).where(where).tuples())


def test_every_table_with_a_path_to_the_account_is_erased_by_a_stage_or_declared(app):
    tables = account_tables()
    forgotten = [f"{model._meta.table_name} (reached by {'; '.join(map(str, paths))})"
                 for model, paths in tables.items()
                 if model not in stage_models() | set(GOES_WITH_ITS_PARENT) | set(KEPT)]
    assert not forgotten, (
        "These tables hold an account's data but no stage of wizard.domain.purge.stages() erases "
        "them: add a stage (children before parents), or declare here why not:\n  "
        + "\n  ".join(forgotten))

    declared = stage_models() | set(GOES_WITH_ITS_PARENT) | set(KEPT)
    stale = sorted(m._meta.table_name for m in declared - set(tables))
    assert not stale, f"erased or declared, but no path leads from them to an account: {stale}"
    assert not stage_models() & (set(GOES_WITH_ITS_PARENT) | set(KEPT)), "a stage and declared"
    assert set(KEPT) == set(PURGE_RECORDS)

    for model in GOES_WITH_ITS_PARENT:
        owners = [path.fields[0] for path in tables[model]
                  if isinstance(path.fields[0], ForeignKeyField)
                  and path.fields[0].on_delete == "CASCADE"
                  and path.fields[0].rel_model in stage_models()]
        assert owners, f"{model._meta.table_name} has no ON DELETE CASCADE to a table a stage erases"


def test_the_purge_erases_a_row_of_every_table_found(app, owner, sign_in):
    walk_wizard(sign_in("other_owner"), subscription("smrtdialer", account="Birch Homes"))
    cancel_smrtphone(owner)
    acme = Account.get(Account.name == "Acme Realty").id
    filled = fill_every_table(acme)
    assert StaffHours in filled, "the demo gives an account's users no hours: a generic row"
    tables = account_tables()
    before = {model: own_columns(model, belongs_to(model, acme))
              for model in tables if model not in PURGE_RECORDS}
    empty = [m._meta.table_name for m, ids in before.items() if not ids]
    assert not empty, f"Acme has a row in every table: {empty}"
    personal = texts_only_of(acme)
    owner_row = User.get((User.account == acme) & (User.role == User.OWNER))
    assert {owner_row.email, owner_row.name, "Acme Realty"} <= personal

    schedule = PurgeSchedule.get(PurgeSchedule.account_id == acme)
    clock.FROZEN = schedule.due_at + timedelta(minutes=1)
    assert run_purge(schedule.id, schedule.generation) not in ("not claimed", "taken over")

    record = ErasureRecord.get(ErasureRecord.schedule == schedule.id)
    erased = json.loads(record.counts)
    for model, rows in before.items():
        table = model._meta.table_name
        # A row kept with its links set to NULL still counts: only a new row
        # that took a deleted row's id (SQLite reuses them) does not.
        left = set(rows) & set(own_columns(model, model._meta.primary_key.in_([r[0] for r in rows])))
        assert not left, f"{table}: {len(left)} of the account's {len(rows)} rows survived the purge"
        assert not model.select().where(belongs_to(model, acme)).exists(), table
        if model in stage_models():
            assert erased.get(stage_names()[model]) == len(rows), (
                f"{table}: the purge counted {erased.get(stage_names()[model])} of {len(rows)} "
                "rows: the rest went some other way (a cascade?)")
        else:
            assert model in GOES_WITH_ITS_PARENT, (
                f"{table}: its {len(rows)} rows went, but no stage erased or counted them "
                "(an ON DELETE CASCADE took them with the account?)")

    # What is kept holds nothing of the account: its schedule, its proof of erasure ...
    kept = PurgeSchedule.get_by_id(schedule.id)
    assert (kept.account_id, kept.status) == (acme, PurgeSchedule.DONE)
    assert record.verified and record.surrogate_id != str(acme)
    # ... and the erasure notice, which the purge queues with the owner's address
    # (the account's last personal data) and no account; sending it clears both.
    notice = outbox.erasure_notice(schedule)
    assert (notice.account_id, notice.status, notice.to_address) == (
        None, OutboxMessage.PENDING, owner_row.email)
    assert where_texts_remain(personal) == [
        ("outboxmessage.body", notice.id), ("outboxmessage.body_html", notice.id),
        ("outboxmessage.to_address", notice.id)], personal
    sending = outbox.claim_message(notice.id, clock.now())
    assert outbox.mark_sent(sending, clock.now())
    sent = OutboxMessage.get_by_id(notice.id)
    assert (sent.status, sent.to_address, sent.body, sent.body_html) == (
        OutboxMessage.SENT, None, "", None)
    assert where_texts_remain(personal) == [], "no text of the account is left anywhere"

"""What an account holds, as the models say it: every table with a path to Account.

The tables are found by walking the models' own fields (MODELS, _meta), never
from wizard.domain.purge.STAGES, so a table nobody added to the purge is
found all the same. A path is a chain of fields from a model to the account:
foreign keys (Acknowledgement.request -> CancellationRequest.account), ending
at a foreign key to Account or at a plain integer column named account_id
(PurgeSchedule.account_id, which outlives the account on purpose).
"""
import functools
import itertools
import operator
import re
from dataclasses import dataclass

from peewee import (
    BigIntegerField, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField,
    IntegerField, TextField,
)

from wizard import clock
from wizard.store.models import MODELS, Account, ErasureRecord, PurgeSchedule

# The purge's own record of its work: found by the walk (account_id is a plain
# integer there, and the erasure record points at the schedule), kept after
# the account by design. The purge tests check them as they change; they are
# not the account's data.
PURGE_RECORDS = (PurgeSchedule, ErasureRecord)

_TEXT = (CharField, TextField)


@dataclass(frozen=True)
class Path:
    """Fields leading from `model` to the account, the first on `model`."""

    fields: tuple

    @property
    def model(self):
        return self.fields[0].model

    @property
    def sets_null(self):
        """Does a link of the path become NULL when what it points at goes?"""
        return any(getattr(f, "on_delete", None) == "SET NULL" for f in self.fields)

    def condition(self, account_id):
        """The WHERE clause: rows of `model` this path leads to `account_id`."""
        *links, last = self.fields
        where = last == account_id
        for field in reversed(links):
            where = field.in_(field.rel_model.select(field.rel_field).where(where))
        return where

    def __str__(self):
        hops = [f"{f.model._meta.table_name}.{f.column_name}" for f in self.fields]
        last = self.fields[-1]
        return " -> ".join(hops + (["account.id"] if isinstance(last, ForeignKeyField) else []))


def _leads_to_account(field):
    return isinstance(field, ForeignKeyField) or (
        type(field) is IntegerField and field.name == "account_id")


def paths_to_account(model, _through=()):
    """Every path from `model` to Account, through foreign keys, recursively."""
    found = []
    for field in model._meta.sorted_fields:
        if not _leads_to_account(field):
            continue
        if not isinstance(field, ForeignKeyField) or field.rel_model is Account:
            found.append(Path((field,)))
        elif field.rel_model not in _through + (model,):
            found += [Path((field,) + rest.fields)
                      for rest in paths_to_account(field.rel_model, _through + (model,))]
    return found


def account_tables():
    """{model: its paths to Account} for every model of MODELS that has one (Account
    itself too: the table the paths end at)."""
    tables = {Account: [Path((Account.id,))]}
    tables.update({model: paths for model in MODELS if model is not Account
                   if (paths := paths_to_account(model))})
    return tables


def belongs_to(model, account_id, paths=None):
    """The WHERE clause: rows of `model` that any of its paths leads to `account_id`."""
    paths = account_tables()[model] if paths is None else paths
    return functools.reduce(operator.or_, (p.condition(account_id) for p in paths))


def rows_of(account_id, tables=None):
    """{table name: rows (as plain values, by id)} of every table the walk finds,
    bar the purge's own records (PURGE_RECORDS)."""
    tables = account_tables() if tables is None else tables
    return {model._meta.table_name: list(model.select().where(belongs_to(model, account_id, paths))
                                         .order_by(model._meta.primary_key).tuples())
            for model, paths in tables.items() if model not in PURGE_RECORDS}


# -- a row in every table ----------------------------------------------------------------

_serial = itertools.count(1)


def _value(field, account_id, serial):
    """A value for `field` of a new row of the account (None: leave it to its default)."""
    if isinstance(field, ForeignKeyField):
        target = field.rel_model
        if target is Account:
            return account_id
        if target in account_tables():
            return target.select(target._meta.primary_key).where(
                belongs_to(target, account_id)).order_by(target._meta.primary_key).scalar()
        if field.null:
            return None
        return target.select(target._meta.primary_key).order_by(target._meta.primary_key).scalar()
    if type(field) is IntegerField and field.name == "account_id":
        return account_id
    if isinstance(field, _TEXT):
        return f"{field.model.__name__}.{field.name} #{serial} of account {account_id}"
    if isinstance(field, BooleanField):
        return False
    if isinstance(field, (IntegerField, BigIntegerField)):
        return 1
    if isinstance(field, DateTimeField):
        return clock.now()
    if isinstance(field, DateField):
        return clock.now().date()
    return None


def _in_dependency_order(models):
    """`models`, each after every model of `models` it points at."""
    ordered = []

    def visit(model):
        if model in ordered:
            return
        for field in model._meta.sorted_fields:
            if isinstance(field, ForeignKeyField) and field.rel_model is not model \
                    and field.rel_model in models:
                visit(field.rel_model)
        ordered.append(model)

    for model in models:
        visit(model)
    return ordered


def fill_every_table(account_id):
    """Give the account a row in every table the walk finds where it has none yet
    (bar the purge's own records): a generic row, every column filled, each
    foreign key to a row of the account where the target table has one.
    Return the tables filled."""
    tables = account_tables()
    filled = []
    for model in _in_dependency_order([m for m in tables if m not in PURGE_RECORDS]):
        if model.select().where(belongs_to(model, account_id)).exists():
            continue
        serial = next(_serial)
        values = {f.name: v for f in model._meta.sorted_fields
                  if not f.primary_key and (v := _value(f, account_id, serial)) is not None}
        model.insert(values).execute()
        filled.append(model)
    return filled


# -- text that only the account held -------------------------------------------------------

def _texts(model, where=None):
    fields = [f for f in model._meta.sorted_fields if isinstance(f, _TEXT)]
    if not fields:
        return set()
    query = model.select(*fields)
    if where is not None:
        query = query.where(where)
    return {value for row in query.tuples() for value in row
            if isinstance(value, str) and value.strip()}


def texts_only_of(account_id):
    """Every text value (names, addresses, numbers, IPs, comments) in the account's
    rows that no other row of the database holds, bar codes (a status, a role,
    a kind: one lowercase word), which say nothing of anyone."""
    tables = account_tables()
    mine, others = set(), set()
    for model in MODELS:
        if model in tables and model not in PURGE_RECORDS:
            ids = model.select(model._meta.primary_key).where(belongs_to(model, account_id))
            mine |= _texts(model, model._meta.primary_key.in_(ids))
            others |= _texts(model, model._meta.primary_key.not_in(ids))
        else:
            others |= _texts(model)
    return {text for text in mine - others if not re.fullmatch(r"[a-z_]+", text)}


def where_texts_remain(texts):
    """[(table.column, row id)] of every text column, in every table, that holds
    one of `texts` (or holds it within a longer text: a name in an email's body)."""
    found = []
    for model in MODELS:
        for field in model._meta.sorted_fields:
            if isinstance(field, _TEXT):
                for row_id, value in model.select(model._meta.primary_key, field).tuples():
                    if value and any(text in value for text in texts):
                        found.append((f"{model._meta.table_name}.{field.column_name}", row_id))
    return sorted(found)

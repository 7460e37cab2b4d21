"""The console's list of cancellation requests: filters, search, sorting,
pages of PAGE_SIZE by keyset, and every row of the filters for the CSV,
read a batch at a time (`batches`).

A page is one statement for the requests (with account and owner joined,
and the record to sort by) plus console.rows_of's few for their answers, whatever the range
holds: a page never reads more than its own rows. The next page starts
after the last row's sort key and id (`Page.after`), not at an offset, so
a page costs the same on the first page as on the thousandth.
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from peewee import JOIN, Case, fn

from wizard.store.db import contains_text
from wizard.store.models import (
    Account, CancellationRequest, Plan, RequestRecord, SurveyResponse, User,
)
from . import outcomes
from .console import Range, rows_of

PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 200
SORTS = {"started": "Newest first", "state": "State", "revenue": "Monthly revenue, highest first"}


@dataclass(frozen=True)
class Filters:
    within: Range
    state: Optional[str] = None
    product: Optional[str] = None
    reason: Optional[str] = None
    search: str = ""  # an account's or owner's name, an owner's email, or a request number
    sort: str = "started"


@dataclass
class Page:
    rows: list  # console.Row, each with its .record, .owner and .plan_name
    after: Optional[tuple]  # the sort key and id to start the next page after; None on the last


_STATE_RANK = Case(RequestRecord.outcome, [(key, rank) for rank, key in enumerate(outcomes.OUTCOMES)],
                   len(outcomes.OUTCOMES))


def _sort_key(sort):
    """(expression, descending) of a sort; ties go to the newest request (the higher id)."""
    return {"started": (CancellationRequest.started_at, True),
            "state": (_STATE_RANK, False),
            "revenue": (fn.COALESCE(RequestRecord.monthly_cents, 0), True)}[sort]


def _where(filters):
    """The filters as a condition on the requests alone (what else they name
    is asked through subqueries), so that counting joins nothing."""
    where = CancellationRequest.started_at.between(filters.within.first, filters.within.last)
    if filters.product:
        where &= CancellationRequest.product == filters.product
    if filters.reason:
        where &= CancellationRequest.id.in_(
            SurveyResponse.select(SurveyResponse.request).where(SurveyResponse.reason == filters.reason))
    if filters.state:
        where &= CancellationRequest.record.in_(
            RequestRecord.select(RequestRecord.id).where(RequestRecord.outcome == filters.state))
    if filters.search:
        where &= _matches(filters.search.strip())
    return where


def _query(filters, key):
    """The requests with their account and owner, and the sort key (`sort_key`);
    the record is joined only to sort by (console.rows_of reads it)."""
    Owner = User.alias("owner")
    return (CancellationRequest.select(CancellationRequest, Account, Owner, key.alias("sort_key"))
            .join(Account).switch(CancellationRequest)
            .join(Owner, JOIN.LEFT_OUTER, on=(CancellationRequest.started_by == Owner.id),
                  attr="owner")
            .switch(CancellationRequest)
            .join(RequestRecord, JOIN.LEFT_OUTER, on=(CancellationRequest.record == RequestRecord.id))
            .where(_where(filters)))


def _matches(text):
    """Accounts and owners are searched first (a few thousand short rows), then
    their requests through the indexed foreign keys, never request by request.
    A whole email address finds its owner by the index on emails; part of one
    ("@acme.test") is looked for inside every address."""
    if _is_address(text):
        exact = User.select(User.id).where(User.email == text.lower())
        if exact.exists():
            return CancellationRequest.started_by.in_(exact)
    owners = User.select(User.id).where(contains_text(User.name, text) | contains_text(User.email, text))
    found = (CancellationRequest.account.in_(
                 Account.select(Account.id).where(contains_text(Account.name, text)))
             | CancellationRequest.started_by.in_(owners))
    number = text.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 9:
        found = found | (CancellationRequest.id == int(number))
    return found


def _is_address(text):
    name, at, domain = text.partition("@")
    return bool(name and at and "." in domain and not any(c.isspace() for c in text))


def count(filters):
    return CancellationRequest.select().where(_where(filters)).count()


def page(filters, after=None, size=PAGE_SIZE):
    """The page of requests after `after` (a Page.after of the same filters), or the first."""
    key, descending = _sort_key(filters.sort)
    query = _query(filters, key)
    if after is not None:
        value, last_id = after
        if filters.sort == "started":
            value = datetime.fromisoformat(value)
        beyond = key < value if descending else key > value
        query = query.where(beyond | ((key == value) & (CancellationRequest.id < last_id)))
    query = query.order_by(key.desc() if descending else key.asc(),
                           CancellationRequest.id.desc()).limit(size + 1)
    found = list(query)
    more, found = len(found) > size, found[:size]
    listed = rows_of(found)
    plan_names = dict(Plan.select(Plan.code, Plan.name).tuples()) if listed else {}
    for row in listed:
        row.owner = getattr(row.request, "owner", None)
        row.plan_name = plan_names.get(row.record.plan, row.record.plan) if row.record else ""
    after = _key_of(found[-1], filters.sort) if more and found else None
    return Page(listed, after)


def _key_of(req, sort):
    """Where the next page starts: the last row's sort key (as the database
    computed it; a time as text, for the signed link) and id."""
    if sort == "started":
        return req.started_at.isoformat(), req.id
    return req.sort_key, req.id


def batches(filters, size=500):
    """Every row the filters find, newest first, in lists of `size` (for the
    CSV: no more than a batch of rows is held at a time)."""
    newest_first = Filters(**{**filters.__dict__, "sort": "started"})
    after = None
    while True:
        found = page(newest_first, after, size=size)
        if found.rows:
            yield found.rows
        if found.after is None:
            return
        after = found.after

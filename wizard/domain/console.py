"""What the Customer Success console reads: where each request stands (its
Row), one request in full, the calls board, and the CSV exports (the list's
pages and search: wizard/domain/listing.py; the insights' figures:
wizard/domain/insights.py).

Rows are read with a fixed number of queries (their answers, offers and
records, each in one query), however many requests they are.

A request's state is its anonymous record's outcome (outcomes.outcome_of:
in progress, kept, saved by an offer, call booked, confirmed, reactivated).
Erased accounts leave no request behind (the purge erases them); their
records still count in the insights.
"""
import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from . import formatting, outcomes, policy, steps
from wizard.store.models import (
    Acknowledgement,
    AuditEvent,
    Call,
    CallOutcome,
    CancellationRequest,
    ErasureRecord,
    OfferDecision,
    OfferShown,
    Plan,
    RequestRecord,
    Subscription,
)

STATES = outcomes.OUTCOMES  # a request's state is its record's outcome (outcomes.outcome_of)
REASON_LABELS = dict(policy.SURVEY_REASONS)


def offer_title(key):
    """An offer's title as owners saw it ("" for none)."""
    offer = policy.OFFERS.get(key)
    return offer.title if offer else key


@dataclass(frozen=True)
class Range:
    """Requests started from the first day to the last, both whole days in UTC."""

    first: datetime
    last: datetime

    @classmethod
    def of_days(cls, first_day, last_day):
        return cls(datetime.combine(first_day, time.min, timezone.utc),
                   datetime.combine(last_day, time.max, timezone.utc))

    @classmethod
    def default(cls, now):
        """The last 90 days, today included."""
        return cls.of_days((now - timedelta(days=89)).date(), now.date())


@dataclass
class Row:
    """One request as the console lists it."""

    request: CancellationRequest
    state: str
    reason: str  # the survey's key, "" if not answered
    comment: str
    shown: list  # offer keys, in their order
    accepted: str  # the accepted offer's key, "" if none
    where: str  # the step an open request waits at
    record: object = None  # its RequestRecord (None for a request that has none)
    owner: object = None  # the User who started it (the list reads it: listing.page)
    plan_name: str = ""  # the plan when it started (the list reads it: listing.page)

    @property
    def state_label(self):
        return STATES[self.state]

    @property
    def shown_titles(self):
        return [offer_title(key) for key in self.shown]

    @property
    def reason_label(self):
        return REASON_LABELS.get(self.reason, "")

    @property
    def time_spent(self):
        req = self.request
        return (req.closed_at or req.updated_at) - req.started_at


def rows_of(requests):
    """Each request as a Row, with its answers (CancellationRequest.prefetch_answers),
    offers and record loaded in one query each."""
    ids = [r.id for r in requests]
    shown, accepted, records = defaultdict(list), {}, {}
    if ids:
        CancellationRequest.prefetch_answers(requests)
        for offer in (OfferShown.select().where(OfferShown.request.in_(ids))
                      .order_by(OfferShown.request, OfferShown.position)):
            shown[offer.request_id].append(offer.offer)
        accepted = {d.request_id: d.offer for d in OfferDecision.select().where(
            OfferDecision.request.in_(ids) & OfferDecision.accepted)}
        records = {r.id: r for r in RequestRecord.select().where(
            RequestRecord.id.in_([r.record_id for r in requests if r.record_id]))}
    listed = []
    for req in requests:
        survey, record = req.survey(), records.get(req.record_id)
        listed.append(Row(req, record.outcome if record else outcomes.IN_PROGRESS,
                          survey.reason if survey else "", survey.comment if survey else "",
                          shown[req.id], accepted.get(req.id, ""),
                          steps.where_stopped(req) or "", record))
    return listed


def erased_count(within):
    """Accounts erased for good in the range (they leave no request behind)."""
    return ErasureRecord.select().where(ErasureRecord.finished_at.between(within.first, within.last)).count()


@dataclass
class Detail:
    row: Row
    acknowledgements: list  # (statement text or key, version, current?, accepted at)
    decisions: list  # OfferDecision rows
    audit: list  # AuditEvent rows
    other_answers: list  # (step title, answer) of steps that keep their own (steps.answers_for_staff)
    calls: list = None  # the calls booked from it, with their outcomes and notes


def detail(request_id):
    """Everything about one request, or None."""
    req = CancellationRequest.get_or_none(CancellationRequest.id == request_id)
    if req is None:
        return None
    row = rows_of([req])[0]
    texts = {s.key: s for s in policy.SMRTPHONE_STATEMENTS + policy.SMRTDIALER_STATEMENTS}
    acknowledgements = []
    for ack in Acknowledgement.select().where(Acknowledgement.request == req).order_by(Acknowledgement.id):
        statement = texts.get(ack.statement_key)
        acknowledgements.append((statement.text if statement else ack.statement_key, ack.text_version,
                                 bool(statement and statement.version == ack.text_version),
                                 ack.accepted_at))
    decisions = list(OfferDecision.select().where(OfferDecision.request == req).order_by(OfferDecision.id))
    until = req.closed_at or req.updated_at
    # The request's own span, and what named it later (its plan change undone).
    audit = [event for event in AuditEvent.select().where(
        (AuditEvent.account == req.account_id)
        & (AuditEvent.at.between(req.started_at, until)
           | AuditEvent.detail.contains(f'"request": {req.id}')))
        .order_by(AuditEvent.at, AuditEvent.id)
        if event.at <= until or json.loads(event.detail).get("request") == req.id]
    calls = list(Call.with_people().where(Call.request == req.id).order_by(Call.start))
    return Detail(row, acknowledgements, decisions, audit, steps.answers_for_staff(req), calls)


CSV_COLUMNS = ("request", "account", "owner", "product", "plan", "monthly_price", "state",
               "started_at", "closed_at", "reason", "comment", "offers_shown", "offer_accepted",
               "stopped_at", "call_notes")


def csv_lines(batches):
    """The rows of each batch (a list of Rows) as CSV text, a batch at a time,
    the header first. A cell a spreadsheet would read as a formula is
    prefixed with an apostrophe: owners write the comments, staff the notes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield out.getvalue()
    for batch in batches:
        out.seek(0)
        out.truncate()
        notes = call_notes_of([r.request.id for r in batch])
        for r in batch:
            req, record = r.request, r.record
            writer.writerow([formatting.spreadsheet_cell(v) for v in (
                req.id, req.account.name, r.owner.name if r.owner else "", req.product_name,
                r.plan_name,
                formatting.money(record.monthly_cents) if record else "", r.state_label,
                req.started_at.isoformat(), req.closed_at.isoformat() if req.closed_at else "",
                r.reason_label, r.comment, " ".join(r.shown), r.accepted, r.where,
                " | ".join(notes.get(req.id, [])))])
        yield out.getvalue()


def call_notes_of(request_ids):
    """{request id: the notes staff wrote after the calls booked from it}, in one query."""
    notes = defaultdict(list)
    if request_ids:
        for request_id, text in (Call.select(Call.request, Call.outcome_notes)
                                 .where(Call.request.in_(request_ids) & (Call.outcome_notes != ""))
                                 .order_by(Call.start).tuples()):
            notes[request_id].append(text)
    return notes


# -- calls with Customer Success ------------------------------------------------------------

@dataclass
class CallRow:
    """A call as staff prepare for it: who, what they pay, and what they said."""

    call: Call
    monthly_cents: int  # the account's active subscriptions, a month
    plans: str  # "smrtPhone Pro, smrtDialer Single-line dialer"
    request: Row  # the request the call was booked from, or None (booked from Products)


def calls_board(since):
    """The calls from `since` on, soonest first, each with what staff need to
    know; a fixed number of queries however many calls."""
    calls = Call.starting_from(since)
    accounts = list({c.account_id for c in calls})
    subscriptions = defaultdict(list)
    if accounts:
        for sub in (Subscription.select(Subscription, Plan).join(Plan)
                    .where(Subscription.account.in_(accounts)).order_by(Subscription.product.desc())):
            subscriptions[sub.account_id].append(sub)
    linked = list({c.request_id for c in calls if c.request_id})
    request_rows = {row.request.id: row for row in rows_of(list(
        CancellationRequest.select().where(CancellationRequest.id.in_(linked))))} if linked else {}
    board = []
    for call in calls:
        active = [s for s in subscriptions[call.account_id] if s.is_active]
        board.append(CallRow(call, sum(s.price_cents for s in active),
                             ", ".join(f"{s.product_name} {s.plan.name}" for s in active),
                             request_rows.get(call.request_id)))
    return board


CALL_CSV_COLUMNS = ("call", "account", "owner", "owner_email", "staff", "starts_at", "status",
                    "outcome", "topic", "notes", "booked_at", "request")


def calls_booked(within):
    """The calls booked (made) within the range, soonest booked first, people loaded."""
    return list(Call.with_people().where(Call.created_at.between(within.first, within.last))
                .order_by(Call.created_at, Call.id))


def calls_csv(calls):
    """Calls as CSV text, each cell safe from spreadsheet formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CALL_CSV_COLUMNS)
    for call in calls:
        writer.writerow([formatting.spreadsheet_cell(v) for v in (
            call.id, call.account.name, call.owner.name, call.owner.email, call.staff.name,
            call.start.isoformat(), Call.STATUS_NAMES[call.status],
            CallOutcome.NAMES.get(call.outcome, ""), call.topic, call.outcome_notes,
            call.created_at.isoformat(), call.request_id or "")])
    return out.getvalue()

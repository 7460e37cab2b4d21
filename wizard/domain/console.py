"""What the Customer Success console reads: the requests of a date range and
where each stands, one request in full, the calls board, and the CSV exports
(the figures of the insights page: wizard/domain/insights.py).

A range's rows are read with a fixed number of queries (the range's
requests, then their answers, offers and subscriptions, each in one query).

States a request can be in, as Customer Success reads them:
- in progress: the wizard is open (not finished, not abandoned for good);
- kept: the owner chose Keep my account;
- saved by an offer: an offer was accepted (a plan changed, smrtDialer alone);
- call booked: the owner chose to talk with Customer Success first;
- confirmed: the cancellation was confirmed and stands;
- reactivated: confirmed, and the subscription is active again.
Erased accounts leave no request behind (the purge erases them); only their
count is known, from the erasure records.
"""
import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from . import formatting, policy, steps
from wizard.store.models import (
    Account,
    Acknowledgement,
    AuditEvent,
    Call,
    CallOutcome,
    CancellationRequest,
    ErasureRecord,
    OfferDecision,
    OfferShown,
    Plan,
    Subscription,
    SurveyResponse,
)

IN_PROGRESS, KEPT, SAVED, CALL_BOOKED, CONFIRMED, REACTIVATED = (
    "in_progress", "kept", "saved", "call_booked", "confirmed", "reactivated")
STATES = {
    IN_PROGRESS: "In progress",
    KEPT: "Kept the account",
    SAVED: "Saved by an offer",
    CALL_BOOKED: "Call booked",
    CONFIRMED: "Confirmed",
    REACTIVATED: "Reactivated",
}
REASON_LABELS = dict(policy.SURVEY_REASONS)


def offer_title(key):
    """An offer's title as owners saw it ("" for none)."""
    offer = policy.OFFERS.get(key)
    return offer.title if offer else key


def state_of(req, accepted_offer, subscription_active):
    """The request's state (one of STATES) from its row and what followed it."""
    if req.status == CancellationRequest.OPEN:
        return IN_PROGRESS
    if req.status == CancellationRequest.KEPT:
        return KEPT
    if req.status == CancellationRequest.SAVED_BY_OFFER:
        return CALL_BOOKED if accepted_offer == "book_call" else SAVED
    # Confirmed, or superseded by smrtPhone's cancellation, which took its product too.
    return REACTIVATED if subscription_active else CONFIRMED


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
    subscription_active: bool
    price_cents: int

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


def rows(within, state=None, product=None, reason=None, limit=None):
    """The requests started `within` the range, newest first, filtered; each a Row."""
    query = (CancellationRequest.select(CancellationRequest, Account).join(Account)
             .where(CancellationRequest.started_at.between(within.first, within.last))
             .order_by(CancellationRequest.started_at.desc(), CancellationRequest.id.desc()))
    if product:
        query = query.where(CancellationRequest.product == product)
    if reason:
        query = query.where(CancellationRequest.id.in_(
            SurveyResponse.select(SurveyResponse.request).where(SurveyResponse.reason == reason)))
    listed = rows_of(list(query))
    if state is not None:
        listed = [r for r in listed if r.state == state]
    return listed[:limit] if limit else listed


def rows_of(requests):
    """Each request as a Row, with its answers, offers and subscription loaded
    in one query each."""
    ids = [r.id for r in requests]
    surveys, shown, accepted, subscriptions = {}, defaultdict(list), {}, {}
    if ids:
        surveys = {s.request_id: s for s in SurveyResponse.select().where(SurveyResponse.request.in_(ids))}
        for offer in (OfferShown.select().where(OfferShown.request.in_(ids))
                      .order_by(OfferShown.request, OfferShown.position)):
            shown[offer.request_id].append(offer.offer)
        accepted = {d.request_id: d.offer for d in OfferDecision.select().where(
            OfferDecision.request.in_(ids) & OfferDecision.accepted)}
        subscriptions = {s.id: s for s in Subscription.select().where(
            Subscription.id.in_(list({r.subscription_id for r in requests})))}
        CancellationRequest.prefetch_answers(requests)
    listed = []
    for req in requests:
        sub = subscriptions.get(req.subscription_id)
        active = sub is not None and sub.is_active
        survey = surveys.get(req.id)
        listed.append(Row(req, state_of(req, accepted.get(req.id), active),
                          survey.reason if survey else "", survey.comment if survey else "",
                          shown[req.id], accepted.get(req.id, ""),
                          steps.where_stopped(req) or "", active, sub.price_cents if sub else 0))
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
    audit = list(AuditEvent.select().where(
        (AuditEvent.account == req.account_id) & AuditEvent.at.between(req.started_at, until))
        .order_by(AuditEvent.at, AuditEvent.id))
    return Detail(row, acknowledgements, decisions, audit, steps.answers_for_staff(req))


CSV_COLUMNS = ("request", "account", "product", "state", "started_at", "closed_at", "reason",
               "comment", "offers_shown", "offer_accepted", "stopped_at")


def as_csv(listed):
    """The rows as CSV text. A cell a spreadsheet would read as a formula is
    prefixed with an apostrophe: owners write the comments."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in listed:
        req = r.request
        writer.writerow([formatting.spreadsheet_cell(v) for v in (
            req.id, req.account.name, req.product_name, r.state_label, req.started_at.isoformat(),
            req.closed_at.isoformat() if req.closed_at else "", r.reason_label, r.comment,
            " ".join(r.shown), r.accepted, r.where)])
    return out.getvalue()


# -- calls with Customer Success ------------------------------------------------------------

@dataclass
class CallRow:
    """A call as staff prepare for it: who, what they pay, and what they said."""

    call: Call
    monthly_cents: int  # the account's active subscriptions, a month
    plans: str  # "smrtPhone Pro, smrtDialer Single-line dialer"
    request: Row  # the request the call was booked from (else the account's latest), or None


def calls_board(since):
    """The calls from `since` on, soonest first, each with what staff need to
    know; a fixed number of queries however many calls."""
    calls = Call.starting_from(since)
    accounts = list({c.account_id for c in calls})
    subscriptions = defaultdict(list)
    latest = {}
    if accounts:
        for sub in (Subscription.select(Subscription, Plan).join(Plan)
                    .where(Subscription.account.in_(accounts)).order_by(Subscription.product.desc())):
            subscriptions[sub.account_id].append(sub)
        for req in (CancellationRequest.select().where(CancellationRequest.account.in_(accounts))
                    .order_by(CancellationRequest.started_at)):
            latest[req.account_id] = req
    linked = {c.request_id for c in calls if c.request_id}
    wanted = {r.id: r for r in latest.values()}
    if linked - set(wanted):
        wanted.update({r.id: r for r in CancellationRequest.select().where(
            CancellationRequest.id.in_(list(linked - set(wanted))))})
    request_rows = {row.request.id: row for row in rows_of(list(wanted.values()))}
    board = []
    for call in calls:
        active = [s for s in subscriptions[call.account_id] if s.is_active]
        req_id = call.request_id or (latest[call.account_id].id if call.account_id in latest else None)
        board.append(CallRow(call, sum(s.price_cents for s in active),
                             ", ".join(f"{s.product_name} {s.plan.name}" for s in active),
                             request_rows.get(req_id)))
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

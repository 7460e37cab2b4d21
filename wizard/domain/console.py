"""What Customer Success learns from cancellation requests: where each stands,
and the figures of the insights page.

Every figure is computed from the requests started within a date range, with
a fixed number of queries (the range's requests, then their answers, offers
and subscriptions, each in one query), then counted in Python.

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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from . import policy, steps
from wizard.store.models import (
    Account,
    Acknowledgement,
    AuditEvent,
    Booking,
    CallOutcome,
    CancellationRequest,
    ErasureRecord,
    OfferDecision,
    OfferShown,
    Plan,
    Product,
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
# A save is judged again this long after it was made.
STILL_SUBSCRIBED_AFTER = timedelta(days=30)
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
    if req.status == CancellationRequest.RETAINED:
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
    return Detail(row, acknowledgements, decisions, audit)


@dataclass
class Figures:
    """The insights page's figures for one date range."""

    within: Range
    calls: list = field(default_factory=list)  # StaffCalls, by name
    started: int = 0
    reasons: list = field(default_factory=list)  # (label, count), most first
    funnel: list = field(default_factory=list)  # (step title, reached, lost since the step before)
    offers: list = field(default_factory=list)  # (offer title, shown, accepted)
    offers_by_reason: list = field(default_factory=list)  # (reason, offer title, shown, accepted)
    saved: int = 0  # an offer accepted, or the account kept
    abandoned: int = 0  # still open: never counted as a save
    confirmed: int = 0
    matured: int = 0  # saves at least STILL_SUBSCRIBED_AFTER old
    still_subscribed: int = 0  # of those, still active today
    revenue_by_month: list = field(default_factory=list)  # ("2026-11", cents a month saved)
    erased: int = 0

    @property
    def funnel_bars(self):
        return [(title, reached) for title, reached, _ in self.funnel]

    @property
    def save_rate(self):
        return self.saved / self.started if self.started else 0.0

    @property
    def still_subscribed_rate(self):
        return self.still_subscribed / self.matured if self.matured else 0.0


def figures(within, now):
    """Compute the insights of the requests started within the range."""
    listed = rows(within)
    result = Figures(within, started=len(listed), erased=erased_count(within),
                     calls=call_figures(within, now))
    reasons = Counter(r.reason for r in listed if r.reason)
    result.reasons = [(REASON_LABELS[key], count) for key, count in reasons.most_common()]

    phone = [r for r in listed if r.request.product == Product.SMRTPHONE]
    stages = [
        ("Started", lambda r: True),
        ("Read what will happen", lambda r: r.request.consequences_seen_at is not None),
        ("Acknowledged", lambda r: bool(r.request.acknowledged_versions())),
        ("Answered the survey", lambda r: bool(r.reason)),
        ("Looked at the offers", lambda r: r.request.offers_declined_at is not None or bool(r.accepted)),
        ("Confirmed", lambda r: r.state in (CONFIRMED, REACTIVATED)),
    ]
    before = None
    for title, reached in stages:
        count = sum(1 for r in phone if reached(r))
        result.funnel.append((title, count, (before - count) if before is not None else 0))
        before = count

    shown, taken = Counter(), Counter()
    shown_by_reason, taken_by_reason = Counter(), Counter()
    for r in listed:
        for offer in r.shown:
            shown[offer] += 1
            shown_by_reason[r.reason, offer] += 1
        if r.accepted:
            taken[r.accepted] += 1
            taken_by_reason[r.reason, r.accepted] += 1
    result.offers = [(offer.title, shown[key], taken[key]) for key, offer in policy.OFFERS.items()]
    result.offers_by_reason = [
        (REASON_LABELS.get(reason, reason), policy.OFFERS[key].title, count, taken_by_reason[reason, key])
        for (reason, key), count in sorted(shown_by_reason.items())]

    saves = [r for r in listed if r.state in (KEPT, SAVED, CALL_BOOKED)]
    result.saved = len(saves)
    result.abandoned = sum(1 for r in listed if r.state == IN_PROGRESS)
    result.confirmed = sum(1 for r in listed if r.state in (CONFIRMED, REACTIVATED))
    matured = [r for r in saves if r.request.closed_at <= now - STILL_SUBSCRIBED_AFTER]
    result.matured = len(matured)
    result.still_subscribed = sum(1 for r in matured if r.subscription_active)
    revenue = Counter()
    for r in saves:
        if r.subscription_active:
            revenue[f"{r.request.closed_at:%Y-%m}"] += r.price_cents
    result.revenue_by_month = sorted(revenue.items())
    return result


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
        writer.writerow([_cell(v) for v in (
            req.id, req.account.name, req.product_name, r.state_label, req.started_at.isoformat(),
            req.closed_at.isoformat() if req.closed_at else "", r.reason_label, r.comment,
            " ".join(r.shown), r.accepted, r.where)])
    return out.getvalue()


def _cell(value):
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- calls with Customer Success ------------------------------------------------------------

@dataclass
class CallRow:
    """A call as staff prepare for it: who, what they pay, and what they said."""

    call: Booking
    monthly_cents: int  # the account's active subscriptions, a month
    plans: str  # "smrtPhone Pro, smrtDialer Single-line dialer"
    request: Row  # the request the call was booked from (else the account's latest), or None


def calls_board(since):
    """The calls from `since` on, soonest first, each with what staff need to
    know; a fixed number of queries however many calls."""
    calls = Booking.starting_from(since)
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


@dataclass
class StaffCalls:
    """One staff member's calls booked in a range, and what came of them."""

    name: str
    booked: int = 0
    held: int = 0
    no_show: int = 0
    outcomes: Counter = field(default_factory=Counter)  # CallOutcome -> calls
    still_subscribed: int = 0  # held, saved, 30 days old, the smrtPhone still active
    matured: int = 0  # held and saved at least 30 days ago


def call_figures(within, now):
    """Per staff member: calls booked (made within the range), held or missed,
    their outcomes, and the saved accounts still subscribed 30 days later."""
    calls = calls_booked(within)
    accounts = list({c.account_id for c in calls})
    phones = {s.account_id: s for s in Subscription.select().where(
        Subscription.account.in_(accounts) & (Subscription.product == Product.SMRTPHONE))} \
        if accounts else {}
    by_staff = {}
    for call in calls:
        if call.is_cancelled:
            continue
        figures = by_staff.setdefault(call.staff_id, StaffCalls(call.staff.name))
        figures.booked += 1
        figures.held += call.status == Booking.HELD
        figures.no_show += call.status == Booking.NO_SHOW
        if call.outcome:
            figures.outcomes[call.outcome] += 1
        if call.outcome == CallOutcome.SAVED and call.outcome_at <= now - STILL_SUBSCRIBED_AFTER:
            figures.matured += 1
            phone = phones.get(call.account_id)
            figures.still_subscribed += bool(phone and phone.is_active)
    return sorted(by_staff.values(), key=lambda f: f.name)


CALL_CSV_COLUMNS = ("call", "account", "owner", "owner_email", "staff", "starts_at", "status",
                    "outcome", "topic", "notes", "booked_at", "request")


def calls_booked(within):
    """The calls booked (made) within the range, soonest booked first, people loaded."""
    return list(Booking.with_people().where(Booking.created_at.between(within.first, within.last))
                .order_by(Booking.created_at, Booking.id))


def calls_csv(calls):
    """Calls as CSV text, each cell safe from spreadsheet formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CALL_CSV_COLUMNS)
    for call in calls:
        writer.writerow([_cell(v) for v in (
            call.id, call.account.name, call.owner.name, call.owner.email, call.staff.name,
            call.start.isoformat(), Booking.STATUS_NAMES[call.status],
            CallOutcome.NAMES.get(call.outcome, ""), call.topic, call.outcome_notes,
            call.created_at.isoformat(), call.request_id or "")])
    return out.getvalue()

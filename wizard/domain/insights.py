"""The insights page's figures: reasons, the wizard's funnel, offers shown
against accepted, the save rate, revenue saved and calls per staff member.

Every figure is computed from the requests started within a date range
(console.rows) and the calls booked in it, then counted in Python.
"""
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from wizard.store.models import Call, CallOutcome, Product, Subscription
from . import policy, steps
from .console import (
    CALL_BOOKED, CONFIRMED, IN_PROGRESS, KEPT, REACTIVATED, REASON_LABELS, SAVED, Range,
    calls_booked, erased_count, rows,
)

# A save is judged again this long after it was made.
STILL_SUBSCRIBED_AFTER = timedelta(days=30)


def judged(saved_at, now):
    """Whether a save made at `saved_at` is old enough to ask if it held
    ("still subscribed": the subscription is active STILL_SUBSCRIBED_AFTER later)."""
    return saved_at <= now - STILL_SUBSCRIBED_AFTER


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

    result.funnel = funnel([r.request for r in listed if r.request.product == Product.SMRTPHONE])

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
    matured = [r for r in saves if judged(r.request.closed_at, now)]
    result.matured = len(matured)
    result.still_subscribed = sum(1 for r in matured if r.subscription_active)
    revenue = Counter()
    for r in saves:
        if r.subscription_active:
            revenue[f"{r.request.closed_at:%Y-%m}"] += r.price_cents
    result.revenue_by_month = sorted(revenue.items())
    return result


# What the funnel calls reaching each step of smrtPhone's wizard (a step not
# named here is shown by its title).
FUNNEL_LABELS = {"consequences": "Read what will happen", "acknowledge": "Acknowledged",
                 "survey": "Answered the survey", "options": "Looked at the offers",
                 "confirm": "Confirmed"}


def funnel(requests):
    """(label, requests that completed the step, lost since the step before) for
    "Started" and each step of smrtPhone's wizard, completion read from the
    step list itself (steps.Step.is_complete)."""
    rows, before = [("Started", len(requests), 0)], len(requests)
    for step in steps.STEPS_BY_PRODUCT[Product.SMRTPHONE]:
        count = sum(1 for req in requests
                    if step.condition(req) and step.is_complete(req))
        rows.append((FUNNEL_LABELS.get(step.name, step.title), count, before - count))
        before = count
    return rows


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
        figures.held += call.status == Call.HELD
        figures.no_show += call.status == Call.NO_SHOW
        if call.outcome:
            figures.outcomes[call.outcome] += 1
        if call.outcome == CallOutcome.SAVED and judged(call.outcome_at, now):
            figures.matured += 1
            phone = phones.get(call.account_id)
            figures.still_subscribed += bool(phone and phone.is_active)
    return sorted(by_staff.values(), key=lambda f: f.name)

"""The insights page's figures: reasons, the wizard's funnel, offers shown
against accepted, the save rate, how long saves held, revenue saved, trends
by week or month, and calls per staff member.

Every figure but the calls' is counted by the database (GROUP BY, a fixed
number of statements for any range) from the anonymous request records
(models/history.py), which outlive the purge: an erased account's requests
still count, in the period they were made.
"""
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from peewee import JOIN, Case, fn

from wizard.store.models import Call, CallOutcome, Product, RequestRecord, Subscription, User
from . import policy, steps
from .console import REASON_LABELS, Range, erased_count
from .history import CONFIRMED, IN_PROGRESS, REACTIVATED, SAVES

# A call's save is judged again this long after it was made (call_figures).
STILL_SUBSCRIBED_AFTER = timedelta(days=30)
HELD_DAYS = (30, 60, 90)  # "still subscribed N days after the save"
# Revenue saved counts a save only once it is no longer undone and the
# subscription was not cancelled within this many days of it.
REVENUE_HOLDS_DAYS = 30
WEEKLY_UP_TO = timedelta(days=7 * 16)  # a longer range trends by month


@dataclass
class Held:
    """Saves at least `days` old (and not erased before), and those whose
    subscription was not cancelled within `days`."""

    days: int
    matured: int = 0
    held: int = 0

    @property
    def rate(self):
        return self.held / self.matured if self.matured else 0.0


@dataclass
class Trend:
    """One week or month of requests started."""

    bucket: str  # "2026-11-30" (its Monday) or "2026-11"
    started: int = 0
    saved: int = 0
    reasons: Counter = field(default_factory=Counter)  # reason key -> requests
    shown: int = 0  # offers shown, all requests together
    accepted: int = 0  # offers accepted
    median_to_cancel: timedelta = None  # confirmed requests: from start to confirm

    @property
    def save_rate(self):
        return self.saved / self.started if self.started else 0.0

    @property
    def take_rate(self):
        return self.accepted / self.shown if self.shown else 0.0


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
    saved: int = 0  # an offer accepted, a call booked, or the account kept
    abandoned: int = 0  # still open: never counted as a save
    confirmed: int = 0
    held: list = field(default_factory=list)  # Held, for 30, 60 and 90 days
    revenue_by_month: list = field(default_factory=list)  # ("2026-11", cents a month saved)
    erased: int = 0  # accounts erased in the range
    erased_requests: int = 0  # requests of the range whose account has been erased since
    trend_by: str = "week"  # or "month"
    trends: list = field(default_factory=list)  # Trend, oldest first

    @property
    def save_rate_bars(self):
        """(week or month, save rate in whole per cent), oldest first: the trend's chart."""
        return [(t.bucket, round(t.save_rate * 100)) for t in self.trends]

    @property
    def funnel_bars(self):
        return [(title, reached) for title, reached, _ in self.funnel]

    @property
    def save_rate(self):
        return self.saved / self.started if self.started else 0.0

    @property
    def matured(self):
        return self.held[0].matured if self.held else 0

    @property
    def still_subscribed(self):
        return self.held[0].held if self.held else 0

    @property
    def still_subscribed_rate(self):
        return self.held[0].rate if self.held else 0.0


def _in(within):
    return RequestRecord.started_on.between(within.first.date(), within.last.date())


@dataclass(frozen=True)
class Group:
    """The records of a range that share every key of the one pass (`groups`)."""

    bucket: str  # the week or month they started in
    product: str
    outcome: str
    reason: str
    accepted: str
    offers_shown: tuple
    steps_reached: tuple
    count: int
    erased: int
    held: tuple  # (matured, held) for each of HELD_DAYS


def groups(within, now, by):
    """One pass over the range's records, grouped by everything the figures
    count by; the figures are sums of these groups (a few hundred rows for
    any range), so the database reads each record once."""
    bucket = RequestRecord.started_week if by == "week" else RequestRecord.started_month
    keys = (bucket, RequestRecord.product, RequestRecord.outcome, RequestRecord.reason,
            RequestRecord.offer_accepted, RequestRecord.offers_shown, RequestRecord.steps_reached)
    today = now.date()
    held = []
    for days in HELD_DAYS:
        known = (RequestRecord.outcome.in_(SAVES)
                 & (RequestRecord.saved_on <= today - timedelta(days=days))
                 & (RequestRecord.frozen_after_days.is_null()
                    | (RequestRecord.frozen_after_days >= days)))
        kept = known & (RequestRecord.cancelled_after_days.is_null()
                        | (RequestRecord.cancelled_after_days >= days))
        held += [fn.SUM(Case(None, [(known, 1)], 0)), fn.SUM(Case(None, [(kept, 1)], 0))]
    query = (RequestRecord.select(*keys, fn.COUNT(RequestRecord.id),
                                  fn.SUM(Case(None, [(RequestRecord.frozen_on.is_null(False), 1)], 0)),
                                  *held)
             .where(_in(within)).group_by(*keys).tuples())
    return [Group(b, product, outcome, reason, accepted, tuple(shown.split()), tuple(reached.split()),
                  count, erased or 0, tuple(zip(sums[0::2], sums[1::2])))
            for b, product, outcome, reason, accepted, shown, reached, count, erased, *sums in query]


def figures(within, now):
    """Compute the insights of the requests started within the range."""
    result = Figures(within, erased=erased_count(within), calls=call_figures(within, now))
    result.trend_by = "week" if within.last - within.first <= WEEKLY_UP_TO else "month"
    found = groups(within, now, result.trend_by)
    result.started = sum(g.count for g in found)
    result.saved = sum(g.count for g in found if g.outcome in SAVES)
    result.abandoned = sum(g.count for g in found if g.outcome == IN_PROGRESS)
    result.confirmed = sum(g.count for g in found if g.outcome in (CONFIRMED, REACTIVATED))
    result.erased_requests = sum(g.erased for g in found)
    reasons = Counter()
    for g in found:
        if g.reason:
            reasons[g.reason] += g.count
    result.reasons = [(REASON_LABELS.get(key, key), count)
                      for key, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    result.funnel = funnel(found)
    result.offers, result.offers_by_reason = offer_figures(found)
    result.held = [Held(days, sum(g.held[i][0] or 0 for g in found), sum(g.held[i][1] or 0 for g in found))
                   for i, days in enumerate(HELD_DAYS)]
    result.revenue_by_month = revenue_by_month(within)
    result.trends = trends(within, found, result.trend_by)
    return result


# What the funnel calls reaching each step of smrtPhone's wizard (a step not
# named here is shown by its title).
FUNNEL_LABELS = {"consequences": "Read what will happen", "acknowledge": "Acknowledged",
                 "survey": "Answered the survey", "options": "Looked at the offers",
                 "confirm": "Confirmed"}


def funnel(found):
    """(label, requests that completed the step, lost since the step before)
    for "Started" and each step of smrtPhone's wizard, as the records noted
    them (a step is noted the first time it is completed: steps.save)."""
    phone = [g for g in found if g.product == Product.SMRTPHONE]
    started = sum(g.count for g in phone)
    rows, before = [("Started", started, 0)], started
    for step in steps.STEPS_BY_PRODUCT[Product.SMRTPHONE]:
        count = sum(g.count for g in phone if step.name in g.steps_reached)
        rows.append((FUNNEL_LABELS.get(step.name, step.title), count, before - count))
        before = count
    return rows


def offer_figures(found):
    """(offer title, shown, accepted) per offer, and the same per reason."""
    shown_by, taken_by = Counter(), Counter()
    for g in found:
        for offer in g.offers_shown:
            shown_by[g.reason, offer] += g.count
        if g.accepted:
            taken_by[g.reason, g.accepted] += g.count
    totals = [(offer.title, sum(n for (_, o), n in shown_by.items() if o == key),
               sum(n for (_, o), n in taken_by.items() if o == key))
              for key, offer in policy.OFFERS.items()]
    by_reason = [(REASON_LABELS.get(reason, reason), policy.OFFERS[key].title, count,
                  taken_by[reason, key])
                 for (reason, key), count in sorted(shown_by.items()) if key in policy.OFFERS]
    return totals, by_reason


def revenue_by_month(within):
    """("2026-11", cents) per month of the saves: each subscription once a
    month, at the monthly price the save kept (the lower, saved twice). A
    save whose plan change was undone, or whose subscription was cancelled
    within REVENUE_HOLDS_DAYS of it, counts for nothing."""
    counted = (RequestRecord
               .select(RequestRecord.saved_month.alias("month"),
                       fn.MIN(RequestRecord.saved_cents).alias("cents"))
               .where(_in(within) & RequestRecord.outcome.in_(SAVES)
                      & RequestRecord.offer_undone_on.is_null()
                      & (RequestRecord.cancelled_after_days.is_null()
                         | (RequestRecord.cancelled_after_days >= REVENUE_HOLDS_DAYS)))
               .group_by(RequestRecord.subscription_tag, RequestRecord.saved_month)
               .alias("counted"))
    month = counted.c.month
    return list(RequestRecord.select(month, fn.SUM(counted.c.cents)).from_(counted)
                .group_by(month).order_by(month).tuples())


def trends(within, found, by):
    """The range week by week (or month by month): started, saved, reasons,
    offers' take rate and the median time to cancel."""
    by_bucket = {}
    for g in found:
        t = by_bucket.setdefault(g.bucket, Trend(g.bucket))
        t.started += g.count
        t.saved += g.count if g.outcome in SAVES else 0
        t.shown += g.count * len(g.offers_shown)
        t.accepted += g.count if g.accepted else 0
        if g.reason:
            t.reasons[g.reason] += g.count
    bucket = RequestRecord.started_week if by == "week" else RequestRecord.started_month
    seconds = defaultdict(list)
    for key, spent in (RequestRecord.select(bucket, RequestRecord.decided_seconds)
                       .where(_in(within) & RequestRecord.outcome.in_((CONFIRMED, REACTIVATED))
                              & RequestRecord.decided_seconds.is_null(False))
                       .tuples()):
        seconds[key].append(spent)
    for key, spent in seconds.items():
        by_bucket[key].median_to_cancel = timedelta(seconds=statistics.median(spent))
    return sorted(by_bucket.values(), key=lambda t: t.bucket)


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
    """Per staff member: calls booked (made within the range, cancelled ones
    left out), held or missed, their outcomes, and the saved accounts still
    subscribed 30 days later; counted by the database."""
    phone = Subscription.alias()
    saved = (Call.outcome == CallOutcome.SAVED) & (Call.outcome_at <= now - STILL_SUBSCRIBED_AFTER)
    active = saved & (phone.status == Subscription.ACTIVE)
    counts = (Call.select(Call.staff, User.name, Call.status, Call.outcome, fn.COUNT(Call.id),
                          fn.SUM(Case(None, [(saved, 1)], 0)), fn.SUM(Case(None, [(active, 1)], 0)))
              .join(User, on=(Call.staff == User.id))
              .join(phone, JOIN.LEFT_OUTER, on=((phone.account == Call.account)
                                                & (phone.product == Product.SMRTPHONE)))
              .where(Call.created_at.between(within.first, within.last)
                     & (Call.status != Call.CANCELLED))
              .group_by(Call.staff, User.name, Call.status, Call.outcome).tuples())
    by_staff = {}
    for staff_id, name, status, outcome, count, matured, still in counts:
        figures = by_staff.setdefault(staff_id, StaffCalls(name))
        figures.booked += count
        figures.held += count if status == Call.HELD else 0
        figures.no_show += count if status == Call.NO_SHOW else 0
        if outcome:
            figures.outcomes[outcome] += count
        figures.matured += matured or 0
        figures.still_subscribed += still or 0
    return sorted(by_staff.values(), key=lambda f: f.name)

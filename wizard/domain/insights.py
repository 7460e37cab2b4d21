"""The insights page's figures: reasons, the wizard's funnel, offers shown
against accepted, the save rate, how long saves held, revenue saved, trends
by week or month, and calls per staff member.

Every figure but the calls' is counted from the anonymous request records
(models/history.py), which outlive the purge: an erased account's requests
still count, in the period they were made. The database adds up their
running totals for the range (tallies.sums: a GROUP BY over a few rows a
week, two statements for any range); this module turns the sums into figures.

Revenue saved counts each subscription once a month, with its lowest-priced
save of that month (tallies.revenue_carriers); a range that starts in the
middle of a month leaves out a subscription whose counted save was before it.
The median time to cancel is to the minute (to the hour past a day).
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from peewee import JOIN, Case, fn

from wizard.store.models import Call, CallOutcome, Product, Subscription, User
from . import policy, steps, tallies
from .console import REASON_LABELS, Range, erased_count
from .outcomes import DECIDED, IN_PROGRESS, SAVES
from .tallies import HELD_DAYS

# A call's save is judged again this long after it was made (call_figures).
STILL_SUBSCRIBED_AFTER = timedelta(days=30)
WEEKLY_UP_TO = timedelta(days=7 * 16)  # a longer range trends by month


@dataclass
class Held:
    """Saves at least `days` old (and not erased before), and those whose
    subscription was not canceled within `days`."""

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


def figures(within, now):
    """Compute the insights of the requests started within the range."""
    result = Figures(within, erased=erased_count(within), calls=call_figures(within, now))
    result.trend_by = "week" if within.last - within.first <= WEEKLY_UP_TO else "month"
    found = tallies.sums(within.first.date(), within.last.date(), result.trend_by)

    by_figure = defaultdict(list)  # figure -> [(bucket, a, b, c, n)]
    for (bucket, figure, a, b, c), n in found.items():
        by_figure[figure].append((bucket, a, b, c, n))
    each = by_figure.__getitem__

    outcomes = each("outcome")
    result.started = sum(n for *_, n in outcomes)
    result.saved = sum(n for _, _, outcome, _, n in outcomes if outcome in SAVES)
    result.abandoned = sum(n for _, _, outcome, _, n in outcomes if outcome == IN_PROGRESS)
    result.confirmed = sum(n for _, _, outcome, _, n in outcomes if outcome in DECIDED)
    result.erased_requests = sum(n for _, _, _, erased, n in outcomes if erased == "1")
    reasons = Counter()
    for _, reason, _, _, n in each("reason"):
        reasons[reason] += n
    result.reasons = [(REASON_LABELS.get(key, key), count)
                      for key, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    result.funnel = funnel(each("reached"), sum(
        n for _, product, *_, n in outcomes if product == Product.SMRTPHONE))
    result.offers, result.offers_by_reason = offer_figures(each("shown"), each("accepted"))
    result.held = held(each("held"), now.date())
    revenue = Counter()
    for _, month, _, _, cents in each("revenue"):
        revenue[month] += cents
    result.revenue_by_month = sorted((month, cents) for month, cents in revenue.items() if cents)
    result.trends = trends(each)
    return result


# What the funnel calls reaching each step of smrtPhone's wizard (a step not
# named here is shown by its title).
FUNNEL_LABELS = {"consequences": "Read what will happen", "acknowledge": "Acknowledged",
                 "survey": "Answered the survey", "options": "Looked at the offers",
                 "confirm": "Confirmed"}


def funnel(reached, started):
    """(label, requests that completed the step, lost since the step before)
    for "Started" and each step of smrtPhone's wizard, as the records noted
    them (a step is noted the first time it is completed: steps.save)."""
    counts = Counter()
    for _, product, step, _, n in reached:
        if product == Product.SMRTPHONE:
            counts[step] += n
    rows, before = [("Started", started, 0)], started
    for step in steps.STEPS_BY_PRODUCT[Product.SMRTPHONE]:
        rows.append((FUNNEL_LABELS.get(step.name, step.title), counts[step.name],
                     before - counts[step.name]))
        before = counts[step.name]
    return rows


def offer_figures(shown, accepted):
    """(offer title, shown, accepted) per offer, and the same per reason."""
    shown_by, taken_by = Counter(), Counter()
    for _, reason, offer, _, n in shown:
        shown_by[reason, offer] += n
    for _, reason, offer, _, n in accepted:
        taken_by[reason, offer] += n
    totals = [(offer.title, sum(n for (_, o), n in shown_by.items() if o == key),
               sum(n for (_, o), n in taken_by.items() if o == key))
              for key, offer in policy.OFFERS.items()]
    by_reason = [(REASON_LABELS.get(reason, reason), policy.OFFERS[key].title, count,
                  taken_by[reason, key])
                 for (reason, key), count in sorted(shown_by.items()) if key in policy.OFFERS]
    return totals, by_reason


def held(saves, today):
    """Held, for each of HELD_DAYS: the saves at least that old whose
    account was not erased before (known), and those of them whose
    subscription was not canceled within it (tallies.contributions)."""
    found = []
    for days in HELD_DAYS:
        matured = kept = 0
        for _, saved_on, known, still, n in saves:
            if date.fromisoformat(saved_on) <= today - timedelta(days=days) and int(known) >= days:
                matured += n
                kept += n if int(still) >= days else 0
        found.append(Held(days, matured, kept))
    return found


def median(histogram):
    """The median of {value: how many}: the middle value, or halfway between the middle two."""
    total = sum(histogram.values())
    middle = {(total - 1) // 2, total // 2}  # positions, from 0, in the sorted values
    found, seen = [], 0
    for value in sorted(histogram):
        found += [value for position in middle if seen <= position < seen + histogram[value]]
        seen += histogram[value]
    return sum(found) / len(found)


def trends(each):
    """The range week by week (or month by month): started, saved, reasons,
    offers' take rate and the median time to cancel (to the minute)."""
    by_bucket = {}

    def of(bucket):
        return by_bucket.setdefault(bucket, Trend(bucket))

    for bucket, _, outcome, _, n in each("outcome"):
        of(bucket).started += n
        of(bucket).saved += n if outcome in SAVES else 0
    for bucket, reason, _, _, n in each("reason"):
        of(bucket).reasons[reason] += n
    for bucket, *_, n in each("shown"):
        of(bucket).shown += n
    for bucket, *_, n in each("accepted"):
        of(bucket).accepted += n
    minutes = defaultdict(Counter)
    for bucket, spent, _, _, n in each("decided"):
        minutes[bucket][int(spent)] += n
    for bucket, histogram in minutes.items():
        if sum(histogram.values()):
            of(bucket).median_to_cancel = timedelta(minutes=median(histogram))
    return sorted((t for t in by_bucket.values() if t.started), key=lambda t: t.bucket)


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
    """Per staff member: calls booked (made within the range, canceled ones
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

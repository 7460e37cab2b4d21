"""The tallies: running totals of the anonymous records by month, part of
a week and day (models/history.RecordTally), kept in the transactions that write the
records, and read by the insights, so that a range of any length costs a
few rows per month, part of a week or day, not a row per request
(tests/bench/console.py: two years of 100,000 requests add up some 3,000
tally rows).

- `contributions` says what one record adds: the one rule of what is counted.
- `tallied` wraps every write to records (history.py) and adds the
  difference the write made; `rebuild_tallies` counts everything afresh.
- `sums` adds up a range in one GROUP BY: its whole months, then whole
  parts of weeks, then single days (`pieces`).
"""
import calendar
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import groupby

from peewee import EXCLUDED, fn

from wizard.store.db import locked, transaction
from wizard.store.models import RecordTally, RequestRecord
from .outcomes import DECIDED, SAVES

# Revenue saved counts a save only once it is no longer undone and the
# subscription was not cancelled within this many days of it.
REVENUE_HOLDS_DAYS = 30
HELD_DAYS = (30, 60, 90)  # "still subscribed N days after the save"


def week_of(day):
    """The Monday of `day`'s week, as text: a trend's weekly bucket."""
    return date.fromordinal(day.toordinal() - day.weekday()).isoformat()


def part_of(day):
    """The first day of `day`'s part of a week: its Monday, or the 1st of its
    month if that comes later (models/history.RecordTally)."""
    return max(day - timedelta(days=day.weekday()), day.replace(day=1))


def part_end(day):
    """The last day of `day`'s part of a week: its Sunday, or its month's last day."""
    sunday = day + timedelta(days=6 - day.weekday())
    return min(sunday, day.replace(day=calendar.monthrange(day.year, day.month)[1]))


def decided_minutes(seconds):
    """Time to decide as the trends count it: whole minutes, and whole hours
    past a day (formatting.duration shows two units, so nothing shown is lost)."""
    return seconds // 60 if seconds < 86400 else seconds // 3600 * 60


def contributions(record):
    """What one record adds to the tallies of its month, part of a week and
    day: {(figure, a, b, c): n}.

    outcome   (product, outcome, "1" if erased)   requests
    reason    (reason)                            requests that gave it
    shown     (reason, offer)                     offers shown
    accepted  (reason, offer)                     offers accepted
    reached   (product, step)                     requests that completed it
    held      (day saved, known for, kept for)    saves; the days after the
              save until the purge and until a cancellation, capped at the
              longest held figure (so "90" also means "still")
    decided   (decided_minutes)                   confirmed or reactivated requests
    revenue   (month saved)                       cents, from the saves counted
    """
    found = Counter()
    found["outcome", record.product, record.outcome, "1" if record.frozen_on else "0"] += 1
    if record.reason:
        found["reason", record.reason, "", ""] += 1
    for offer in record.offers_shown.split():
        found["shown", record.reason, offer, ""] += 1
    if record.offer_accepted:
        found["accepted", record.reason, record.offer_accepted, ""] += 1
    for step in record.steps_reached.split():
        found["reached", record.product, step, ""] += 1
    if record.outcome in SAVES and record.saved_on is not None:
        known, kept = (HELD_DAYS[-1] if days is None else min(days, HELD_DAYS[-1])
                       for days in (record.frozen_after_days, record.cancelled_after_days))
        found["held", str(record.saved_on), str(known), str(kept)] += 1
    if record.outcome in DECIDED and record.decided_seconds is not None:
        found["decided", str(decided_minutes(record.decided_seconds)), "", ""] += 1
    if record.counts_revenue:
        found["revenue", record.saved_month, "", ""] += record.saved_cents
    return found


def counts_toward_revenue(record):
    """A save Revenue saved may count: not undone, and its subscription not
    canceled within REVENUE_HOLDS_DAYS of it."""
    return (record.outcome in SAVES and record.saved_cents is not None
            and record.offer_undone_on is None
            and (record.cancelled_after_days is None
                 or record.cancelled_after_days >= REVENUE_HOLDS_DAYS))


def revenue_carriers(records):
    """The ids of the saves Revenue saved counts, among all the records of
    one subscription: one a month, the lowest price kept (the earliest of
    equals). A range that leaves that save out leaves the month's revenue
    of the subscription out."""
    by_month = defaultdict(list)
    for r in records:
        if counts_toward_revenue(r):
            by_month[r.saved_month].append(r)
    return {min(saves, key=lambda r: (r.saved_cents, r.started_on, r.saved_on, r.id)).id
            for saves in by_month.values()}


@contextmanager
def tallied(where):
    """Keep the tallies right across the writes the block makes to the
    records `where` selects: every record of their subscriptions is read
    before and after (locked on PostgreSQL, so that two transactions'
    differences add up), which save counts for revenue is chosen again,
    and the difference is added to the tallies."""
    def records():
        tags = RequestRecord.select(RequestRecord.subscription_tag).where(where)
        return list(locked(RequestRecord.select().where(RequestRecord.subscription_tag.in_(tags)),
                           "FOR NO KEY UPDATE"))

    before = records()
    yield
    after = records()
    for r in _choose_revenue(after):
        RequestRecord.update(counts_revenue=r.counts_revenue).where(RequestRecord.id == r.id).execute()
    change = _totals(after)
    change.subtract(_totals(before))
    _add({key: n for key, n in change.items() if n})


def _choose_revenue(records):
    """Mark which of the records Revenue saved counts (revenue_carriers, for
    each subscription among them); return those whose mark changed."""
    changed = []
    for _, of_one in groupby(sorted(records, key=lambda r: r.subscription_tag),
                             key=lambda r: r.subscription_tag):
        of_one = list(of_one)
        chosen = revenue_carriers(of_one)
        for r in of_one:
            if r.counts_revenue != (r.id in chosen):
                r.counts_revenue = r.id in chosen
                changed.append(r)
    return changed


def _totals(records):
    """{(span, period, figure, a, b, c): n} of the records: each counted in its
    month, its part of a week and its day."""
    found = Counter()
    for r in records:
        day = r.started_on
        spans = ((RecordTally.MONTH, day.replace(day=1)), (RecordTally.PART, part_of(day)),
                 (RecordTally.DAY, day))
        for key, n in contributions(r).items():
            for span in spans:
                found[(*span, *key)] += n
    return found


def _add(change, chunk=500):
    """Add {(span, period, figure, a, b, c): n} to the tallies (one statement a chunk)."""
    rows = [dict(span=span, period=period, week="" if span == RecordTally.MONTH else week_of(period),
                 month=f"{period:%Y-%m}", figure=figure, a=a, b=b, c=c, n=n)
            for (span, period, figure, a, b, c), n in change.items()]
    for start_at in range(0, len(rows), chunk):
        (RecordTally.insert_many(rows[start_at:start_at + chunk])
         .on_conflict(conflict_target=[RecordTally.span, RecordTally.period, RecordTally.figure,
                                       RecordTally.a, RecordTally.b, RecordTally.c],
                      update={RecordTally.n: RecordTally.n + EXCLUDED.n})
         .execute())


def rebuild_tallies(chunk=1000):
    """Count every record afresh, one subscription at a time: after the
    migration that made the tallies, or a bulk load (tests/bench)."""
    with transaction():
        RecordTally.delete().execute()
        RequestRecord.update(counts_revenue=False).where(RequestRecord.counts_revenue).execute()
        carriers, totals = [], Counter()
        ordered = RequestRecord.select().order_by(RequestRecord.subscription_tag, RequestRecord.id)
        for _, of_one in groupby(ordered.iterator(), key=lambda r: r.subscription_tag):
            of_one = list(of_one)
            carriers += [r.id for r in _choose_revenue(of_one)]  # all unmarked before
            totals.update(_totals(of_one))
        for start_at in range(0, len(carriers), chunk):
            (RequestRecord.update(counts_revenue=True)
             .where(RequestRecord.id.in_(carriers[start_at:start_at + chunk])).execute())
        _add(totals)


def pieces(first, last, by):
    """The days from `first` to `last` as the fewest tally rows to read:
    [(span, first, last)] of whole months (when trending by month: a month's
    rows have no week), whole parts of weeks in what is left, and single
    days in what is left of that (at most six at each end)."""
    day = timedelta(days=1)
    found, rest = [], [(first, last)]
    if by == "month":
        lo = first if first.day == 1 else (first.replace(day=28) + 4 * day).replace(day=1)
        hi = last if (last + day).day == 1 else last.replace(day=1) - day
        if lo <= hi:
            found.append((RecordTally.MONTH, lo, hi))
            rest = [(first, lo - day), (hi + day, last)]
    days = []
    for start, end in rest:
        if start > end:
            continue
        lo = start if part_of(start) == start else part_end(start) + day
        hi = end if part_end(end) == end else part_of(end) - day
        if lo <= hi:
            found.append((RecordTally.PART, lo, hi))
            days += [(start, lo - day), (hi + day, end)]
        else:
            days.append((start, end))
    return found + [(RecordTally.DAY, start, end) for start, end in days if start <= end]


def sums(first, last, by):
    """{(bucket, figure, a, b, c): n} for the records started from day
    `first` to day `last`, the bucket their week's Monday or their month
    (`by`): one GROUP BY over the tallies of the range's pieces, for any range."""
    bucket = RecordTally.week if by == "week" else RecordTally.month
    keys = (bucket, RecordTally.figure, RecordTally.a, RecordTally.b, RecordTally.c)
    within = None
    for span, lo, hi in pieces(first, last, by):
        piece = (RecordTally.span == span) & RecordTally.period.between(lo, hi)
        within = piece if within is None else within | piece
    return Counter({tuple(key): n for *key, n in RecordTally.select(*keys, fn.SUM(RecordTally.n))
                    .where(within).group_by(*keys).tuples()})

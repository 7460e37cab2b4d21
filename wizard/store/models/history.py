"""The anonymous history of cancellation requests: what Customer Success
learns from, kept after the purge erases the account.

A RequestRecord holds no personal data and points to nothing that does:
no account, subscription, user, email, IP address or free text. The live
request points to its record (CancellationRequest.record); the purge
deletes the request, and with it the only link, and leaves the record.
What each field keeps, and why it is no one's personal data, is in the
README ("What the history keeps").
"""
from peewee import BooleanField, CharField, DateField, ForeignKeyField, IntegerField

from wizard.store.models.base import BaseModel


class RequestRecord(BaseModel):
    """One cancellation request, anonymously: written in the transactions
    that move the request (wizard/domain/history.py), frozen by the purge."""

    id = CharField(primary_key=True)  # random (uuid4 hex); not the request's id
    # Random per subscription (Subscription.history_tag), so revenue saved
    # counts a subscription once a month. Once the purge has erased the
    # subscription, nothing holds the tag but records.
    subscription_tag = CharField(index=True)
    product = CharField()
    # The subscription when the request started.
    plan = CharField()  # the plan's code
    seats = IntegerField()
    monthly_cents = IntegerField()
    tenure_months = IntegerField()  # whole months a customer when it started
    # Dates, not times (UTC days): enough for ranges, trends and how long a
    # save held, and too coarse to pick one request out of a billing log.
    started_on = DateField(index=True)
    started_week = CharField()  # the Monday of its week, "2026-11-30"
    started_month = CharField()  # "2026-11"
    reason = CharField(default="")  # the survey's key, never its comment
    # Keys, in order, space-separated: the offers the options step showed, and
    # the steps completed (each once, the first time). As text on the record,
    # not rows beside it, so the insights count them in the one pass they make
    # over the records (tests/bench/console.py: a join to rows 3-4 times as
    # many cost more than the rest of the page).
    offers_shown = CharField(default="")
    steps_reached = CharField(default="")
    offer_accepted = CharField(default="")  # an offer's key
    offer_undone_on = DateField(null=True)  # the plan change it made was undone
    outcome = CharField(default="in_progress")  # outcomes.OUTCOMES
    outcome_on = DateField(null=True)
    decided_seconds = IntegerField(null=True)  # from its start to its end
    reactivated_on = DateField(null=True)  # confirmed, then reactivated
    # A save (kept, an offer, a call): when, the monthly price it kept, and
    # what followed it, in days after the save: the subscription's next
    # cancellation, and the purge, after which nothing more is known.
    saved_on = DateField(null=True)
    saved_month = CharField(null=True)
    saved_cents = IntegerField(null=True)
    # This save is the one Revenue saved counts for its subscription and month
    # (history.revenue_carriers): each subscription counts once a month.
    counts_revenue = BooleanField(default=False)
    cancelled_after_days = IntegerField(null=True)
    frozen_on = DateField(null=True)  # the account was erased
    frozen_after_days = IntegerField(null=True)

    class Meta:
        table_name = "request_record"
        indexes = ((("subscription_tag", "saved_month"), False),)


class RecordStep(BaseModel):
    """A step of the request's wizard: how long after the start it was first
    completed, and how many posts it took (those refused included). Which
    steps were reached is also RequestRecord.steps_reached, for counting."""

    record = ForeignKeyField(RequestRecord, backref="steps", on_delete="CASCADE")
    step = CharField()
    reached_after_seconds = IntegerField(null=True)
    posts = IntegerField(default=0)

    class Meta:
        table_name = "record_step"
        indexes = ((("record", "step"), True),)


class RecordTally(BaseModel):
    """A running total of the records started in one span of days, kept in
    the transactions that write the records (tallies.tallied), so that the
    insights for any range add up a few thousand rows, not every record.

    Each record is counted three times: in its month, in its part of a week
    (a week's days within one month, starting on a Monday or on the 1st, so
    that weeks and months are both made of whole parts) and on its day. A
    range reads its whole months, then whole parts, then days (tallies.pieces).
    `figure` names what is counted and `a`, `b`, `c` its keys
    (tallies.contributions); `n` is how many records, or for "revenue" the
    cents. `week` and `month` are the span's as text, so that both databases
    group by them without date functions (a month's own rows have no week)."""

    MONTH, PART, DAY = "month", "part", "day"

    span = CharField()
    period = DateField()  # the span's first day
    week = CharField()  # the Monday of its week, "2026-11-30"
    month = CharField()  # "2026-11"
    figure = CharField()
    a = CharField(default="")
    b = CharField(default="")
    c = CharField(default="")
    n = IntegerField(default=0)

    class Meta:
        table_name = "record_tally"
        indexes = ((("span", "period", "figure", "a", "b", "c"), True),)

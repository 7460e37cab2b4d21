"""The anonymous history of requests and the insights counted from it,
checked against a ledger this test keeps itself of what it did: saves,
undos, cancellations after a save, reactivations and erased accounts.

The ledger knows only what the test did, never what the app stored; the
expected figures are computed from it in plain Python."""
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from tests.conftest import NOW
from tests.support.jobs import new_account
from wizard import clock
from wizard.dev.demo import ensure_plans
from wizard.domain import (confirmation, insights, lifecycle, outcomes, plans, policy, reactivation,
                           steps, tallies)
from wizard.store.models import (
    MODELS, Account, CancellationRequest, PlanChange, Plan, Product, PurgeSchedule, RecordTally,
    RequestRecord,
)
from jobs.purge import run_purge

SAVES = ("kept", "saved", "call_booked")


@dataclass
class Entry:
    """One request, as the test made it."""

    sub: int
    started_on: object
    reason: str = ""
    shown: list = field(default_factory=list)
    reached: set = field(default_factory=set)
    outcome: str = "in_progress"
    accepted: str = ""
    saved_on: object = None
    saved_cents: int = None
    undone: bool = False
    cancelled_on: object = None  # the subscription's next cancellation after the save
    erased_on: object = None
    account: int = None
    decided_minutes: int = None  # confirmed: how long after its start


class Ledger:
    def __init__(self, app):
        self.app, self.plans, self.entries = app, ensure_plans(), []

    def account(self):
        return new_account(self.plans, self.app.config["RECORDINGS_DIR"], clock.now())

    def walk(self, account, upto, reason="other"):
        """Start a request and save each step before `upto` as the wizard does."""
        owner, sub = account.owner(), account.subscription(Product.SMRTPHONE)
        now = clock.now()
        req = lifecycle.start_or_resume(sub, owner, now)
        entry = Entry(sub.id, now.date(), account=account.id)
        self.entries.append(entry)
        answers = {"consequences": {}, "acknowledge": {s.key: True for s in policy.SMRTPHONE_STATEMENTS},
                   "survey": {"reason": reason, "comment": ""}, "options": {"choice": "none"}}
        for step in steps.steps_for(Product.SMRTPHONE, req):
            if step.name == upto:
                break
            steps.save(step, req.refreshed(), answers[step.name], owner, None, now)
            entry.reached.add(step.name)
            if step.name == "survey":
                entry.reason = reason
                entry.shown = [o.key for o in policy.offers_for(reason, True)]
        return req.refreshed(), owner, sub, entry

    def saved(self, entry, outcome, cents, accepted=""):
        entry.outcome, entry.accepted, entry.saved_on, entry.saved_cents = (
            outcome, accepted, clock.now().date(), cents)
        if accepted:
            entry.reached.add("options")

    def keep(self, account, reason="other"):
        req, owner, sub, entry = self.walk(account, "options", reason)
        lifecycle.keep_account(req, owner, None, clock.now())
        self.saved(entry, "kept", sub.price_cents)
        return entry

    def downgrade(self, account, reason="too_expensive"):
        req, owner, sub, entry = self.walk(account, "options", reason)
        starter = Plan.get(Plan.code == "phone-starter")
        change, _ = plans.change(sub, starter, sub.seats, owner, None, clock.now(), request=req)
        self.saved(entry, "saved", change.to_price_cents, "change_plan")
        return entry

    def call(self, account, reason="support_experience"):
        req, owner, sub, entry = self.walk(account, "options", reason)
        lifecycle.accept_offer(req, owner, "book_call", None, clock.now())
        self.saved(entry, "call_booked", sub.price_cents, "book_call")
        return entry

    def confirm(self, account, reason="switching_provider", after_minutes=0):
        req, owner, sub, entry = self.walk(account, "confirm", reason)
        confirmation.confirm(req, owner, None, clock.now() + timedelta(minutes=after_minutes))
        entry.outcome, entry.decided_minutes = "confirmed", after_minutes
        entry.reached.add("confirm")
        for earlier in self.entries:  # a save of this subscription not yet followed by one
            if earlier.sub == sub.id and earlier.saved_on and earlier.cancelled_on is None:
                earlier.cancelled_on = clock.now().date()
        return entry

    def abandon(self, account, reason="other"):
        return self.walk(account, "options", reason)[3]

    # -- what the figures should be, from the ledger alone ---------------------------------

    def expected(self, today, by="month", first=None, last=None):
        """The figures for the requests started from day `first` to day `last` (all, by default)."""
        e = [x for x in self.entries if (first is None or first <= x.started_on <= last)]
        # Each subscription's month counts once, with its lowest-priced save of
        # the month (the earliest of equals), if that save's request is in the range.
        counted = {}
        for x in self.entries:
            if x.outcome in SAVES and not x.undone and (
                    x.cancelled_on is None or (x.cancelled_on - x.saved_on).days >= 30):
                key = (x.sub, f"{x.saved_on:%Y-%m}")
                if key not in counted or (x.saved_cents, x.started_on, x.saved_on) < (
                        counted[key].saved_cents, counted[key].started_on, counted[key].saved_on):
                    counted[key] = x
        revenue = defaultdict(dict)
        in_range = {id(x) for x in e}
        for (sub, month), x in counted.items():
            if id(x) in in_range:
                revenue[month][sub] = x.saved_cents
        held = []
        for days in (30, 60, 90):
            matured = [x for x in e if x.outcome in SAVES and x.saved_on <= today - timedelta(days=days)
                       and (x.erased_on is None or (x.erased_on - x.saved_on).days >= days)]
            kept = [x for x in matured
                    if x.cancelled_on is None or (x.cancelled_on - x.saved_on).days >= days]
            held.append((days, len(matured), len(kept)))
        funnel, before = [("Started", len(e), 0)], len(e)
        for step in steps.STEPS_BY_PRODUCT[Product.SMRTPHONE]:
            count = sum(step.name in x.reached for x in e)
            funnel.append((insights.FUNNEL_LABELS[step.name], count, before - count))
            before = count
        shown, taken = Counter(o for x in e for o in x.shown), Counter(x.accepted for x in e if x.accepted)
        by_bucket = defaultdict(lambda: dict(started=0, saved=0, reasons=Counter(), shown=0,
                                             accepted=0, minutes=[]))
        for x in e:
            monday = x.started_on - timedelta(days=x.started_on.weekday())
            t = by_bucket[monday.isoformat() if by == "week" else f"{x.started_on:%Y-%m}"]
            t["started"] += 1
            t["saved"] += x.outcome in SAVES
            t["reasons"].update([x.reason] if x.reason else [])
            t["shown"] += len(x.shown)
            t["accepted"] += bool(x.accepted)
            if x.decided_minutes is not None and x.outcome in ("confirmed", "reactivated"):
                t["minutes"].append(x.decided_minutes)
        return dict(
            started=len(e), saved=sum(x.outcome in SAVES for x in e),
            abandoned=sum(x.outcome == "in_progress" for x in e),
            confirmed=sum(x.outcome in ("confirmed", "reactivated") for x in e),
            reasons={dict(policy.SURVEY_REASONS)[r]: n
                     for r, n in Counter(x.reason for x in e if x.reason).items()},
            funnel=funnel, held=held,
            offers={o.title: (shown[k], taken[k]) for k, o in policy.OFFERS.items()},
            revenue=sorted((month, sum(subs.values())) for month, subs in revenue.items()),
            erased_requests=sum(x.erased_on is not None for x in e),
            trends=sorted((bucket, t["started"], t["saved"], dict(t["reasons"]), t["shown"], t["accepted"],
                           timedelta(minutes=statistics.median(t["minutes"])) if t["minutes"] else None)
                          for bucket, t in by_bucket.items()))


def actual(within, today_at):
    f = insights.figures(within, today_at)
    return dict(
        started=f.started, saved=f.saved, abandoned=f.abandoned, confirmed=f.confirmed,
        reasons=dict(f.reasons), funnel=f.funnel, held=[(h.days, h.matured, h.held) for h in f.held],
        offers={title: (shown, accepted) for title, shown, accepted in f.offers},
        revenue=f.revenue_by_month, erased_requests=f.erased_requests,
        trends=[(t.bucket, t.started, t.saved, dict(t.reasons), t.shown, t.accepted, t.median_to_cancel)
                for t in f.trends])


def at_day(days):
    clock.FROZEN = NOW + timedelta(days=days)


def purge_due(account_id, ledger):
    schedule = PurgeSchedule.get(PurgeSchedule.account_id == account_id)
    clock.FROZEN = schedule.due_at + timedelta(minutes=1)
    assert run_purge(schedule.id, schedule.generation) not in ("not claimed", "taken over")
    for x in ledger.entries:
        if x.account == account_id:
            x.erased_on = clock.now().date()


def test_every_figure_matches_the_ledger_through_saves_undos_cancellations_and_erasure(app):
    ledger = Ledger(app)
    at_day(0)
    ledger.confirm(ledger.account(), after_minutes=12)
    ledger.confirm(ledger.account(), "too_expensive", after_minutes=3)
    ledger.keep(ledger.account(), "missing_features")
    ledger.downgrade(ledger.account())
    undone_account = ledger.account()
    undone = ledger.downgrade(undone_account)
    ledger.call(ledger.account())
    ledger.abandon(ledger.account(), "technical_problems")
    back = ledger.account()
    ledger.confirm(back, "other", after_minutes=30 * 60)
    twice = ledger.account()  # kept twice and saved by an offer, all in one month
    ledger.keep(twice)
    short, long_ = ledger.account(), ledger.account()
    ledger.keep(short)
    ledger.keep(long_, "not_using_enough")
    gone, gone_after_save = ledger.account(), ledger.account()
    ledger.confirm(gone, "business_closing")
    ledger.keep(gone_after_save)

    at_day(1)
    ledger.keep(twice, "too_expensive")
    at_day(2)
    ledger.downgrade(twice)
    plans.undo(undone_account.subscription(Product.SMRTPHONE), undone_account.owner(), None,
               clock.now())
    undone.outcome, undone.undone = "kept", True
    at_day(3)
    reactivation.reactivate(back.subscription(Product.SMRTPHONE), back.owner(), None, clock.now())
    next(x for x in ledger.entries if x.account == back.id).outcome = "reactivated"
    at_day(5)
    ledger.confirm(gone_after_save)
    at_day(10)
    ledger.confirm(short)  # 10 days after its save: no revenue, not held at 30 days
    at_day(40)  # a second month's requests
    ledger.keep(ledger.account(), "too_expensive")
    ledger.confirm(ledger.account(), "too_expensive", after_minutes=7)
    ledger.call(ledger.account(), "business_closing")
    at_day(45)
    ledger.confirm(long_)  # held at 30 days, not at 60

    at_day(100)
    weekly = insights.Range.of_days(NOW.date() - timedelta(days=1), clock.now().date())
    within = insights.Range.of_days(NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=130))
    today_at = NOW + timedelta(days=200)
    assert actual(weekly, today_at) == ledger.expected(today_at.date(), by="week"), \
        "up to 16 weeks, the trends go week by week"
    before = actual(within, today_at)
    assert before == ledger.expected(today_at.date())

    purge_due(gone.id, ledger)
    purge_due(gone_after_save.id, ledger)
    assert Account.get_or_none(Account.id == gone.id) is None
    after = actual(within, today_at)
    print(f"figures after two accounts were erased: {after}")
    assert after == ledger.expected(today_at.date())
    assert after == before | {"erased_requests": 3}, "the same figures, the erased counted as erased"
    assert insights.figures(within, today_at).erased == 2
    assert_every_range_matches(ledger, today_at)
    assert_tallies_as_rebuilt()


def assert_every_range_matches(ledger, today_at):
    """Ranges that start and end on every kind of day (a month's first, a
    Monday, mid-week, mid-month), by week and by month: each one's figures
    are the ledger's for the requests started within it."""
    checked = 0
    for start in (-40, -9, -1, 0, 1, 2, 3, 5, 6, 40, 41):
        for end in (0, 1, 2, 4, 5, 9, 10, 40, 45, 60, 130, 400):
            first, last = NOW.date() + timedelta(days=start), NOW.date() + timedelta(days=end)
            if first > last:
                continue
            within = insights.Range.of_days(first, last)
            by = insights.figures(within, today_at).trend_by
            assert actual(within, today_at) == ledger.expected(today_at.date(), by, first, last), \
                f"the figures from {first} to {last}, by {by}"
            checked += 1
    print(f"{checked} ranges match the ledger")


def assert_tallies_as_rebuilt():
    """The tallies the writes kept are those a count afresh makes."""
    def tallies_now():
        return sorted((t.span, str(t.period), t.figure, t.a, t.b, t.c, t.n)
                      for t in RecordTally.select().where(RecordTally.n != 0))

    kept = tallies_now()
    tallies.rebuild_tallies()
    assert tallies_now() == kept
    assert kept, "something was counted"


def test_revenue_saved_counts_a_subscription_kept_three_times_once(app):
    """Acme's case: kept three times and saved by an offer in one month was
    counted four times; it is one subscription, once, at the price it kept."""
    ledger = Ledger(app)
    account = ledger.account()
    at_day(0)
    for _ in range(3):
        ledger.keep(account)
    ledger.downgrade(account)
    figures = insights.figures(insights.Range.of_days(NOW.date(), NOW.date()), clock.now())
    starter = PlanChange.get().to_price_cents
    assert figures.revenue_by_month == [(f"{NOW:%Y-%m}", starter)]
    assert figures.saved == 4


def test_an_undone_downgrade_reads_as_kept_and_its_undo_is_in_the_trail(app, sign_in):
    ledger = Ledger(app)
    account = ledger.account()
    ledger.downgrade(account)
    req = CancellationRequest.get()
    at_day(2)  # after the request ended: the trail follows it there
    plans.undo(account.subscription(Product.SMRTPHONE), account.owner(), None, clock.now())
    assert RequestRecord.get().outcome == outcomes.KEPT
    staff = sign_in("success")
    body = staff.get(f"/success/requests/{req.id}").get_data(as_text=True)
    assert "Kept the account" in body and "plan.change_undone" in body
    saved = staff.get("/success/", query_string={"state": "saved"}).get_data(as_text=True)
    assert f"/success/requests/{req.id}" not in saved
    figures = insights.figures(insights.Range.default(clock.now()), clock.now())
    assert figures.revenue_by_month == [], "an undone save keeps no revenue"


def test_an_offer_the_request_was_not_shown_is_refused(app):
    """A smrtDialer request shows no offers: "book a call" cannot save it."""
    ledger = Ledger(app)
    account = ledger.account()
    dialer, owner = account.subscription(Product.SMRTDIALER), account.owner()
    req = lifecycle.start_or_resume(dialer, owner, clock.now())
    lifecycle.mark_consequences_seen(req, clock.now())
    lifecycle.record_acknowledgements(req, owner, [s.key for s in policy.SMRTDIALER_STATEMENTS],
                                      None, clock.now())
    lifecycle.record_survey(req, "support_experience", "", clock.now())
    with pytest.raises(lifecycle.Incomplete, match="not available"):
        lifecycle.accept_offer(req.refreshed(), owner, "book_call", None, clock.now())
    assert req.refreshed().is_open
    assert RequestRecord.get().outcome == outcomes.IN_PROGRESS


def test_after_erasure_nothing_personal_is_left_in_any_table(app, sign_in):
    """A request whose comment, call topic, call notes and follow-up note hold
    the owner's email and name; once the account is erased, no table holds
    either, nor the account's name, and the record of the request is still there."""
    from wizard.domain import calls
    from wizard.store.models import Call, User

    ledger = Ledger(app)
    account = ledger.account()
    owner = account.owner()
    secrets = (owner.email, owner.name, account.name)
    sub = account.subscription(Product.SMRTPHONE)
    req = lifecycle.start_or_resume(sub, owner, clock.now())
    lifecycle.record_survey(req, "other", f"Write to {owner.email}, {owner.name} of {account.name}",
                            clock.now())
    call = Call.create(account=account, owner=owner, staff=User.by_email("success@smrtphone.test"),
                       start=clock.now() - timedelta(days=1), end=clock.now(), active_start=None,
                       topic=f"{owner.name} ({owner.email})", uid="call-secret@smrtphone.test",
                       sequence=0, status=Call.BOOKED, assigned_at=clock.now(), created_at=clock.now(),
                       updated_at=clock.now(), request=req)
    staff = User.by_email("success@smrtphone.test")
    calls.record_outcome(call, staff, True, "follow_up", f"Call {owner.name} back at {owner.email}",
                         clock.now(), follow_up_on=clock.now().date() + timedelta(days=2))
    from wizard.domain import followups
    from wizard.store.models import FollowUp

    followups.complete(FollowUp.get(), staff, f"Wrote to {owner.email}", clock.now())
    lifecycle.keep_account(req.refreshed(), owner, None, clock.now())
    ledger.confirm(account)
    purge_due(account.id, ledger)
    from jobs.mail import send_message
    from wizard.store.models import OutboxMessage

    for message in OutboxMessage.select().where(OutboxMessage.status == OutboxMessage.PENDING):
        assert send_message(message.id) == "sent"  # the erasure notice, which forgets its address

    found = []
    for model in MODELS:
        for f in model._meta.sorted_fields:
            if f.field_type in ("VARCHAR", "TEXT"):
                for secret in secrets:
                    if model.select().where(f.contains(secret)).exists():
                        found.append(f"{model._meta.table_name}.{f.column_name}: {secret}")
    assert found == []
    assert RequestRecord.select().count() == 2, "the records of both requests stay"
    assert {r.outcome for r in RequestRecord.select()} == {outcomes.KEPT, outcomes.CONFIRMED}

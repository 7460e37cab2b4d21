"""The anonymous history of cancellation requests (models/history.py):
written in the same transactions that move a request, frozen by the purge,
read by the insights.

Who writes what:
- starting a request makes its record (`start`): the product, the plan,
  seats and price then, and how long the account had been a customer;
- the survey's answer gives it the reason and the offers shown
  (`answered`), and the request's end its outcome (`closed`);
- a step saved notes it was reached (`reached`), and every post of a step
  is counted (`count_post`);
- what happens after a request has ended is noted by whoever makes it
  happen: the plan change it made undone (`offer_undone`), the
  subscription reactivated (`reactivated`) or canceled after a save
  (`canceled`), the account erased (`freeze_account`).

The outcome is decided by outcomes.outcome_of, once: the console's states.

Each of those writes also keeps the tallies (models/history.RecordTally)
right, in its transaction (tallies.tallied).
"""
import uuid

from wizard.store.db import transaction
from wizard.store.models import (
    Account,
    CancellationRequest,
    OfferDecision,
    OfferShown,
    Plan,
    PlanChange,
    RecordStep,
    RequestRecord,
    Subscription,
    SurveyResponse,
)
from peewee import EXCLUDED, Value, fn

from .outcomes import SAVES, outcome_of
from .tallies import tallied, week_of


def months_between(earlier, later):
    """Whole months from `earlier` to `later` (0 within the first month)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return max(0, months - (later.day < earlier.day))


def start(req, subscription, now):
    """Make the record of a request just created, in its transaction."""
    tag = subscription.history_tag
    if tag is None:  # its first request; a tag another request gave it meanwhile stays
        tag = uuid.uuid4().hex
        if not (Subscription.update(history_tag=tag)
                .where((Subscription.id == subscription.id) & Subscription.history_tag.is_null())
                .execute()):
            tag = Subscription.select(Subscription.history_tag).where(
                Subscription.id == subscription.id).scalar()
    account = Account.get_by_id(subscription.account_id)
    today = now.date()
    with tallied(RequestRecord.subscription_tag == tag):
        record = RequestRecord.create(
            id=uuid.uuid4().hex, subscription_tag=tag, product=subscription.product,
            plan=Plan.get_by_id(subscription.plan_id).code, seats=subscription.seats,
            monthly_cents=subscription.price_cents,
            tenure_months=months_between(account.created_at, now), started_on=today,
            started_week=week_of(today), started_month=f"{today:%Y-%m}")
    CancellationRequest.update(record=record.id).where(CancellationRequest.id == req.id).execute()
    req.record_id = record.id
    return record


def answered(req, reason, offers):
    """The survey was answered with `reason`, deciding the offers shown (keys, in order)."""
    with tallied(RequestRecord.id == req.record_id):
        (RequestRecord.update(reason=reason, offers_shown=" ".join(offers))
         .where(RequestRecord.id == req.record_id).execute())


def closed(req, status, now, accepted_offer=""):
    """The request ended with `status` (and the offer accepted, if one was)."""
    outcome = outcome_of(status, accepted_offer, False, False)
    changes = dict(outcome=outcome, offer_accepted=accepted_offer, outcome_on=now.date(),
                   decided_seconds=int((now - req.started_at).total_seconds()))
    if outcome in SAVES:
        changes.update(saved_on=now.date(), saved_month=f"{now:%Y-%m}",
                       saved_cents=_price_kept(req))
    with tallied(RequestRecord.id == req.record_id):
        RequestRecord.update(**changes).where(RequestRecord.id == req.record_id).execute()


def _price_kept(req):
    """The monthly price a save kept: the plan change's new price when the
    save was one, else the subscription's price."""
    change = PlanChange.get_or_none(PlanChange.request == req.id)
    if change is not None:
        return change.to_price_cents
    return Subscription.get_by_id(req.subscription_id).price_cents


def count_post(req, step_name):
    """Count one post of a step, whatever came of it (one statement)."""
    if req.record_id is None:
        return
    (RecordStep.insert(record=req.record_id, step=step_name, posts=1)
     .on_conflict(conflict_target=[RecordStep.record, RecordStep.step],
                  update={RecordStep.posts: RecordStep.posts + 1})
     .execute())


def reached(req, step_name, now):
    """Note that the step was completed, if it is the first time (four
    statements, five the first time)."""
    if req.record_id is None:
        return
    after = int((now - req.started_at).total_seconds())
    (RecordStep.insert(record=req.record_id, step=step_name, reached_after_seconds=after)
     .on_conflict(conflict_target=[RecordStep.record, RecordStep.step],
                  update={RecordStep.reached_after_seconds: fn.COALESCE(
                      RecordStep.reached_after_seconds, EXCLUDED.reached_after_seconds)})
     .execute())
    padded = Value(" ").concat(RequestRecord.steps_reached).concat(" ")
    with tallied(RequestRecord.id == req.record_id):
        (RequestRecord.update(steps_reached=fn.TRIM(RequestRecord.steps_reached.concat(" " + step_name)))
         .where((RequestRecord.id == req.record_id) & ~padded.contains(f" {step_name} "))
         .execute())


def offer_undone(request_id, now):
    """The plan change the request's accepted offer made was undone: the
    owner kept the account (outcome_of)."""
    record = _record_of(request_id)
    if record is not None and record.offer_undone_on is None:
        with tallied(RequestRecord.id == record.id):
            (RequestRecord.update(offer_undone_on=now.date(), outcome=outcome_of(
                CancellationRequest.SAVED_BY_OFFER, record.offer_accepted, True, False))
             .where(RequestRecord.id == record.id).execute())


def reactivated(subscription_id, now):
    """The subscription is active again: its latest confirmed request (or the
    one smrtPhone's cancellation superseded) reads as reactivated."""
    req = (CancellationRequest.select()
           .where((CancellationRequest.subscription == subscription_id)
                  & CancellationRequest.status.in_((CancellationRequest.CONFIRMED,
                                                    CancellationRequest.SUPERSEDED))
                  & CancellationRequest.record.is_null(False))
           .order_by(CancellationRequest.closed_at.desc(), CancellationRequest.id.desc()).first())
    if req is not None:
        with tallied(RequestRecord.id == req.record_id):
            (RequestRecord.update(reactivated_on=now.date(), outcome_on=now.date(),
                                  outcome=outcome_of(req.status, "", False, True))
             .where((RequestRecord.id == req.record_id) & RequestRecord.reactivated_on.is_null())
             .execute())


def _record_of(request_id):
    return (RequestRecord.select().join(CancellationRequest, on=(
        CancellationRequest.record == RequestRecord.id))
        .where(CancellationRequest.id == request_id).first())


def _of_requests(where):
    """The records of the requests `where` selects (a condition on records)."""
    return RequestRecord.id.in_(CancellationRequest.select(CancellationRequest.record).where(
        where & CancellationRequest.record.is_null(False)))


def cancelled(account_id, products, now):
    """The account's `products` were canceled: each earlier save of them
    not yet followed by a cancellation now is, this many days after it."""
    of_them = _of_requests((CancellationRequest.account == account_id)
                           & CancellationRequest.product.in_(products))
    with tallied(of_them):
        for record in RequestRecord.select().where(
                of_them & RequestRecord.saved_on.is_null(False)
                & RequestRecord.cancelled_after_days.is_null()):
            (RequestRecord.update(cancelled_after_days=(now.date() - record.saved_on).days)
             .where(RequestRecord.id == record.id).execute())


def freeze_account(account_id, now):
    """The account is being erased: from today nothing more is known of its
    requests' records, which stay, pointing to no one once the requests go."""
    today = now.date()
    of_them = _of_requests(CancellationRequest.account == account_id)
    with tallied(of_them):
        for record in RequestRecord.select().where(of_them & RequestRecord.frozen_on.is_null()):
            (RequestRecord.update(
                frozen_on=today,
                frozen_after_days=(today - record.saved_on).days if record.saved_on else None)
             .where(RequestRecord.id == record.id).execute())


def backfill(now):
    """Make the records of requests that have none (those from before the
    history existed), from what their rows say; return how many. Their steps'
    times and posts were never kept, so they count in no funnel step."""
    made = 0
    for req in CancellationRequest.select().where(CancellationRequest.record.is_null()):
        with transaction():
            start(req, Subscription.get_by_id(req.subscription_id), req.started_at)
            survey = SurveyResponse.get_or_none(SurveyResponse.request == req.id)
            shown = [o for (o,) in OfferShown.select(OfferShown.offer)
                     .where(OfferShown.request == req.id).order_by(OfferShown.position).tuples()]
            answered(req, survey.reason if survey else "", shown)
            if req.closed_at is not None:
                accepted = (OfferDecision.select(OfferDecision.offer)
                            .where((OfferDecision.request == req.id) & OfferDecision.accepted)
                            .scalar())
                closed(req, req.status, req.closed_at, accepted or "")
            made += 1
    return made

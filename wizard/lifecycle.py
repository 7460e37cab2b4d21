"""Domain operations on a cancellation: plain functions, one transaction each.

No Flask and no RQ in here: views and jobs both call these. Every function
takes the time as `now` (from wizard.clock) and raises a LifecycleError
subclass when the request cannot be honoured, having changed nothing.
"""
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import IntegrityError, fn

from . import formatting, outbox, policy
from .db import locked, transaction
from .models import (
    Acknowledgement,
    AuditEvent,
    CancellationRequest,
    OfferDecision,
    PhoneNumber,
    PurgeSchedule,
    Recording,
    Subscription,
    SurveyResponse,
)


class LifecycleError(Exception):
    """The operation was refused; nothing was changed."""


class NotAllowed(LifecycleError):
    """The user may not do this (only the Account Owner may cancel)."""


class AlreadyCancelled(LifecycleError):
    """The subscription is not active, so there is nothing to cancel."""


class RequestClosed(LifecycleError):
    """The cancellation request was already kept, retained or confirmed."""


class AlreadyActive(LifecycleError):
    """There is nothing to reactivate."""


class CannotReactivate(LifecycleError):
    """Too late to reactivate: the deadline passed or the purge has started."""


class Incomplete(LifecycleError):
    """An earlier answer is missing or no longer valid."""

    def __init__(self, message, step_name):
        super().__init__(message)
        self.step_name = step_name


def audit(kind, account=None, actor=None, ip=None, now=None, **detail):
    return AuditEvent.create(
        account=account, actor=actor, kind=kind, ip=ip, at=now,
        detail=json.dumps(detail, sort_keys=True, default=str),
    )


# -- who may do what ---------------------------------------------------------

def check_owner(user, subscription):
    """Raise NotAllowed unless `user` is the owner of the subscription's account.

    The article: only the Account Owner may cancel (and so reactivate).
    """
    if not (user.is_owner and user.account_id == subscription.account_id):
        raise NotAllowed("Only the Account Owner can cancel or reactivate a subscription.")


# -- what cancelling would do -------------------------------------------------

@dataclass
class Consequences:
    """What cancelling smrtPhone does to one account, computed live."""

    numbers: list
    recordings_count: int
    recordings_bytes: int
    crm_name: str
    credit_balance_cents: int
    dialer: Subscription
    service_ends_at: datetime
    reactivation_deadline: datetime
    erasure_at: datetime

    @property
    def numbers_lost(self):
        return [n for n in self.numbers if n.port_out_status != "ported"]


def key_dates(service_ends_at, confirmed_at):
    """Return (reactivation deadline, purge due) for a cancellation confirmed then.

    The owner may change their mind for 90 days; data is erased once both the
    paid period and those 90 days are over.
    """
    deadline = confirmed_at + policy.GRACE_PERIOD
    return deadline, max(service_ends_at, deadline)


def consequences(subscription, now):
    account = subscription.account
    numbers = list(
        PhoneNumber.select().where(PhoneNumber.account == account).order_by(PhoneNumber.e164)
    )
    rec_count, rec_bytes = (
        Recording.select(fn.COUNT(Recording.id), fn.COALESCE(fn.SUM(Recording.size_bytes), 0))
        .where(Recording.account == account)
        .tuples()
        .get()
    )
    dialer = (Subscription.active(account.id, "smrtdialer")
              if subscription.product == "smrtphone" else None)
    deadline, erasure = key_dates(subscription.current_period_end, now)
    return Consequences(
        numbers=numbers,
        recordings_count=rec_count,
        recordings_bytes=int(rec_bytes),
        crm_name=account.crm_name,
        credit_balance_cents=account.credit_balance_cents,
        dialer=dialer,
        service_ends_at=subscription.current_period_end,
        reactivation_deadline=deadline,
        erasure_at=erasure,
    )


# -- the request's progress -------------------------------------------------

def open_request(subscription):
    return CancellationRequest.get_or_none(CancellationRequest.open_for == subscription)


def start_or_resume(subscription, user, now, ip=None):
    """Return the subscription's open request, creating it if there is none.

    Two tabs racing here end with the same row: the loser's insert breaks the
    unique index on open_for and it reads the winner's.
    """
    check_owner(user, subscription)
    existing = open_request(subscription)
    if existing:
        return existing
    if not subscription.is_active:
        raise AlreadyCancelled(f"{subscription.product_name} is already cancelled.")
    try:
        with transaction():
            req = CancellationRequest.create(
                account=subscription.account_id,
                subscription=subscription,
                open_for=subscription,
                product=subscription.product,
                started_by=user,
                started_at=now,
                updated_at=now,
            )
            audit("cancellation.started", subscription.account_id, user, ip, now,
                  request=req.id, product=subscription.product)
            return req
    except IntegrityError:
        return open_request(subscription)


def _reload_open(req):
    """Re-read `req` inside the caller's transaction; refuse if it has closed."""
    fresh = CancellationRequest.get_by_id(req.id)
    if not fresh.is_open:
        raise RequestClosed("This cancellation request has already ended.")
    return fresh


def _touch(req, now, **changes):
    changes["updated_at"] = now
    CancellationRequest.update(**changes).where(CancellationRequest.id == req.id).execute()


def consequences_seen(req):
    return req.consequences_seen_at is not None


def mark_consequences_seen(req, now):
    with transaction():
        fresh = _reload_open(req)
        if fresh.consequences_seen_at is None:
            _touch(fresh, now, consequences_seen_at=now)


def statements_for(product):
    if product == "smrtdialer":
        return policy.SMRTDIALER_STATEMENTS
    return policy.SMRTPHONE_STATEMENTS


def acknowledged(req):
    """True when every current statement was accepted in its current wording."""
    got = req.acknowledged_versions()
    return all(got.get(s.key) == s.version for s in statements_for(req.product))


def record_acknowledgements(req, user, accepted_keys, ip, now):
    """Store the acceptance of every statement; all of them are required."""
    statements = statements_for(req.product)
    missing = [s.key for s in statements if s.key not in set(accepted_keys)]
    if missing:
        raise Incomplete("Every statement must be acknowledged.", "acknowledge")
    with transaction():
        fresh = _reload_open(req)
        Acknowledgement.delete().where(Acknowledgement.request == fresh).execute()
        Acknowledgement.insert_many(
            [
                dict(request=fresh.id, statement_key=s.key, text_version=s.version,
                     user=user.id, accepted_at=now, ip=ip)
                for s in statements
            ]
        ).execute()
        _touch(fresh, now)


def survey_answered(req):
    survey = req.survey()
    return bool(
        survey
        and survey.reason in policy.SURVEY_REASON_KEYS
        and len(survey.comment or "") <= policy.COMMENT_MAX_LENGTH
    )


def record_survey(req, reason, comment, now):
    comment = (comment or "").strip()
    if reason not in policy.SURVEY_REASON_KEYS:
        raise Incomplete("Please choose a reason from the list.", "survey")
    if len(comment) > policy.COMMENT_MAX_LENGTH:
        raise Incomplete("The comment is too long.", "survey")
    with transaction():
        fresh = _reload_open(req)
        updated = (
            SurveyResponse.update(reason=reason, comment=comment, answered_at=now)
            .where(SurveyResponse.request == fresh)
            .execute()
        )
        if not updated:
            SurveyResponse.create(request=fresh, reason=reason, comment=comment, answered_at=now)
        # A new reason may mean new offers: they must be seen again.
        _touch(fresh, now, offers_declined_at=None)


def offers_for_request(req):
    survey = req.survey()
    dialer_active = Subscription.active(req.account_id, "smrtdialer") is not None
    return policy.offers_for(survey.reason if survey else "other", dialer_active)


def offers_declined(req):
    return req.offers_declined_at is not None


def decline_offers(req, user, now):
    with transaction():
        fresh = _reload_open(req)
        OfferDecision.create(request=fresh, offer="none", accepted=False, user=user, decided_at=now)
        _touch(fresh, now, offers_declined_at=now)


def _close(req, status, now):
    """Close an open request; return False if another request got there first."""
    return bool(
        CancellationRequest.update(status=status, open_for=None, closed_at=now, updated_at=now)
        .where((CancellationRequest.id == req.id) & (CancellationRequest.status == "open"))
        .execute()
    )


def accept_offer(req, user, offer_key, ip, now):
    """Record an accepted offer and end the request: the account stays.

    Customer Success follows up on the decision (the offers' effects are #4).
    """
    if offer_key not in {o.key for o in offers_for_request(req)}:
        raise Incomplete("That option is not available.", "options")
    with transaction():
        fresh = _reload_open(req)
        OfferDecision.create(request=fresh, offer=offer_key, accepted=True, user=user, decided_at=now)
        if not _close(fresh, "retained", now):
            raise RequestClosed("This cancellation request has already ended.")
        audit("cancellation.offer_accepted", fresh.account_id, user, ip, now,
              request=fresh.id, offer=offer_key)


def keep_account(req, user, ip, now):
    """End the request at the owner's word: nothing is cancelled."""
    with transaction():
        fresh = _reload_open(req)
        if not _close(fresh, "kept", now):
            raise RequestClosed("This cancellation request has already ended.")
        audit("cancellation.kept", fresh.account_id, user, ip, now, request=fresh.id)


# -- the end ------------------------------------------------------------------

# What confirm re-checks, per product: the smrtDialer wizard has no offers step.
FINAL_CHECKS = {
    "smrtphone": (
        (consequences_seen, "consequences", "Please read what will happen first."),
        (acknowledged, "acknowledge", "Please acknowledge every statement."),
        (survey_answered, "survey", "Please answer the survey."),
        (offers_declined, "options", "Please look at the options before you go."),
    ),
    "smrtdialer": (
        (consequences_seen, "consequences", "Please read what will happen first."),
        (acknowledged, "acknowledge", "Please acknowledge every statement."),
        (survey_answered, "survey", "Please answer the survey."),
    ),
}


def confirm(req, user, ip, now, base_url=""):
    """Confirm the cancellation; safe to call twice.

    Re-validates every earlier answer, then in one transaction marks the
    subscription (and smrtDialer with smrtPhone) cancellation-pending, stores
    the reactivation deadline and the purge due date, arms the purge schedule
    and queues the confirmation email. A second call for an already confirmed
    request returns it unchanged. smrtDialer alone has no purge: its access
    just ends with its period.
    """
    with transaction():
        held = Subscription.lock_for_account(req.account_id)
        fresh = CancellationRequest.get_by_id(req.id)
        if fresh.status == "confirmed":
            return fresh
        if not fresh.is_open:
            raise RequestClosed("This cancellation request has already ended.")
        fresh.subscription = next(s for s in held if s.id == fresh.subscription_id)
        check_owner(user, fresh.subscription)
        for check, step_name, message in FINAL_CHECKS[fresh.product]:
            if not check(fresh):
                raise Incomplete(message, step_name)

        subscription = fresh.subscription
        if not subscription.is_active:
            raise AlreadyCancelled(f"{subscription.product_name} is already cancelled.")
        whole_account = fresh.product == "smrtphone"
        deadline = purge_due = None
        if whole_account:
            deadline, purge_due = key_dates(subscription.current_period_end, now)
        wanted = ("smrtphone", "smrtdialer") if whole_account else (fresh.product,)
        # Only what is active is cancelled now (smrtDialer may already be).
        products = [s.product for s in held if s.product in wanted and s.is_active]
        closed = (
            CancellationRequest.update(
                status="confirmed", open_for=None, closed_at=now, updated_at=now,
                confirmed_at=now, reactivation_deadline=deadline, purge_due_at=purge_due,
                cancelled_products=" ".join(products),
            )
            .where((CancellationRequest.id == fresh.id) & (CancellationRequest.status == "open"))
            .execute()
        )
        if not closed:  # another confirm won between our read and write
            return CancellationRequest.get_by_id(fresh.id)
        cancelled = (
            Subscription.update(
                status="cancellation_pending",
                cancellation_requested_at=now,
                cancellation_requested_by=user,
            )
            .where(
                (Subscription.account == fresh.account_id)
                & (Subscription.product.in_(products))
                & (Subscription.status == "active")
            )
            .execute()
        )
        if not cancelled:  # cancelled elsewhere since we read it: roll back
            raise AlreadyCancelled(f"{subscription.product_name} is already cancelled.")
        # A smrtDialer wizard left open is moot once smrtPhone takes smrtDialer with it.
        (CancellationRequest
         .update(status="superseded", open_for=None, closed_at=now, updated_at=now)
         .where((CancellationRequest.account == fresh.account_id)
                & (CancellationRequest.product.in_(products))
                & (CancellationRequest.status == "open"))
         .execute())
        if whole_account:
            arm_purge(fresh, purge_due, now)
        audit("cancellation.confirmed", fresh.account_id, user, ip, now,
              request=fresh.id, products=products,
              service_ends_at=subscription.current_period_end.isoformat(),
              reactivation_deadline=deadline.isoformat() if deadline else None,
              purge_due_at=purge_due.isoformat() if purge_due else None)
        fresh.status, fresh.confirmed_at = "confirmed", now
        fresh.reactivation_deadline, fresh.purge_due_at = deadline, purge_due
        fresh.cancelled_products = " ".join(products)
        outbox.cancellation_confirmed(fresh, subscription, user, now, base_url)
        return fresh


def arm_purge(req, due_at, now):
    """Schedule the account's erasure, re-arming a schedule cancelled before.

    A schedule that is running or done is never re-armed: that account is
    being, or has been, erased.
    """
    rearmed = (
        PurgeSchedule.update(
            status="scheduled", due_at=due_at, request_id=req.id,
            generation=PurgeSchedule.generation + 1, lease_expires_at=None, claimed_by=None,
            attempts=0, checkpoint="{}", started_at=None, finished_at=None, updated_at=now,
        )
        .where((PurgeSchedule.account_id == req.account_id) & (PurgeSchedule.status == "cancelled"))
        .execute()
    )
    if not rearmed:
        PurgeSchedule.create(account_id=req.account_id, request_id=req.id, due_at=due_at,
                             status="scheduled", generation=1, updated_at=now)


# -- after confirming -----------------------------------------------------------

def end_services(now):
    """End every cancelled subscription whose paid period is over; return how many.

    Safe to run twice: only cancellation-pending rows past their end change.
    """
    with transaction():
        # Lock in id order first, as every writer of subscriptions does.
        due = [s.id for s in locked(
            Subscription.select(Subscription.id)
            .where((Subscription.status == "cancellation_pending")
                   & (Subscription.current_period_end <= now))
            .order_by(Subscription.id))]
        if not due:
            return 0
        return (
            Subscription.update(status="ended", ended_at=now)
            .where(Subscription.id.in_(due) & (Subscription.status == "cancellation_pending"))
            .execute()
        )


ERASING = ("Your data is being permanently erased, so this account can no longer be "
           "reactivated. You are always welcome to start fresh with a new account.")


@dataclass
class Reactivation:
    """Whether a subscription can be reactivated now, and if not, why."""

    allowed: bool
    reason: str = ""


def reactivation_for(subscription, now):
    """Say whether `subscription` may be reactivated now (see reactivate)."""
    if subscription.is_active:
        return Reactivation(False, f"{subscription.product_name} is active.")
    account = subscription.account
    if subscription.product == "smrtdialer":
        phone = account.subscription("smrtphone")
        if phone is None or not phone.is_active:
            return Reactivation(False, "Reactivate smrtPhone first: smrtDialer works only with "
                                       "an active smrtPhone account.")
        return Reactivation(True)
    req = subscription.latest_request("confirmed")
    schedule = PurgeSchedule.get_or_none(PurgeSchedule.account_id == account.id)
    deadline = req.reactivation_deadline if req else None
    if schedule is not None and schedule.status in ("running", "done"):
        return Reactivation(False, ERASING)
    if deadline is not None and now > deadline:
        return Reactivation(False, "The 90 days to change your mind ended on "
                                   f"{formatting.local_date(deadline, account.timezone)}. You are "
                                   "always welcome to start fresh with a new account.")
    return Reactivation(True)


def reactivate(subscription, user, ip, now, base_url=""):
    """Make a cancelled subscription active again.

    smrtPhone: owner only, before the reactivation deadline and before the
    purge has started. The purge schedule is cancelled and its generation
    bumped in the same transaction; that UPDATE and the purge's claim are
    both conditional on the schedule still being 'scheduled', so when they
    race exactly one wins. smrtDialer stays cancelled (the article: it must be
    reactivated by hand). smrtDialer: owner only, while smrtPhone is active.

    A subscription whose period ended starts a new month from today;
    otherwise the paid period simply continues.
    """
    check_owner(user, subscription)
    with transaction():
        Subscription.lock_for_account(subscription.account_id)
        fresh = Subscription.get_by_id(subscription.id)
        if fresh.is_active:
            raise AlreadyActive(f"{fresh.product_name} is already active.")
        verdict = reactivation_for(fresh, now)
        if not verdict.allowed:
            raise CannotReactivate(verdict.reason)
        if fresh.product == "smrtphone":
            # Conditional on 'scheduled': the purge's claim is conditional on
            # it too, so of the two racing, exactly one changes the row.
            (PurgeSchedule
             .update(status="cancelled", generation=PurgeSchedule.generation + 1, updated_at=now)
             .where((PurgeSchedule.account_id == fresh.account_id)
                    & (PurgeSchedule.status == "scheduled"))
             .execute())
            schedule = PurgeSchedule.get_or_none(PurgeSchedule.account_id == fresh.account_id)
            if schedule is not None and schedule.status in ("running", "done"):
                raise CannotReactivate(ERASING)
            outbox.void_reminders(fresh.account_id)
        period_end = fresh.current_period_end
        if period_end <= now:
            period_end = now + timedelta(days=30)
        changed = (
            Subscription.update(status="active", current_period_end=period_end,
                                cancellation_requested_at=None, cancellation_requested_by=None,
                                ended_at=None)
            .where((Subscription.id == fresh.id) & (Subscription.status != "active"))
            .execute()
        )
        if not changed:
            raise AlreadyActive(f"{fresh.product_name} is already active.")
        event = audit("subscription.reactivated", fresh.account_id, user, ip, now,
                      product=fresh.product, subscription=fresh.id)
        reactivated = Subscription.get_by_id(fresh.id)
        outbox.reactivation_confirmed(reactivated.account, reactivated, user, now, base_url, event.id)
        return reactivated

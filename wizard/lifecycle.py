"""Domain operations on a cancellation: plain functions, one transaction each.

No Flask and no RQ in here: views and jobs both call these. Every function
takes the time as `now` (from wizard.clock) and raises a LifecycleError
subclass when the request cannot be honoured, having changed nothing.
"""
import json
from dataclasses import dataclass
from datetime import datetime

from peewee import IntegrityError, fn

from . import policy
from .db import database
from .models import (
    Acknowledgement,
    AuditEvent,
    CancellationRequest,
    OfferDecision,
    PhoneNumber,
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

def check_can_cancel(user, subscription):
    """Raise NotAllowed unless `user` is the owner of the subscription's account."""
    if not (user.is_owner and user.account_id == subscription.account_id):
        raise NotAllowed("Only the Account Owner can cancel a subscription.")


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
    dialer = None
    if subscription.product == "smrtphone":
        dialer = (
            Subscription.select()
            .where(
                (Subscription.account == account)
                & (Subscription.product == "smrtdialer")
                & (Subscription.status == "active")
            )
            .first()
        )
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
    check_can_cancel(user, subscription)
    existing = open_request(subscription)
    if existing:
        return existing
    if not subscription.is_active:
        raise AlreadyCancelled(f"{subscription.product_name} is already cancelled.")
    try:
        with database.atomic():
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
    with database.atomic():
        fresh = _reload_open(req)
        if fresh.consequences_seen_at is None:
            _touch(fresh, now, consequences_seen_at=now)


def statements_for(product):
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
    with database.atomic():
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
    with database.atomic():
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
    dialer_active = (
        Subscription.select()
        .where(
            (Subscription.account == req.account_id)
            & (Subscription.product == "smrtdialer")
            & (Subscription.status == "active")
        )
        .exists()
    )
    return policy.offers_for(survey.reason if survey else "other", dialer_active)


def offers_declined(req):
    return req.offers_declined_at is not None


def decline_offers(req, user, now):
    with database.atomic():
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
    with database.atomic():
        fresh = _reload_open(req)
        OfferDecision.create(request=fresh, offer=offer_key, accepted=True, user=user, decided_at=now)
        if not _close(fresh, "retained", now):
            raise RequestClosed("This cancellation request has already ended.")
        audit("cancellation.offer_accepted", fresh.account_id, user, ip, now,
              request=fresh.id, offer=offer_key)


def keep_account(req, user, ip, now):
    """End the request at the owner's word: nothing is cancelled."""
    with database.atomic():
        fresh = _reload_open(req)
        if not _close(fresh, "kept", now):
            raise RequestClosed("This cancellation request has already ended.")
        audit("cancellation.kept", fresh.account_id, user, ip, now, request=fresh.id)


# -- the end ------------------------------------------------------------------

FINAL_CHECKS = (
    (consequences_seen, "consequences", "Please read what will happen first."),
    (acknowledged, "acknowledge", "Please acknowledge every statement."),
    (survey_answered, "survey", "Please answer the survey."),
    (offers_declined, "options", "Please look at the options before you go."),
)


def confirm(req, user, ip, now):
    """Confirm the cancellation; safe to call twice.

    Re-validates every earlier answer, then in one transaction marks the
    subscription (and smrtDialer with smrtPhone) cancellation-pending and
    stores the reactivation deadline and the purge due date. A second call for
    an already confirmed request returns it unchanged.
    """
    with database.atomic():
        fresh = CancellationRequest.get_by_id(req.id)
        if fresh.status == "confirmed":
            return fresh
        if not fresh.is_open:
            raise RequestClosed("This cancellation request has already ended.")
        check_can_cancel(user, fresh.subscription)
        for check, step_name, message in FINAL_CHECKS:
            if not check(fresh):
                raise Incomplete(message, step_name)

        subscription = fresh.subscription
        if not subscription.is_active:
            raise AlreadyCancelled(f"{subscription.product_name} is already cancelled.")
        deadline, purge_due = key_dates(subscription.current_period_end, now)
        products = ["smrtphone", "smrtdialer"] if fresh.product == "smrtphone" else [fresh.product]
        closed = (
            CancellationRequest.update(
                status="confirmed", open_for=None, closed_at=now, updated_at=now,
                confirmed_at=now, reactivation_deadline=deadline, purge_due_at=purge_due,
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
        audit("cancellation.confirmed", fresh.account_id, user, ip, now,
              request=fresh.id, products=products,
              service_ends_at=subscription.current_period_end.isoformat(),
              reactivation_deadline=deadline.isoformat(), purge_due_at=purge_due.isoformat())
        return CancellationRequest.get_by_id(fresh.id)

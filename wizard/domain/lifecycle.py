"""A cancellation request, from its start to the owner's last answer.

What canceling would do (`consequences`), opening the request, recording
each answer, saying whether each answer is complete, and ending the request
without canceling (keep the account, accept an offer). Confirming is in
wizard/confirmation.py, because it re-checks every step of wizard/steps.py,
which is built from the functions here.

Plain functions, one transaction each; no Flask and no RQ. Each takes the
time as `now` (from wizard.clock) and raises a wizard.refusals.Refusal when it
cannot be honoured, having changed nothing.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import IntegrityError

from . import history, policy, portout
from wizard.store import reads
from wizard.store.db import locked, transaction
from wizard.store.models import (
    AccountDataCounts,
    Acknowledgement,
    AuditEvent,
    CancellationRequest,
    OfferDecision,
    OfferShown,
    Product,
    Subscription,
    SurveyResponse,
)
from wizard.refusals import AlreadyCancelled, Incomplete, RequestClosed, StaleForm, require_owner


# -- what cancelling would do -------------------------------------------------

# Step 1's counts are reused for this long (see data_counts).
DATA_COUNTS_MAX_AGE = timedelta(minutes=5)


@dataclass
class Consequences:
    """What canceling smrtPhone does to one account.

    Numbers, CRM, credit and smrtDialer are read live; the amounts of data
    erased (`data`, an AccountDataCounts) may be up to DATA_COUNTS_MAX_AGE old.
    """

    numbers: list
    data: AccountDataCounts
    crm_name: str
    credit_balance_cents: int
    dialer: Subscription
    service_ends_at: datetime
    reactivation_deadline: datetime
    erasure_at: datetime
    numbers_released_at: datetime  # portout.release_at: the last moment to port a number

    @property
    def numbers_lost(self):
        return [n for n in self.numbers if not n.is_ported]


def key_dates(service_ends_at, confirmed_at):
    """Return (reactivation deadline, purge due) for a cancellation confirmed then.

    The owner may change their mind for 90 days; data is erased once both the
    paid period and those 90 days are over.
    """
    deadline = confirmed_at + policy.GRACE_PERIOD
    return deadline, max(service_ends_at, deadline)


def data_counts(account_id, now, kept):
    """How many agents, users, call flows, call logs, recordings and invoices
    the account holds, counted at most DATA_COUNTS_MAX_AGE ago.

    Counting a million call logs takes longer than the rest of the page, and
    the biggest accounts are the ones a retention flow most wants to keep: so
    the counts are kept in one row per account (AccountDataCounts) and counted
    again only when that row is older than five minutes (or dated after `now`,
    the clock having been moved back). Every process shares the row, so an
    account is counted at most about once per five minutes, whatever the
    traffic. Step 1 may therefore miss the calls of the last few minutes; the
    purge counts what it deletes itself, exactly, and erases everything
    whatever this row says.

    Writing the row is the only write a GET of step 1 can make: a cache, no
    change a user or Customer Success could see. `kept` is the row as the
    caller read it (reads.consequences), or None.
    """
    if kept is not None and timedelta(0) <= now - kept.counted_at < DATA_COUNTS_MAX_AGE:
        return kept
    values = dict(AccountDataCounts.count_now(account_id), counted_at=now)
    AccountDataCounts.store(values)
    return AccountDataCounts(**values)


def consequences(subscription, now):
    """Compute what canceling `subscription` now would do to its account.

    The dates assume the owner confirms at `now`. A few fixed queries,
    whatever the account's size (see data_counts).
    """
    account = subscription.account
    kept, numbers = reads.consequences(account.id)
    # The step's subscription comes from the signed-in read, which brings its
    # account's subscriptions (wizard/store/reads.py).
    dialer = (next((s for s in account.subscriptions_read if s.is_active_dialer), None)
              if subscription.is_smrtphone else None)
    deadline, erasure = key_dates(subscription.current_period_end, now)
    return Consequences(
        numbers=numbers,
        data=data_counts(account.id, now, kept),
        crm_name=account.crm_name,
        credit_balance_cents=account.credit_balance_cents,
        dialer=dialer,
        service_ends_at=subscription.current_period_end,
        reactivation_deadline=deadline,
        erasure_at=erasure,
        numbers_released_at=portout.release_at(subscription),
    )


# -- the request's progress -------------------------------------------------

def start_or_resume(subscription, user, now, ip=None):
    """Return the subscription's open request, creating it if there is none.

    Two tabs racing here end with the same row: the loser's insert breaks the
    unique index on open_for and it reads the winner's.
    """
    require_owner(user, subscription)
    existing = subscription.open_request()
    if existing:
        return existing
    if not subscription.is_active:
        raise AlreadyCancelled(subscription)
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
            history.start(req, subscription, now)
            AuditEvent.record("cancellation.started", subscription.account_id, user, ip, now,
                              request=req.id, product=subscription.product)
            return req
    except IntegrityError:
        return subscription.open_request()


def _reload_open(req):
    """Re-read `req` inside the caller's transaction, its row locked until the
    transaction ends (so two tabs answering one step at once take turns:
    the second finds the first's answer and replaces it); refuse if it has
    closed. On SQLite, transaction() holds the one write lock already."""
    fresh = locked(CancellationRequest.select().where(CancellationRequest.id == req.id)).get()
    if not fresh.is_open:
        raise RequestClosed()
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


def statements_for(req):
    """The statements the owner acknowledges before canceling `req`'s product.

    Only those that apply to the account as it is now: the credit statement
    when there is credit, the smrtDialer one when smrtDialer is active. Read
    live, so a fact that appears after the owner acknowledged (credit added,
    smrtDialer reactivated) sends confirm back to acknowledge it.
    """
    statements = policy.STATEMENTS_BY_PRODUCT[req.product]
    if all(s.applies_if is None for s in statements):
        return statements
    credit_cents, dialer_active = req.account_facts()
    facts = {None: True, policy.HAS_CREDIT: credit_cents > 0, policy.HAS_DIALER: dialer_active}
    return tuple(s for s in statements if facts[s.applies_if])


def acknowledged(req):
    """True when every current statement was accepted in its current wording."""
    got = req.acknowledged_versions()
    return all(got.get(s.key) == s.version for s in statements_for(req))


def record_acknowledgements(req, user, accepted_keys, ip, now):
    """Store the acceptance of the statements; every one that applies is required.

    A statement of the product accepted beyond those (the wizard's form only
    asks what applies) is stored too: it was accepted, and it still counts
    should it come to apply before confirming.
    """
    accepted_keys = set(accepted_keys)
    missing = [s.key for s in statements_for(req) if s.key not in accepted_keys]
    if missing:
        raise Incomplete("Every statement must be acknowledged.", "acknowledge")
    statements = [s for s in policy.STATEMENTS_BY_PRODUCT[req.product] if s.key in accepted_keys]
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
    return survey is not None and policy.survey_problem(survey.reason, survey.comment) is None


def record_survey(req, reason, comment, now):
    comment = (comment or "").strip()
    problem = policy.survey_problem(reason, comment)
    if problem is not None:
        raise Incomplete(problem[1], "survey")
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
        shown = []
        if fresh.product == Product.SMRTPHONE:  # smrtDialer's wizard has no offers step
            shown = _record_offers_shown(fresh)
        history.answered(fresh, reason, shown)


def _record_offers_shown(req):
    """Store the offers the options step will show for the answer just given; return their keys."""
    keys = [offer.key for offer in offers_for_request(req)]
    OfferShown.delete().where(OfferShown.request == req).execute()
    OfferShown.insert_many([dict(request=req.id, offer=key, position=position)
                            for position, key in enumerate(keys)]).execute()
    return keys


def offers_for_request(req):
    """The offers to show for the request's survey answer, most relevant first."""
    survey = req.survey()
    _, dialer_active = req.account_facts()
    return policy.offers_for(survey.reason if survey else "other", dialer_active)


def offers_shown(req):
    """The keys of the offers the request's options step showed (none for a
    smrtDialer request, whose wizard has no offers)."""
    return [o for (o,) in OfferShown.select(OfferShown.offer).where(OfferShown.request == req.id)
            .order_by(OfferShown.position).tuples()]


def offers_declined(req):
    return req.offers_declined_at is not None


def offers_answered(req):
    """The owner answered the offers: declined them (and went on), or accepted
    one, which ended the request as retained."""
    return offers_declined(req) or req.status == CancellationRequest.SAVED_BY_OFFER


def decline_offers(req, user, now):
    with transaction():
        fresh = _reload_open(req)
        OfferDecision.create(request=fresh, offer="none", accepted=False, user=user, decided_at=now)
        _touch(fresh, now, offers_declined_at=now)


def _close(req, status, now, accepted_offer=""):
    """Close an open request (and its anonymous record); return False if
    another request got there first."""
    closed = bool(
        CancellationRequest.update(status=status, open_for=None, closed_at=now, updated_at=now)
        .where((CancellationRequest.id == req.id)
               & (CancellationRequest.status == CancellationRequest.OPEN))
        .execute()
    )
    if closed:
        history.closed(req, status, now, accepted_offer)
    return closed


def accept_offer(req, user, offer_key, ip, now):
    """Record an accepted offer and end the request as saved: the account stays.

    An offer that acts (a plan change) calls this inside its own transaction,
    so the change and the request's end commit together.
    """
    if not survey_answered(req):
        raise Incomplete("Please answer the survey first.", "survey")
    if offer_key not in offers_shown(req) or offer_key not in {o.key for o in offers_for_request(req)}:
        raise Incomplete("That option is not available.", "options")
    with transaction():
        fresh = _reload_open(req)
        OfferDecision.create(request=fresh, offer=offer_key, accepted=True, user=user, decided_at=now)
        if not _close(fresh, CancellationRequest.SAVED_BY_OFFER, now, offer_key):
            raise RequestClosed()
        history.reached(fresh, policy.OFFERS_STEP, now)
        AuditEvent.record("cancellation.offer_accepted", fresh.account_id, user, ip, now,
                          request=fresh.id, offer=offer_key)


def offer_request(account, posted_id):
    """The cancellation request an offer's page was opened from, or None when
    none was given. An id that is not one of the account's requests is a form
    that does not belong here (StaleForm), not a page without a request."""
    if not posted_id:
        return None
    req = account.request_posted(posted_id)
    if req is None:
        raise StaleForm()
    return req


def cancel_dialer_instead(req, dialer, user, ip, now):
    """Answer "Adjust smrtDialer" with "Cancel only smrtDialer"; return the new request.

    In one transaction: the smrtPhone request ends as saved by that offer,
    and smrtDialer's own wizard opens (or resumes) with the survey answer
    carried over, so it is not asked twice.
    """
    require_owner(user, dialer)
    if (dialer.account_id != req.account_id or dialer.product != Product.SMRTDIALER
            or req.product != Product.SMRTPHONE):
        raise StaleForm()
    with transaction():
        accept_offer(req, user, "adjust_dialer", ip, now)
        survey = req.survey()
        dialer_request = start_or_resume(dialer, user, now, ip)
        if not SurveyResponse.update(reason=survey.reason, comment=survey.comment, answered_at=now) \
                .where(SurveyResponse.request == dialer_request).execute():
            SurveyResponse.create(request=dialer_request, reason=survey.reason,
                                  comment=survey.comment, answered_at=now)
        _touch(dialer_request, now, survey_carried_from=req.id)
        return dialer_request.refreshed()


def keep_account(req, user, ip, now):
    """End the request at the owner's word: nothing is canceled."""
    with transaction():
        fresh = _reload_open(req)
        if not _close(fresh, CancellationRequest.KEPT, now):
            raise RequestClosed()
        AuditEvent.record("cancellation.kept", fresh.account_id, user, ip, now, request=fresh.id)

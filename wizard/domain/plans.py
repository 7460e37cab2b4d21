"""Changing a subscription's plan or seats: the article's "modify your current
plan: upgrade, downgrade, or customize" and "adjust your smrtDialer
subscription".

A change that raises the monthly price (an upgrade) takes effect at once,
and the difference for what is left of the paid period is charged pro rata.
A change that lowers it (a downgrade) takes effect when the paid period
ends; until then Products shows it and the owner may undo it. A change at
the same price takes effect at once, with nothing to charge.

Seats: at least one; for smrtPhone at least one per agent in use (each agent
needs a seat); at most what the plan allows. smrtDialer seats are not tied
to agents: an account may dial with fewer agents than it has.

Plain functions, no Flask, no RQ; each write is one transaction.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import formatting, history, lifecycle, mail, policy
from wizard.store.db import transaction
from wizard.store.models import AuditEvent, Plan, PlanChange, Product, Subscription
from wizard.refusals import (
    NotActive,
    NothingToUndo,
    NotValid,
    PlanChanged,
    StaleForm,
    require_owner,
)

UPGRADE, DOWNGRADE, SAME_PRICE = "upgrade", "downgrade", "same price"


@dataclass(frozen=True)
class Quote:
    """What changing `subscription` to `plan` with `seats` would do, and when."""

    subscription: Subscription
    plan: Plan
    seats: int
    price_cents: int  # a month, all seats
    kind: str  # UPGRADE, DOWNGRADE or SAME_PRICE
    effective_at: datetime
    prorated_cents: int  # charged now, for the rest of the period (upgrades)

    @property
    def current_price_cents(self):
        return self.subscription.price_cents

    @property
    def difference_cents(self):
        return self.price_cents - self.current_price_cents

    @property
    def takes_effect_now(self):
        return self.kind != DOWNGRADE

    @property
    def is_upgrade(self):
        return self.kind == UPGRADE

    @property
    def is_downgrade(self):
        return self.kind == DOWNGRADE


def smallest_seats(subscription):
    """The fewest seats the subscription may have."""
    if subscription.is_smrtphone:
        return max(1, subscription.account.agents_in_use())
    return 1


def check_seats(subscription, plan, seats):
    """Raise NotValid (at "seats") unless `plan` can have `seats` for this account."""
    if not isinstance(seats, int) or seats < 1:
        raise NotValid("Please enter a whole number of seats, 1 or more.", "seats")
    if seats > plan.max_seats:
        raise NotValid(f"The {plan.name} plan allows at most {plan.max_seats} seats.", "seats")
    fewest = smallest_seats(subscription)
    if seats < fewest:
        raise NotValid(f"You have {fewest} agents in use, and each needs a seat: "
                       f"please keep at least {fewest} seats.", "seats")


def quote(subscription, plan, seats, now):
    """Price the change of `subscription` to `plan` with `seats`, made at `now`.

    Raises NotValid, naming the field at fault, for a plan of the other
    product, the current plan with its current seats, or seats the plan or
    the account cannot have; NotActive for a subscription that is not active.
    """
    if not subscription.is_active:
        raise NotActive(subscription)
    if plan is None or plan.product != subscription.product:
        raise NotValid(f"Please choose one of the {subscription.product_name} plans.", "plan")
    check_seats(subscription, plan, seats)
    if plan.id == subscription.plan_id and seats == subscription.seats:
        raise NotValid("That is your current plan and number of seats.", "plan")
    price = plan.price_cents_per_seat * seats
    difference = price - subscription.price_cents
    if difference > 0:
        kind, effective_at = UPGRADE, now
    elif difference < 0:
        kind, effective_at = DOWNGRADE, subscription.current_period_end
    else:
        kind, effective_at = SAME_PRICE, now
    return Quote(subscription, plan, seats, price, kind, effective_at,
                 prorated(difference, subscription.current_period_end, now) if kind == UPGRADE else 0)


def prorated(monthly_difference_cents, period_end, now):
    """The part of a monthly difference owed for what is left of the period."""
    left = min(max(period_end - now, timedelta(0)), policy.BILLING_PERIOD)
    return round(monthly_difference_cents * (left / policy.BILLING_PERIOD))


def catalogue(subscription, now):
    """Every plan of the subscription's product, cheapest first, each with its
    quote at the subscription's seats (None for the current plan, or where
    the plan cannot have those seats: its page lets the owner choose)."""
    rows = []
    for plan in Plan.catalogue(subscription.product):
        try:
            rows.append((plan, quote(subscription, plan, subscription.seats, now)))
        except NotValid:
            rows.append((plan, None))
    return rows


def offer_for(req, subscription):
    """Which offer of `req` changing `subscription`'s plan accepts.

    smrtPhone's own plan answers "Change your plan"; smrtDialer's plan, from
    a smrtPhone request, answers "Adjust smrtDialer". Anything else is a form
    that does not belong to this request.
    """
    if req.account_id != subscription.account_id:
        raise StaleForm()
    if subscription.id == req.subscription_id and subscription.is_smrtphone:
        return "change_plan"
    if req.product == Product.SMRTPHONE and subscription.product == Product.SMRTDIALER:
        return "adjust_dialer"
    raise StaleForm()


def change(subscription, plan, seats, user, ip, now, drawn_for=None, request=None, links=None):
    """Change the plan (or schedule it); return (the PlanChange, whether it is new).

    In one transaction: re-reads the subscription under its lock; refuses a
    form drawn for another state (`drawn_for`: drawn_state as the page showed
    it, so a page drawn before another tab scheduled a change cannot silently
    replace that change); applies an upgrade at once or schedules a downgrade (replacing
    a change scheduled before); with `request`, accepts the offer it answers
    and so ends the cancellation request as saved; writes an audit event and
    the confirmation email. The same change posted again (a double click, a
    reload) returns the change already made and makes nothing twice.
    """
    require_owner(user, subscription)
    with transaction():
        held = Subscription.lock_for_account(subscription.account_id)
        fresh = next(s for s in held if s.id == subscription.id)
        pending = PlanChange.pending(fresh.id)
        repeated = _same_change(fresh, pending, plan, seats)
        if repeated is not None:
            return repeated, False
        if drawn_for is not None and drawn_for != drawn_state(fresh, pending):
            raise PlanChanged()
        offered = quote(fresh, plan, seats, now)
        if pending is not None:
            _undo(pending, now)
        made = PlanChange.create(
            account=fresh.account_id, subscription=fresh, from_plan=fresh.plan_id,
            from_seats=fresh.seats, from_price_cents=fresh.price_cents, to_plan=plan,
            to_seats=seats, to_price_cents=offered.price_cents,
            prorated_cents=offered.prorated_cents, effective_at=offered.effective_at,
            status=PlanChange.APPLIED if offered.takes_effect_now else PlanChange.SCHEDULED,
            pending_for=None if offered.takes_effect_now else fresh,
            request=request, made_by=user, created_at=now,
            decided_at=now if offered.takes_effect_now else None)
        if offered.takes_effect_now:
            Subscription.update(plan=plan, seats=seats, price_cents=offered.price_cents).where(
                Subscription.id == fresh.id).execute()
        if request is not None:
            lifecycle.accept_offer(request, user, offer_for(request, fresh), ip, now)
        AuditEvent.record("plan.changed" if offered.takes_effect_now else "plan.change_scheduled",
                          fresh.account_id, user, ip, now, change=made.id, product=fresh.product,
                          plan=plan.code, seats=seats, effective_at=offered.effective_at.isoformat(),
                          request=request.id if request else None)
        mail.plan_changed(made, fresh, user, describe(made, fresh), now, links)
        return made, True


def drawn_state(subscription, pending):
    """What a plan page is drawn for and its Confirm carries back: the plan,
    the seats and the scheduled change (its id, or None)."""
    return subscription.plan_id, subscription.seats, pending.id if pending is not None else None


def _same_change(subscription, pending, plan, seats):
    """The change already made to exactly `plan` and `seats`, or None.

    A downgrade is the same when it is the one scheduled; an upgrade when the
    subscription has that plan and seats and its latest change made them.
    """
    if pending is not None:
        return pending if (pending.to_plan_id, pending.to_seats) == (plan.id, seats) else None
    if (subscription.plan_id, subscription.seats) != (plan.id, seats):
        return None
    latest = (PlanChange.select().where(PlanChange.subscription == subscription)
              .order_by(PlanChange.id.desc()).first())
    if latest is not None and latest.status == PlanChange.APPLIED \
            and (latest.to_plan_id, latest.to_seats) == (plan.id, seats):
        return latest
    return None


def _undo(change, now):
    return (PlanChange.update(status=PlanChange.UNDONE, pending_for=None, decided_at=now)
            .where((PlanChange.id == change.id) & (PlanChange.status == PlanChange.SCHEDULED))
            .execute())


def undo(subscription, user, ip, now, links=None):
    """Cancel the subscription's scheduled change; return it. The plan stays as it is."""
    require_owner(user, subscription)
    with transaction():
        Subscription.lock_for_account(subscription.account_id)
        pending = PlanChange.pending(subscription.id)
        if pending is None or not _undo(pending, now):
            raise NothingToUndo()
        AuditEvent.record("plan.change_undone", subscription.account_id, user, ip, now,
                          change=pending.id, product=subscription.product,
                          request=pending.request_id)
        if pending.request_id is not None:
            # The offer's save is undone: the owner kept the account (outcomes.outcome_of).
            history.offer_undone(pending.request_id, now)
        mail.plan_change_undone(pending, subscription, user, now, links)
        return pending


def apply_scheduled(change_id, now):
    """Make a scheduled change whose time has come; return its new status.

    Safe to run twice: only a change still scheduled moves. A subscription
    that is no longer active, or no longer on the plan the change was made
    from, lets the change lapse instead.
    """
    with transaction():
        change = PlanChange.get_by_id(change_id)
        held = Subscription.lock_for_account(change.account_id)
        subscription = next((s for s in held if s.id == change.subscription_id), None)
        applies = (subscription is not None and subscription.is_active
                   and (subscription.plan_id, subscription.seats)
                   == (change.from_plan_id, change.from_seats))
        status = PlanChange.APPLIED if applies else PlanChange.LAPSED
        moved = (PlanChange.update(status=status, pending_for=None, decided_at=now)
                 .where((PlanChange.id == change.id) & (PlanChange.status == PlanChange.SCHEDULED)
                        & (PlanChange.effective_at <= now))
                 .execute())
        if not moved:
            return PlanChange.get_by_id(change_id).status
        if applies:
            Subscription.update(plan=change.to_plan_id, seats=change.to_seats,
                                price_cents=change.to_price_cents).where(
                Subscription.id == subscription.id).execute()
        return status


def describe(change, subscription):
    """One sentence that says what the change does and when, as the owner reads it."""
    plan = Plan.get_by_id(change.to_plan_id)
    seats = f"{change.to_seats} seat{'' if change.to_seats == 1 else 's'}"
    price = formatting.money(change.to_price_cents)
    what = f"{subscription.product_name} plan"
    if change.status == PlanChange.SCHEDULED:
        when = formatting.local_date(change.effective_at, subscription.account.timezone)
        return (f"Your {what} changes to {plan.name} ({seats}, {price} a month) on {when}, "
                "when your current period ends. Until then nothing changes, and you can undo it "
                "from Products.")
    sentence = f"Your {what} is now {plan.name} ({seats}, {price} a month)."
    if change.prorated_cents:
        sentence += (f" The difference for the rest of this period, "
                     f"{formatting.money(change.prorated_cents)}, is charged pro rata on your "
                     "next invoice.")
    return sentence

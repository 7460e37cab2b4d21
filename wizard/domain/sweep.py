"""The periodic sweep's work, done in the database (the truth): end services
whose paid period is over, make scheduled plan changes, renew the billing
period of active subscriptions, compose the erasure
reminders, the call reminders and the follow-ups' emails, and find the purges and emails a job must
do (`run`).

The sweep job (jobs/sweep.py), the QA clock's page and its command call `run`
and then, after its commits, wizard.queue.enqueue_due. Redis may
restart without its data, and a worker killed mid-job is not redelivered by
RQ; the sweep, run every few minutes, puts that right.
"""
from dataclasses import dataclass
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from . import exports, followups, mail, outbox, plans
from wizard.store.db import locked, transaction
from wizard.store.models import (
    Account,
    Call,
    CancellationRequest,
    PlanChange,
    PurgeSchedule,
    Subscription,
)
from .policy import CALL_RULES

REMINDER_DAYS = (30, 7)


def end_services(now):
    """End every canceled subscription whose paid period is over; return how many.

    Safe to run twice: only cancellation-pending rows past their end change.
    """
    with transaction():
        # Lock in id order first, as every writer of subscriptions does.
        due = [s.id for s in locked(
            Subscription.select(Subscription.id)
            .where((Subscription.status == Subscription.CANCELLATION_PENDING)
                   & (Subscription.current_period_end <= now))
            .order_by(Subscription.id))]
        if not due:
            return 0
        return (
            Subscription.update(status=Subscription.ENDED, ended_at=now)
            .where(Subscription.id.in_(due)
                   & (Subscription.status == Subscription.CANCELLATION_PENDING))
            .execute()
        )


def next_period_end(period_end, now):
    """The end of the billing period that `now` falls in, for a subscription
    whose period ended at `period_end`: a whole number of calendar months
    later (the 31st becomes the last day of a shorter month)."""
    months = 1
    while period_end + relativedelta(months=months) <= now:
        months += 1
    return period_end + relativedelta(months=months)


def renew_periods(now, limit=1000):
    """Start the next billing period of every active subscription whose
    period is over; return how many renewed. Run after apply_plan_changes, so
    a downgrade scheduled for the period's end is made at that end.

    Safe to run twice: only active rows whose period is over move, each to
    the period `now` is in, however many were missed while the sweep was down.
    """
    with transaction():
        due = list(locked(
            Subscription.select(Subscription.id, Subscription.current_period_end)
            .where((Subscription.status == Subscription.ACTIVE)
                   & (Subscription.current_period_end <= now))
            .order_by(Subscription.id).limit(limit)))
        for subscription in due:
            (Subscription.update(current_period_end=next_period_end(subscription.current_period_end, now))
             .where((Subscription.id == subscription.id) & (Subscription.status == Subscription.ACTIVE)
                    & (Subscription.current_period_end <= now))
             .execute())
        return len(due)


def apply_plan_changes(now, limit=500):
    """Make the scheduled plan changes whose time has come; return how many applied."""
    due = (PlanChange.select(PlanChange.id)
           .where(PlanChange.is_pending_sql() & (PlanChange.effective_at <= now))
           .order_by(PlanChange.effective_at).limit(limit))
    return sum(plans.apply_scheduled(change.id, now) == PlanChange.APPLIED for change in due)


def due_purges(now, limit=1000):
    """Scheduled purges whose time has come (index: status, due_at)."""
    return (
        PurgeSchedule.select(PurgeSchedule.id, PurgeSchedule.account_id, PurgeSchedule.generation,
                             PurgeSchedule.due_at)
        .where((PurgeSchedule.status == PurgeSchedule.SCHEDULED) & (PurgeSchedule.due_at <= now))
        .order_by(PurgeSchedule.due_at)
        .limit(limit)
    )


def abandoned_purges(now, limit=1000):
    """Running purges whose worker stopped renewing its lease (index: status, lease)."""
    return (
        PurgeSchedule.select(PurgeSchedule.id, PurgeSchedule.account_id, PurgeSchedule.generation,
                             PurgeSchedule.due_at)
        .where((PurgeSchedule.status == PurgeSchedule.RUNNING) & (PurgeSchedule.lease_expires_at < now))
        .order_by(PurgeSchedule.lease_expires_at)
        .limit(limit)
    )


def compose_reminders(now, links):
    """Compose the 30- and 7-day erasure reminders now due; return how many are new.

    Each reminder has its own window (30 days down to 7, then 7 down to 0),
    so a sweep that was down for a while sends the one that still applies,
    not a stale one. The outbox's unique key keeps each to one email.
    """
    composed = 0
    windows = zip(REMINDER_DAYS, REMINDER_DAYS[1:] + (0,))
    for days, next_days in windows:
        schedules = (
            PurgeSchedule.select()
            .where((PurgeSchedule.status == PurgeSchedule.SCHEDULED)
                   & (PurgeSchedule.due_at <= now + timedelta(days=days))
                   & (PurgeSchedule.due_at > now + timedelta(days=next_days)))
        )
        for schedule in schedules:
            account = Account.get_or_none(Account.id == schedule.account_id)
            owner = account.owner() if account else None
            if owner is None:
                continue
            req = CancellationRequest.get_or_none(CancellationRequest.id == schedule.request_id)
            deadline = req.reactivation_deadline if req else None
            message = mail.erasure_reminder(schedule, days, account, owner, now, links, deadline)
            composed += message.is_new
    return composed


def compose_call_reminders(now, links=None, rules=CALL_RULES):
    """Compose the reminders of the booked calls that start within a day; return how many are new.

    One per call and start (the outbox key names both), so a call moved to
    another day is reminded again, and a canceled one never. A call booked
    or moved within the day before it starts gets none: its confirmation,
    just sent, says the same.
    """
    composed = 0
    for call in Call.reminders_due(now, rules.reminder_before):
        if call.updated_at > call.start - rules.reminder_before:
            continue
        composed += mail.call_reminder(call, now, links).is_new
    return composed


@dataclass
class Due:
    """What a sweep found for jobs to do, and what it did (`summary`, for the log and QA)."""

    purges: list
    message_ids: list
    summary: dict
    exports: list = ()  # archives to build: queued, or their worker died
    expired_exports: list = ()  # ready archives past their 7 days: their files to delete


def run(now, links):
    """Do the database work that has come due at `now`; return what to enqueue."""
    ended = end_services(now)
    plan_changes = apply_plan_changes(now)
    renewed = renew_periods(now)
    reminders = compose_reminders(now, links)
    call_reminders = compose_call_reminders(now, links)
    follow_ups = followups.compose_reminders(now, links)
    purges = list(due_purges(now)) + list(abandoned_purges(now))
    message_ids = [m.id for m in outbox.unsent(now)]
    to_build, to_expire = exports.stalled(now), exports.past_their_days(now)
    summary = {"services_ended": ended, "plan_changes": plan_changes, "periods_renewed": renewed,
               "reminders": reminders,
               "call_reminders": call_reminders, "follow_ups": follow_ups, "purges": len(purges),
               "messages": len(message_ids), "exports": len(to_build),
               "exports_expired": len(to_expire)}
    return Due(purges, message_ids, summary, to_build, to_expire)

"""Erase a cancelled account for good: plain functions, no RQ.

Every transition of an account's PurgeSchedule lives here: confirming arms
it (`arm`), reactivating disarms it (`disarm`), and the purge job claims it
(`claim_schedule`), runs it and marks it done.

The purge claims its schedule row with a conditional UPDATE (so a second job,
or a job for an older generation, does nothing), then erases the account's
data stage by stage in bounded batches. Each batch deletes rows, adds what
it deleted to the schedule's checkpoint and renews the lease, all in one
transaction, so a worker killed at any moment leaves exact counts behind and
the next worker resumes where it stopped. Finally it verifies that nothing of
the account remains and writes an ErasureRecord with no personal data.

Only rows whose account is the purged account are ever selected.
"""
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import timedelta

from . import mail, outbox, steps
from wizard.store.db import transaction
from wizard.store.models import (
    Account,
    Acknowledgement,
    Agent,
    AuditEvent,
    BillingRecord,
    Call,
    CallFlow,
    CallLog,
    CancellationRequest,
    ErasureRecord,
    OfferDecision,
    OfferShown,
    OutboxMessage,
    PhoneNumber,
    PlanChange,
    Product,
    PurgeSchedule,
    Recording,
    Subscription,
    SurveyResponse,
    User,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)


class LostLease(Exception):
    """Another worker took the purge over (our lease ran out); stop quietly."""


class NotErased(Exception):
    """Verification found data left; the purge will be run again."""


class Started(Exception):
    """The erasure is running or done: it can no longer be disarmed."""


def _requests_of(account_id):
    return CancellationRequest.select(CancellationRequest.id).where(
        CancellationRequest.account == account_id)


# (name, model, condition on the account) in an order that satisfies the
# foreign keys: children before parents, the account row last. The names are
# the checkpoint's keys, so a resumed purge reads them back: keep them.
# tests/domain/test_purge_coverage.py walks the models and fails for any table with
# a path to Account that is no stage here and not declared there with its reason.
STAGES = (
    ("recordings", Recording, lambda a: Recording.account == a),
    ("call_logs", CallLog, lambda a: CallLog.account == a),
    ("agents", Agent, lambda a: Agent.account == a),
    ("call_flows", CallFlow, lambda a: CallFlow.account == a),
    ("billing_records", BillingRecord, lambda a: BillingRecord.account == a),
    ("phone_numbers", PhoneNumber, lambda a: PhoneNumber.account == a),
    ("acknowledgements", Acknowledgement, lambda a: Acknowledgement.request.in_(_requests_of(a))),
    ("survey_responses", SurveyResponse, lambda a: SurveyResponse.request.in_(_requests_of(a))),
    ("offer_decisions", OfferDecision, lambda a: OfferDecision.request.in_(_requests_of(a))),
    ("offers_shown", OfferShown, lambda a: OfferShown.request.in_(_requests_of(a))),
    ("plan_changes", PlanChange, lambda a: PlanChange.account == a),
    ("calls", Call, lambda a: Call.account == a),
    ("cancellation_requests", CancellationRequest, lambda a: CancellationRequest.account == a),
    ("audit_events", AuditEvent, lambda a: AuditEvent.account == a),
    # Emails about the account (the erasure notice has no account_id: it is kept until sent).
    ("emails", OutboxMessage, lambda a: OutboxMessage.account_id == a),
    ("subscriptions", Subscription, lambda a: Subscription.account == a),
    ("users", User, lambda a: User.account == a),
    ("accounts", Account, lambda a: Account.id == a),
)


def stages():
    """STAGES, with a stage for the answers of each step that keeps them in a
    model of its own (Step.answer_model), before the requests they belong to.
    A stage is named for its table, so a resumed purge finds its checkpoint."""
    staged = {model for _, model, _ in STAGES}
    extra = [(model._meta.table_name, model,
              lambda a, model=model: model.request.in_(_requests_of(a)))
             for model in steps.answer_models() if model not in staged]
    at = next(i for i, (name, _, _) in enumerate(STAGES) if name == "cancellation_requests")
    return (*STAGES[:at], *extra, *STAGES[at:])


@dataclass(frozen=True)
class QueuedPurge:
    """Which purge job an RQ queue may hold: the account and the generation."""

    account_id: int
    generation: int


def arm(account_id, request_id, due_at, now):
    """Schedule the account's erasure, re-arming a schedule cancelled before.

    Runs in the caller's transaction (confirm's). A schedule that is running
    or done is never re-armed: that account is being, or has been, erased.
    """
    rearmed = (
        PurgeSchedule.update(
            status=PurgeSchedule.SCHEDULED, due_at=due_at, request_id=request_id,
            generation=PurgeSchedule.generation + 1, lease_expires_at=None, claimed_by=None,
            attempts=0, checkpoint="{}", started_at=None, finished_at=None, updated_at=now,
        )
        .where((PurgeSchedule.account_id == account_id)
               & (PurgeSchedule.status == PurgeSchedule.CANCELLED))
        .execute()
    )
    if not rearmed:
        PurgeSchedule.create(account_id=account_id, request_id=request_id, due_at=due_at,
                             status=PurgeSchedule.SCHEDULED, generation=1, updated_at=now)


def _cancel(where, now):
    """Cancel the schedules matching `where`, bumping their generation so that
    any job already queued for them finds nothing to claim; return how many."""
    return (PurgeSchedule
            .update(status=PurgeSchedule.CANCELLED, generation=PurgeSchedule.generation + 1,
                    lease_expires_at=None, updated_at=now)
            .where(where)
            .execute())


def disarm(account_id, now):
    """Cancel the account's scheduled erasure; return the QueuedPurge it superseded.

    Runs in the caller's transaction (reactivation's). Returns None when there
    was nothing scheduled. Raises `Started` when the erasure is running or
    done: too late to stop it. The UPDATE is conditional on 'scheduled', as
    the claim is, so when the two race exactly one of them changes the row.
    """
    if _cancel((PurgeSchedule.account_id == account_id)
               & (PurgeSchedule.status == PurgeSchedule.SCHEDULED), now):
        schedule = PurgeSchedule.for_account(account_id)
        return QueuedPurge(account_id, schedule.generation - 1)
    schedule = PurgeSchedule.for_account(account_id)
    if schedule is not None and schedule.has_started:
        raise Started(f"purge of account {account_id} has started")
    return None


def claim_schedule(schedule_id, generation, worker, now):
    """Take the purge for `worker`; return the schedule, or None if not ours to run.

    Claimable: a scheduled purge of this generation that is due, or a running
    one whose lease has expired (its worker died). A reactivated account's
    schedule is 'cancelled' with a newer generation, so it never matches.
    """
    with transaction():
        taken = (
            PurgeSchedule.update(
                status=PurgeSchedule.RUNNING, lease_expires_at=now + LEASE, claimed_by=worker,
                attempts=PurgeSchedule.attempts + 1, updated_at=now,
            )
            .where(
                (PurgeSchedule.id == schedule_id)
                & (PurgeSchedule.generation == generation)
                & (((PurgeSchedule.status == PurgeSchedule.SCHEDULED) & (PurgeSchedule.due_at <= now))
                   | ((PurgeSchedule.status == PurgeSchedule.RUNNING)
                      & (PurgeSchedule.lease_expires_at < now)))
            )
            .execute()
        )
        if not taken:
            return None
        schedule = PurgeSchedule.get_by_id(schedule_id)
        if schedule.started_at is None:
            PurgeSchedule.update(started_at=now).where(PurgeSchedule.id == schedule_id).execute()
            schedule.started_at = now
        # Belt and braces: never erase an account whose smrtPhone is active.
        if Subscription.active(schedule.account_id, Product.SMRTPHONE) is not None:
            log.error("Purge %s claimed for an active account; cancelling it", schedule_id)
            _cancel(PurgeSchedule.id == schedule_id, now)
            return None
        return schedule


def _renew(schedule, worker, now, **changes):
    """Renew our lease (and save `changes`) or raise LostLease."""
    kept = (
        PurgeSchedule.update(lease_expires_at=now + LEASE, updated_at=now, **changes)
        .where((PurgeSchedule.id == schedule.id) & (PurgeSchedule.generation == schedule.generation)
               & (PurgeSchedule.status == PurgeSchedule.RUNNING) & (PurgeSchedule.claimed_by == worker))
        .execute()
    )
    if not kept:
        raise LostLease(f"purge {schedule.id} was taken over")


def _capture_owner_notice(schedule, now):
    """Queue the erasure notice while the owner's address still exists."""
    account = Account.get_or_none(Account.id == schedule.account_id)
    owner = account.owner() if account is not None else None
    if owner is not None:
        mail.erasure_complete(schedule, owner.email, owner.name, now,
                                had_crm=bool(account.crm_name))


def run(schedule, worker, clock, recordings_dir, batch_size=5000):
    """Erase everything of the schedule's account; return the ErasureRecord."""
    account_id = schedule.account_id
    counts = json.loads(schedule.checkpoint or "{}")
    for name, model, condition in stages():
        while True:
            with transaction():
                now = clock()
                _renew(schedule, worker, now)
                if name == "users":
                    _capture_owner_notice(schedule, now)
                if model is Subscription:
                    Subscription.lock_for_account(account_id)
                if model is Recording:
                    batch = list(Recording.select(Recording.id, Recording.path)
                                 .where(condition(account_id)).limit(batch_size).tuples())
                    for _, path in batch:
                        _remove_file(recordings_dir, account_id, path)
                    doomed = [row_id for row_id, _ in batch]
                else:
                    # The database picks the batch itself: no ids travel to us and back.
                    doomed = model.select(model.id).where(condition(account_id)).limit(batch_size)
                deleted = model.delete().where(model.id.in_(doomed)).execute()
                if not deleted:
                    break
                counts[name] = counts.get(name, 0) + deleted
                _renew(schedule, worker, now, checkpoint=json.dumps(counts, sort_keys=True))
    _clear_folder(recordings_dir, account_id)
    return _finish(schedule, worker, clock(), counts, recordings_dir)


def _account_folder(recordings_dir, account_id):
    return os.path.join(recordings_dir, str(account_id))


def _remove_file(recordings_dir, account_id, relative):
    """Delete one recording file, refusing any path outside the account's folder."""
    folder = os.path.realpath(_account_folder(recordings_dir, account_id))
    path = os.path.realpath(os.path.join(recordings_dir, relative))
    if os.path.commonpath([folder, path]) != folder:
        log.error("Recording path %r is outside account %s's folder; left alone", relative, account_id)
        return
    try:
        os.remove(path)
    except FileNotFoundError:
        pass  # removed by an earlier run that died before it committed


def _files_in(folder):
    return sum(len(files) for _, _, files in os.walk(folder)) if os.path.isdir(folder) else 0


def _clear_folder(recordings_dir, account_id):
    """Remove the account's recordings folder once no file is left in it."""
    folder = _account_folder(recordings_dir, account_id)
    if os.path.isdir(folder) and _files_in(folder) == 0:
        shutil.rmtree(folder, ignore_errors=True)


def remaining(account_id, recordings_dir):
    """Count what is left of the account, per table, and its recording files."""
    left = {name: model.select().where(condition(account_id)).count()
            for name, model, condition in stages()}
    left["recording_files"] = _files_in(_account_folder(recordings_dir, account_id))
    return left


def _finish(schedule, worker, now, counts, recordings_dir):
    with transaction():
        _renew(schedule, worker, now)
        left = remaining(schedule.account_id, recordings_dir)
        if any(left.values()):
            raise NotErased(f"purge {schedule.id}: data left after erasing: {left}")
        record = ErasureRecord.create(
            surrogate_id=uuid.uuid4().hex, schedule=schedule.id,
            counts=json.dumps(counts, sort_keys=True), started_at=schedule.started_at,
            finished_at=now, verified=True, verification=json.dumps(left, sort_keys=True),
        )
        PurgeSchedule.update(status=PurgeSchedule.DONE, finished_at=now, lease_expires_at=None,
                             updated_at=now).where(PurgeSchedule.id == schedule.id).execute()
        outbox.release_erasure_notice(schedule)
        return record

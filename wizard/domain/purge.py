"""Erase a canceled account for good: plain functions, no RQ.

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

from . import history, mail, outbox, steps
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
    DataExport,
    ErasureRecord,
    FollowUp,
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
    # First, so a "Download your data" build still running loses its row and
    # stops (its files go with the account's exports folder, below).
    ("data_exports", DataExport, lambda a: DataExport.account == a),
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
    ("follow_ups", FollowUp, lambda a: FollowUp.account == a),
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
    """Schedule the account's erasure, re-arming a schedule canceled before.

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
    schedule is 'canceled' with a newer generation, so it never matches.
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
            log.error("Purge %s claimed for an active account; canceling it", schedule_id)
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


def verification_failed(schedule, worker, now, reason, max_attempts, ops_email=""):
    """After a run whose verification found data left (NotErased): once it
    has failed `max_attempts` times, mark the schedule needs attention, keep
    the reason, and alert the operators (to `ops_email`, if set); return the
    alert (None: not yet, or nobody to tell). Below that, the lease runs out
    and the sweep hands the purge to a worker again. The held erasure notice
    stays tied to the schedule either way."""
    if schedule.attempts < max_attempts:
        return None
    with transaction():
        stuck = (PurgeSchedule.update(status=PurgeSchedule.NEEDS_ATTENTION, lease_expires_at=None,
                                      attention_reason=reason, updated_at=now)
                 .where((PurgeSchedule.id == schedule.id) & (PurgeSchedule.claimed_by == worker)
                        & (PurgeSchedule.status == PurgeSchedule.RUNNING)).execute())
        if not stuck:
            return None
        log.error("Purge %s needs attention after %s attempts: %s", schedule.id,
                  schedule.attempts, reason)
        if not ops_email:
            return None
        return mail.purge_needs_attention(PurgeSchedule.get_by_id(schedule.id), ops_email, now)


def retry(schedule_id, now):
    """An operator's word: try a purge that needs attention again, from its
    checkpoint, with its attempts counted afresh; return the schedule, or None
    if it does not need attention. It is left claimable (running, its lease
    over), so the next sweep hands it to a worker."""
    with transaction():
        retried = (PurgeSchedule.update(status=PurgeSchedule.RUNNING, attempts=0,
                                        lease_expires_at=now - timedelta(seconds=1),
                                        claimed_by=None, updated_at=now)
                   .where((PurgeSchedule.id == schedule_id)
                          & (PurgeSchedule.status == PurgeSchedule.NEEDS_ATTENTION)).execute())
        return PurgeSchedule.get_by_id(schedule_id) if retried else None


def _capture_owner_notice(schedule, now):
    """Queue the erasure notice while the owner's address still exists."""
    account = Account.get_or_none(Account.id == schedule.account_id)
    owner = account.owner() if account is not None else None
    if owner is not None:
        mail.erasure_complete(schedule, owner.email, owner.name, now,
                                had_crm=bool(account.crm_name))


def run(schedule, worker, clock, recordings_dir, batch_size=5000, *, exports_dir):
    """Erase everything of the schedule's account, its recordings' files and
    its archives' (under `exports_dir`) included; return the ErasureRecord."""
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
                if model is CancellationRequest:
                    # The requests' anonymous records stay; nothing after today is known.
                    history.freeze_account(account_id, now)
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
    _clear_folder(exports_dir, account_id)
    return _finish(schedule, worker, clock(), counts, recordings_dir, exports_dir)


def _account_folder(recordings_dir, account_id):
    return os.path.join(recordings_dir, str(account_id))


def _inside(path, folder):
    return os.path.commonpath([path, folder]) == folder


def _real_account_folder(recordings_dir, account_id):
    """The account's folder, if it is a real folder inside the recordings root:
    not a link (its target could be anywhere), not reached through one."""
    folder = _account_folder(recordings_dir, account_id)
    root = os.path.realpath(recordings_dir)
    if os.path.islink(folder) or not os.path.isdir(folder):
        return None
    real = os.path.realpath(folder)
    return real if real == os.path.join(root, str(account_id)) else None


def _remove_file(recordings_dir, account_id, relative):
    """Delete one recording: the file, or the link, never a link's target,
    and nothing outside the account's own folder inside the recordings root.

    Every folder on the way must be real (no link): `realpath` of the parent
    must be the parent as written. A path that names a folder is left to
    _clear_folder."""
    folder = _real_account_folder(recordings_dir, account_id)
    if folder is None:
        return  # no folder, or a link: _clear_folder removes the link itself
    written = os.path.normpath(os.path.join(folder, os.path.relpath(
        os.path.join(recordings_dir, relative), _account_folder(recordings_dir, account_id))))
    parent = os.path.dirname(written)
    if not _inside(written, folder) or written == folder or os.path.realpath(parent) != parent:
        log.error("Recording path %r is not a file of account %s's folder; left to the folder's "
                  "removal", relative, account_id)
        return
    try:
        if os.path.isdir(written) and not os.path.islink(written):
            return  # a folder: removed with the account's folder
        os.unlink(written)  # a file, or a link (never followed)
    except FileNotFoundError:
        pass  # removed by an earlier run that died before it committed


def _entries_in(folder):
    """Files and links under `folder` (a link to a folder counts, unfollowed);
    a link in the folder's place counts as one."""
    if os.path.islink(folder):
        return 1
    if not os.path.isdir(folder):
        return 0
    return sum(len(files) + sum(os.path.islink(os.path.join(here, d)) for d in dirs)
               for here, dirs, files in os.walk(folder))


def _clear_folder(root, account_id):
    """Remove the account's folder under `root` (its recordings', or its
    archives') and whatever is left in it: a link in its place is removed as
    a link; links inside are removed, never followed (shutil.rmtree does not
    follow them)."""
    folder = _account_folder(root, account_id)
    try:
        if os.path.islink(folder):
            os.unlink(folder)
        elif _real_account_folder(root, account_id) is not None:
            shutil.rmtree(folder)
    except OSError:  # what is left, verification finds and reports
        log.exception("Could not remove account %s's folder in %s", account_id, root)


def remaining(account_id, recordings_dir, exports_dir):
    """Count what is left of the account, per table, and its recording and archive files."""
    left = {name: model.select().where(condition(account_id)).count()
            for name, model, condition in stages()}
    left["recording_files"] = _entries_in(_account_folder(recordings_dir, account_id))
    left["archive_files"] = _entries_in(_account_folder(exports_dir, account_id))
    return left


def _finish(schedule, worker, now, counts, recordings_dir, exports_dir):
    with transaction():
        _renew(schedule, worker, now)
        left = remaining(schedule.account_id, recordings_dir, exports_dir)
        if any(left.values()):
            found = ", ".join(f"{name} {count}" for name, count in left.items() if count)
            raise NotErased(f"purge {schedule.id}: data left after erasing: {found}")
        record = ErasureRecord.create(
            surrogate_id=uuid.uuid4().hex, schedule=schedule.id,
            counts=json.dumps(counts, sort_keys=True), started_at=schedule.started_at,
            finished_at=now, verified=True, verification=json.dumps(left, sort_keys=True),
        )
        PurgeSchedule.update(status=PurgeSchedule.DONE, finished_at=now, lease_expires_at=None,
                             updated_at=now).where(PurgeSchedule.id == schedule.id).execute()
        outbox.release_erasure_notice(schedule)
        return record

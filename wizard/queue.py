"""The only code that enqueues RQ jobs. Call it after the transaction commits.

Redis only triggers work; the database says what is due. So every enqueue
here is a best effort: if Redis is down or loses its data, the periodic sweep
(jobs/sweep.py) finds what is due in the database and enqueues it again.
Job ids are labels, not locks: each job claims its row before working.

Every queue name and job id starts with the deployment's name
(config.deployment), so two deployments sharing one Redis never take each
other's jobs, and `purge-account-1-g1` of one is not that of the other.
"""
import logging

from redis import Redis, RedisError
from rq import Queue, get_current_job
from rq.job import Job, JobStatus

from wizard import logs
from wizard.store.models import OutboxMessage, PurgeSchedule

log = logging.getLogger(__name__)

_redis_url = None
_deployment = None
_connection = None


def init(redis_url, deployment):
    """Say which Redis to use and for which deployment (the app factory and
    the jobs call this).

    Safe to call again: the connection is kept while the URL is the same.
    """
    global _redis_url, _deployment, _connection
    _deployment = deployment
    if redis_url != _redis_url:
        _redis_url, _connection = redis_url, None


def reachable():
    """Does Redis answer? (For saying so to a person, not for deciding what is due.)"""
    try:
        return bool(connection().ping())
    except (RedisError, OSError):
        return False


def depth():
    """Jobs waiting in this deployment's queue, or None when Redis does not answer."""
    try:
        return _queue().count
    except (RedisError, OSError):
        return None


def redis_url():
    return _redis_url


def queue_name(deployment):
    """The deployment's one queue: its workers and `rq cron` use it (jobs/rq_settings.py)."""
    return f"{deployment}-default"


def current_queue_name():
    return queue_name(_deployment)


def prefixed_id(label):
    """A job id of this deployment."""
    return f"{_deployment}-{label}"


def connection():
    global _connection
    if _connection is None:
        _connection = Redis.from_url(_redis_url)
    return _connection


def _queue():
    return Queue(current_queue_name(), connection=connection())


def purge_job_id(purge):
    """The label of the job that purges `purge` (a PurgeSchedule or a QueuedPurge)."""
    return prefixed_id(f"purge-account-{purge.account_id}-g{purge.generation}")


def _earlier(job_id):
    """The job enqueued under `job_id` before, if Redis still has it (one read)."""
    try:
        return Job.fetch(job_id, connection=connection())
    except Exception:  # NoSuchJobError, RedisError, an unreadable job: none known
        return None


def _waiting(earlier):
    """Is that job waiting in the queue already? Then enqueueing it again would
    only add a second copy of its id to the queue: the sweep, every few
    minutes, would pile copies of each waiting email onto a busy queue."""
    return earlier is not None and earlier.get_status(refresh=False) == JobStatus.QUEUED


def _meta(earlier):
    """What a job carries besides its ids: the request id it was enqueued
    under (wizard/logs.py). A job enqueued again under the same id (the sweep
    making sure of a purge) keeps the request id it was first enqueued with."""
    kept = earlier.meta.get("request_id") if earlier is not None else None
    return {"request_id": kept or logs.current_id()}


def current_request_id():
    """The request id the running job was enqueued under (in a worker), or None."""
    job = get_current_job()
    return job.meta.get("request_id") if job is not None else None


def enqueue_purge(schedule, now=False):
    """Enqueue the purge of `schedule` at its due time (or now, for the sweep)."""
    args = ("jobs.purge.run_purge", schedule.id, schedule.generation)
    job_id = purge_job_id(schedule)
    try:
        earlier = _earlier(job_id)
        if _waiting(earlier):
            return None
        if now:
            return _queue().enqueue(*args, job_id=job_id, job_timeout=3600, meta=_meta(earlier))
        return _queue().enqueue_at(schedule.due_at, *args, job_id=job_id,
                                   job_timeout=3600, meta=_meta(earlier))
    except RedisError:
        log.warning("Could not enqueue %s; the sweep will", purge_job_id(schedule), exc_info=True)
        return None


def cancel_purge(superseded):
    """Best effort: drop the queued job of a superseded purge (a QueuedPurge, or
    None for none); its claim would fail anyway."""
    if superseded is None:
        return
    job_id = purge_job_id(superseded)
    try:
        job = Job.fetch(job_id, connection=connection())
        job.cancel()
        job.delete()
    except Exception:  # NoSuchJobError, RedisError, or a job already running: all harmless
        log.info("No queued job %s to cancel", job_id)


def _enqueue_once(label, function, *args, **options):
    """Enqueue `function(*args)` under the job id `label`, unless a copy
    already waits; a Redis that fails is logged, and the sweep enqueues it later."""
    job_id = prefixed_id(label)
    try:
        earlier = _earlier(job_id)
        if _waiting(earlier):
            return None
        return _queue().enqueue(function, *args, job_id=job_id, meta=_meta(earlier), **options)
    except RedisError:
        log.warning("Could not enqueue %s; the sweep will", job_id, exc_info=True)
        return None


def enqueue_mail(message_id):
    return _enqueue_once(f"mail-{message_id}", "jobs.mail.send_message", message_id)


def enqueue_export(export_id):
    """Build the account's archive (jobs/export.py)."""
    return _enqueue_once(f"export-{export_id}", "jobs.export.build_export", export_id,
                         job_timeout=6 * 3600)


def enqueue_export_expiry(export_id):
    """Delete the file of an archive past its 7 days (jobs/export.py)."""
    return _enqueue_once(f"export-expiry-{export_id}", "jobs.export.expire_export", export_id)


def enqueue_due(found):
    """After the sweep's commits: make sure a job will do each purge, email,
    archive build and archive expiry it found (a wizard.domain.sweep.Due);
    return its summary."""
    for schedule in found.purges:
        enqueue_purge(schedule, now=True)
    for message_id in found.message_ids:
        enqueue_mail(message_id)
    for export_id in found.exports:
        enqueue_export(export_id)
    for export_id in found.expired_exports:
        enqueue_export_expiry(export_id)
    log.info("Sweep: %s", found.summary)
    return found.summary


def enqueue_account_work(account_id):
    """After a commit: enqueue the account's armed purge and its unsent emails."""
    schedule = PurgeSchedule.for_account(account_id)
    if schedule is not None and schedule.is_scheduled:
        enqueue_purge(schedule)
    for message_id in OutboxMessage.pending_for(account_id):
        enqueue_mail(message_id)

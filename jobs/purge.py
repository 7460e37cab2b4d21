"""The purge job: erase one canceled account after its 90 days."""
import logging

from wizard import clock, queue
from wizard.domain import outbox, purge

from . import job_context, worker_label

log = logging.getLogger(__name__)


def run_purge(schedule_id, generation):
    """Claim and run the purge; return what happened, for RQ's result."""
    with job_context() as settings:
        worker = worker_label()
        schedule = purge.claim_schedule(schedule_id, generation, worker, clock.now())
        if schedule is None:
            log.info("Purge %s g%s: not due, not ours, or no longer wanted", schedule_id, generation)
            return "not claimed"
        try:
            record = purge.run(schedule, worker, clock.now, settings["RECORDINGS_DIR"],
                               settings["PURGE_BATCH_SIZE"], exports_dir=settings["EXPORTS_DIR"])
        except purge.LostLease:
            log.warning("Purge %s was taken over by another worker", schedule_id)
            return "taken over"
        except purge.NotErased as failed:
            alert = purge.verification_failed(schedule, worker, clock.now(), str(failed),
                                              settings["PURGE_MAX_ATTEMPTS"], settings["OPS_EMAIL"])
            if alert is not None:
                queue.enqueue_mail(alert.id)
            raise  # RQ shows the job failed; the schedule says what comes next
        notice = outbox.erasure_notice(schedule)
    if notice is not None:
        queue.enqueue_mail(notice.id)
    log.info("Purge %s done: erasure record %s", schedule_id, record.surrogate_id)
    return record.surrogate_id

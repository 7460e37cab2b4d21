"""The export job: build one account's "Download your data" archive, then
tell the owner it is ready (wizard/domain/exports.py)."""
import logging

from wizard import clock, queue
from wizard.domain import exports, mail
from wizard.web import url_map

from . import job_context, worker_label

log = logging.getLogger(__name__)


def build_export(export_id):
    """Claim and build the archive; return its state, for RQ's result."""
    with job_context() as settings:
        worker = worker_label()
        export = exports.claim(export_id, worker, clock.now())
        if export is None:
            log.info("Export %s: not queued, or another worker builds it", export_id)
            return "not claimed"
        try:
            built = exports.build(export, worker, clock.now, settings["EXPORTS_DIR"],
                                  settings["RECORDINGS_DIR"], settings["EXPORT_BATCH_SIZE"])
        except exports.LostLease:
            log.warning("Export %s was taken over by another worker", export_id)
            return "taken over"
        message = (mail.export_ready(built, clock.now(), url_map.links(settings["BASE_URL"]))
                   if built.is_ready else None)
    if message is not None:
        queue.enqueue_mail(message.id)
    log.info("Export %s: %s", export_id, built.status)
    return built.status


def expire_export(export_id):
    """Delete the file of an archive whose 7 days are over (the sweep found it)."""
    with job_context() as settings:
        return exports.expire(export_id, clock.now(), settings["EXPORTS_DIR"])

"""The periodic sweep job: do what has come due, then make sure a job will
do each purge and email it found (wizard/domain/sweep.py)."""
from wizard import clock, queue
from wizard.domain import sweep as sweep_work
from wizard.web import url_map

from . import job_context


def sweep():
    """Find in the database what is due and make sure a job will do it."""
    with job_context() as settings:
        found = sweep_work.run(clock.now(), url_map.links(settings["BASE_URL"]))
    return queue.enqueue_due(found)

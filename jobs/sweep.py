"""The periodic sweep: end services, send reminders, (re)enqueue due work."""
import logging

from wizard import clock, queue
from wizard.domain import due, outbox

from . import job_context

log = logging.getLogger(__name__)


def sweep():
    """Find in the database what is due and make sure a job will do it."""
    with job_context() as settings:
        found = find_due(settings["BASE_URL"])
    return enqueue_due(found)


def sweep_here(base_url):
    """The same sweep in a process already bound to its database (connected)
    and Redis: the QA clock's command and page, right after moving the clock.
    They pass their own settings; job_context would read the environment's."""
    return enqueue_due(find_due(base_url))


def find_due(base_url):
    """Do the database work that has come due; return what to enqueue and the counts."""
    now = clock.now()
    ended = due.end_services(now)
    plan_changes = due.apply_plan_changes(now)
    reminders = due.compose_reminders(now, base_url)
    call_reminders = due.compose_call_reminders(now, base_url)
    purges = list(due.due_purges(now)) + list(due.abandoned_purges(now))
    messages = [m.id for m in outbox.unsent(now)]
    summary = {"services_ended": ended, "plan_changes": plan_changes, "reminders": reminders,
               "call_reminders": call_reminders, "purges": len(purges), "messages": len(messages)}
    return purges, messages, summary


def enqueue_due(found):
    """After the commits: make sure a job will do each purge and email found."""
    purges, messages, summary = found
    for schedule in purges:
        queue.enqueue_purge(schedule, now=True)
    for message_id in messages:
        queue.enqueue_mail(message_id)
    log.info("Sweep: %s", summary)
    return summary

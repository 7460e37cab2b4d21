"""The periodic sweep: end services, send reminders, (re)enqueue due work."""
import logging

from wizard import clock, due, outbox, queue

from . import job_context

log = logging.getLogger(__name__)


def sweep():
    """Find in the database what is due and make sure a job will do it."""
    with job_context() as settings:
        now = clock.now()
        ended = due.end_services(now)
        plan_changes = due.apply_plan_changes(now)
        reminders = due.compose_reminders(now, settings["BASE_URL"])
        call_reminders = due.compose_call_reminders(now)
        purges = list(due.due_purges(now)) + list(due.abandoned_purges(now))
        messages = [m.id for m in outbox.unsent(now)]
    for schedule in purges:
        queue.enqueue_purge(schedule, now=True)
    for message_id in messages:
        queue.enqueue_mail(message_id)
    summary = {"services_ended": ended, "plan_changes": plan_changes, "reminders": reminders,
               "call_reminders": call_reminders, "purges": len(purges), "messages": len(messages)}
    log.info("Sweep: %s", summary)
    return summary

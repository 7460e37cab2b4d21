"""What an operator watches, read from the database (the truth): purges by
state, emails waiting, failing and the oldest waiting, calls by state.

Counts only, never a person's data: /metrics shows these (wizard/web/ops).
"""
from dataclasses import dataclass

from peewee import Case, fn

from wizard.store.models import Call, OutboxMessage, PurgeSchedule

WAITING = (OutboxMessage.HELD, OutboxMessage.PENDING, OutboxMessage.SENDING)


@dataclass(frozen=True)
class Figures:
    purges: dict  # state -> count, every state present
    emails: dict  # status -> count, every status present
    emails_failing: int  # unsent after mail_max_attempts tries
    oldest_pending_email_seconds: float  # 0 when none waits
    calls: dict  # status -> count, every status present


def _by(model, column, names):
    found = dict(model.select(column, fn.COUNT(model.id)).group_by(column).tuples())
    return {name: found.get(name, 0) for name in names}


def figures(now, mail_max_attempts):
    """Four statements, whatever the size of the tables (each a GROUP BY or an aggregate)."""
    emails = _by(OutboxMessage, OutboxMessage.status,
                 (*WAITING, OutboxMessage.SENT, OutboxMessage.VOID))
    oldest, failing = (OutboxMessage
                       .select(fn.MIN(OutboxMessage.created_at),
                               fn.SUM(Case(None, ((OutboxMessage.attempts >= mail_max_attempts, 1),), 0)))
                       .where(OutboxMessage.status.in_((OutboxMessage.PENDING, OutboxMessage.SENDING)))
                       .scalar(as_tuple=True))
    oldest = OutboxMessage.created_at.python_value(oldest)  # SQLite: text; PostgreSQL: naive UTC
    return Figures(
        purges=_by(PurgeSchedule, PurgeSchedule.status, PurgeSchedule.STATES),
        emails=emails,
        emails_failing=int(failing or 0),
        oldest_pending_email_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        calls=_by(Call, Call.status, tuple(Call.STATUS_NAMES)),
    )

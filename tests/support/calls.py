"""Helpers for the tests of calls with Customer Success: a team made to
measure, owners, times written as people say them, and what the database
holds (to show that a refusal changed nothing)."""
import itertools
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from icalendar import Calendar

from wizard import clock
from wizard.domain import availability, calls
from wizard.store.models import (
    Account,
    AuditEvent,
    Call,
    OutboxMessage,
    StaffHours,
    StaffOverride,
    User,
)

UTC = timezone.utc
NEW_YORK = "America/New_York"  # the demo accounts' time zone
ACME_MAIN = "(617) 555-0101"  # Acme's main number, as the booking form shows it
MON_FRI, MON_THU, SUNDAY = range(5), range(4), (6,)
_numbers = itertools.count(1)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def local(tz, *args):
    """A wall-clock time in `tz`, as the UTC moment it is (fold=0)."""
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def wall(moment, tz):
    """The naive wall-clock time a UTC moment shows in `tz`."""
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def clear_team():
    """Forget the demo team's hours: a test then says exactly who works when."""
    StaffOverride.delete().execute()
    StaffHours.delete().execute()


def staff_member(tz, weekly, name=None):
    """A new Customer Success staff member in `tz` with `weekly` hours:
    [(weekdays, "HH:MM", "HH:MM"), ...]."""
    n = next(_numbers)
    staff = User.create(email=f"staff{n}@smrtphone.test", name=name or f"Staff {n}",
                        password_hash="x", role=User.SUCCESS)
    availability.set_weekly_hours(staff, tz, [(d, a, b) for days, a, b in weekly for d in days])
    return User.get_by_id(staff.id)


def demo_staff():
    return User.by_email("success@smrtphone.test"), User.by_email("morgan@smrtphone.test")


def owner(account="Acme Realty"):
    return Account.get(Account.name == account).owner()


def snapshot():
    """What a refused operation must leave as it was."""
    return (
        [tuple(b.__data__.items()) for b in Call.select().order_by(Call.id)],
        [m.id for m in OutboxMessage.select(OutboxMessage.id).order_by(OutboxMessage.id)],
        AuditEvent.select().where(AuditEvent.kind != "access.refused").count(),
    )


CALL_KINDS = (OutboxMessage.CALL_BOOKED, OutboxMessage.CALL_RESCHEDULED, OutboxMessage.CALL_CANCELLED,
              OutboxMessage.CALL_REMINDER)


def calls_emails(kind=None):
    query = OutboxMessage.select().where(OutboxMessage.kind.in_(CALL_KINDS))
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(query.order_by(OutboxMessage.id))


def event_of(ics):
    """(the calendar, its one VEVENT) parsed back from .ics text."""
    calendar = Calendar.from_ical(ics)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    return calendar, events[0]


def a_call(name="Acme Realty", start=None):
    """A call booked by the owner of account `name` at `start` (the first free time)."""
    owner = Account.get(Account.name == name).owner()
    start = start or availability.free_slots(clock.now())[0].start
    return calls.book(owner, start, "Pricing", clock.now())


def book_url(start, tz=NEW_YORK, **args):
    """The booking page of the day (in `tz`) of `start`: where its time is offered."""
    from urllib.parse import urlencode

    day = start.astimezone(ZoneInfo(tz)).date().isoformat() if isinstance(start, datetime) else start
    return "/calls/book?" + urlencode({"day": day, **args})


def booking(start, topic="", number=ACME_MAIN, **fields):
    """The booking form as the page posts it: a time (a datetime or the text
    posted), the number to call and the topic."""
    return {"start": start.isoformat() if isinstance(start, datetime) else start,
            "topic": topic, "number": number, **fields}

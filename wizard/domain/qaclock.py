"""The QA clock: QA moves the time every process sees, to watch the 90-day
lifecycle (service end, reminders, purge) happen in minutes.

The offset is one row in the database (QaClockOffset), so the web server, the
RQ worker and the sweep move together without a restart; wizard/clock.py adds
it to the time in QA mode only. Moving the clock is followed by a sweep (the
command and the /qa/clock page run it), which the caller does: this module
knows the database, not the queue.
"""
import re
from datetime import datetime, timedelta, timezone

from wizard import clock
from . import formatting
from wizard.store.models import QaClockOffset

# Far enough for any lifecycle (90 days, a year of periods), near enough that
# dates stay ordinary.
LIMIT = timedelta(days=3650)
AMOUNT_EXAMPLES = "91d, 3h, 2w or 1w 2d 3h"
UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
         "m": timedelta(minutes=1)}
_AMOUNT = re.compile(r"\s*([+-]?)\s*((?:\d{1,6}\s*[wdhm]\s*)+)", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s*([wdhm])", re.IGNORECASE)


class ClockRefused(ValueError):
    """What QA asked for cannot be done; the message says why and what works."""


def follow(qa_mode):
    """Make clock.now() add the stored offset in QA mode, and nothing otherwise."""
    clock.use_offset(QaClockOffset.seconds if qa_mode else None)


def parse_amount(text):
    """"91d", "3h", "2w", "1w 2d 3h", "90m" (a leading "-" goes back) -> timedelta."""
    text = (text or "").strip()
    match = _AMOUNT.fullmatch(text) if len(text) <= 40 else None
    if not match:
        raise ClockRefused(f"Give an amount such as {AMOUNT_EXAMPLES} "
                           "(w weeks, d days, h hours, m minutes).")
    amount = sum((int(n) * UNITS[unit.lower()] for n, unit in _PART.findall(match.group(2))),
                 timedelta(0))
    return -amount if match.group(1) == "-" else amount


def parse_moment(text):
    """"2027-03-01T09:00" or "2027-03-01" (UTC unless an offset is given) -> aware datetime."""
    text = (text or "").strip()
    try:
        if len(text) > 40:
            raise ValueError
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ClockRefused("Give a date and time such as 2027-03-01T09:00 (UTC) "
                           "or a date such as 2027-03-01.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stored_offset():
    """The offset as stored now (not this process's cached copy)."""
    return timedelta(seconds=QaClockOffset.seconds())


def _store(offset):
    if abs(offset) > LIMIT:
        raise ClockRefused(f"The QA clock stays within {LIMIT.days} days of the real time.")
    QaClockOffset.store(round(offset.total_seconds()), clock.unmoved_now())
    clock.forget_offset()
    return offset


def advance(amount):
    """Move the clock forward by `amount` (a timedelta); return the new offset."""
    return _store(stored_offset() + amount)


def set_to(moment):
    """Move the clock so that now() is `moment`; return the new offset."""
    return _store(moment - clock.unmoved_now())


def reset():
    """Back to the real time."""
    return _store(timedelta(0))


def describe(offset):
    """A timedelta as the banner says it: "+91 days", "+1 day 3 hours", "-2 hours"."""
    seconds = round(offset.total_seconds())
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return sign + " ".join(parts or ["0 minutes"])


def now_label(moment):
    return formatting.local_datetime(moment, "UTC")


def moved_message(offset, now, summary):
    """What a move did, for the command and the page: the clock, then the sweep's work."""
    clock_text = (f"QA clock: {describe(offset)} (now {now_label(now)})." if offset
                  else f"QA clock: the real time ({now_label(now)}).")
    return (f"{clock_text} Sweep: {summary['services_ended']} service(s) ended, "
            f"{summary['reminders']} erasure reminder(s) and {summary['call_reminders']} call "
            f"reminder(s) composed, {summary['plan_changes']} plan change(s) made, "
            f"{summary['periods_renewed']} billing period(s) renewed, "
            f"{summary['purges']} purge(s) and {summary['messages']} email(s) queued.")


def redis_missing_message(redis_url):
    return (f"Redis did not answer at {redis_url}: the database work is done, but no purge or "
            "email could be queued. Start Redis (or `make run`); the worker's next sweep "
            "queues them.")

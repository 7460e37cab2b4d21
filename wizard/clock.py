"""The one clock. Everything that needs the time asks `now()`.

Tests move time by setting `FROZEN`. A worker a test starts as a subprocess
reads `WIZARD_CLOCK_AT` (an ISO 8601 time), which stops its clock there.

In QA mode (WIZARD_QA=1, never in production) QA moves the time of every
process at once: the offset is kept in the database (wizard/qaclock.py),
and now() is that time plus the offset. The app and the jobs hand the clock
a reader of the stored offset with use_offset(); without one (QA mode off)
now() runs no statement at all. With one, each process reads the offset at
most once per OFFSET_TTL seconds, so a change reaches every process within
about a second.
"""
import os
import time
from datetime import datetime, timedelta, timezone

FROZEN = None

# Seconds a process keeps the stored offset before reading it again.
OFFSET_TTL = 1.0

_offset_reader = None  # () -> seconds, in QA mode; None otherwise
_cached_offset = None  # (monotonic deadline, timedelta)


def session_now():
    """The real time, as seconds, for how long a session has been idle.

    Moving the business clock (a test, a QA demo 90 days ahead) must not sign
    anyone out, so sessions read the machine's time, not now(). Tests move it
    by replacing this function.
    """
    return datetime.now(timezone.utc).timestamp()


def use_offset(reader):
    """Add the offset `reader()` returns (seconds) to now(); None: add nothing."""
    global _offset_reader
    if reader is not _offset_reader:
        _offset_reader = reader
        forget_offset()


def forget_offset():
    """Read the offset afresh at the next now() (after this process changed it)."""
    global _cached_offset
    _cached_offset = None


def offset():
    """The QA offset in effect in this process (zero outside QA mode)."""
    global _cached_offset
    if _offset_reader is None:
        return timedelta(0)
    moment = time.monotonic()
    if _cached_offset is None or moment >= _cached_offset[0]:
        _cached_offset = (moment + OFFSET_TTL, timedelta(seconds=_offset_reader()))
    return _cached_offset[1]


def unmoved_now():
    """The time before QA's offset: FROZEN, WIZARD_CLOCK_AT, or the machine's."""
    if FROZEN is not None:
        return FROZEN
    fixed = os.environ.get("WIZARD_CLOCK_AT")
    if fixed:
        moment = datetime.fromisoformat(fixed)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


def now():
    """Return the current time, timezone-aware, in UTC."""
    return unmoved_now() + offset()

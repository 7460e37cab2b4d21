"""The one clock. Everything that needs the time asks `now()`.

Tests move time by setting `FROZEN`. Other processes (a worker a test
starts, a QA demo) read the environment: `WIZARD_CLOCK_AT` (an ISO 8601
time) stops the clock there, and `WIZARD_CLOCK_OFFSET_DAYS` shifts the real
time, so the 90-day promises can be tried without waiting 90 days.
"""
import os
from datetime import datetime, timedelta, timezone

FROZEN = None


def session_now():
    """The real time, as seconds, for how long a session has been idle.

    Moving the business clock (a test, a QA demo 90 days ahead) must not sign
    anyone out, so sessions read the machine's time, not now(). Tests move it
    by replacing this function.
    """
    return datetime.now(timezone.utc).timestamp()


def now():
    """Return the current time, timezone-aware, in UTC."""
    if FROZEN is not None:
        return FROZEN
    fixed = os.environ.get("WIZARD_CLOCK_AT")
    if fixed:
        moment = datetime.fromisoformat(fixed)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    offset = float(os.environ.get("WIZARD_CLOCK_OFFSET_DAYS", "0") or 0)
    return datetime.now(timezone.utc) + timedelta(days=offset)

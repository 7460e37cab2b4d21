"""The one clock. Everything that needs the time asks `now()`.

Tests and QA move time by setting `FROZEN` (see tests/conftest.py), and the
`WIZARD_CLOCK_OFFSET_DAYS` environment variable shifts a running demo forward,
so the 90-day promises can be tried without waiting 90 days.
"""
import os
from datetime import datetime, timedelta, timezone

FROZEN = None


def now():
    """Return the current time, timezone-aware, in UTC."""
    if FROZEN is not None:
        return FROZEN
    offset = float(os.environ.get("WIZARD_CLOCK_OFFSET_DAYS", "0") or 0)
    return datetime.now(timezone.utc) + timedelta(days=offset)

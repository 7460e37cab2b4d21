"""When Customer Success can take a call: staff hours, date overrides, free slots.

Each staff member keeps their hours in their own wall-clock time (weekly
blocks, plus date overrides: a day off, or other hours that day). Slots are
generated in that wall-clock time, every `step` from the start of each block
and ending within it, and only then converted to UTC, so 08:30 in London is
08:30 UTC in winter and 07:30 UTC in summer. A local time the clock skips
(spring forward) gives no slot; a local time the clock shows twice (fall
back) gives one slot, at its first occurrence (fold=0).

A slot is free for a staff member when it is in their hours, at least
`notice` from now, at most `horizon` ahead, and clear of their calls by the
rules' buffer (policy.CallRules.clashes). Loading takes three queries
(hours, overrides, calls), whatever the number of calls; the rest is Python.
"""
import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from zoneinfo import ZoneInfo

from dateutil.rrule import WEEKLY, rrule
from dateutil.tz import datetime_exists

from wizard.store.db import transaction
from wizard.store.models import Call, StaffHours, StaffOverride, User
from . import formatting
from .policy import CALL_RULES
from wizard.refusals import (
    BadHours,
    NotASlot,
    OutsideHours,
    SlotInPast,
    SlotTaken,
    TooFarAhead,
    TooSoon,
)

UTC = timezone.utc
DAY = timedelta(days=1)
MINUTES_IN_DAY = 24 * 60


@dataclass(frozen=True)
class Slot:
    """A time a call can start (UTC), and the staff members free then (ids, ascending)."""

    start: datetime
    staff_ids: tuple
    duration: timedelta = CALL_RULES.duration

    @property
    def end(self):
        return self.start + self.duration


# -- the time a caller names ---------------------------------------------------

def as_utc(moment):
    """A slot's start as aware UTC; NotASlot for a naive time or anything else."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise NotASlot()
    return moment.astimezone(UTC)


def parse_start(text):
    """Read a slot's start as a form posts it (ISO 8601 with an offset, e.g.
    "2026-11-30T14:00:00+00:00" or "...Z"); NotASlot for anything else."""
    text = (text or "").strip()
    if not text.isascii() or len(text) > 40:
        raise NotASlot()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise NotASlot() from None
    return as_utc(moment)


def check_time(start, now, rules=CALL_RULES):
    """Refuse a start in the past, inside the notice period or beyond the horizon."""
    if start <= now:
        raise SlotInPast()
    if start < now + rules.notice:
        raise TooSoon(rules.notice)
    if start > now + rules.horizon:
        raise TooFarAhead(rules.horizon)


# -- wall-clock slots ------------------------------------------------------------

def wall_clock_starts(block_start, block_end, rules=CALL_RULES):
    """Naive local starts every `step` from `block_start` whose call ends by `block_end`."""
    moment = block_start
    while moment + rules.duration <= block_end:
        yield moment
        moment += rules.step


def to_utc(local, tz):
    """The UTC moment of a naive wall-clock time in `tz`; None if the clock skips it.

    A time shown twice (the repeated hour) is taken at its first occurrence.
    """
    aware = local.replace(tzinfo=tz, fold=0)
    if not datetime_exists(aware):
        return None
    return aware.astimezone(UTC)


def _at(day, minute):
    return datetime.combine(day, time()) + timedelta(minutes=minute)


def staff_starts(tz, weekly, overrides, first_day, last_day, rules=CALL_RULES):
    """Every UTC start a staff member's hours give from `first_day` to `last_day` (local dates).

    `weekly` is their StaffHours rows; `overrides` maps a date to its
    StaffOverride rows, which replace that date's weekly hours.
    """
    blocks = []
    for block in weekly:
        # The weekly recurrence, kept in wall-clock time (naive datetimes).
        for begins in rrule(WEEKLY, byweekday=block.weekday, dtstart=_at(first_day, block.start_minute),
                            until=_at(last_day, block.start_minute)):
            if begins.date() not in overrides:
                blocks.append((begins, begins + timedelta(minutes=block.end_minute - block.start_minute)))
    for day, rows in overrides.items():
        if first_day <= day <= last_day:
            blocks.extend((_at(day, r.start_minute), _at(day, r.end_minute))
                          for r in rows if not r.is_day_off)
    starts = set()
    offsets = {}
    for begins, ends in blocks:
        day = begins.date()
        if day not in offsets:
            offsets[day] = _steady_offset(day, tz)
        offset = offsets[day]
        if offset is None:  # the clocks change today: each time on its own
            starts.update(m for m in (to_utc(t, tz) for t in wall_clock_starts(begins, ends, rules))
                          if m is not None)
            continue
        first = (begins - offset).replace(tzinfo=UTC)
        starts.update(first + (local - begins) for local in wall_clock_starts(begins, ends, rules))
    return starts


def _steady_offset(day, tz):
    """The UTC offset of `tz` all through `day`, or None when the clocks change that day.

    Most days have one offset, and a wall-clock time minus it is its UTC
    moment; that is much cheaper than asking the zone about every time. On
    the days the clocks change each time is converted on its own (to_utc).
    """
    midnight = datetime.combine(day, time())
    first, last = tz.utcoffset(midnight), tz.utcoffset(midnight + DAY)
    return first if first == last else None


def group_by_local_date(slots, timezone_name):
    """[(local date, [slots of that date])] in order, dates as seen in `timezone_name`."""
    tz = ZoneInfo(timezone_name)
    days = {}
    for slot in slots:
        days.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    return sorted(days.items())


# -- who is free when ------------------------------------------------------------

class Availability:
    """The staff's hours and calls over the horizon, read once; answers in Python."""

    def __init__(self, now, rules, hours, overrides, calls):
        self.now, self.rules = now, rules
        self.earliest, self.latest = now + rules.notice, now + rules.horizon
        self.staff = {}
        weekly, by_day = defaultdict(list), defaultdict(lambda: defaultdict(list))
        for row in hours:
            self.staff[row.staff_id] = row.staff
            weekly[row.staff_id].append(row)
        for row in overrides:
            self.staff[row.staff_id] = row.staff
            by_day[row.staff_id][row.day].append(row)
        # When each staff member's hours start a call, in the window.
        self._working = {}
        for staff_id, member in self.staff.items():
            tz = ZoneInfo(member.staff_timezone)
            first_day, last_day = self.earliest.astimezone(tz).date(), self.latest.astimezone(tz).date()
            self._working[staff_id] = sorted(
                s for s in staff_starts(tz, weekly[staff_id], by_day[staff_id], first_day, last_day, rules)
                if self.earliest <= s <= self.latest)
        # Each staff member's calls by start, with the latest end so far, to bisect.
        self._calls = defaultdict(list)
        for staff_id, start, end in calls:
            self._calls[staff_id].append((start, end))
        self._index = {
            staff_id: ([s for s, _ in rows], list(accumulate((e for _, e in rows), max)), rows)
            for staff_id, rows in self._calls.items()
        }

    @classmethod
    def load(cls, now, rules=CALL_RULES, ignoring=None):
        """Read hours, overrides and calls (three queries). `ignoring`: a booking
        id whose own time does not count (it is the call being moved)."""
        earliest, latest = now + rules.notice, now + rules.horizon
        hours = list(StaffHours.of_staff())
        # A local date can be a day off UTC's: take a day more on each side.
        overrides = list(StaffOverride.between(earliest.date() - DAY, latest.date() + DAY))
        calls = list(Call.active_between(earliest - DAY, latest + rules.duration + rules.buffer,
                                            ignoring=ignoring))
        return cls(now, rules, hours, overrides, calls)

    def busy(self, staff_id, start, end):
        """Whether a call [start, end) clashes with one of the staff member's calls."""
        if staff_id not in self._index:
            return False
        starts, ends_so_far, rows = self._index[staff_id]
        buffer = self.rules.buffer
        # Only calls starting before end + buffer can clash; walk back while
        # one of them could still end late enough.
        j = bisect_left(starts, end + buffer) - 1
        while j >= 0 and ends_so_far[j] + buffer > start:
            if self.rules.clashes(start, end, *rows[j]):
                return True
            j -= 1
        return False

    def slots(self):
        """The free slots in the window, soonest first, each with the staff free then."""
        free = defaultdict(list)
        duration = self.rules.duration
        for staff_id in sorted(self._working):
            for start in self._working[staff_id]:
                if not self.busy(staff_id, start, start + duration):
                    free[start].append(staff_id)
        return [Slot(start, tuple(ids), duration) for start, ids in sorted(free.items())]

    def works_at(self, staff_id, start):
        starts = self._working.get(staff_id, [])
        i = bisect_left(starts, start)
        return i < len(starts) and starts[i] == start

    def free_staff(self, start):
        """Ids of the staff free for a call at `start`, ascending."""
        end = start + self.rules.duration
        return [i for i in sorted(self._working)
                if self.works_at(i, start) and not self.busy(i, start, end)]

    def free_staff_or_refuse(self, start):
        """The staff free at `start`, or the refusal that says why there are none."""
        check_time(start, self.now, self.rules)
        if not any(self.works_at(i, start) for i in self._working):
            raise OutsideHours()
        free = self.free_staff(start)
        if not free:
            raise SlotTaken()
        return free


def free_slots(now, rules=CALL_RULES):
    """The free slots of the next `rules.horizon`, as UTC starts with the staff free then."""
    return Availability.load(now, rules).slots()


def offered_days(now, timezone_name, all_times=False, rules=CALL_RULES):
    """The free times offered to an owner in `timezone_name`, by their local
    date: [(date, [slots])]. Only those within the owner's day
    (rules.suits_owner), unless `all_times`."""
    slots = free_slots(now, rules)
    if not all_times:
        slots = [s for s in slots if rules.suits_owner(s.start, s.end, timezone_name)]
    return group_by_local_date(slots, timezone_name)


# -- setting hours ------------------------------------------------------------------

_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def _minute(value):
    """A time of day as minutes since midnight: a `time`, or "HH:MM" ("24:00" ends the day)."""
    if isinstance(value, time):
        return value.hour * 60 + value.minute
    match = _CLOCK.match(str(value).strip())
    if not match:
        raise BadHours(f"{str(value)[:10]!r} is not a time of day, such as 9:30 AM.")
    minute = int(match.group(1)) * 60 + int(match.group(2))
    if minute > MINUTES_IN_DAY:
        raise BadHours(f"{str(value)[:10]!r} is not a time of day, such as 9:30 AM.")
    return minute


def _span(starts, ends):
    first, last = _minute(starts), _minute(ends)
    if first >= last:
        # In 12-hour time, as the page's time inputs show it.
        raise BadHours(f"Hours must end after they start ({formatting.clock_time(first)} to "
                       f"{formatting.clock_time(last)}).")
    return first, last


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _no_overlap(spans, day_name, field=None):
    """Refuse blocks of one day that overlap (a shared edge, 12:30-12:30, is fine)."""
    ordered = sorted(spans)
    for (_, end), (start, _) in zip(ordered, ordered[1:]):
        if start < end:
            raise BadHours(f"The hours of {day_name} overlap: please make each block end "
                           "before the next one starts.", field)


def _require_staff(staff):
    if not staff.is_success_staff:
        raise BadHours("Only Customer Success staff have hours.")


def set_weekly_hours(staff, timezone_name, blocks):
    """Replace a staff member's time zone and weekly hours.

    `blocks`: (weekday 0-6 from Monday, starts, ends), times as "HH:MM" or
    `time`; a day may have several blocks.
    """
    _require_staff(staff)
    if not formatting.is_known_time_zone(timezone_name):
        raise BadHours(f"{timezone_name!r} is not a known time zone.", "timezone")
    rows = []
    for weekday, starts, ends in blocks:
        if weekday not in range(7):
            raise BadHours(f"{weekday!r} is not a weekday (0 = Monday ... 6 = Sunday).")
        try:
            first, last = _span(starts, ends)
        except BadHours as exc:
            raise BadHours(str(exc), weekday) from None
        rows.append(dict(staff=staff.id, weekday=weekday, start_minute=first, end_minute=last))
    for weekday in range(7):
        _no_overlap([(r["start_minute"], r["end_minute"]) for r in rows if r["weekday"] == weekday],
                    WEEKDAYS[weekday], weekday)
    with transaction():
        User.update(timezone=timezone_name).where(User.id == staff.id).execute()
        StaffHours.delete().where(StaffHours.staff == staff).execute()
        if rows:
            StaffHours.insert_many(rows).execute()


def set_date_override(staff, day, blocks=()):
    """Replace a staff member's hours on `day` (a date in their time zone):
    no blocks is a day off; else (starts, ends) pairs."""
    _require_staff(staff)
    if isinstance(day, datetime) or not isinstance(day, date):
        raise BadHours("An override needs a date.")
    rows = [dict(staff=staff.id, day=day, start_minute=first, end_minute=last)
            for first, last in (_span(s, e) for s, e in blocks)]
    _no_overlap([(r["start_minute"], r["end_minute"]) for r in rows], formatting.spoken_day(day, with_year=False))
    with transaction():
        StaffOverride.delete().where((StaffOverride.staff == staff) & (StaffOverride.day == day)).execute()
        StaffOverride.insert_many(rows or [dict(staff=staff.id, day=day)]).execute()


def clear_date_override(staff, day):
    """Let the weekly hours apply again on `day`."""
    with transaction():
        StaffOverride.delete().where((StaffOverride.staff == staff) & (StaffOverride.day == day)).execute()

"""Free slots: staff hours kept in their own wall-clock time across the
daylight-saving changes, notice, horizon, buffer, date overrides, several
staff, and a fixed number of queries however many calls there are."""
from datetime import date, timedelta

import pytest

from tests.support.calls import (
    MON_FRI,
    MON_THU,
    SUNDAY,
    clear_team,
    demo_staff,
    local,
    owner,
    staff_member,
    utc,
    wall,
)
from wizard.domain import availability, calls
from wizard import clock
from wizard.domain.availability import free_slots, group_by_local_date
from wizard.store.models import Call, StaffOverride
from wizard.domain.policy import CALL_RULES

LONDON, NEW_YORK, LOS_ANGELES = "Europe/London", "America/New_York", "America/Los_Angeles"
LONDON_HOURS = [(MON_THU, "08:30", "12:30"), (MON_THU, "13:30", "16:00")]
LONDON_DAY = ["08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00",
              "13:30", "14:00", "14:30", "15:00", "15:30"]
NIGHT = [(SUNDAY, "00:00", "04:00")]


def starts_of(slots, staff=None):
    return [s.start for s in slots if staff is None or staff.id in s.staff_ids]


def wall_times_by_day(slots, staff, tz):
    """{local date: ["HH:MM", ...]} of the staff member's slots, as their clock shows them."""
    days = {}
    for start in starts_of(slots, staff):
        moment = wall(start, tz)
        days.setdefault(moment.date(), []).append(f"{moment:%H:%M}")
    return days


# -- daylight saving ---------------------------------------------------------------

def test_london_hours_stay_08_30_local_across_the_uk_change(app):
    clear_team()
    morgan = staff_member(LONDON, LONDON_HOURS)
    now = utc(2027, 3, 20, 12, 0)  # Saturday; the UK changes on Sunday 28 March
    slots = free_slots(now)
    days = wall_times_by_day(slots, morgan, LONDON)
    assert sorted(days) == [date(2027, 3, d) for d in (22, 23, 24, 25, 29, 30, 31)] + [date(2027, 4, 1)]
    assert all(times == LONDON_DAY for times in days.values()), days
    # The same wall-clock hours are different UTC times either side of the change.
    assert utc(2027, 3, 25, 8, 30) in starts_of(slots)
    assert utc(2027, 3, 29, 7, 30) in starts_of(slots)
    assert utc(2027, 3, 29, 8, 30) in starts_of(slots)  # 09:30 BST
    assert utc(2027, 3, 25, 7, 30) not in starts_of(slots)
    assert utc(2027, 3, 25, 15, 30) in starts_of(slots)  # the last call, 15:30 GMT
    assert utc(2027, 3, 29, 14, 30) in starts_of(slots)  # the last call, 15:30 BST
    assert utc(2027, 3, 29, 15, 0) not in starts_of(slots)  # 16:00 BST: it would end after hours
    # An owner in Los Angeles (already on summer time since 14 March) sees
    # them an hour earlier from the 29th: 01:30 then 00:30, the same day.
    by_day = dict(group_by_local_date(slots, LOS_ANGELES))
    assert wall(by_day[date(2027, 3, 25)][0].start, LOS_ANGELES).strftime("%H:%M") == "01:30"
    assert wall(by_day[date(2027, 3, 29)][0].start, LOS_ANGELES).strftime("%H:%M") == "00:30"


def test_new_york_and_london_together_across_both_spring_changes(app):
    """US clocks change on 14 March 2027, UK clocks on 28 March: for two
    weeks the two offices are four hours apart instead of five."""
    clear_team()
    casey = staff_member(NEW_YORK, [(MON_FRI, "09:00", "17:00")])
    morgan = staff_member(LONDON, LONDON_HOURS)
    slots = free_slots(utc(2027, 3, 7, 12, 0))  # a Sunday: every working day is whole
    assert all(t[0] == "09:00" and t[-1] == "16:30" and len(t) == 16
               for t in wall_times_by_day(slots, casey, NEW_YORK).values())
    assert all(t == LONDON_DAY for t in wall_times_by_day(slots, morgan, LONDON).values())
    by_start = {s.start: s.staff_ids for s in slots}
    # Thursday 11 March: New York opens at 14:00 UTC, London's last call starts at 15:30.
    assert by_start[utc(2027, 3, 11, 14, 0)] == (casey.id, morgan.id)
    assert by_start[utc(2027, 3, 11, 13, 30)] == (morgan.id,)
    # Monday 15 March: New York is on summer time and opens at 13:00 UTC.
    assert by_start[utc(2027, 3, 15, 13, 0)] == (casey.id,)
    assert by_start[utc(2027, 3, 15, 13, 30)] == (casey.id, morgan.id)
    assert utc(2027, 3, 15, 12, 30) not in by_start


def test_no_slot_at_a_time_the_clock_skips(app):
    """Sunday 14 March 2027 in New York: 02:00 becomes 03:00."""
    clear_team()
    night = staff_member(NEW_YORK, NIGHT)
    slots = free_slots(utc(2027, 3, 6, 12, 0))
    days = wall_times_by_day(slots, night, NEW_YORK)
    assert days[date(2027, 3, 7)] == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30",
                                      "03:00", "03:30"]
    assert days[date(2027, 3, 14)] == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]
    assert starts_of(slots, night)[8:] == [utc(2027, 3, 14, 5, 0), utc(2027, 3, 14, 5, 30),
                                           utc(2027, 3, 14, 6, 0), utc(2027, 3, 14, 6, 30),
                                           utc(2027, 3, 14, 7, 0), utc(2027, 3, 14, 7, 30)]
    assert not [s for s in starts_of(slots) if wall(s, NEW_YORK).hour == 2
                and wall(s, NEW_YORK).date() == date(2027, 3, 14)]


def test_hours_that_end_in_the_skipped_hour_offer_nothing_after_it(app):
    """00:00-03:00 on 14 March 2027: 02:00 and 02:30 do not exist, and taking
    them as 03:00 and 03:30 EDT would put calls after hours."""
    clear_team()
    short = staff_member(NEW_YORK, [(SUNDAY, "00:00", "03:00")])
    days = wall_times_by_day(free_slots(utc(2027, 3, 6, 12, 0)), short, NEW_YORK)
    assert days[date(2027, 3, 7)] == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    assert days[date(2027, 3, 14)] == ["00:00", "00:30", "01:00", "01:30"]


def test_the_repeated_hour_gives_one_slot_each(app):
    """Sunday 1 November 2026 in New York: 01:00-02:00 happens twice; it is taken once."""
    clear_team()
    night = staff_member(NEW_YORK, NIGHT)
    slots = free_slots(utc(2026, 10, 25, 12, 0))
    starts = starts_of(slots, night)
    assert len(starts) == len(set(starts))
    days = wall_times_by_day(slots, night, NEW_YORK)
    assert days[date(2026, 11, 1)] == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30",
                                       "03:00", "03:30"]
    assert [s for s in starts if s.date() == date(2026, 11, 1)] == [
        utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 4, 30),
        utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 30),  # 01:00 and 01:30 EDT, the first time
        utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 30), utc(2026, 11, 1, 8, 0), utc(2026, 11, 1, 8, 30)]


def test_us_fall_back_moves_new_york_hours_an_hour_later_in_utc(app):
    clear_team()
    casey = staff_member(NEW_YORK, [(MON_FRI, "09:00", "17:00")])
    slots = free_slots(utc(2026, 10, 25, 12, 0))
    days = wall_times_by_day(slots, casey, NEW_YORK)
    assert days[date(2026, 10, 30)] == days[date(2026, 11, 2)]
    assert days[date(2026, 11, 2)][0] == "09:00" and days[date(2026, 11, 2)][-1] == "16:30"
    starts = starts_of(slots, casey)
    assert utc(2026, 10, 30, 13, 0) in starts and utc(2026, 10, 30, 12, 30) not in starts
    assert utc(2026, 11, 2, 14, 0) in starts and utc(2026, 11, 2, 13, 30) not in starts
    # Grouped for an owner in Los Angeles, a New York evening stays on its own day.
    grouped = group_by_local_date(slots, LOS_ANGELES)
    assert [d for d, _ in grouped] == sorted({wall(s, LOS_ANGELES).date() for s in starts})
    for day, day_slots in grouped:
        assert all(wall(s.start, LOS_ANGELES).date() == day for s in day_slots)


def test_grouping_follows_the_owners_calendar_not_utc(app):
    clear_team()
    late = staff_member(NEW_YORK, [(MON_FRI, "17:00", "21:00")])  # 22:00-02:00 UTC in winter
    slots = free_slots(utc(2026, 11, 26, 15, 0))
    grouped = dict(group_by_local_date(slots, NEW_YORK))
    friday = grouped[date(2026, 11, 27)]
    assert [wall(s.start, NEW_YORK).strftime("%H:%M") for s in friday] == [
        "17:00", "17:30", "18:00", "18:30", "19:00", "19:30", "20:00", "20:30"]
    assert {s.start.date() for s in friday} == {date(2026, 11, 27), date(2026, 11, 28)}
    assert all(late.id in s.staff_ids for s in friday)


# -- the rules ---------------------------------------------------------------------

def test_notice_and_horizon(app):
    """Demo team, Thursday 26 November 2026 15:00 UTC: Casey works 14:00-22:00 UTC."""
    now = clock.now()
    starts = starts_of(free_slots(now))
    assert starts[0] == now + CALL_RULES.notice == utc(2026, 11, 26, 19, 0)
    assert utc(2026, 11, 26, 18, 30) not in starts
    assert starts[-1] == now + CALL_RULES.horizon == utc(2026, 12, 10, 15, 0)
    assert all(now + CALL_RULES.notice <= s <= now + CALL_RULES.horizon for s in starts)


def test_every_slot_ends_within_its_block(app):
    casey, morgan = demo_staff()
    slots = free_slots(clock.now())
    days = wall_times_by_day(slots, morgan, LONDON)
    assert days[date(2026, 11, 30)] == LONDON_DAY  # 12:30 and 16:00 are ends, not starts
    assert days[date(2026, 11, 30)].count("12:30") == 0


def test_a_call_keeps_its_staff_member_busy_with_a_buffer(app):
    clear_team()
    casey = staff_member(NEW_YORK, [(MON_FRI, "09:00", "17:00")])
    at = local(NEW_YORK, 2026, 11, 30, 12, 0)
    calls.book(owner(), at, "", clock.now())
    starts = starts_of(free_slots(clock.now()), casey)
    half = timedelta(minutes=30)
    assert at not in starts
    assert at - half not in starts and at + half not in starts  # 10 minutes are needed between calls
    assert at - 2 * half in starts and at + 2 * half in starts


def test_a_buffer_also_applies_to_calls_off_the_grid(app):
    """A call at 12:15-12:45, off the half-hour grid, rules out the 12:00 and
    12:30 slots (too close), not 11:30 (ends 15 minutes before) or 13:00."""
    clear_team()
    casey = staff_member(NEW_YORK, [(MON_FRI, "09:00", "17:00")])
    Call.create(account=owner().account_id, owner=owner(), staff=casey,
                   start=local(NEW_YORK, 2026, 11, 30, 12, 15), end=local(NEW_YORK, 2026, 11, 30, 12, 45),
                   active_start=local(NEW_YORK, 2026, 11, 30, 12, 15), uid="x", assigned_at=clock.now(),
                   created_at=clock.now(), updated_at=clock.now())
    times = wall_times_by_day(free_slots(clock.now()), casey, NEW_YORK)[date(2026, 11, 30)]
    assert "11:30" in times and "13:00" in times
    assert not {"12:00", "12:30"} & set(times)


def test_a_cancelled_call_frees_its_time(app):
    clear_team()
    casey = staff_member(NEW_YORK, [(MON_FRI, "09:00", "17:00")])
    at = local(NEW_YORK, 2026, 11, 30, 12, 0)
    made = calls.book(owner(), at, "", clock.now())
    calls.cancel_call(made, owner(), clock.now())
    assert at in starts_of(free_slots(clock.now()), casey)


def test_a_day_off_replaces_the_weekly_hours(app):
    casey, morgan = demo_staff()  # the demo gives Casey Friday 4 December off
    days = wall_times_by_day(free_slots(clock.now()), casey, NEW_YORK)
    assert date(2026, 12, 4) not in days
    assert len(days[date(2026, 12, 3)]) == 16 and len(days[date(2026, 12, 7)]) == 16


def test_other_hours_replace_the_weekly_hours_that_day(app):
    casey, morgan = demo_staff()  # the demo gives Morgan 10:00-14:00 on Wednesday 2 December
    days = wall_times_by_day(free_slots(clock.now()), morgan, LONDON)
    assert days[date(2026, 12, 2)] == ["10:00", "10:30", "11:00", "11:30", "12:00", "12:30",
                                       "13:00", "13:30"]
    assert days[date(2026, 12, 1)] == LONDON_DAY


def test_other_hours_on_a_day_without_weekly_hours_and_clearing_an_override(app):
    casey, morgan = demo_staff()
    saturday = date(2026, 11, 28)
    availability.set_date_override(morgan, saturday, [("09:00", "10:00"), ("11:00", "11:30")])
    days = wall_times_by_day(free_slots(clock.now()), morgan, LONDON)
    assert days[saturday] == ["09:00", "09:30", "11:00"]
    assert [(o.day, str(o.starts), str(o.ends)) for o in StaffOverride.for_staff(morgan, saturday)] == [
        (saturday, "09:00:00", "10:00:00"), (saturday, "11:00:00", "11:30:00"),
        (date(2026, 12, 2), "10:00:00", "14:00:00")]
    availability.clear_date_override(morgan, saturday)
    assert saturday not in wall_times_by_day(free_slots(clock.now()), morgan, LONDON)
    assert len(StaffOverride.for_staff(morgan)) == 1


def test_several_staff_make_one_list_of_slots(app):
    casey, morgan = demo_staff()
    slots = free_slots(clock.now())
    by_start = {s.start: s.staff_ids for s in slots}
    assert by_start[utc(2026, 11, 30, 9, 0)] == (morgan.id,)       # 09:00 London, 04:00 New York
    assert by_start[utc(2026, 11, 30, 14, 0)] == (casey.id, morgan.id)
    assert by_start[utc(2026, 11, 30, 20, 0)] == (casey.id,)
    assert starts_of(slots) == sorted(set(starts_of(slots)))
    assert set(starts_of(slots)) == set(starts_of(slots, casey)) | set(starts_of(slots, morgan))


def test_staff_who_are_no_longer_staff_offer_no_slots(app):
    casey, morgan = demo_staff()
    morgan.role = "agent"
    morgan.save()
    assert all(s.staff_ids == (casey.id,) for s in free_slots(clock.now()))


@pytest.mark.parametrize("blocks, message", [
    ([(0, "09:00", "09:00")], "end after they start"),
    ([(0, "17:00", "09:00")], "end after they start"),
    ([(7, "09:00", "10:00")], "not a weekday"),
    ([(0, "9h", "10:00")], "not a time of day"),
    ([(0, "09:00", "24:30")], "not a time of day"),
])
def test_impossible_hours_are_refused(app, blocks, message):
    from wizard.refusals import BadHours
    from wizard.store.models import StaffHours

    casey, _ = demo_staff()
    before = [(h.weekday, h.start_minute, h.end_minute) for h in StaffHours.for_staff(casey)]
    with pytest.raises(BadHours, match=message):
        availability.set_weekly_hours(casey, NEW_YORK, blocks)
    with pytest.raises(BadHours, match="time zone"):
        availability.set_weekly_hours(casey, "Mars/Olympus", [(0, "09:00", "10:00")])
    assert [(h.weekday, h.start_minute, h.end_minute) for h in StaffHours.for_staff(casey)] == before


# -- the cost ---------------------------------------------------------------------

def _calls(staff, count, first, account="Acme Realty"):
    """`count` calls of 30 minutes, one an hour from `first`, written directly
    (with `account`: an account holds one standing call at a time)."""
    person, now = owner(account), clock.now()
    account = person.account_id
    return [dict(account=account, owner=person, staff=staff.id, start=first + timedelta(hours=i),
                 end=first + timedelta(hours=i, minutes=30), active_start=first + timedelta(hours=i),
                 uid=f"bulk-{staff.id}-{first.timestamp():.0f}-{i}", assigned_at=now, created_at=now, updated_at=now)
            for i in range(count)]


def test_free_slots_run_the_same_queries_for_10_or_1000_calls(app, count_queries):
    casey, morgan = demo_staff()
    first = utc(2026, 11, 27, 0, 0)
    Call.insert_many(_calls(casey, 5, first) + _calls(morgan, 5, first, "Birch Homes")).execute()
    with count_queries() as few:
        with_few = free_slots(clock.now())
    rows = (_calls(casey, 495, first + timedelta(hours=5))
            + _calls(morgan, 495, first + timedelta(hours=5), "Birch Homes"))
    for i in range(0, len(rows), 100):
        Call.insert_many(rows[i:i + 100]).execute()
    assert Call.select().count() == 1000
    with count_queries() as many:
        with_many = free_slots(clock.now())
    assert few.count == many.count == 3
    # Calls one an hour leave no slot from the first on: each rules out the
    # half hours on either side.
    assert len(with_many) < len(with_few)
    assert with_many and all(s.start < first for s in with_many)

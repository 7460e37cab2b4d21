"""The free slots of the next 14 days for 10 staff members with 1,000 calls
between them, timed on one database; and the number of SQL statements it
takes, with 10 calls and with 1,000 (it must not grow)."""
import statistics
import time
from datetime import datetime, timedelta, timezone

from tests.bench.seed import statements
from wizard.domain import availability
from wizard.store.db import init_database
from wizard.dev.demo import create_account, ensure_plans
from wizard.store.models import Call, User
from wizard.domain.policy import CALL_RULES

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # a Thursday
STAFF = 10
CALLS = 1_000
# Five time zones, two staff members each: the slots of one cross the others'.
ZONES = ("America/New_York", "Europe/London", "America/Los_Angeles", "Asia/Kolkata", "Australia/Sydney")
RUNS = 25


def seed_team(now):
    """10 staff members, Monday to Friday 09:00-17:00 in their own time zone."""
    team = []
    for i in range(STAFF):
        staff = User.create(email=f"bench-staff{i}@smrtphone.test", name=f"Staff {i}", password_hash="x",
                            role=User.SUCCESS)
        availability.set_weekly_hours(staff, ZONES[i % len(ZONES)],
                                      [(d, "09:00", "17:00") for d in range(5)])
        team.append(User.get_by_id(staff.id))
    return team


def call_rows(team, accounts, now, per_staff):
    """`per_staff` calls each: one in every fourth slot of the horizon (which
    leaves a quarter of the slots free, the others too close to a call), and
    the rest one an hour back into the past. Each staff member's calls are
    with an account of their own (`accounts`, one each): an account holds
    one standing call at a time."""
    slots = availability.free_slots(now)
    rows = []
    for staff, account in zip(team, accounts, strict=True):
        owner = account.owner()
        mine = [s.start for s in slots if staff.id in s.staff_ids][::4][:per_staff]
        past = [now - timedelta(days=1, hours=h) for h in range(per_staff - len(mine))]
        for n, start in enumerate(mine + past):
            rows.append(dict(account=account.id, owner=owner.id, staff=staff.id, start=start,
                             end=start + CALL_RULES.duration, active_start=start,
                             uid=f"bench-{staff.id}-{n}", assigned_at=now, created_at=now, updated_at=now))
    return rows


def bench_slots(url, label, fresh_schema, log):
    """Return (median ms with 1,000 calls, statements with 10 calls, statements with 1,000)."""
    db = init_database(url)
    with db.connection_context():
        fresh_schema(db)
        plans = ensure_plans()
        accounts = [create_account(f"Bench Realty {i}", f"owner{i}@bench.test", lambda e: "x", plans,
                                   owner_name=f"Bench Owner {i}", now=NOW) for i in range(STAFF)]
        team = seed_team(NOW)
        Call.insert_many(call_rows(team, accounts, NOW, 1)).execute()
        few = statements(lambda: availability.free_slots(NOW))
        Call.delete().execute()
        rows = call_rows(team, accounts, NOW, CALLS // STAFF)
        with db.atomic():
            for start in range(0, len(rows), 200):
                Call.insert_many(rows[start:start + 200]).execute()
        total = Call.select().count()
        in_horizon = Call.select().where(Call.start >= NOW).count()
        assert total == CALLS, total
        many = statements(lambda: availability.free_slots(NOW))
        availability.free_slots(NOW)  # warm up
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            slots = availability.free_slots(NOW)
            timings.append((time.perf_counter() - started) * 1000)
        log(f"  {label}: {total} calls ({in_horizon} in the next 14 days), {len(slots)} free slots; "
            f"median {statistics.median(timings):.2f} ms, best {min(timings):.2f} ms; "
            f"statements: {few} with {STAFF} calls, {many} with {total}")
    db.close()
    return statistics.median(timings), few, many

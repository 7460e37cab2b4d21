"""The tallies the insights add up (wizard/domain/tallies.py): a range is
read as whole months, parts of weeks and days that cover each of its days
once; the tallies stay what a count afresh makes when two transactions
write one subscription's records at once; and `flask migrate` counts the
records made before the tallies existed."""
import calendar
import random
from datetime import date, timedelta

from tests.support.jobs import new_account, race
from wizard import clock
from wizard.dev.demo import ensure_plans
from wizard.domain import history, insights, lifecycle, tallies
from wizard.store.db import database, transaction
from wizard.store.models import Product, RecordTally, SchemaVersion
from wizard.store import migrations


def days_of(span, first, last):
    """The days the tally rows of `span` starting from `first` to `last` count."""
    found, day = [], first
    while day <= last:
        if span == RecordTally.MONTH and day.day == 1:
            end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        elif span == RecordTally.PART and tallies.part_of(day) == day:
            end = tallies.part_end(day)
        elif span == RecordTally.DAY:
            end = day
        else:
            day += timedelta(days=1)
            continue
        found += [day + timedelta(days=n) for n in range((end - day).days + 1)]
        day += timedelta(days=1)
    return found


def test_a_range_is_read_as_pieces_that_cover_each_of_its_days_once():
    rng = random.Random(7)
    for _ in range(2000):
        first = date(2024, 1, 1) + timedelta(days=rng.randint(0, 1500))
        last = first + timedelta(days=rng.randint(0, 5 * 366))
        for by in ("week", "month"):
            pieces = tallies.pieces(first, last, by)
            covered = sorted(d for piece in pieces for d in days_of(*piece))
            assert covered == [first + timedelta(days=n) for n in range((last - first).days + 1)], \
                (first, last, by, pieces)
            single = [d for span, lo, hi in pieces if span == RecordTally.DAY
                      for d in days_of(span, lo, hi)]
            assert len(single) <= 12, "at most six days at each end are read one by one"
            if by == "week":
                assert all(span != RecordTally.MONTH for span, _, _ in pieces), \
                    "a month's rows have no week to trend by"


def test_two_transactions_writing_one_request_at_once_keep_the_tallies_exact(app):
    """Two tabs completing steps of the same request at the same moment (on
    PostgreSQL, without the lock each would add the other's step too)."""
    plans = ensure_plans()
    for round_number in range(6):
        account = new_account(plans, app.config["RECORDINGS_DIR"], clock.now())
        sub, owner = account.subscription(Product.SMRTPHONE), account.owner()
        req = lifecycle.start_or_resume(sub, owner, clock.now())

        def complete(step):
            def run():
                with transaction():
                    history.reached(req, step, clock.now())
            return run

        race(complete("consequences"), complete("acknowledge"), first_starts=round_number % 2 == 0)
    kept = counted()
    tallies.rebuild_tallies()
    assert counted() == kept
    reached = {(t.b, t.n) for t in RecordTally.select().where(
        (RecordTally.figure == "reached") & (RecordTally.span == RecordTally.MONTH))}
    assert reached == {("consequences", 6), ("acknowledge", 6)}


def counted():
    return sorted((t.span, str(t.period), t.figure, t.a, t.b, t.c, t.n)
                  for t in RecordTally.select().where(RecordTally.n != 0))


def test_migrate_counts_the_records_made_before_the_tallies(app):
    """A database from before migration 14: its records, no tallies. `flask
    migrate` makes them, and the insights read what they read before."""
    plans = ensure_plans()
    for _ in range(3):
        account = new_account(plans, app.config["RECORDINGS_DIR"], clock.now())
        req = lifecycle.start_or_resume(account.subscription(Product.SMRTPHONE), account.owner(),
                                        clock.now())
        lifecycle.record_survey(req, "too_expensive", "", clock.now())
    within = insights.Range.default(clock.now())
    before = insights.figures(within, clock.now())
    assert before.reasons == [("Too expensive", 3)]
    version = migrations.MIGRATIONS[13]
    assert version[1] == migrations.RECORD_TALLIES
    with database.connection_context():
        database.obj.drop_tables([RecordTally])
        SchemaVersion.delete().where(SchemaVersion.version == version[0]).execute()
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    assert migrations.RECORD_TALLIES in result.output
    after = insights.figures(within, clock.now())
    assert after == before
    assert RecordTally.select().count() > 0

"""The demo data `make run` loads, and the migrations that build the schema."""
import os


from tests.conftest import TEST_PASSWORD_METHOD
from wizard.store import migrations
from wizard.store.db import database
from wizard.dev.demo import seed_demo
from wizard.store import reads
from wizard.store.models import (
    Account,
    Agent,
    BillingRecord,
    CallFlow,
    CallLog,
    PhoneNumber,
    Recording,
    SchemaVersion,
    StaffHours,
    StaffOverride,
    Subscription,
    User,
)


def count_for_account(model, account):
    return model.select().where(model.account == account).count()


def test_the_full_demo_matches_the_readme(database_url, tmp_path, frozen_clock):
    from wizard.store.db import init_database

    init_database(database_url)
    with database.connection_context():
        recordings = str(tmp_path / "recordings")
        assert seed_demo(recordings, password_method=TEST_PASSWORD_METHOD) is True
        acme = Account.get(Account.name == "Acme Realty")
        assert count_for_account(CallLog, acme) == 2000
        assert count_for_account(Recording, acme) == 300
        assert count_for_account(BillingRecord, acme) == 12
        assert count_for_account(Agent, acme) >= 2 and count_for_account(CallFlow, acme) >= 2
        assert acme.credit_balance_cents > 0
        statuses = sorted(n.port_out_status for n in PhoneNumber.select().where(PhoneNumber.account == acme))
        assert statuses == ["none", "none", "none", "ported", "requested"]
        assert {s.product: s.status for s in Subscription.select().where(Subscription.account == acme)} == {
            "smrtphone": "active", "smrtdialer": "active"}
        assert {u.email: u.role for u in User.select()} == {
            "owner@acme.test": "owner", "admin@acme.test": "admin", "agent@acme.test": "agent",
            "owner@birch.test": "owner", "success@smrtphone.test": "success",
            "morgan@smrtphone.test": "success"}
        team = {u.email: u.timezone for u in User.select().where(User.role == "success")}
        assert team == {"success@smrtphone.test": "America/New_York",
                        "morgan@smrtphone.test": "Europe/London"}
        hours = {(h.staff.email, h.weekday, str(h.starts), str(h.ends))
                 for h in StaffHours.select(StaffHours, User).join(User)}
        assert hours == ({("success@smrtphone.test", d, "09:00:00", "17:00:00") for d in range(5)}
                         | {("morgan@smrtphone.test", d, "08:30:00", "12:30:00") for d in range(4)}
                         | {("morgan@smrtphone.test", d, "13:30:00", "16:00:00") for d in range(4)})
        overrides = sorted((o.staff.email, o.day.isoformat(), o.is_day_off)
                           for o in StaffOverride.select(StaffOverride, User).join(User))
        # From Thursday 26 November 2026: Casey's next Friday a week on is a
        # day off; Morgan works other hours on the Wednesday after.
        assert overrides == [("morgan@smrtphone.test", "2026-12-02", False),
                             ("success@smrtphone.test", "2026-12-04", True)]
        for rec in Recording.select().where(Recording.account == acme).limit(20):
            path = os.path.join(recordings, rec.path)
            assert os.path.getsize(path) == rec.size_bytes
            with open(path, "rb") as f:
                assert f.read(4) == b"RIFF"

        # Customer Success has a call of yesterday to record at once.
        from wizard.store.models import Call

        call = Call.get()
        assert (call.account_id, call.status, call.outcome) == (acme.id, Call.BOOKED, None)
        assert call.start < frozen_clock.now() and call.staff.email == "success@smrtphone.test"
        assert call.callback_number == "+16175550101", "Acme's main office"

        # Loading again changes nothing.
        assert seed_demo(recordings, password_method=TEST_PASSWORD_METHOD) is False
        assert CallLog.select().count() == 2000 + 50
        assert User.select().count() == 6
        assert StaffOverride.select().count() == 2 and StaffHours.select().count() == 13


def test_the_plan_catalogue_lists_a_products_plans_cheapest_first(app):
    from wizard.store.models import Plan, Product

    # Stored in another order than their rank, so the order is the catalogue's doing.
    Plan.create(product=Product.SMRTPHONE, code="phone-free", name="Free", price_cents_per_seat=0,
                rank=0)
    assert [p.name for p in Plan.catalogue(Product.SMRTPHONE)] == ["Free", "Starter", "Pro", "Business"]
    assert [p.name for p in Plan.catalogue(Product.SMRTDIALER)] == [
        "Single-line dialer", "Multi-line dialer"]


def test_migrate_is_recorded_and_idempotent(app):
    with database.connection_context():
        assert [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)] == \
            [m[0] for m in migrations.MIGRATIONS]
        assert migrations.pending() == []
        assert migrations.migrate() == []


def test_the_cli_migrates_and_seeds(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0 and "up to date" in result.output
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "already present" in result.output


def test_a_database_from_before_migration_3_gains_its_column(app):
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate as run
    from peewee import SqliteDatabase

    db = database.obj
    with database.connection_context():
        migrator = SqliteMigrator(db) if isinstance(db, SqliteDatabase) else PostgresqlMigrator(db)
        run(migrator.drop_column("cancellationrequest", "cancelled_products"))
        SchemaVersion.delete().where(SchemaVersion.version == 3).execute()
        assert [m[0] for m in migrations.pending()] == [3]
        assert migrations.migrate() == ["what a cancellation cancelled"]
        assert "cancelled_products" in [c.name for c in db.get_columns("cancellationrequest")]
        assert migrations.migrate() == []


def test_a_database_from_before_migration_4_gains_plan_changes_and_seat_limits(app):
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate as run
    from peewee import SqliteDatabase

    from wizard.dev.demo import seed_demo
    from wizard.store.models import OfferShown, Plan, PlanChange

    db = database.obj
    with database.connection_context():
        migrator = SqliteMigrator(db) if isinstance(db, SqliteDatabase) else PostgresqlMigrator(db)
        db.drop_tables([PlanChange, OfferShown])
        sqlite = isinstance(db, SqliteDatabase)
        if sqlite:  # SQLite drops a column by copying the table, which rows point at
            db.pragma("foreign_keys", 0)
        run(migrator.drop_column("plan", "max_seats"), migrator.drop_column(
            "cancellationrequest", "survey_carried_from"))
        if sqlite:
            db.pragma("foreign_keys", 1)
        SchemaVersion.delete().where(SchemaVersion.version == 4).execute()
        assert [m[0] for m in migrations.pending()] == [4]
        migrations.migrate()
        assert "max_seats" in [c.name for c in db.get_columns("plan")]
        assert db.table_exists("planchange") and db.table_exists("offershown")
        # The demo's catalogue gains its limits on the next seed, even with accounts present.
        Plan.update(max_seats=100).execute()
        assert seed_demo("/nonexistent", password_method=TEST_PASSWORD_METHOD) is False
        assert Plan.get(Plan.code == "phone-starter").max_seats == 5
        assert migrations.migrate() == []


def test_a_database_from_before_migration_5_gains_call_bookings(app):
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate as run
    from peewee import SqliteDatabase

    from wizard.store.models import Call, FollowUp, StaffHours, StaffOverride

    db = database.obj
    with database.connection_context():
        migrator = SqliteMigrator(db) if isinstance(db, SqliteDatabase) else PostgresqlMigrator(db)
        # Follow-ups (migration 13) point at bookings: a database before 5 had neither.
        db.drop_tables([FollowUp, Call, StaffOverride, StaffHours])
        run(migrator.drop_column("user", "timezone"), migrator.drop_column("outboxmessage", "attachment_ics"))
        SchemaVersion.delete().where(SchemaVersion.version.in_([5, 13])).execute()
        assert [m[0] for m in migrations.pending()] == [5, 13]
        assert migrations.migrate() == [
            "calls with Customer Success: staff hours, date overrides, bookings, invitations",
            "follow-ups: what a call's follow-up outcome leaves to do"]
        assert "timezone" in [c.name for c in db.get_columns("user")]
        assert "attachment_ics" in [c.name for c in db.get_columns("outboxmessage")]
        assert {"booking", "staffhours", "staffoverride"} <= set(db.get_tables())
        unique = [i for i in db.get_indexes("booking") if i.unique and "active_start" in i.columns]
        assert sorted(i.columns for i in unique) == [["account_id", "active_start"],
                                                     ["staff_id", "active_start"]]
        assert migrations.migrate() == []


def undo_column_migration(table, column, version):
    """The database as it was before migration `version` added `column` to `table`."""
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate as run
    from peewee import SqliteDatabase

    db = database.obj
    migrator = SqliteMigrator(db) if isinstance(db, SqliteDatabase) else PostgresqlMigrator(db)
    sqlite = isinstance(db, SqliteDatabase)
    if sqlite:  # SQLite drops a column by copying the table, which rows point at
        db.pragma("foreign_keys", 0)
    run(migrator.drop_column(table, column))
    if sqlite:
        db.pragma("foreign_keys", 1)
    SchemaVersion.delete().where(SchemaVersion.version == version).execute()
    assert [m[0] for m in migrations.pending()] == [version]


def test_a_database_from_before_migration_6_gains_session_versions(app):
    with database.connection_context():
        undo_column_migration("user", "session_version", 6)
        migrations.migrate()
        owner = User.by_email("owner@acme.test")
        assert reads.signed_in(f"{owner.id}.1") == owner, "everyone starts at version 1"
        assert migrations.migrate() == []


def test_a_database_from_before_migration_15_gains_the_number_to_call(app):
    """Calls booked before keep NULL: their pages and emails leave the number out."""
    from tests.support.calls import a_call
    from wizard.store.models import Call

    db = database.obj
    with database.connection_context():
        booked = a_call()
        undo_column_migration("booking", "callback_number", 15)
        assert migrations.migrate() == ["the number Customer Success calls the owner at"]
        assert "callback_number" in [c.name for c in db.get_columns("booking")]
        unique = [i for i in db.get_indexes("booking") if i.unique and "active_start" in i.columns]
        assert sorted(i.columns for i in unique) == [["account_id", "active_start"],
                                                     ["staff_id", "active_start"]]
        assert Call.get_by_id(booked.id).callback_number is None
        assert migrations.migrate() == []

"""Each step view runs a small, fixed number of SQL statements, whatever the
account's size (no query per number, call log or recording)."""
import logging
from datetime import timedelta

import pytest
from peewee import JOIN, Model, SqliteDatabase

from tests.support.helpers import (
    STEP_NAMES,
    answers,
    complete_steps,
    request_id_on,
    step_url,
    subscription,
    text,
)
from wizard.store import db, reads
from wizard.store.db import ReusedSelect, database
from wizard import clock

from wizard.dev.demo import add_activity
from wizard.store.models import (
    Account,
    Call,
    CancellationRequest,
    PhoneNumber,
    Plan,
    PlanChange,
    PurgeSchedule,
    Subscription,
    User,
)

# Showing a step reads; submitting one also writes (confirm writes the most:
# the request, both subscriptions, the purge schedule, an audit event, an email,
# and three writes to the request's anonymous record, each of which reads the
# subscription's records before and after and adds to the tallies: tallies.tallied).
# One statement reads the user, their account and its subscriptions, each with
# its open request and that request's survey answer and acknowledgements (the
# banner, the page, which statements apply: credit, smrtDialer still active);
# step 1 and Confirm add one (reads.consequences: the kept counts and the
# phone numbers).
STATEMENTS_PER_STEP = {"consequences": 2, "acknowledge": 1, "survey": 1, "options": 1,
                       "confirm": 2}
MAX_QUERIES_PER_SUBMIT = 32
# Step 1 counts the account's data when its kept counts are older than a few
# minutes (lifecycle.data_counts): seven counts and one write, at most once
# per account in five minutes.
MAX_QUERIES_TO_COUNT = 8
STEP_ONE_WARM = 2
# Products: the signed-in statement, then reads.products (the purge schedule,
# the pending plan changes and whether any call is booked ahead); the page
# adds those calls when there are some (and, for anyone but the owner, the
# owner to ask).
STATEMENTS_PRODUCTS = 2
STATEMENTS_PRODUCTS_WITH_A_CALL = 3


@pytest.mark.parametrize("name", STEP_NAMES)
def test_step_views_stay_under_the_query_bound(app, owner, count_queries, name):
    sub = subscription()
    complete_steps(owner, sub, name)
    acme = Account.get(Account.name == "Acme Realty")
    # A bigger account must not cost more queries.
    add_activity(acme, app.config["RECORDINGS_DIR"], call_logs=200, recordings=50, invoices=12)
    PhoneNumber.insert_many([
        dict(account=acme.id, e164=f"+1617555{1000 + i}", label="", port_out_status="none")
        for i in range(40)
    ]).execute()

    with count_queries() as cold:
        assert owner.get(step_url(sub, name)).status_code == 200
    with count_queries() as page:
        assert owner.get(step_url(sub, name)).status_code == 200
    with count_queries() as fragment:
        assert owner.get(step_url(sub, name), htmx=True).status_code == 200
    form = dict(answers(sub, name), request_id=request_id_on(owner.get(step_url(sub, name))))
    with count_queries() as submit:
        assert owner.post(step_url(sub, name), form).status_code == 303
    print(f"queries {name}: cold={cold.count} page={page.count} fragment={fragment.count} "
          f"post={submit.count}")
    assert 0 < cold.count <= page.count + MAX_QUERIES_TO_COUNT
    assert page.count == STATEMENTS_PER_STEP[name]
    assert fragment.count == STATEMENTS_PER_STEP[name]
    assert 0 < submit.count <= MAX_QUERIES_PER_SUBMIT


def test_step_one_reads_kept_counts_in_a_few_statements(app, owner, count_queries):
    sub = subscription()
    owner.get(step_url(sub, "consequences"))  # counts the account's data once
    with count_queries() as page:
        assert owner.get(step_url(sub, "consequences")).status_code == 200
    # Before the first Continue: the user with the account and its
    # subscriptions (which say whether smrtDialer is active), then the kept
    # counts with the numbers.
    print(f"queries step one, warm: {page.count}")
    assert page.count <= STEP_ONE_WARM


def test_products_stays_under_the_query_bound(app, owner, count_queries):
    owner.get("/billing/products")
    with count_queries() as page:
        assert owner.get("/billing/products").status_code == 200
    print(f"queries products: {page.count}")
    assert page.count == STATEMENTS_PRODUCTS


def test_products_reads_the_calls_only_when_one_is_booked_ahead(app, owner, count_queries):
    from tests.support.calls import a_call

    past = a_call()
    Call.update(start=clock.now() - timedelta(days=1)).where(Call.id == past.id).execute()
    with count_queries() as page:  # a call booked in the past: not shown, not read
        body = text(owner.get("/billing/products"))
    assert "Your call with" not in body and page.count == STATEMENTS_PRODUCTS
    a_call()  # from the first free slot on
    with count_queries() as page:
        body = text(owner.get("/billing/products"))
    assert "Your call with" in body and page.count == STATEMENTS_PRODUCTS_WITH_A_CALL


class Statements(logging.Handler):
    """The SQL text of each statement peewee runs while attached."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.sql = []

    def emit(self, record):
        if isinstance(record.msg, tuple):
            self.sql.append(record.msg[0])

    def __enter__(self):
        logger = logging.getLogger("peewee")
        self.level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        logger = logging.getLogger("peewee")
        logger.removeHandler(self)
        logger.setLevel(self.level)


@pytest.mark.parametrize("name", STEP_NAMES)
def test_a_step_reads_each_table_once(app, owner, name):
    sub = subscription()
    complete_steps(owner, sub, name)
    owner.get(step_url(sub, name))
    with Statements() as page:
        assert owner.get(step_url(sub, name)).status_code == 200
    for table in ("user", "subscription", "cancellationrequest", "acknowledgement",
                  "surveyresponse"):
        reads = [sql for sql in page.sql if f'"{table}" AS' in sql]
        assert len(reads) <= 1, (table, reads)


def test_products_reads_each_table_once(app, owner):
    owner.get("/billing/products")
    with Statements() as page:
        assert owner.get("/billing/products").status_code == 200
    froms = [sql.split(" FROM ")[1].split()[0] for sql in page.sql if " FROM " in sql]
    # Users twice: the signed-in one (with the account), and the account's owner.
    assert froms.count('"user"') <= 2, froms
    assert all(froms.count(table) == 1 for table in froms if table != '"user"'), froms


def plain_subscriptions(account_id):
    return list(Subscription.select(Subscription, Plan).join(Plan)
                .where(Subscription.account == account_id)
                .order_by(Subscription.product.desc(), Subscription.id))


def fields(row):
    return dict(row.__data__, plan=row.plan.__data__)


def test_a_reused_select_gives_the_rows_peewee_would_each_time_afresh(app):
    reused = ReusedSelect(
        lambda account_id: Subscription.select(Subscription, Plan).join(Plan)
        .where(Subscription.account == account_id)
        .order_by(Subscription.product.desc(), Subscription.id))
    acme = Account.get(Account.name == "Acme Realty")
    birch = Account.get(Account.name == "Birch Homes")
    for account in (acme, birch, acme):  # the second run of one text, other values
        rows = reused.rows(account.id)
        assert rows and [fields(r) for r in rows] == [
            fields(r) for r in plain_subscriptions(account.id)]
        assert all(r.account_id == account.id for r in rows)
    # Only the text is kept: a change is read at once.
    Subscription.update(seats=77).where(Subscription.account == birch.id).execute()
    assert {r.seats for r in reused.rows(birch.id)} == {77}
    assert reused.rows(2**31 - 1) == []


def test_a_reused_select_joins_and_adapts_values(app):
    by_session = ReusedSelect(
        lambda user_id, version: User.select(User, Account).join(Account, JOIN.LEFT_OUTER)
        .where((User.id == user_id) & (User.session_version == version)).limit(1))
    owner = User.get(User.email == "owner@acme.test")
    found = by_session.first(owner.id, owner.session_version)
    assert found.email == "owner@acme.test" and found.account.name == "Acme Realty"
    assert by_session.first(owner.id, owner.session_version + 1) is None
    staff = User.get(User.email == "success@smrtphone.test")  # no account: a LEFT JOIN
    assert by_session.first(staff.id, staff.session_version).account is None


def test_a_reused_select_refuses_a_value_it_cannot_place(app):
    twice = ReusedSelect(lambda request_id: CancellationRequest.select().where(
        (CancellationRequest.id == request_id) | (CancellationRequest.open_for == request_id)))
    with pytest.raises(ValueError):
        twice.rows(1)
    unused = ReusedSelect(lambda request_id: CancellationRequest.select())
    with pytest.raises(ValueError):
        unused.rows(1)


def test_postgres_prepares_a_reused_select_once_it_has_run_a_few_times(app):
    """psycopg 3 prepares a statement a connection has run PREPARE_THRESHOLD
    times; the same SQL text every time is what lets it (wizard/store/db.py)."""
    if isinstance(database.obj, SqliteDatabase):
        pytest.skip("PostgreSQL prepares statements; SQLite caches them itself")
    reused = ReusedSelect(lambda account_id: Subscription.select()
                          .where(Subscription.account == account_id))
    acme = Account.get(Account.name == "Acme Realty")

    def prepared():
        return database.execute_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "subscription" AS "t1" WHERE ("t1"."account_id" = $1)']).fetchone()[0]

    for _ in range(db.PREPARE_THRESHOLD):
        assert {r.account_id for r in reused.rows(acme.id)} == {acme.id}
    assert prepared() == 0, "planned on every run until then"
    assert {r.account_id for r in reused.rows(acme.id)} == {acme.id}
    assert prepared() == 1, "prepared on this connection, from now on only executed"


def test_step_one_lists_the_numbers_it_reads_with_the_kept_counts(app, owner):
    sub = subscription()
    acme = Account.get(Account.name == "Acme Realty")
    listed = sorted(n.display for n in PhoneNumber.select().where(PhoneNumber.account == acme.id))
    assert listed
    first = text(owner.get(step_url(sub, "consequences")))  # counts, then reads the numbers
    again = text(owner.get(step_url(sub, "consequences")))  # the kept counts, numbers joined
    for page in (first, again):
        assert all(number in page for number in listed)
        assert "This account has no phone numbers." not in page
    assert first == again
    # Kept counts and no number left: the join finds none, and the page says so.
    PhoneNumber.delete().where(PhoneNumber.account == acme.id).execute()
    page = text(owner.get(step_url(sub, "consequences")))
    assert "This account has no phone numbers." in page
    assert not any(number in page for number in listed)


def graph(value):
    """A model as data: its class, its fields and every model hung on it."""
    if not isinstance(value, Model):
        return value
    return (type(value).__name__, dict(value.__data__),
            {name: graph(v) for name, v in vars(value).items()
             if name not in ("__data__", "_dirty", "__rel__")},
            {name: graph(v) for name, v in value.__rel__.items()})


def test_the_reads_bring_what_plain_queries_find(app, owner):
    sub = subscription()
    complete_steps(owner, sub, "options")  # an open request with answers and acknowledgements
    users = [User.get(User.email == email) for email in
             ("owner@acme.test", "owner@birch.test", "success@smrtphone.test")]
    # Acme: a scheduled plan change and an erasure date, for Products.
    phone, now = subscription(), clock.now()
    starter = Plan.get(Plan.code == "phone-starter")
    PlanChange.create(account=phone.account_id, subscription=phone, pending_for=phone,
                      from_plan=phone.plan_id, from_seats=phone.seats,
                      from_price_cents=phone.price_cents, to_plan=starter, to_seats=3,
                      to_price_cents=7500, effective_at=phone.current_period_end,
                      status=PlanChange.SCHEDULED, made_by=users[0], created_at=now)
    PurgeSchedule.create(account_id=phone.account_id, due_at=now, updated_at=now)
    for user in users:
        signed_in = reads.signed_in(user.get_id())
        assert signed_in.__data__ == user.__data__
        if user.account_id is None:
            assert signed_in.account is None
            continue
        assert signed_in.account.__data__ == Account.get_by_id(user.account_id).__data__
        read = signed_in.account.subscriptions_read
        assert [fields(s) for s in read] == [fields(s) for s in plain_subscriptions(user.account_id)]
        assert [fields(s) for s in read] == [fields(s) for s in
                                             reads.subscriptions(Account.get_by_id(user.account_id))]
        for s in read:
            open_request = CancellationRequest.get_or_none(CancellationRequest.open_for == s.id)
            assert (s.open_request_read is None) == (open_request is None)
            if open_request is not None:
                assert s.open_request_read.__data__ == open_request.__data__
                assert s.open_request_read.acknowledged_versions() == open_request.acknowledged_versions()
                assert graph(s.open_request_read.survey()) == graph(open_request.survey())
    assert reads.signed_in(f"{users[0].id}.{users[0].session_version + 1}") is None
    products = reads.products(phone.account_id, now)
    assert products.schedule.account_id == phone.account_id
    assert list(products.pending_changes) == [phone.id]
    assert products.pending_changes[phone.id].to_plan.code == "phone-starter"
    birch = Account.get(Account.name == "Birch Homes")
    assert reads.products(birch.id, now) == reads.ProductsRead(None, {}, False)
    kept, numbers = reads.consequences(phone.account_id)
    assert [n.__data__ for n in numbers] == [n.__data__ for n in PhoneNumber.select().where(
        PhoneNumber.account == phone.account_id).order_by(PhoneNumber.e164)]

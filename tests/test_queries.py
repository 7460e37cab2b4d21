"""Each step view runs a small, fixed number of SQL statements, whatever the
account's size (no query per number, call log or recording)."""
import pytest

from tests.helpers import STEP_NAMES, answers, complete_steps, request_id_on, step_url, subscription
from wizard.demo import add_activity
from wizard.models import Account, PhoneNumber

# Showing a step reads; submitting one also writes (confirm writes the most:
# the request, both subscriptions, the purge schedule, an audit event, an email).
# The user and their account are one statement, the account's subscriptions
# another, read once per request for the banner and the page alike; one more
# tells which statements apply to the account (credit, smrtDialer still active).
MAX_QUERIES_PER_PAGE = 12
MAX_QUERIES_PER_SUBMIT = 24
# Step 1 counts the account's data when its kept counts are older than a few
# minutes (lifecycle.data_counts): seven counts and one write, at most once
# per account in five minutes.
MAX_QUERIES_TO_COUNT = 8
STEP_ONE_WARM = 7


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
    assert 0 < page.count <= MAX_QUERIES_PER_PAGE
    assert 0 < fragment.count <= MAX_QUERIES_PER_PAGE
    assert 0 < submit.count <= MAX_QUERIES_PER_SUBMIT


def test_step_one_reads_kept_counts_in_a_few_statements(app, owner, count_queries):
    sub = subscription()
    owner.get(step_url(sub, "consequences"))  # counts the account's data once
    with count_queries() as page:
        assert owner.get(step_url(sub, "consequences")).status_code == 200
    # The user with the account, the subscriptions, the open request, the
    # numbers, the kept counts, smrtDialer.
    assert page.count <= STEP_ONE_WARM


def test_products_stays_under_the_query_bound(app, owner, count_queries):
    owner.get("/billing/products")
    with count_queries() as page:
        assert owner.get("/billing/products").status_code == 200
    print(f"queries products: {page.count}")
    assert 0 < page.count <= MAX_QUERIES_PER_PAGE

"""The requests list as Customer Success works it: search, sort, pages of
50 by keyset, the CSV streamed with the call notes, and bad input refused
at its field with nothing shown. Expected orders and matches are computed
here from the requests the test makes."""
import csv
import io
import re
from datetime import timedelta

import pytest

from tests.conftest import NOW
from tests.support.helpers import text
from tests.support.jobs import new_account
from wizard import clock
from wizard.dev.demo import ensure_plans
from wizard.domain import calls, lifecycle, listing
from wizard.store.models import Call, CancellationRequest, Plan, Product, Subscription, User

ROW = re.compile(r'<th scope="row"><a href="/success/requests/(\d+)">')


def listed(body):
    return [int(n) for n in ROW.findall(body)]


def make_requests(app, count):
    """`count` accounts, each with a request started a minute after the last,
    at prices that repeat (so that sorting by revenue has ties)."""
    plans = ensure_plans()
    made = []
    for n in range(count):
        clock.FROZEN = NOW + timedelta(minutes=n)
        account = new_account(plans, app.config["RECORDINGS_DIR"], clock.now(),
                              name=f"Realty {n:03d}" if n != 7 else "100%_Homes\\Co")
        phone = account.subscription(Product.SMRTPHONE)
        Subscription.update(price_cents=1000 * (1 + n % 4)).where(Subscription.id == phone.id).execute()
        req = lifecycle.start_or_resume(Subscription.get_by_id(phone.id), account.owner(), clock.now())
        made.append((req.id, 1000 * (1 + n % 4), account))
    return made


def walk_pages(staff, query):
    """Every request id the list shows, page after page, and the pages' sizes."""
    ids, sizes, url, params = [], [], "/success/", dict(query)
    while True:
        body = text(staff.get(url, query_string=params))
        page = listed(body)
        ids += page
        sizes.append(len(page))
        found = re.search(r'<a href="([^"]+)" rel="next">', body)
        if not found:
            return ids, sizes
        url, params = found.group(1).replace("&amp;", "&"), None


def test_pages_of_fifty_show_every_request_once_in_each_order(app, sign_in):
    made = make_requests(app, 63)
    staff = sign_in("success")
    by_start = [r for r, _, _ in sorted(made, key=lambda m: m[0], reverse=True)]
    ids, sizes = walk_pages(staff, {})
    assert ids == by_start and sizes == [50, 13]
    by_revenue = [r for r, _, _ in sorted(made, key=lambda m: (-m[1], -m[0]))]
    ids, sizes = walk_pages(staff, {"sort": "revenue"})
    assert ids == by_revenue and sizes == [50, 13]
    ids, _ = walk_pages(staff, {"sort": "state"})  # all in progress: then newest first
    assert ids == by_start


def test_the_list_shows_owner_plan_revenue_and_time_of_day(app, sign_in):
    (req_id, cents, account), = make_requests(app, 1)
    body = text(sign_in("success").get("/success/"))
    owner = account.owner()
    assert owner.name in body and owner.email in body
    assert f"smrtPhone {Plan.get(Plan.code == 'phone-pro').name}" in body
    assert "$10.00" in body
    assert re.search(r"\d{1,2}:\d{2} [AP]M", body), "the time of day"


@pytest.mark.parametrize("search, expected", [
    ("realty 00", "Realty 00"),  # account name, any case
    ("@extra.test", "all"),  # owner email
    ("100%_", "100%_Homes"),  # wildcards are plain text
    ("%", "100%_Homes"),
    ("_", "100%_Homes"),
    ("\\", "100%_Homes"),
    ("nobody here", "none"),
])
def test_search_by_name_email_or_number(app, sign_in, search, expected):
    made = make_requests(app, 12)
    staff = sign_in("success")
    shown = listed(text(staff.get("/success/", query_string={"q": search})))
    names = {r: a.name for r, _, a in made}
    want = {"all": sorted(names, reverse=True), "none": []}.get(
        expected, sorted((r for r, n in names.items() if n.lower().startswith(expected.lower())),
                         reverse=True))
    assert shown == want
    owner_name = made[3][2].owner().name
    assert listed(text(staff.get("/success/", query_string={"q": owner_name}))) == [made[3][0]]
    assert listed(text(staff.get("/success/", query_string={"q": f"#{made[5][0]}"}))) == [made[5][0]]
    email = made[4][2].owner().email
    assert listed(text(staff.get("/success/", query_string={"q": email.upper()}))) == [made[4][0]]


@pytest.mark.parametrize("query, message", [
    ({"q": "x" * 10_000}, "Please keep the search to 200 characters or fewer."),
    ({"sort": "price; DROP TABLE x"}, "Not a valid choice"),
    ({"after": "eyJub3QiOiJzaWduZWQifQ"}, "This page link was changed or is out of date."),
])
def test_bad_list_input_is_named_and_shows_nothing(app, sign_in, query, message):
    make_requests(app, 3)
    staff = sign_in("success")
    response = staff.get("/success/", query_string=query)
    assert response.status_code == 422
    assert message in text(response) and listed(text(response)) == []
    if "after" not in query:
        assert 'class="field-error"' in text(response)
        assert staff.get("/success/requests.csv", query_string=query).status_code == 400


def test_a_page_link_for_another_sort_is_refused(app, sign_in):
    make_requests(app, 55)
    staff = sign_in("success")
    body = text(staff.get("/success/", query_string={"sort": "revenue"}))
    after = re.search(r'after=([^"&]+)', body).group(1)
    response = staff.get("/success/", query_string={"sort": "started", "after": after})
    assert response.status_code == 422 and listed(text(response)) == []


def test_the_csv_streams_every_row_with_the_call_notes(app, sign_in):
    made = make_requests(app, 7)
    req_id, _, account = made[2]
    staff_user = User.by_email("success@smrtphone.test")
    call = Call.create(account=account, owner=account.owner(), staff=staff_user,
                       start=clock.now() - timedelta(hours=2), end=clock.now() - timedelta(hours=1),
                       active_start=None, topic="", uid="call-notes@smrtphone.test", sequence=0,
                       status=Call.BOOKED, assigned_at=clock.now(), created_at=clock.now(),
                       updated_at=clock.now(), request=req_id)
    calls.record_outcome(call, staff_user, True, "saved", "=Wants a cheaper plan", clock.now())
    staff = sign_in("success")
    response = staff.get("/success/requests.csv")
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert [int(r["request"]) for r in rows] == sorted((r for r, _, _ in made), reverse=True)
    noted = next(r for r in rows if int(r["request"]) == req_id)
    assert noted["call_notes"] == "'=Wants a cheaper plan", "notes are guarded as comments are"
    assert noted["owner"] == account.owner().name and noted["monthly_price"] == "$30.00"
    page = text(staff.get(f"/success/requests/{req_id}"))
    assert "Calls booked from this request" in page and "=Wants a cheaper plan" in page


def test_batches_hold_no_more_than_their_size(app):
    made = make_requests(app, 23)
    within = listing.Range.of_days(NOW.date(), (NOW + timedelta(days=1)).date())
    sizes = [len(b) for b in listing.batches(listing.Filters(within), size=10)]
    assert sizes == [10, 10, 3]
    assert CancellationRequest.select().count() == len(made)

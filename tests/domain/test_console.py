"""The Customer Success console: requests filtered by state, one request in
full, the insights, the CSV export; and who may see them."""
import csv
import io
import re
from datetime import timedelta

import pytest

from tests.conftest import NOW
from tests.support.helpers import text
from tests.support.jobs import new_account
from wizard import clock
from wizard.domain import (confirmation, console, insights, lifecycle, plans, policy, reactivation,
                           steps)
from wizard.dev.demo import ensure_plans
from wizard.store.models import Account, CancellationRequest, Plan, Product, Subscription

ACK = {Product.SMRTPHONE: [s.key for s in policy.SMRTPHONE_STATEMENTS],
       Product.SMRTDIALER: [s.key for s in policy.SMRTDIALER_STATEMENTS]}


class Scenario:
    """Accounts brought, through the domain, to one state each."""

    def __init__(self, app):
        self.app = app
        self.plans = ensure_plans()

    def account(self, name):
        return new_account(self.plans, self.app.config["RECORDINGS_DIR"], clock.now(), name=name)

    def start(self, name, product=Product.SMRTPHONE, upto="options", reason="other", comment=""):
        """A request of a new account `name`, answered up to (not including) `upto`."""
        account = self.account(name)
        owner = account.owner()
        sub = account.subscription(product)
        now = clock.now()
        req = lifecycle.start_or_resume(sub, owner, now)
        answers = {"consequences": {}, "acknowledge": {key: True for key in ACK[product]},
                   "survey": {"reason": reason, "comment": comment}, "options": {"choice": "none"}}
        # Each step as the wizard saves it (steps.save: the record notes it was reached).
        for step in steps.steps_for(product, req):
            if step.name == upto:
                break
            steps.save(step, req.refreshed(), answers[step.name], owner, None, now)
        return account, owner, sub, req.refreshed()

    def confirmed(self, name, reason, product=Product.SMRTPHONE):
        account, owner, sub, req = self.start(name, product, "confirm", reason)
        confirmation.confirm(req, owner, None, clock.now())
        return account, owner, sub, req


@pytest.fixture
def scenario(app):
    s = Scenario(app)
    s.confirmed("A Confirmed", "too_expensive")
    account, owner, sub, req = s.start("B Kept", upto="options", reason="missing_features")
    lifecycle.keep_account(req, owner, None, clock.now())
    account, owner, sub, req = s.start("C Saved", upto="options", reason="too_expensive")
    plans.change(sub, Plan.get(Plan.code == "phone-business"), sub.seats, owner, None, clock.now(),
                 request=req)
    s.start("D Abandoned", upto="acknowledge")
    s.confirmed("E Dialer", "not_using_enough", Product.SMRTDIALER)
    account, owner, sub, req = s.start("F Call", upto="options", reason="support_experience")
    lifecycle.accept_offer(req, owner, "book_call", None, clock.now())
    account, owner, sub, req = s.confirmed("G Back", "switching_provider")
    reactivation.reactivate(sub, owner, None, clock.now())
    return s


def names(body):
    return re.findall(r'<th scope="row"><a href="/success/requests/\d+"><bdi>([^<]*)</bdi>', body)


# -- who may see ------------------------------------------------------------------------------

PAGES = ("/success/", "/success/insights", "/success/requests.csv")


@pytest.mark.parametrize("role", ["owner", "admin", "agent", "other_owner"])
def test_only_customer_success_staff_see_the_console(sign_in, role):
    user = sign_in(role)
    req_id = CancellationRequest.select().count() + 1
    for url in (*PAGES, f"/success/requests/{req_id}"):
        response = user.get(url)
        assert response.status_code == 403, url
        assert "This page is for the Customer Success team." in text(response)


def test_anonymous_visitors_are_sent_to_sign_in(browser):
    for url in PAGES:
        response = browser.get(url)
        assert response.status_code == 302 and "/auth/login" in response.location


# -- the list and its filters -------------------------------------------------------------------

@pytest.mark.parametrize("state, expected", [
    ("in_progress", ["D Abandoned"]),
    ("kept", ["B Kept"]),
    ("saved", ["C Saved"]),
    ("call_booked", ["F Call"]),
    ("confirmed", ["A Confirmed", "E Dialer"]),
    ("reactivated", ["G Back"]),
])
def test_requests_filter_by_state(scenario, sign_in, state, expected):
    body = text(sign_in("success").get("/success/", query_string={"state": state}))
    assert sorted(names(body)) == expected


def test_requests_filter_by_product_reason_and_date(scenario, sign_in):
    staff = sign_in("success")
    assert names(text(staff.get("/success/", query_string={"product": "smrtdialer"}))) == ["E Dialer"]
    assert sorted(names(text(staff.get("/success/", query_string={"reason": "too_expensive"})))) == [
        "A Confirmed", "C Saved"]
    clock.FROZEN = NOW + timedelta(days=3)
    Scenario(staff.client.application).start("H Later")
    later = {"first": (NOW + timedelta(days=1)).date().isoformat()}
    assert names(text(staff.get("/success/", query_string=later))) == ["H Later"]
    earlier = {"last": NOW.date().isoformat()}
    assert "H Later" not in names(text(staff.get("/success/", query_string=earlier)))


@pytest.mark.parametrize("query, message", [
    ({"state": "erased-by-magic"}, "Not a valid choice"),
    ({"product": "smrtfax"}, "Not a valid choice"),
    ({"first": "2026-13-45"}, "Not a valid date value"),
    ({"first": "2026-11-20", "last": "2026-11-01"}, "The last day must not be before the first."),
])
def test_bad_filters_are_named_at_their_field(scenario, sign_in, query, message):
    staff = sign_in("success")
    response = staff.get("/success/", query_string=query)
    assert response.status_code == 422
    assert 'class="field-error"' in text(response) and message in text(response)
    assert names(text(response)) == []
    assert staff.get("/success/requests.csv", query_string=query).status_code == 400


def test_one_request_in_full(app, sign_in):
    s = Scenario(app)
    account, owner, sub, req = s.start("Rtl \u202eevil", upto="options", reason="too_expensive",
                                       comment="<b>Too</b> much \u202etxet")
    lifecycle.decline_offers(req, owner, clock.now())
    body = text(sign_in("success").get(f"/success/requests/{req.id}"))
    assert "<bdi>Rtl \u202eevil</bdi>" in body
    assert "<bdi>&lt;b&gt;Too&lt;/b&gt; much \u202etxet</bdi>" in body
    for statement in lifecycle.statements_for(req):  # what applies: no credit, no smrtDialer here
        assert statement.text in body and f"<code>{statement.version}</code>" in body
    assert "Shown: Change your plan, Adjust smrtDialer, Book a call with Customer Success." in body
    assert "No thanks, continue to cancel" in body
    assert "cancellation.started" in body
    assert "Stopped at</dt><dd>Confirm" in body
    assert sign_in("success").get("/success/requests/99999").status_code == 404


# -- insights, against numbers counted here ------------------------------------------------------

def test_the_insights_figures(scenario, app):
    figures = insights.figures(insights.Range.default(clock.now()), clock.now())
    # Seeded: A confirmed, B kept, C saved by a plan change, D abandoned, E smrtDialer
    # confirmed, F call booked, G confirmed then reactivated. The demo accounts started none.
    assert figures.started == 7
    assert (figures.saved, figures.abandoned, figures.confirmed) == (3, 1, 3)
    assert figures.save_rate == pytest.approx(3 / 7)
    assert dict(figures.reasons) == {"Too expensive": 2, "Missing features I need": 1,
                                     "Not using it enough": 1, "My support experience": 1,
                                     "Switching to another provider": 1}
    # The smrtPhone funnel: A B C D F G started; D stopped before acknowledging;
    # B kept at the offers; C and F accepted one; A and G confirmed.
    assert figures.funnel == [("Started", 6, 0), ("Read what will happen", 6, 0),
                              ("Acknowledged", 5, 1), ("Answered the survey", 5, 0),
                              ("Looked at the offers", 4, 1), ("Confirmed", 2, 2)]
    offers = {title: (shown, accepted) for title, shown, accepted in figures.offers}
    # too expensive (A, C): plan, smrtDialer, call; missing features (B): call, plan;
    # support (F): call; switching (G): plan, call.
    assert offers == {"Change your plan": (4, 1), "Adjust smrtDialer": (2, 0),
                      "Book a call with Customer Success": (5, 1)}
    saved_prices = sum(Subscription.get((Subscription.account == Account.get(Account.name == n))
                                        & (Subscription.product == Product.SMRTPHONE)).price_cents
                       for n in ("B Kept", "C Saved", "F Call"))
    assert figures.revenue_by_month == [(f"{NOW:%Y-%m}", saved_prices)]
    assert saved_prices == 20000 + 30000 + 20000  # C upgraded to Business
    assert figures.matured == 0

    # Ten days on, B's owner cancels after all; at day 31, 2 of the 3 saves held 30 days,
    # and B's save no longer counts as revenue.
    clock.FROZEN = NOW + timedelta(days=10)
    kept = Account.get(Account.name == "B Kept")
    owner = kept.owner()
    req = lifecycle.start_or_resume(kept.subscription(Product.SMRTPHONE), owner, clock.now())
    lifecycle.mark_consequences_seen(req, clock.now())
    lifecycle.record_acknowledgements(req, owner, ACK[Product.SMRTPHONE], None, clock.now())
    lifecycle.record_survey(req, "other", "", clock.now())
    lifecycle.decline_offers(req, owner, clock.now())
    confirmation.confirm(req.refreshed(), owner, None, clock.now())
    clock.FROZEN = NOW + timedelta(days=31)
    later = insights.figures(insights.Range.of_days(NOW.date(), clock.now().date()), clock.now())
    assert (later.matured, later.still_subscribed) == (3, 2)
    assert later.revenue_by_month == [(f"{NOW:%Y-%m}", 30000 + 20000)]


def test_the_insights_page_shows_each_chart_with_its_table(scenario, sign_in):
    body = text(sign_in("success").get("/success/insights"))
    assert body.count('<svg class="chart" role="img"') == 4  # reasons, funnel, revenue, trend
    assert '<title id="save-trend-title">Save rate in per cent, week by week</title>' in body
    for table in ("reasons-table", "funnel-table", "offers-table", "revenue-table"):
        assert f'id="{table}"' in body
    assert "42.9% (3 of 7)" in body
    assert "The save rate is the requests saved in the flow" in body
    assert "<script" not in body.split("</head>")[1]


def test_the_csv_export(scenario, app, sign_in):
    s = Scenario(app)
    s.start("=Formula Inc", upto="options", reason="other", comment="=HYPERLINK(\"http://evil\")")
    response = sign_in("success").get("/success/requests.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment;" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert len(rows) == 8
    evil = next(r for r in rows if "Formula" in r["account"])
    assert evil["account"] == "'=Formula Inc" and evil["comment"].startswith("'=HYPERLINK")
    assert {r["state"] for r in rows} == set(console.STATES.values())


@pytest.mark.parametrize("disguised", ["\ufeff=HYPERLINK(1)", "＝HYPERLINK(1)", " =1+1", "\u200b@SUM(1)",
                                       "\ufeff \t=1", "＋1", "－1", "\u00a0=1"])
def test_a_formula_in_disguise_is_guarded_in_the_export(scenario, app, sign_in, disguised):
    """A spreadsheet skips a byte order mark and leading spaces, and reads the
    fullwidth signs as plain ones: each cell is checked as it would read it."""
    Scenario(app).start("Disguise Inc", upto="options", reason="other", comment=disguised)
    rows = list(csv.DictReader(io.StringIO(text(sign_in("success").get("/success/requests.csv")))))
    (row,) = [r for r in rows if r["account"] == "Disguise Inc"]
    assert row["comment"] == "'" + disguised.strip()  # the survey keeps the comment stripped


@pytest.mark.parametrize("plain", ["a = b", "Too expensive", "", "2 + 2", "email@example.com"])
def test_ordinary_text_is_exported_as_written(plain):
    from wizard.domain.formatting import spreadsheet_cell

    assert spreadsheet_cell(plain) == plain

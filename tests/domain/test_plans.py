"""Offers that act: changing a plan or its seats, from the wizard and from
Products; adjusting smrtDialer, or canceling only smrtDialer instead."""
import re
from datetime import timedelta

from dateutil.relativedelta import relativedelta

import pytest

from tests.conftest import NOW
from tests.support.helpers import (
    all_rows,
    complete_steps,
    open_request,
    post_step,
    progress,
    step_url,
    subscription,
    text,
    walk_wizard,
)
from wizard import clock
from wizard.domain import formatting, plans
from wizard.store.models import (
    AuditEvent,
    CancellationRequest,
    OfferDecision,
    OfferShown,
    OutboxMessage,
    Plan,
    PlanChange,
    Product,
    Subscription,
    SurveyResponse,
)
from jobs.sweep import sweep

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PERIOD_END = "Tuesday, December 15, 2026"  # the demo's paid period, New York time


def plan(code):
    return Plan.get(Plan.code == code)


def plan_page(browser, sub, code, req=None, seats=None):
    query = {}
    if req is not None:
        query["request"] = req.id
    if seats is not None:
        query["seats"] = seats
    return browser.get(f"/billing/plans/{sub.id}/{code}", query_string=query)


def confirm_form(page):
    """The Confirm the change form's hidden fields, as the page drew them."""
    body = text(page)
    start = body.index('<form method="post" action="/billing/plans/')
    form = body[start:body.index("</form>", start)]
    return dict(re.findall(r'name="(seats|request_id|drawn_plan|drawn_seats|drawn_pending)" type="hidden" value="([^"]*)"',
                           form))


def switch(browser, sub, code, req=None, seats=None):
    """Open the plan's page as a person would, then press Confirm the change."""
    page = plan_page(browser, sub, code, req, seats)
    assert page.status_code == 200, text(page)[:2000]
    return browser.post(f"/billing/plans/{sub.id}/{code}", confirm_form(page))


def at_the_offers(owner, reason="too_expensive"):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    post_step(owner, sub, "survey", {"reason": reason, "comment": "Too much for us now."})
    return sub, open_request(sub)


# -- the catalogue -----------------------------------------------------------------------

def test_the_catalogue_puts_each_plan_beside_the_current_one(owner):
    sub = subscription()
    body = text(owner.get(f"/billing/plans/{sub.id}"))
    assert "You have <strong>Pro</strong> with 5 seats:\n    $200.00 a month" in body
    for name, month in (("Starter", "$125.00"), ("Pro", "$200.00"), ("Business", "$300.00")):
        assert re.search(rf"<th scope=\"row\">{name}.*?<td[^>]*>{re.escape(month)}</td>", body, re.S), name
    assert "$75.00 less a month, from " + PERIOD_END in body
    assert "$100.00 more a month, from today." in body
    assert ">Switch to Starter</a>" in body and ">Switch to Business</a>" in body
    assert ">Switch to Pro</a>" not in body and ">Change seats</a>" in body
    assert body.index("Starter") < body.index("Business"), "cheapest first"


def test_the_offers_are_recorded_as_shown_with_the_survey(owner):
    sub, req = at_the_offers(owner)
    shown = [o.offer for o in OfferShown.select().where(OfferShown.request == req.id)
             .order_by(OfferShown.position)]
    assert shown == ["change_plan", "adjust_dialer", "book_call"]
    post_step(owner, sub, "survey", {"reason": "support_experience", "comment": ""})
    shown = [o.offer for o in OfferShown.select().where(OfferShown.request == req.id)]
    assert shown == ["book_call"], "a new answer replaces what is shown"


# -- a downgrade from the wizard -----------------------------------------------------------

def test_a_downgrade_from_the_wizard_is_scheduled_saves_the_request_and_can_be_undone(owner):
    sub, req = at_the_offers(owner)
    options = text(owner.get(step_url(sub, "options")))
    assert f'href="/billing/plans/{sub.id}?request={req.id}"' in options

    page = text(plan_page(owner, sub, "phone-starter", req))
    assert f"On <time datetime=\"2026-12-15\">{PERIOD_END}</time>, when your current period ends" in page
    assert "$125.00 a month (today $200.00)" in page
    assert f'href="/cancel/{sub.id}/options"' not in page  # Back goes to the catalogue first

    response = switch(owner, sub, "phone-starter", req)
    assert response.status_code == 303 and response.location.endswith("/billing/products")
    products = text(owner.get("/billing/products"))
    assert f"Your smrtPhone plan changes to Starter (5 seats, $125.00 a month) on {PERIOD_END}" in products
    assert f'Changes to Starter on <time datetime="2026-12-15">{PERIOD_END}</time>' in products
    assert "Undo this change" in products

    phone = subscription()
    assert (phone.plan.code, phone.seats, phone.price_cents) == ("phone-pro", 5, 20000), "not before the period ends"
    change = PlanChange.get()
    assert (change.status, change.effective_at, change.request_id) == (
        PlanChange.SCHEDULED, phone.current_period_end, req.id)
    saved = CancellationRequest.get_by_id(req.id)
    assert saved.status == CancellationRequest.SAVED_BY_OFFER and open_request(sub) is None
    decision = OfferDecision.get(OfferDecision.accepted == True)  # noqa: E712
    assert decision.offer == "change_plan"
    assert AuditEvent.select().where(AuditEvent.kind == "plan.change_scheduled").count() == 1
    email = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.PLAN_CHANGED)
    assert email.to_address == "owner@acme.test" and f"on {PERIOD_END}" in email.body

    response = owner.post(f"/billing/plans/{sub.id}/undo", {})
    assert response.status_code == 303
    products = text(owner.get("/billing/products"))
    assert "the change to Starter is undone" in products and "Changes to Starter" not in products
    assert PlanChange.get().status == PlanChange.UNDONE
    assert owner.post(f"/billing/plans/{sub.id}/undo", {}).status_code == 409
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.PLAN_CHANGE_UNDONE).count() == 1


def test_a_scheduled_downgrade_takes_effect_when_the_period_ends(owner, redis_url):
    sub = subscription()
    switch(owner, sub, "phone-starter")
    clock.FROZEN = sub.current_period_end - timedelta(minutes=1)
    assert sweep()["plan_changes"] == 0
    clock.FROZEN = sub.current_period_end + timedelta(minutes=1)
    assert sweep()["plan_changes"] == 1
    assert sweep()["plan_changes"] == 0, "applied once"
    phone = subscription()
    assert (phone.plan.code, phone.seats, phone.price_cents) == ("phone-starter", 5, 12500)
    assert PlanChange.get().status == PlanChange.APPLIED
    assert "Changes to Starter" not in text(owner.get("/billing/products"))


def test_billing_periods_roll_over_and_a_downgrade_is_made_at_the_period_end(owner, redis_url):
    """An active subscription's period renews each month, however long the
    sweep was away, and Products always shows a date ahead; a downgrade
    scheduled for the period's end is made at that end, before the renewal."""
    phone, dialer = subscription(), Subscription.get(Subscription.product == Product.SMRTDIALER)
    ended = phone.current_period_end
    switch(owner, phone, "phone-starter")
    assert "when your current period ends" in text(owner.get("/billing/products"))  # its flash, read
    # Ninety-one days on: three monthly renewals were missed.
    clock.FROZEN = ended + timedelta(days=91)
    over = Subscription.select().where((Subscription.status == Subscription.ACTIVE)
                                       & (Subscription.current_period_end <= clock.FROZEN)).count()
    assert over >= 2  # Acme's two, and the other demo accounts'
    summary = sweep()
    assert (summary["plan_changes"], summary["periods_renewed"]) == (1, over)
    for before, after in ((phone, subscription()), (dialer, Subscription.get_by_id(dialer.id))):
        months = 4 if ended + relativedelta(months=3) <= clock.FROZEN else 3
        assert after.current_period_end == ended + relativedelta(months=months), before.product
        assert after.current_period_end > clock.FROZEN >= after.current_period_end - relativedelta(months=1)
        assert after.is_active
    assert subscription().plan.code == "phone-starter"
    assert sweep()["periods_renewed"] == 0, "renewed once"
    products = text(owner.get("/billing/products"))
    assert formatting.local_date(subscription().current_period_end, "America/New_York") in products
    assert formatting.local_date(ended, "America/New_York") not in products


def test_a_downgrade_lapses_when_the_subscription_was_cancelled_meanwhile(owner, redis_url):
    sub = subscription()
    switch(owner, sub, "phone-starter")
    walk_wizard(owner, sub)
    clock.FROZEN = sub.current_period_end + timedelta(minutes=1)
    sweep()
    assert PlanChange.get().status == PlanChange.LAPSED
    assert subscription().plan.code == "phone-pro"


# -- an upgrade, seats ------------------------------------------------------------------------

def test_an_upgrade_takes_effect_now_and_states_the_pro_rata_charge(owner):
    sub = subscription()
    difference = 5 * (6000 - 4000)  # cents a month
    left = sub.current_period_end - NOW
    owed = round(difference * left.total_seconds() / timedelta(days=30).total_seconds())
    page = text(plan_page(owner, sub, "phone-business"))
    amount = f"${owed // 100}.{owed % 100:02d}"
    assert f"{amount}: the difference of $100.00 a month, pro rata" in page
    assert "Today, as soon as you confirm." in page

    assert switch(owner, sub, "phone-business").status_code == 303
    phone = subscription()
    assert (phone.plan.code, phone.price_cents) == ("phone-business", 30000)
    change = PlanChange.get()
    assert (change.status, change.prorated_cents) == (PlanChange.APPLIED, owed)
    assert "is charged pro rata" in text(owner.get("/billing/products"))


def test_customizing_seats_on_the_current_plan(owner):
    sub = subscription()
    page = plan_page(owner, sub, "phone-pro", seats=3)
    assert page.status_code == 200 and "$120.00 a month (today $200.00)" in text(page)
    assert switch(owner, sub, "phone-pro", seats=3).status_code == 303
    assert PlanChange.get().to_seats == 3 and PlanChange.get().is_scheduled


@pytest.mark.parametrize("seats, message", [
    ("2", "You have 3 agents in use, and each needs a seat: please keep at least 3 seats."),
    ("30", "The Pro plan allows at most 25 seats."),
    ("0", "Please enter a whole number of seats, 1 or more."),
    ("-4", "Please enter a whole number of seats, 1 or more."),
    ("many", "Please enter a whole number of seats, 1 or more."),
    ("5", "That is your current plan and number of seats."),
])
def test_seats_the_account_cannot_have_are_refused_at_the_field(owner, seats, message):
    sub = subscription()
    before = all_rows()
    page = plan_page(owner, sub, "phone-pro", seats=seats)
    assert page.status_code == 422
    assert message in text(page)
    assert "Confirm the change" not in text(page)
    # Refused at a field or at the plan ("That is your current plan"): an error page's title.
    assert "<title>Error: Switch to Pro · smrtPhone</title>" in text(page)
    # Posted directly, the same seats change nothing either.
    response = owner.post(f"/billing/plans/{sub.id}/phone-pro", {
        "seats": seats, "drawn_plan": str(sub.plan_id), "drawn_seats": "5"})
    assert response.status_code == 422 and message in text(response)
    assert all_rows() == before


def test_an_unknown_plan_or_one_of_the_other_product_is_refused(owner):
    sub = subscription()
    before = all_rows()
    assert plan_page(owner, sub, "phone-platinum").status_code == 404
    page = plan_page(owner, sub, "dialer-multi")
    assert page.status_code == 422 and "Please choose one of the smrtPhone plans." in text(page)
    response = owner.post(f"/billing/plans/{sub.id}/dialer-multi", {
        "seats": "2", "drawn_plan": str(sub.plan_id), "drawn_seats": "5"})
    assert response.status_code == 422
    assert all_rows() == before


# -- twice, late, or from elsewhere ------------------------------------------------------------

@pytest.mark.parametrize("code", ["phone-starter", "phone-business"])
def test_a_double_click_changes_the_plan_once(owner, code):
    sub = subscription()
    form = confirm_form(plan_page(owner, sub, code))
    first = owner.post(f"/billing/plans/{sub.id}/{code}", form)
    second = owner.post(f"/billing/plans/{sub.id}/{code}", form)
    assert first.status_code == second.status_code == 303
    assert PlanChange.select().count() == 1
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.PLAN_CHANGED).count() == 1
    assert AuditEvent.select().where(AuditEvent.kind.startswith("plan.")).count() == 1


def test_a_page_drawn_before_another_change_is_refused(owner, sign_in):
    sub = subscription()
    stale = confirm_form(plan_page(owner, sub, "phone-starter"))
    switch(sign_in("owner"), sub, "phone-business")  # another tab upgrades first
    before = all_rows()
    response = owner.post(f"/billing/plans/{sub.id}/phone-starter", stale)
    assert response.status_code == 409 and "Your plan has changed since this page was shown" in text(response)
    assert all_rows() == before


def test_a_page_drawn_before_another_tab_scheduled_a_change_cannot_replace_it(owner, sign_in):
    """Two downgrades drawn at one state: the first scheduled wins, the second
    is refused (409) and changes nothing, and one email says what is scheduled."""
    sub = subscription()
    three = confirm_form(plan_page(owner, sub, "phone-starter", seats=3))
    four = confirm_form(plan_page(owner, sub, "phone-starter", seats=4))
    assert owner.post(f"/billing/plans/{sub.id}/phone-starter", three).status_code == 303
    scheduled = PlanChange.get()
    assert (scheduled.status, scheduled.to_seats) == (PlanChange.SCHEDULED, 3)
    before = all_rows()
    response = owner.post(f"/billing/plans/{sub.id}/phone-starter", four)
    assert response.status_code == 409 and "or a change to it was scheduled" in text(response)
    assert all_rows() == before
    # Drawn again, the page knows the scheduled change and may replace it.
    assert switch(owner, sub, "phone-starter", seats=4).status_code == 303
    assert [(c.to_seats, c.status) for c in PlanChange.select().order_by(PlanChange.id)] == [
        (3, PlanChange.UNDONE), (4, PlanChange.SCHEDULED)]


def test_two_stale_plan_pages_posted_at_once_make_one_change_and_one_409(app, sign_in):
    from tests.support.jobs import race

    sub = subscription()
    tabs = [sign_in("owner"), sign_in("owner")]
    forms = [confirm_form(plan_page(tab, sub, "phone-starter", seats=n)) for tab, n in zip(tabs, (3, 4))]

    def post(tab, form):
        return lambda: tab.post(f"/billing/plans/{sub.id}/phone-starter", form).status_code

    for round_number in range(2):
        raced = race(post(tabs[0], forms[0]), post(tabs[1], forms[1]), first_starts=round_number == 0)
        statuses = sorted(raced.results)
        if round_number == 0:
            assert statuses == [303, 409], raced
        else:
            # Both pages are now stale or a repeat: the repeat is a 303 that makes nothing.
            assert 409 in statuses, raced
    assert PlanChange.select().where(PlanChange.status == PlanChange.SCHEDULED).count() == 1
    assert PlanChange.select().where(PlanChange.status == PlanChange.UNDONE).count() == 0
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.PLAN_CHANGED).count() == 1


def test_an_offer_of_another_account_or_a_closed_request_is_refused(owner, sign_in):
    sub, req = at_the_offers(owner)
    birch = sign_in("other_owner")
    birch_sub = subscription(account="Birch Homes")
    complete_steps(birch, birch_sub, "options")
    before = all_rows()
    page = plan_page(owner, sub, "phone-starter", open_request(birch_sub))
    assert page.status_code == 409
    form = dict(confirm_form(plan_page(owner, sub, "phone-starter", req)))
    form["request_id"] = str(open_request(birch_sub).id)
    assert owner.post(f"/billing/plans/{sub.id}/phone-starter", form).status_code == 409
    assert all_rows() == before

    owner.post(f"/cancel/{sub.id}/keep", {"request_id": str(req.id)})  # the request ends
    before = all_rows()
    form["request_id"] = str(req.id)
    response = owner.post(f"/billing/plans/{sub.id}/phone-starter", form)
    assert response.status_code == 409 and "already ended" in text(response)
    assert all_rows() == before


def test_only_the_owner_may_change_a_plan(owner, sign_in):
    sub = subscription()
    for role, status in (("admin", 403), ("agent", 403), ("other_owner", 404), ("success", 403)):
        user = sign_in(role)
        assert user.get(f"/billing/plans/{sub.id}").status_code == status, role
        assert user.get(f"/billing/plans/{sub.id}/phone-starter").status_code == status, role
        assert user.post(f"/billing/plans/{sub.id}/phone-starter", {
            "seats": "5", "drawn_plan": str(sub.plan_id), "drawn_seats": "5"}).status_code == status
    assert PlanChange.select().count() == 0


def test_a_cancelled_subscription_cannot_change_plan(owner):
    sub = walk_wizard(owner, subscription())
    response = owner.get(f"/billing/plans/{sub.id}")
    assert response.status_code == 409 and "not active" in text(response)
    assert plan_page(owner, sub, "phone-starter").status_code == 409


# -- smrtDialer -------------------------------------------------------------------------------------

def test_adjusting_smrtdialer_from_smrtphones_offers(owner):
    sub, req = at_the_offers(owner, "not_using_enough")
    dialer = subscription("smrtdialer")
    catalogue = text(owner.get(f"/billing/plans/{dialer.id}", query_string={"request": req.id}))
    assert "Change your smrtDialer plan" in catalogue and "Cancel only smrtDialer" in catalogue
    assert switch(owner, dialer, "dialer-single", req, seats=1).status_code == 303
    assert PlanChange.get().subscription_id == dialer.id
    assert CancellationRequest.get_by_id(req.id).status == CancellationRequest.SAVED_BY_OFFER
    assert OfferDecision.get(OfferDecision.accepted == True).offer == "adjust_dialer"  # noqa: E712
    assert subscription().status == Subscription.ACTIVE


def test_cancel_only_smrtdialer_carries_the_survey_into_its_wizard(owner):
    sub, req = at_the_offers(owner, "not_using_enough")
    dialer = subscription("smrtdialer")
    response = owner.post(f"/cancel/{dialer.id}/instead", {"request_id": str(req.id)})
    assert response.status_code == 303 and response.location.endswith(step_url(dialer, "consequences"))
    assert CancellationRequest.get_by_id(req.id).status == CancellationRequest.SAVED_BY_OFFER
    dialer_request = open_request(dialer)
    carried = SurveyResponse.get(SurveyResponse.request == dialer_request.id)
    assert (carried.reason, carried.comment) == ("not_using_enough", "Too much for us now.")

    page = text(owner.get(step_url(dialer, "consequences")))
    assert "Step 1 of 3" in page and "Tell us why" not in page, "the survey is not asked twice"
    assert owner.get(step_url(dialer, "survey")).status_code == 404
    for name in ("consequences", "acknowledge", "confirm"):
        assert post_step(owner, dialer, name).status_code == 303, name
    assert subscription("smrtdialer").status == Subscription.CANCELLATION_PENDING
    assert subscription().status == Subscription.ACTIVE
    # A smrtDialer wizard started from Products still asks why.
    assert progress("survey", "smrtdialer") == "Step 3 of 4"


def test_cancel_only_smrtdialer_needs_the_smrtphone_request_of_this_account(owner, sign_in):
    dialer = subscription("smrtdialer")
    birch = sign_in("other_owner")
    birch_sub = subscription(account="Birch Homes")
    complete_steps(birch, birch_sub, "options")
    before = all_rows()
    response = owner.post(f"/cancel/{dialer.id}/instead", {"request_id": str(open_request(birch_sub).id)})
    assert response.status_code == 409
    assert owner.post(f"/cancel/{dialer.id}/instead", {"request_id": "nope"}).status_code == 409
    assert all_rows() == before


def test_the_domain_refuses_a_plan_change_by_anyone_but_the_owner(app):
    from wizard.store.models import Account, User
    from wizard.refusals import NotAllowed

    admin = User.get(User.email == "admin@acme.test")
    with pytest.raises(NotAllowed):
        plans.change(subscription(), plan("phone-starter"), 5, admin, None, clock.now())
    assert PlanChange.select().count() == 0
    assert Account.get(Account.name == "Acme Realty").owner().email == "owner@acme.test"

"""What Products, plans and Done say, as the new-user walk of issue 16 read
them: each date once, what a plan includes, where the confirmation went,
nothing that tells an owner who stays "whether you stay or leave", and no
link that would only send a closed account back."""
import re
from datetime import timedelta

from tests.support.helpers import cancel_smrtdialer, cancel_smrtphone, complete_steps, subscription, text
from wizard import clock
from wizard.domain import formatting, policy
from wizard.store.models import Plan, Product, Subscription
from jobs.sweep import sweep

NEW_YORK = "America/New_York"


def row(page, product):
    """The HTML of Products' row of `product`."""
    match = re.search(rf'<tr id="product-{product}".*?</tr>', page, re.S)
    assert match, f"no row of {product}"
    return match.group(0)


def test_done_says_where_the_confirmation_email_went(owner):
    sub = cancel_smrtphone(owner)
    done = text(owner.get(f"/cancel/{sub.id}/done"))
    assert re.search(r"A confirmation email with these dates is on its way to\s*"
                     r"<strong[^>]*><bdi>owner@acme\.test</bdi></strong>", done)
    assert "Thank you for being part of smrtPhone" in done


def test_smrtdialers_done_page_speaks_to_an_owner_who_stays(owner):
    sub = cancel_smrtdialer(owner)
    done = text(owner.get(f"/cancel/{sub.id}/done"))
    assert "Whether you stay or leave" not in done and "being part of smrtPhone" not in done
    assert "Your smrtPhone account carries on as before." in done
    assert "on its way to" in done


def test_products_gives_each_date_once_and_a_cancellation_in_progress_its_way_back(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    page = text(owner.get("/billing/products"))
    assert "choose Keep my account" not in page
    assert "Cancel Subscription takes you back to it, where you can also keep your account." in page
    cancel_smrtphone(owner)
    page = text(owner.get("/billing/products"))
    end = formatting.local_date(Subscription.get_by_id(sub.id).current_period_end, NEW_YORK)
    assert row(page, Product.SMRTPHONE).count(end) == 1, "the end of service, in its own column only"
    assert "Cancellation scheduled: service ends with this period" in row(page, Product.SMRTPHONE)


def test_the_plans_page_says_what_each_plan_includes(owner):
    sub = subscription()
    page = text(owner.get(f"/billing/plans/{sub.id}"))
    for plan in Plan.catalogue(Product.SMRTPHONE):
        block = re.search(rf'<tr id="plan-{plan.code}".*?</tr>', page, re.S).group(0)
        assert f"Up to {plan.max_seats} seats" in block
        for feature in policy.PLAN_FEATURES[plan.code]:
            assert f"<li>{feature}</li>" in block, (plan.code, feature)


def test_a_closed_accounts_products_does_not_offer_a_call(owner):
    assert "/calls/book" in text(owner.get("/billing/products"))
    sub = cancel_smrtphone(owner)
    assert "/calls/book" in text(owner.get("/billing/products")), "still in service: a call may help"
    clock.FROZEN = Subscription.get_by_id(sub.id).current_period_end + timedelta(minutes=1)
    sweep()
    assert Subscription.get_by_id(sub.id).has_ended
    page = text(owner.get("/billing/products"))
    assert "/calls/book" not in page and "Talk with us" not in page
    assert owner.get("/calls/book").status_code == 303, "booking only sends a closed account back"

"""Only the Account Owner may cancel; everyone else is told who can."""
import pytest

from tests.support.helpers import step_url, subscription, text
from wizard.store.models import AuditEvent, CancellationRequest, Subscription


def nothing_written():
    # The refusals themselves are audited (access.refused): that is the log, not a change.
    return (CancellationRequest.select().count() == 0
            and AuditEvent.select().where(AuditEvent.kind != "access.refused").count() == 0
            and Subscription.select().where(Subscription.status != "active").count() == 0)


def test_the_owner_sees_cancel_buttons(sign_in):
    body = text(sign_in("owner").get("/billing/products"))
    sub = subscription()
    assert f'href="/cancel/{sub.id}/"' in body
    assert "Cancel Subscription" in body
    for shown in ("smrtPhone", "smrtDialer", "Pro", "Single-line dialer", "$200.00 / month", "Active"):
        assert shown in body


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_admins_and_agents_see_products_and_who_can_cancel(sign_in, role):
    body = text(sign_in(role).get("/billing/products"))
    assert "smrtPhone" in body and "smrtDialer" in body
    assert "Cancel Subscription" not in body
    assert "Only the Account Owner can change plans or cancel a subscription." in body
    assert "Olivia Owens (owner@acme.test)" in body
    # No "Change plan" without a word, and no empty heading of a call they cannot book.
    assert "Change plan" not in body and "Talk with us" not in body


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_admins_and_agents_are_refused_with_403_and_nothing_changes(sign_in, role):
    user = sign_in(role)
    sub = subscription()
    assert user.get(f"/cancel/{sub.id}/").status_code == 403
    assert user.get(step_url(sub, "consequences")).status_code == 403
    response = user.post(step_url(sub, "consequences"), {"request_id": ""})
    assert response.status_code == 403
    assert "Only the Account Owner" in text(response)
    assert user.post(step_url(sub, "confirm"), {"request_id": ""}).status_code == 403
    assert user.post(f"/cancel/{sub.id}/keep", {"request_id": ""}).status_code == 403
    assert nothing_written()


def test_another_accounts_owner_gets_404(sign_in):
    birch = sign_in("other_owner")
    sub = subscription()  # Acme's
    assert birch.get(f"/cancel/{sub.id}/").status_code == 404
    assert birch.post(step_url(sub, "consequences"), {"request_id": ""}).status_code == 404
    assert "Acme Realty" not in text(birch.get("/billing/products"))
    assert nothing_written()


def test_customer_success_staff_cannot_cancel_for_an_owner(sign_in):
    staff = sign_in("success")
    sub = subscription()
    for response in (staff.get(f"/cancel/{sub.id}/"),
                     staff.post(step_url(sub, "consequences"), {"request_id": ""}),
                     staff.get(f"/billing/reactivate/{sub.id}"),
                     staff.get(f"/billing/plans/{sub.id}")):
        assert response.status_code == 403
        assert "Customer Success cannot cancel, reactivate or change a plan" in text(response)
    assert nothing_written()


def test_customer_success_staff_see_where_owners_stopped(sign_in):
    owner = sign_in("owner")
    sub = subscription()
    from tests.support.helpers import complete_steps

    complete_steps(owner, sub, "options")
    body = text(sign_in("success").get("/success/"))
    assert "Acme Realty" in body
    assert "Before you go" in body  # the step where the owner stopped
    assert "Too expensive" in body
    assert sign_in("owner").get("/success/").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(browser):
    sub = subscription()
    for url in (f"/cancel/{sub.id}/", step_url(sub, "consequences"), "/billing/products"):
        response = browser.get(url)
        assert response.status_code == 302
        assert "/auth/login?next=" in response.location
    response = browser.post(step_url(sub, "consequences"), {"request_id": ""})
    assert response.status_code == 302
    assert nothing_written()


def test_the_success_list_costs_the_same_queries_for_many_requests(app, sign_in, count_queries):
    from tests.support.jobs import new_account
    from wizard import clock
    from wizard.domain import lifecycle
    from wizard.dev.demo import ensure_plans

    staff = sign_in("success")
    plans = ensure_plans()

    def open_one():
        account = new_account(plans, app.config["RECORDINGS_DIR"], clock.now())
        owner = account.owner()
        phone = Subscription.get((Subscription.account == account) & (Subscription.product == "smrtphone"))
        req = lifecycle.start_or_resume(phone, owner, clock.now())
        lifecycle.mark_consequences_seen(req, clock.now())
        lifecycle.record_survey(req, "other", "why not", clock.now())

    open_one()
    with count_queries() as few:
        assert "Acknowledge" in text(staff.get("/success/"))
    for _ in range(8):
        open_one()
    with count_queries() as many:
        body = text(staff.get("/success/"))
    assert body.count("<td>Acknowledge</td>") == 9
    assert many.count == few.count

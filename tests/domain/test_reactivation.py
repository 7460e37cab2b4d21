"""After confirming: the banner, service end, reactivation, smrtDialer alone."""
from datetime import timedelta

import pytest

from tests.conftest import NOW
from tests.support.helpers import (
    text,
    all_rows,
    cancel_smrtdialer,
    cancel_smrtphone,
    progress,
    step_url,
    subscription,
)
from wizard import clock
from wizard.domain import sweep, reactivation
from wizard.store.models import AuditEvent, CancellationRequest, OutboxMessage, PurgeSchedule


def reactivate(browser, sub):
    return browser.post(f"/billing/reactivate/{sub.id}", {})


def test_every_page_shows_the_banner_until_the_service_ends(owner, sign_in):
    sub = cancel_smrtphone(owner)
    banner = "Cancellation scheduled: service ends Tuesday, December 15, 2026."
    for url in ("/billing/products", f"/cancel/{sub.id}/done"):
        body = text(owner.get(url))
        assert banner in body
        assert f'href="/billing/reactivate/{sub.id}">Reactivate</a>' in body
    admin = text(sign_in("admin").get("/billing/products"))
    assert banner in admin and "Only the Account Owner can reactivate." in admin


def test_no_banner_without_a_cancellation(owner):
    response = owner.get("/billing/products")
    assert response.status_code == 200
    body = text(response)
    assert "Subscriptions of Acme Realty" in body
    assert f'href="/cancel/{subscription().id}/"' in body
    assert "Cancellation scheduled" not in body
    assert 'class="banner"' not in body


def test_reactivating_smrtphone_cancels_the_purge_and_leaves_smrtdialer_cancelled(owner):
    sub = cancel_smrtphone(owner)
    page = owner.get(f"/billing/reactivate/{sub.id}")
    assert page.status_code == 200
    assert "smrtDialer stays canceled" in text(page)

    response = reactivate(owner, sub)
    assert response.status_code == 303
    products = text(owner.get("/billing/products"))
    assert "Welcome back: smrtPhone is active again." in products
    assert 'class="banner"' not in products
    dialer = subscription("smrtdialer")
    assert f'href="/billing/reactivate/{dialer.id}">Reactivate smrtDialer</a>' in products

    phone = subscription()
    assert phone.status == "active"
    assert phone.current_period_end == sub.current_period_end  # the paid period goes on
    assert phone.cancellation_requested_at is None
    assert dialer.status == "cancellation_pending"
    schedule = PurgeSchedule.get()
    assert (schedule.status, schedule.generation) == ("cancelled", 2)
    assert AuditEvent.select().where(AuditEvent.kind == "subscription.reactivated").count() == 1
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.REACTIVATION_CONFIRMED).count() == 1

    assert reactivate(owner, dialer).status_code == 303
    assert subscription("smrtdialer").status == "active"
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.REACTIVATION_CONFIRMED).count() == 2


def test_reactivating_twice_is_refused_the_second_time(owner):
    sub = cancel_smrtphone(owner)
    assert reactivate(owner, sub).status_code == 303
    again = reactivate(owner, sub)
    assert again.status_code == 409
    assert "already active" in text(again)
    assert AuditEvent.select().where(AuditEvent.kind == "subscription.reactivated").count() == 1


def test_cancel_again_after_reactivating_rearms_the_purge(owner):
    cancel_smrtphone(owner)
    reactivate(owner, subscription())
    reactivate(owner, subscription("smrtdialer"))
    cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    assert (schedule.status, schedule.generation) == ("scheduled", 3)
    assert PurgeSchedule.select().count() == 1


def test_only_the_owner_may_reactivate(owner, sign_in):
    sub = cancel_smrtphone(owner)
    for role in ("admin", "agent"):
        user = sign_in(role)
        assert user.get(f"/billing/reactivate/{sub.id}").status_code == 403
        assert reactivate(user, sub).status_code == 403
    other = sign_in("other_owner")
    assert reactivate(other, sub).status_code == 404
    assert subscription().status == "cancellation_pending"


def test_the_service_ends_with_the_paid_period_and_the_account_closes(owner):
    sub = cancel_smrtphone(owner)
    clock.FROZEN = sub.current_period_end - timedelta(minutes=1)
    assert sweep.end_services(clock.now()) == 0
    assert owner.get("/billing/products").status_code == 200

    clock.FROZEN = sub.current_period_end + timedelta(minutes=1)
    assert sweep.end_services(clock.now()) == 2
    assert sweep.end_services(clock.now()) == 0, "running it twice changes nothing"
    assert subscription().status == subscription("smrtdialer").status == "ended"

    # Only the closed-account page, Products and reactivation remain.
    for url in (f"/cancel/{sub.id}/", step_url(sub, "consequences"), f"/cancel/{sub.id}/done"):
        response = owner.get(url)
        assert response.status_code == 303 and response.location.endswith("/billing/closed"), url
    closed = text(owner.get("/billing/closed"))
    assert "Your smrtPhone account is closed" in closed
    assert "Wednesday, February 24, 2027" in closed  # last day to change one's mind
    assert "CRM data (contacts, call logs and texts) is outside smrtPhone and remains intact" in closed
    assert owner.get("/billing/products").status_code == 200
    assert owner.get(f"/billing/reactivate/{sub.id}").status_code == 200


def test_reactivating_after_the_service_ended_starts_a_new_period(owner):
    sub = cancel_smrtphone(owner)
    clock.FROZEN = sub.current_period_end + timedelta(days=3)
    sweep.end_services(clock.now())
    assert reactivate(owner, sub).status_code == 303
    phone = subscription()
    assert phone.status == "active"
    assert phone.current_period_end == clock.FROZEN + timedelta(days=30)
    assert owner.get(step_url(sub, "consequences")).status_code == 200, "the account is open again"


def test_reactivation_is_refused_after_the_90_days(owner):
    sub = cancel_smrtphone(owner)
    clock.FROZEN = NOW + timedelta(days=90, minutes=1)
    sweep.end_services(clock.now())
    page = owner.get(f"/billing/reactivate/{sub.id}")
    assert page.status_code == 409
    assert "The 90 days to change your mind ended on Wednesday, February 24, 2027" in text(page)
    assert reactivate(owner, sub).status_code == 409
    assert subscription().status == "ended"
    assert PurgeSchedule.get().status == "scheduled"


def test_reactivation_is_refused_once_the_purge_has_started(owner):
    sub = cancel_smrtphone(owner)
    PurgeSchedule.update(status="running").execute()
    response = reactivate(owner, sub)
    assert response.status_code == 409
    assert "being permanently erased" in text(response)
    assert subscription().status == "cancellation_pending"


# -- smrtDialer on its own -------------------------------------------------------------

def test_smrtdialer_can_be_cancelled_alone(owner):
    dialer = subscription("smrtdialer")
    assert f'href="/cancel/{dialer.id}/"' in text(owner.get("/billing/products"))
    page = text(owner.get(step_url(dialer, "consequences")))
    assert progress("consequences", "smrtdialer") in page
    assert "smrtPhone is not affected" in page
    cancel_smrtdialer(owner)
    assert subscription("smrtdialer").status == "cancellation_pending"
    assert subscription().status == "active"
    assert PurgeSchedule.select().count() == 0, "canceling smrtDialer erases nothing"
    req = CancellationRequest.get()
    assert (req.product, req.reactivation_deadline, req.purge_due_at) == ("smrtdialer", None, None)
    done = text(owner.get(f"/cancel/{dialer.id}/done"))
    assert "smrtPhone is not affected" in done
    assert OutboxMessage.get().kind == OutboxMessage.CANCELLATION_CONFIRMED


def test_smrtdialer_wizard_has_no_offers_step(owner):
    dialer = subscription("smrtdialer")
    assert owner.get(step_url(dialer, "options")).status_code == 404


def test_smrtdialer_is_reactivated_while_smrtphone_is_active(owner):
    dialer = cancel_smrtdialer(owner)
    assert reactivate(owner, dialer).status_code == 303
    assert subscription("smrtdialer").status == "active"


@pytest.mark.parametrize("phone_status", ["cancellation_pending", "ended"])
def test_smrtdialer_cannot_be_reactivated_without_an_active_smrtphone(owner, phone_status):
    # smrtDialer cancelled on its own first, then smrtPhone: each has its own
    # confirmed request, and smrtDialer is not "already active" or past any deadline.
    dialer = cancel_smrtdialer(owner)
    clock.FROZEN = NOW + timedelta(days=1)
    phone = cancel_smrtphone(owner)
    if phone_status == "ended":
        clock.FROZEN = phone.current_period_end + timedelta(minutes=1)
        assert sweep.end_services(clock.now()) == 2
    assert subscription().status == subscription("smrtdialer").status == phone_status
    assert reactivation.reactivation_for(subscription(), clock.now()).allowed, "smrtPhone could come back"
    rule = "Reactivate smrtPhone first: smrtDialer works only with an active smrtPhone account."
    before = all_rows()

    page = owner.get(f"/billing/reactivate/{dialer.id}")
    assert page.status_code == 409
    assert rule in text(page)
    assert 'action="/billing/reactivate/' not in text(page)
    response = reactivate(owner, dialer)
    assert response.status_code == 409
    assert rule in text(response)
    products = owner.get("/billing/products")
    assert products.status_code == 200
    assert rule in text(products)
    assert f'href="/billing/reactivate/{dialer.id}"' not in text(products)
    assert all_rows() == before, "nothing changed"

    # That rule alone stood in the way: with smrtPhone active, smrtDialer comes back.
    assert reactivate(owner, phone).status_code == 303
    assert reactivate(owner, dialer).status_code == 303
    assert subscription("smrtdialer").status == "active"


def test_smrtdialer_cannot_be_cancelled_alone_when_smrtphone_is_cancelled(owner):
    cancel_smrtphone(owner)
    dialer = subscription("smrtdialer")
    assert owner.get(step_url(dialer, "consequences")).status_code == 409


def test_the_banner_stops_offering_reactivation_after_the_deadline(owner):
    sub = subscription()
    from wizard.store.models import Subscription

    Subscription.update(current_period_end=NOW + timedelta(days=150)).where(
        Subscription.id == sub.id).execute()
    cancel_smrtphone(owner)
    clock.FROZEN = NOW + timedelta(days=91)
    response = owner.get("/billing/products")
    assert response.status_code == 200
    body = text(response)
    assert "Cancellation scheduled: service ends Sunday, April 25, 2027." in body
    # The Products row says why instead of offering the way back.
    assert "The 90 days to change your mind ended on Wednesday, February 24, 2027" in body
    assert "/billing/reactivate/" not in body
    assert "Changed your mind?" not in body
    page = owner.get(f"/billing/reactivate/{sub.id}")
    assert page.status_code == 409
    assert "The 90 days to change your mind ended on Wednesday, February 24, 2027" in text(page)


def test_cancelling_smrtphone_closes_an_open_smrtdialer_wizard(owner):
    from tests.support.helpers import complete_steps

    dialer = subscription("smrtdialer")
    complete_steps(owner, dialer, "survey")
    cancel_smrtphone(owner)
    dialer_request = CancellationRequest.get(CancellationRequest.product == "smrtdialer")
    assert dialer_request.status == "superseded"
    response = owner.post(f"/cancel/{dialer.id}/keep", {"request_id": str(dialer_request.id)})
    assert response.status_code == 409, "no false 'stays active' message"
    assert subscription("smrtdialer").status == "cancellation_pending"


def test_an_old_confirm_form_does_not_pretend_a_new_request_is_confirmed(owner):
    from tests.support.helpers import complete_steps, request_id_on

    sub = subscription()
    complete_steps(owner, sub, "confirm")
    old_form = {"request_id": request_id_on(owner.get(step_url(sub, "confirm")))}
    owner.post(step_url(sub, "confirm"), old_form)
    reactivate(owner, sub)
    complete_steps(owner, sub, "survey")  # a new request, still open
    response = owner.post(step_url(sub, "confirm"), old_form)
    assert response.status_code == 409
    assert subscription().status == "active"


def test_the_done_page_names_smrtdialer_only_when_it_was_cancelled_too(owner):
    sub = subscription()
    response = owner.get(f"/cancel/{cancel_smrtphone(owner).id}/done")
    assert response.status_code == 200
    body = text(response)
    assert "We have received your request to cancel smrtPhone and, with it, smrtDialer." in body
    assert "must be reactivated separately" in body
    assert reactivate(owner, sub).status_code == 303  # smrtDialer stays cancelled
    clock.FROZEN = NOW + timedelta(days=1)  # a day later, cancel smrtPhone again
    response = owner.get(f"/cancel/{cancel_smrtphone(owner).id}/done")
    assert response.status_code == 200
    body = text(response)
    assert "We have received your request to cancel smrtPhone." in body
    assert "and, with it, smrtDialer" not in body
    assert "must be reactivated separately" not in body

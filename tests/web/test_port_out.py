"""Keep your numbers: the port-out kit (issue 17, its first part): each
number's status and last day, read from one place (portout.release_at) on
step 1, the kit and Done; what the new carrier asks for; the PIN behind the
password, audited and rate-limited; only for the owner."""
import re

import pytest

from tests.support.helpers import cancel_smrtphone, subscription, text
from wizard import clock
from wizard.domain import formatting, portout
from wizard.store.models import Account, AuditEvent, PhoneNumber

NEW_YORK = "America/New_York"
PIN = re.compile(r'data-testid="port-out-pin">(\d{6})<')


def acme():
    return Account.get(Account.name == "Acme Realty")


def pin_post(browser, action="reveal", password="owner-pass"):
    """Post the PIN form; a granted post is followed to the page it shows the PIN on."""
    data = {"action": action}
    if password is not None:
        data["password"] = password
    response = browser.post("/billing/numbers/pin", data)
    if response.status_code == 303:
        assert response.location.endswith("/billing/numbers#pin-title")
        return browser.get(response.location)
    return response


def test_the_kit_lists_each_number_with_its_status_and_last_day(owner):
    page = text(owner.get("/billing/numbers"))
    last_day = formatting.local_date(portout.release_at(subscription()), NEW_YORK)
    for number in PhoneNumber.of_account(acme().id):
        row = re.search(rf'<tr id="number-{number.id}".*?</tr>', page, re.S).group(0)
        if number.is_ported:
            assert "Ported out" in row and last_day not in row
        else:
            assert ("Port-out in progress" if number.port_requested else "In service") in row
            assert last_day in row
    details = re.search(r'data-testid="carrier-details">.*?</dl>', page, re.S).group(0)
    for shown in (f"SP-{acme().id:06d}", "Acme Realty", "200 Harbor Street, Suite 4, Boston, MA 02110",
                  "Olivia Owens</bdi>, the Account Owner"):
        assert shown in details
    assert not PIN.search(page), "the PIN is not shown before the password"


def test_step_one_the_kit_and_done_give_every_number_the_same_last_day(owner):
    sub = subscription()
    last_day = formatting.local_date(portout.release_at(sub), NEW_YORK)
    step = text(owner.get(f"/cancel/{sub.id}/consequences"))
    for number in PhoneNumber.of_account(acme().id):
        if not number.is_ported:
            assert re.search(rf"{re.escape(number.display)}.*?{last_day}", step, re.S), number.e164
    assert 'href="/billing/numbers" hx-boost="false"' in step
    assert 'href="/billing/numbers"' in text(owner.get("/billing/products"))
    cancel_smrtphone(owner)
    done = text(owner.get(f"/cancel/{sub.id}/done"))
    assert f"Numbers not ported out by {last_day} are released" in done and 'href="/billing/numbers"' in done
    assert last_day in text(owner.get("/billing/numbers"))


def test_the_pin_shows_after_the_password_and_then_for_ten_minutes(owner, app, monkeypatch):
    assert pin_post(owner, password=None).status_code == 422
    wrong = pin_post(owner, password="not-it")
    assert wrong.status_code == 422 and "That password is not right" in text(wrong)
    assert text(wrong).count("Error: ") >= 1 and not PIN.search(text(wrong))
    shown = pin_post(owner)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    pin = PIN.search(text(shown)).group(1)
    assert not PIN.search(text(owner.get("/billing/numbers"))), "shown once: not on a reload"
    assert portout.pin_matches(acme(), app.config["SECRET_KEY"], pin)
    # Within ten minutes no password is asked again; after, it is.
    start = clock.session_now()
    monkeypatch.setattr(clock, "session_now", lambda: start + 9 * 60)
    assert PIN.search(text(pin_post(owner, password=None))).group(1) == pin
    monkeypatch.setattr(clock, "session_now", lambda: start + 11 * 60)
    assert pin_post(owner, password=None).status_code == 422
    reveals = AuditEvent.select().where(AuditEvent.kind == "portout.pin_revealed").count()
    assert reveals == 2, "each showing is audited, never a refused one"
    assert pin not in "".join(e.detail for e in AuditEvent.select()), "the log never holds the PIN"


def test_a_new_pin_replaces_the_old_one(owner, app):
    first = PIN.search(text(pin_post(owner))).group(1)
    secret = app.config["SECRET_KEY"]
    assert portout.pin_matches(acme(), secret, first)
    second = PIN.search(text(pin_post(owner, action="regenerate", password=None))).group(1)
    assert second != first
    assert portout.pin_matches(acme(), secret, second) and not portout.pin_matches(acme(), secret, first)
    assert acme().port_pin_generation == 1
    assert AuditEvent.select().where(AuditEvent.kind == "portout.pin_regenerated").count() == 1


def test_wrong_passwords_are_limited_like_sign_in(owner, app):
    limit = int(app.config["SIGN_IN_LIMIT_PER_EMAIL"].split(" per ")[0])
    for _ in range(limit):
        assert pin_post(owner, password="not-it").status_code == 422
    refused = pin_post(owner)
    assert refused.status_code == 429 and "Too many wrong passwords" in text(refused)
    assert not PIN.search(text(refused))


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_only_the_owner_sees_the_kit(sign_in, role):
    other = sign_in(role)
    page = other.get("/billing/numbers")
    assert page.status_code == 403 and "Only the Account Owner can port numbers out" in text(page)
    refused = other.post("/billing/numbers/pin", {"action": "reveal", "password": "admin-pass"})
    assert refused.status_code == 403 and not PIN.search(text(refused))
    assert not AuditEvent.select().where(AuditEvent.kind.startswith("portout.")).exists()


def test_a_forged_pin_form_changes_nothing(owner):
    assert owner.post("/billing/numbers/pin", {"action": "reveal", "password": "owner-pass"},
                      csrf=False).status_code == 400
    assert owner.post("/billing/numbers/pin", {"action": "delete-everything"}).status_code == 400
    assert owner.post("/billing/numbers/pin", {"action": "reveal", "password": "x" * 1_000_000}
                      ).status_code in (400, 413)
    assert acme().port_pin_generation == 0
    assert not AuditEvent.select().where(AuditEvent.kind.startswith("portout.")).exists()


def test_the_cancellation_email_gives_the_last_day_and_the_kit(owner):
    from wizard.store.models import OutboxMessage

    sub = cancel_smrtphone(owner)
    email = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.CANCELLATION_CONFIRMED)
    last_day = formatting.local_date(portout.release_at(sub), NEW_YORK)
    assert f"numbers not ported out by {last_day} are released and lost" in email.body
    assert "/billing/numbers" in email.body and "/billing/numbers" in email.body_html

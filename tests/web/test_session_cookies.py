"""The session cookie is verified once per process (wizard/web/signing.py), and
stays exactly as safe: tampered and expired cookies are still refused."""
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.support.helpers import subscription, step_url
from wizard.web.signing import RememberingSessionInterface


def cookie_of(client):
    return client.client.get_cookie("session").value


def test_a_cookie_seen_before_opens_without_checking_its_signature_again(app, owner, monkeypatch):
    assert isinstance(app.session_interface, RememberingSessionInterface)
    assert owner.get("/billing/products").status_code == 200
    checks = []
    loads = URLSafeTimedSerializer.loads
    monkeypatch.setattr(URLSafeTimedSerializer, "loads",
                        lambda self, *a, **k: checks.append(1) or loads(self, *a, **k))
    for _ in range(3):
        assert owner.get("/billing/products").status_code == 200
    assert checks == []  # the owner's cookie was verified before these


def test_each_request_gets_its_own_copy_of_what_the_cookie_holds(app, owner):
    cookie = cookie_of(owner)
    interface = app.session_interface
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        from flask import request
        first = interface.open_session(app, request)
        first["_flashes"] = [("info", "changed in one request")]
        first["_user_id"] = "999.1"
        second = interface.open_session(app, request)
    assert "_flashes" not in second and second["_user_id"] != "999.1"


def test_a_tampered_cookie_is_a_new_empty_session_even_next_to_a_remembered_one(app, owner):
    sub = subscription()
    assert owner.get(step_url(sub, "consequences")).status_code == 200  # remembered
    cookie = cookie_of(owner)
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    owner.client.set_cookie("session", forged)
    response = owner.get(step_url(sub, "consequences"))
    assert response.status_code == 302 and "/auth/login" in response.location


def test_a_remembered_cookie_still_expires(app, owner, monkeypatch):
    assert owner.get("/billing/products").status_code == 200  # remembered
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    signed_at = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: signed_at(self) + lifetime + 5)
    response = owner.get("/billing/products")
    assert response.status_code == 302 and "/auth/login" in response.location

"""Signing in and out."""
import pytest

from wizard.web.auth.views import safe_next
from tests.support.helpers import text


def test_sign_in_sends_the_owner_to_products(browser):
    response = browser.post("/auth/login", {"email": "owner@acme.test", "password": "owner-pass"})
    assert response.status_code == 303
    assert response.location == "/billing/products"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_email_is_matched_without_regard_to_case_or_spaces(browser):
    response = browser.post("/auth/login", {"email": "  Owner@Acme.TEST ", "password": "owner-pass"})
    assert response.status_code == 303


def test_a_wrong_password_is_shown_next_to_the_field(browser):
    response = browser.post("/auth/login", {"email": "owner@acme.test", "password": "nope"})
    assert response.status_code == 422
    assert "That email and password do not match an account." in text(response)
    assert 'aria-describedby="password-error"' in text(response)
    assert browser.get("/billing/products").status_code == 302


def test_empty_fields_are_named(browser):
    response = browser.post("/auth/login", {"email": "", "password": ""})
    assert response.status_code == 422
    assert "Please enter your email." in text(response)
    assert "Please enter your password." in text(response)


def test_next_is_followed_only_on_this_site(browser):
    response = browser.post("/auth/login", {"email": "owner@acme.test", "password": "owner-pass",
                                            "next": "/cancel/1/"})
    assert response.location == "/cancel/1/"


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)", ""])
def test_unsafe_next_targets_are_ignored(target):
    assert safe_next(target) is None


def test_staff_land_on_their_own_page(browser):
    response = browser.post("/auth/login", {"email": "success@smrtphone.test", "password": "success-pass"})
    assert response.location == "/success/calls"  # the calls of the day, then the requests


def test_sign_out_needs_a_post_with_a_token(owner):
    assert owner.post("/auth/logout", {}, csrf=False).status_code == 400
    assert owner.get("/billing/products").status_code == 200
    response = owner.post("/auth/logout", {})
    assert response.status_code == 303
    assert owner.get("/billing/products").status_code == 302

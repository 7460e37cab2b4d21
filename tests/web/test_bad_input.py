"""Bad input gets a clear message and changes nothing."""
import io

import pytest
from itsdangerous import TimestampSigner

from tests.conftest import DEMO_LOGINS

from tests.support.helpers import (
    text,
    ACK_ALL,
    complete_steps,
    errors_page,
    open_request,
    post_step,
    request_id_on,
    step_url,
    subscription,
)
from tests.support.posts import POSTS, in_its_mode, state
from wizard.store.models import (
    Acknowledgement,
    AuditEvent,
    CancellationRequest,
    OfferDecision,
    Subscription,
    SurveyResponse,
)

WIZARD_TABLES = (CancellationRequest, Acknowledgement, SurveyResponse, OfferDecision, AuditEvent)


def snapshot():
    """Everything the wizard writes, as plain values."""
    state = {m.__name__: sorted(m.select().where(m.kind != "access.refused").tuples()
                                if m is AuditEvent else m.select().tuples()) for m in WIZARD_TABLES}
    state["subscriptions"] = sorted(Subscription.select().tuples())
    return state


def test_missing_checkboxes_are_named_next_to_each_box(owner):
    sub = subscription()
    complete_steps(owner, sub, "acknowledge")
    before = snapshot()
    partial = dict(ACK_ALL)
    del partial["credits_nonrefundable"], partial["dialer_cancelled"]
    response = errors_page(owner, sub, "acknowledge", post_step(owner, sub, "acknowledge", partial))
    body = text(response)
    # Each unticked box says so beside itself (and once more in the summary).
    assert body.count('<p class="field-error"') == 2
    assert body.count("Please tick this box to confirm you understand.") == 4
    assert 'id="credits_nonrefundable-error"' in body
    assert 'aria-describedby="credits_nonrefundable-error"' in body
    assert 'aria-invalid="true"' in body
    # A summary at the top links to each box that needs ticking.
    assert 'class="error-summary" role="alert"' in body
    assert body.count('<li><a href="#credits_nonrefundable">') == 1
    assert snapshot() == before


@pytest.mark.parametrize("data, message", [
    ({"comment": "no reason given"}, "Please choose one reason."),
    ({"reason": "because", "comment": ""}, "Please choose one of the reasons listed."),
    ({"reason": "other", "comment": "x" * 1001}, "Please keep the comment to 1,000 characters or fewer."),
])
def test_survey_errors_are_shown_and_nothing_is_saved(owner, data, message):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    before = snapshot()
    response = errors_page(owner, sub, "survey", post_step(owner, sub, "survey", data))
    assert message in text(response)
    assert snapshot() == before


def test_a_comment_of_exactly_1000_characters_is_accepted(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    response = post_step(owner, sub, "survey", {"reason": "other", "comment": "y" * 1000})
    assert response.status_code == 303
    assert len(SurveyResponse.get().comment) == 1000


def test_an_htmx_post_with_errors_swaps_the_panel_with_the_errors(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    response = post_step(owner, sub, "survey", {"comment": ""}, htmx=True)
    assert response.status_code == 422
    assert "<html" not in text(response)
    assert "Please choose one reason." in text(response)


def test_an_unknown_offer_is_refused(owner):
    sub = subscription()
    complete_steps(owner, sub, "options")
    before = snapshot()
    response = post_step(owner, sub, "options", {"choice": "free_year"})
    assert response.status_code == 303
    assert "That option is not available." in text(owner.get(response.location))
    assert snapshot() == before


def test_a_tampered_request_id_is_refused_with_409(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    before = snapshot()
    for forged in ("999999", "abc", str(open_request(sub).id + 1)):
        response = owner.post(step_url(sub, "survey"), {"request_id": forged, "reason": "other"})
        assert response.status_code == 409, forged
        assert "out of date" in text(response)
    assert snapshot() == before


def test_a_form_from_a_closed_request_is_refused_with_409(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    stale_page = owner.get(step_url(sub, "survey"))
    owner.post(f"/cancel/{sub.id}/keep", {"request_id": request_id_on(stale_page)})
    before = snapshot()
    response = owner.post(step_url(sub, "survey"),
                          {"request_id": request_id_on(stale_page), "reason": "other"})
    assert response.status_code == 409
    assert "already ended" in text(response)
    assert snapshot() == before


def test_an_unknown_step_is_404(owner):
    sub = subscription()
    assert owner.get(f"/cancel/{sub.id}/refund").status_code == 404
    assert owner.post(f"/cancel/{sub.id}/refund", {}).status_code == 404


def test_a_missing_csrf_token_is_refused_and_changes_nothing(owner):
    sub = subscription()
    complete_steps(owner, sub, "confirm")
    before = snapshot()
    req = open_request(sub)
    response = owner.post(step_url(sub, "confirm"), {"request_id": str(req.id)}, csrf=False)
    assert response.status_code == 400
    assert "This form has expired or was not sent from this site" in text(response)
    response = owner.post(step_url(sub, "confirm"), {"request_id": str(req.id), "csrf_token": "forged"}, csrf=False)
    assert response.status_code == 400
    assert snapshot() == before
    assert subscription().status == "active"


def test_an_expired_csrf_token_is_refused(app, owner, monkeypatch):
    sub = subscription()
    complete_steps(owner, sub, "confirm")
    page = owner.get(step_url(sub, "confirm"))
    # CSRF tokens are timed by itsdangerous's own clock: move it past the limit.
    signed_at = TimestampSigner.get_timestamp
    limit = app.config["WTF_CSRF_TIME_LIMIT"]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at(self) + limit + 5)
    response = owner.post(step_url(sub, "confirm"), {"request_id": request_id_on(page)})
    assert response.status_code == 400
    assert "expired" in text(response)
    assert subscription().status == "active"


def test_an_htmx_post_without_the_csrf_header_is_refused(owner):
    sub = subscription()
    response = owner.post(step_url(sub, "consequences"), {"request_id": ""}, htmx=True, csrf=False)
    assert response.status_code == 400
    assert "<html" not in text(response), "htmx gets the error as a panel"
    assert CancellationRequest.select().count() == 0


def test_another_accounts_subscription_is_404(owner):
    birch = subscription(account="Birch Homes")
    before = snapshot()
    assert owner.get(f"/cancel/{birch.id}/").status_code == 404
    assert owner.get(step_url(birch, "consequences")).status_code == 404
    assert owner.post(step_url(birch, "consequences"), {"request_id": ""}).status_code == 404
    assert owner.post(f"/cancel/{birch.id}/keep", {"request_id": ""}).status_code == 404
    assert owner.get("/cancel/999999/consequences").status_code == 404
    assert snapshot() == before


def test_an_already_cancelled_subscription_cannot_be_cancelled_again(owner):
    sub = subscription()
    Subscription.update(status="cancellation_pending").where(Subscription.id == sub.id).execute()
    before = snapshot()
    response = owner.get(f"/cancel/{sub.id}/")
    assert response.status_code == 409
    assert "already canceled" in text(response)
    assert owner.get(step_url(sub, "consequences")).status_code == 409
    assert owner.post(step_url(sub, "consequences"), {"request_id": ""}).status_code == 409
    assert snapshot() == before


def test_confirm_refuses_when_the_subscription_was_cancelled_meanwhile(owner):
    sub = subscription()
    complete_steps(owner, sub, "confirm")
    Subscription.update(status="cancellation_pending").where(Subscription.id == sub.id).execute()
    before = snapshot()
    response = post_step(owner, sub, "confirm")
    assert response.status_code == 409
    assert snapshot() == before


def test_confirm_revalidates_acknowledgements_of_changed_wording(owner):
    sub = subscription()
    complete_steps(owner, sub, "confirm")
    page = owner.get(step_url(sub, "confirm"))
    # The wording changed since the owner ticked the box: the old version no longer counts.
    Acknowledgement.update(text_version="old-wording").where(
        Acknowledgement.statement_key == "numbers_lost").execute()
    response = owner.post(step_url(sub, "confirm"), {"request_id": request_id_on(page)})
    assert response.status_code == 303
    assert response.location.endswith(step_url(sub, "acknowledge"))
    assert subscription().status == "active"
    assert open_request(sub).status == "open"


@pytest.mark.parametrize("url", ["/cancel/abc/consequences", "/cancel/1/%00", "/auth/login?next=%00"])
def test_odd_urls_never_give_a_500(owner, url):
    assert owner.get(url).status_code < 500


def test_actions_cannot_be_triggered_by_a_get(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    assert owner.get(f"/cancel/{sub.id}/keep").status_code == 404  # not a step
    assert owner.get("/auth/logout").status_code == 405
    assert open_request(sub).status == "open"
    assert owner.get("/billing/products").status_code == 200, "still signed in"


@pytest.mark.parametrize("forged", ["²", "99999999999999999999", "-1", " 1"])
def test_odd_request_ids_are_refused_without_a_500(owner, forged):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    before = snapshot()
    response = owner.post(step_url(sub, "survey"), {"request_id": forged, "reason": "other"})
    assert response.status_code == 409
    assert snapshot() == before


@pytest.mark.parametrize("crafted", ["n", "no", "0", "off", "N", "yes", "true", "Y", "y "])
def test_only_the_checkbox_own_value_ticks_it(owner, crafted):
    """A browser sends "y" for a ticked box and nothing for an unticked one;
    any other value is not a tick, and is not echoed back."""
    sub = subscription()
    complete_steps(owner, sub, "acknowledge")
    before = snapshot()
    response = errors_page(owner, sub, "acknowledge",
                           post_step(owner, sub, "acknowledge", dict(ACK_ALL, credits_nonrefundable=crafted)))
    body = text(response)
    assert 'id="credits_nonrefundable-error"' in body
    assert f'value="{crafted}"' not in body
    assert snapshot() == before


@pytest.mark.parametrize("where", ["form", "query"])
def test_a_nul_in_a_fields_name_is_refused(owner, where):
    sub = subscription()
    before = snapshot()
    if where == "form":
        response = owner.post(step_url(sub, "consequences"), {"request_id": "", "bad\x00name": "x"})
    else:
        response = owner.get(step_url(sub, "consequences") + "?bad%00name=x")
    assert response.status_code == 400
    assert "a character that is not allowed" in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("digits", ["\uff11", "\u0661", "\u0967", "\U0001d7cf", "1\uff10"])
def test_only_ascii_digits_are_ids_in_urls(owner, digits):
    """"１" (fullwidth), "١" (Arabic-Indic), "१" (Devanagari), "𝟏" (bold) are not 1."""
    from urllib.parse import quote

    sub = subscription()
    assert sub.id == 1 and owner.get("/billing/plans/1").status_code == 200
    for url in (f"/billing/plans/{quote(digits)}", f"/cancel/{quote(digits)}/consequences",
                f"/billing/reactivate/{quote(digits)}"):
        assert owner.get(url).status_code == 404, url


@pytest.mark.parametrize("url", ["/cancel/99999999999999999999999/", "/cancel/0/consequences",
                                 "/billing/reactivate/99999999999999999999999"])
def test_huge_or_zero_ids_in_urls_are_404(owner, url):
    assert owner.get(url).status_code == 404
    assert owner.post(url, {}).status_code in (404, 405)


GARBAGE = [
    {},
    {"request_id": "1", "reason": ["other", "too_expensive"], "comment": "\x00\ud7ff" * 3},
    {"request_id": "", "comment": ["fine", "nul\x00 in the second value"]},
    {"request_id": "1' OR '1'='1", "choice": "<script>alert(1)</script>", "numbers_lost": "yes"},
    {"request_id": "1" * 5000, "reason": "x" * 5000, "comment": "é" * 5000},
    {"seats": ["5", "6"], "drawn_plan": "1e9", "drawn_seats": "-0", "start": "9999-99-99T99:99",
     "topic": "t" * 1_000_000},
    {"start": ["2026-11-30T14:00:00+00:00", "x"], "request_id": ["1", "2"], "seats": "٣"},
    {"csrf_token": "", "email": "a" * 1000, "password": "b" * 1000, "next": "//evil.test"},
]


@pytest.mark.parametrize("payload", GARBAGE)
def test_garbage_posted_anywhere_never_gives_a_500(owner, payload):
    sub, dialer = subscription(), subscription("smrtdialer")
    complete_steps(owner, sub, "options")
    urls = [step_url(sub, name) for name in ("consequences", "acknowledge", "survey", "options",
                                            "confirm")]
    from wizard.domain import availability, calls
    from wizard import clock

    call = calls.book(sub.account.owner(), availability.free_slots(clock.now())[0].start, "",
                        clock.now())
    urls += [f"/cancel/{sub.id}/keep", f"/cancel/{dialer.id}/survey",
             f"/billing/reactivate/{sub.id}", f"/billing/plans/{sub.id}/phone-starter",
             f"/billing/plans/{sub.id}/undo", f"/cancel/{dialer.id}/instead", "/calls/book",
             f"/calls/{call.id}/reschedule", f"/calls/{call.id}/cancel", "/success/hours",
             "/auth/login", "/auth/logout"]
    for url in urls:
        for htmx in (False, True):
            response = owner.post(url, payload, htmx=htmx)
            assert response.status_code < 500, (url, payload, response.status_code)
    assert subscription().status == "active"


def test_errors_are_shown_once_after_the_redirect(owner):
    """A plain browser's failed post becomes a GET of the step (so Back and Reload
    never send the form again); the errors show once, the answers given are kept."""
    sub = subscription()
    complete_steps(owner, sub, "survey")
    response = post_step(owner, sub, "survey", {"comment": "Too expensive for us"})
    page = errors_page(owner, sub, "survey", response)
    assert "Please choose one reason." in text(page)
    assert "Too expensive for us" in text(page)
    again = owner.get(step_url(sub, "survey"))
    assert again.status_code == 200
    assert "Please choose one reason." not in text(again)
    assert "Too expensive for us" not in text(again)


def test_errors_kept_for_one_page_are_not_shown_on_another(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    post_step(owner, sub, "survey", {"comment": "a comment"})
    owner.get("/billing/products")  # somewhere else first
    page = owner.get(step_url(sub, "survey"))
    assert page.status_code == 200
    assert "Please choose one reason." not in text(page)


def test_a_post_too_big_to_keep_is_answered_with_its_errors_at_once(owner):
    """The session is a cookie: a long comment (in any script) with the reason
    missing is re-shown at once rather than kept, so the cookie stays small."""
    sub = subscription()
    complete_steps(owner, sub, "survey")
    response = post_step(owner, sub, "survey", {"comment": "\u00e9" * 900})
    assert response.status_code == 422
    assert "Please choose one reason." in text(response)
    cookie = response.headers.get("Set-Cookie", "")
    assert len(cookie) < 4000


def test_pages_behind_sign_in_are_not_stored(app, owner):
    sub = subscription()
    for url in ("/billing/products", step_url(sub, "consequences"), "/calls/book"):
        assert owner.get(url).headers["Cache-Control"] == "no-store", url
    anonymous = app.test_client()
    assert "no-store" not in anonymous.get("/auth/login").headers.get("Cache-Control", "")

# -- files, lists and huge values in every field of every form -----------------------------

A_FILE = object()  # stands for a fresh upload in each post (a stream is read once)


def with_files(body):
    return {name: (io.BytesIO(b"%PDF-1.4 not text"), "a.pdf") if value is A_FILE else value
            for name, value in body.items()}


def fuzzed_bodies(data, max_field_length):
    """(what, body) pairs: each field as a file, sent twice, too long, 1 MB; and a body
    over MAX_CONTENT_LENGTH. Fields: the form's own, and its CSRF token."""
    fields = [*data, "csrf_token"] if data else ["request_id", "csrf_token"]
    for name in fields:
        value = data.get(name, "1")
        yield f"{name} as a file", {**data, name: A_FILE}
        yield f"{name} twice", {**data, name: [value, value]}
        yield f"{name} too long", {**data, name: "x" * (max_field_length + 1)}
        yield f"{name} at 1 MB", {**data, name: "x" * 1_000_000}
    yield "a body over MAX_CONTENT_LENGTH", {**data, "padding": "p" * (256 * 1024)}


@pytest.mark.parametrize("post", [in_its_mode(p) for p in POSTS], ids=str)
def test_every_form_refuses_files_lists_and_huge_values_and_changes_nothing(app, browser, post):
    if post.signed_in:
        browser.login(*DEMO_LOGINS[post.role])
    url, data = post.setup(browser)
    if post.endpoint == "auth.login":  # the right password: refusing must come before signing in
        assert data["password"] == DEMO_LOGINS["owner"][1]
    before = state(browser)
    for what, body in fuzzed_bodies(data, app.config["MAX_FIELD_LENGTH"]):
        for htmx in (False, True):
            response = browser.post(url, with_files(body), htmx=htmx,
                                    content_type="multipart/form-data")
            assert response.status_code in (400, 413, 422), (what, htmx, response.status_code)
            assert "Nothing was changed." in text(response) or response.status_code == 422, what
            assert ("<html" in text(response)) != htmx, "htmx gets the error as a panel"
    assert state(browser) == before, "a refused post changes nothing"
    # The same post, as its page sends it, acts.
    assert browser.post(url, data).status_code == 303


@pytest.mark.parametrize("field", ["email", "password", "next"])
def test_a_file_in_the_sign_in_form_is_refused_before_signing_in(browser, field):
    browser.get("/auth/login")
    body = {"email": "owner@acme.test", "password": "owner-pass", "next": "/billing/products",
            field: (io.BytesIO(b"owner-pass"), "password.txt")}
    response = browser.post("/auth/login", body, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "This form takes text only, not files." in text(response)
    assert "/auth/login" in browser.get("/").location, "not signed in"


def test_a_file_as_the_survey_comment_is_refused(owner):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    before = snapshot()
    page = owner.get(step_url(sub, "survey"))
    response = owner.post(step_url(sub, "survey"), {
        "request_id": request_id_on(page), "reason": "other",
        "comment": (io.BytesIO(b"comment"), "comment.txt")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "not files" in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("htmx", [False, True])
def test_an_over_long_comment_is_refused_and_not_echoed_back_whole(owner, htmx):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    before = snapshot()
    response = post_step(owner, sub, "survey", {"reason": "other", "comment": "y" * 9000},
                         htmx=htmx)
    assert response.status_code == 422
    body = text(response)
    assert "Please keep the comment to 1,000 characters or fewer." in body
    assert "y" * 1000 in body and "y" * 1001 not in body, "re-shown cut to the limit"
    assert snapshot() == before


def test_an_over_long_topic_is_not_echoed_back_whole(owner):
    from wizard.domain import availability
    from wizard import clock

    start = availability.free_slots(clock.now())[0].start.isoformat()
    owner.get("/calls/book")
    response = owner.post("/calls/book", {"start": start, "topic": "t" * 5000})
    assert response.status_code == 422
    assert "Please keep it to 500 characters or fewer." in text(response)
    assert "t" * 500 in text(response) and "t" * 501 not in text(response)

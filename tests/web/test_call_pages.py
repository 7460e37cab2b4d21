"""Booking a call with Customer Success, as owners and staff use the pages:
from the wizard's offers and from Products; moving and cancelling it; the
console's calls, outcomes and hours; every bad input refused at its field."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import NOW
from tests.support.calls import a_call
from tests.support.helpers import (
    all_rows,
    complete_steps,
    open_request,
    post_step,
    refused_form,
    step_url,
    subscription,
    text,
)
from wizard.domain import availability, calls, formatting, insights
from wizard import clock
from wizard.store.models import (
    Call,
    CallOutcome,
    CancellationRequest,
    OfferDecision,
    StaffHours,
    StaffOverride,
    User,
)

NEW_YORK = "America/New_York"  # the demo accounts' time zone


def free_starts():
    return [slot.start for slot in availability.free_slots(clock.now())]


def owner_of(name="Acme Realty"):
    from wizard.store.models import Account

    return Account.get(Account.name == name).owner()


# -- booking -------------------------------------------------------------------------------

def test_a_call_booked_from_the_wizards_offers_saves_the_request(owner):
    sub = subscription()
    complete_steps(owner, sub, "options")
    req = open_request(sub)
    options = text(owner.get(step_url(sub, "options")))
    assert f'href="/calls/book?request={req.id}"' in options

    page = text(owner.get("/calls/book", query_string={"request": req.id}))
    first = free_starts()[0]
    local = first.astimezone(ZoneInfo(NEW_YORK))
    assert f"<legend>{local:%A, %B} {local.day}</legend>" in page
    assert f'value="{first.isoformat()}"' in page
    assert f">{formatting.local_time(first, NEW_YORK)}</label>" in page
    assert f'name="request_id" type="hidden" value="{req.id}"' in page

    response = owner.post("/calls/book", {"start": first.isoformat(), "topic": "Our bill",
                                          "request_id": str(req.id)})
    assert response.status_code == 303 and response.location.endswith("/billing/products")
    call = Call.get()
    assert (call.start, call.topic, call.request_id) == (first, "Our bill", req.id)
    assert CancellationRequest.get_by_id(req.id).status == CancellationRequest.SAVED_BY_OFFER
    assert OfferDecision.get(OfferDecision.accepted == True).offer == "book_call"  # noqa: E712
    products = text(owner.get("/billing/products"))
    when = formatting.local_datetime(first, NEW_YORK)
    assert f"is booked for {when}" in products
    assert f"<strong>{when}</strong>, about <bdi>Our bill</bdi>" in products
    # A booked call never blocks leaving.
    assert owner.get(f"/cancel/{sub.id}/").location.endswith(step_url(sub, "consequences"))


def test_a_smrtdialer_request_cannot_be_saved_by_a_call_it_was_never_offered(owner):
    """smrtDialer's wizard shows no offers; posting its request's id to the
    booking form was marked "saved by book_call". Now it is refused, and
    nothing is booked or changed."""
    from tests.support.helpers import DIALER_STEP_NAMES
    from wizard.store.models import Product

    dialer = subscription(Product.SMRTDIALER)
    complete_steps(owner, dialer, DIALER_STEP_NAMES[-1])
    req = open_request(dialer)
    before = all_rows()
    response = owner.post("/calls/book", {"start": free_starts()[0].isoformat(), "topic": "",
                                          "request_id": str(req.id)})
    assert response.status_code == 409
    assert "That option is not available." in text(response)
    assert all_rows() == before, "no call, no email, the request still open"


def test_a_call_booked_from_products(sign_in):
    birch = sign_in("other_owner")
    assert 'href="/calls/book">Speak with our Success Team</a>' in text(birch.get("/billing/products"))
    start = free_starts()[1]
    response = birch.post("/calls/book", {"start": start.isoformat(), "topic": ""})
    assert response.status_code == 303
    call = Call.get()
    assert call.account.name == "Birch Homes" and call.request_id is None
    assert "Reschedule" in text(birch.get("/billing/products"))


@pytest.mark.parametrize("start, message, status", [
    ("", "Please choose a time.", 422),
    ("next tuesday", "Please pick one of the times offered.", 422),
    ((NOW - timedelta(hours=1)).isoformat(), "That time has already passed.", 422),
    ((NOW + timedelta(hours=2)).isoformat(), "Calls need at least 4 hours", 422),
    ((NOW + timedelta(days=20)).isoformat(), "at most 14 days ahead", 422),
    ("2026-11-29T08:00:00+00:00", "No one from Customer Success is working at that time.", 422),
])
def test_a_time_that_cannot_be_booked_is_refused_at_the_field(owner, start, message, status):
    before = all_rows()
    response = refused_form(owner, owner.post("/calls/book", {"start": start, "topic": ""}))
    assert response.status_code == status
    body = text(response)
    assert message in body and 'id="start-error"' in body
    assert all_rows() == before


def test_a_taken_time_and_a_long_topic_are_refused(app, owner, sign_in):
    from tests.support.jobs import new_account
    from wizard.dev.demo import ensure_plans

    start = free_starts()[0]
    staff_free = len(availability.Availability.load(clock.now()).free_staff(start))
    for n in range(staff_free):  # every staff member free then gets a call, from other accounts
        other = new_account(ensure_plans(), app.config["RECORDINGS_DIR"], clock.now())
        calls.book(other.owner(), start, "", clock.now())
    before = all_rows()
    response = refused_form(owner, owner.post("/calls/book", {"start": start.isoformat(), "topic": ""}))
    assert response.status_code == 409
    assert "That time was just taken. Please pick another." in text(response)
    response = refused_form(owner, owner.post("/calls/book", {"start": free_starts()[0].isoformat(),
                                                              "topic": "x" * 501}))
    assert response.status_code == 422 and "500 characters or fewer" in text(response)
    assert all_rows() == before


# -- moving and cancelling --------------------------------------------------------------------

def test_the_owner_moves_and_cancels_a_call(owner):
    call = a_call()
    later = next(s for s in free_starts() if s != call.start)
    assert "Move your call" in text(owner.get(f"/calls/{call.id}/reschedule"))
    response = owner.post(f"/calls/{call.id}/reschedule", {"start": later.isoformat(),
                                                             "drawn_sequence": "0"})
    assert response.status_code == 303
    moved = call.refreshed()
    assert (moved.start, moved.sequence, moved.uid) == (later, 1, call.uid)
    assert formatting.local_datetime(later, NEW_YORK) in text(owner.get("/billing/products"))

    assert owner.post(f"/calls/{call.id}/cancel", {}).status_code == 303
    assert call.refreshed().status == Call.CANCELLED
    assert "Your call with" not in text(owner.get("/billing/products"))
    again = owner.post(f"/calls/{call.id}/cancel", {})
    assert again.status_code == 409 and "already been cancelled" in text(again)


def drawn_sequence(page):
    import re

    return re.search(r'name="drawn_sequence" type="hidden" value="(\d+)"', text(page)).group(1)


def test_a_move_from_a_page_drawn_before_another_move_is_refused(owner, sign_in):
    call = a_call()
    first, second = [s for s in free_starts() if s != call.start][:2]
    stale = drawn_sequence(owner.get(f"/calls/{call.id}/reschedule"))
    other_tab = sign_in("owner")
    fresh = drawn_sequence(other_tab.get(f"/calls/{call.id}/reschedule"))
    assert other_tab.post(f"/calls/{call.id}/reschedule",
                          {"start": first.isoformat(), "drawn_sequence": fresh}).status_code == 303
    before = all_rows()
    response = owner.post(f"/calls/{call.id}/reschedule", {"start": second.isoformat(),
                                                           "drawn_sequence": stale})
    assert response.status_code == 409 and "This call was changed a moment ago" in text(response)
    assert all_rows() == before
    # The same move posted again (a double click) is no change, not a refusal.
    again = owner.post(f"/calls/{call.id}/reschedule", {"start": first.isoformat(),
                                                        "drawn_sequence": stale})
    assert again.status_code == 303 and call.refreshed().sequence == 1


def test_moves_posted_at_once_from_pages_drawn_together_apply_once(app, sign_in):
    from tests.support.jobs import race
    from wizard.store.models import OutboxMessage

    call = a_call()
    first, second = [s for s in free_starts() if s != call.start][:2]
    tabs = [sign_in("owner"), sign_in("owner")]
    drawn = [drawn_sequence(tab.get(f"/calls/{call.id}/reschedule")) for tab in tabs]
    emails_before = OutboxMessage.select().count()

    def move(tab, start, sequence):
        return lambda: tab.post(f"/calls/{call.id}/reschedule",
                                {"start": start.isoformat(), "drawn_sequence": sequence}).status_code

    raced = race(move(tabs[0], first, drawn[0]), move(tabs[1], second, drawn[1]))
    assert sorted(raced.results) == [303, 409], raced
    moved = call.refreshed()
    assert moved.sequence == 1 and moved.start in (first, second)
    assert OutboxMessage.select().count() - emails_before == 2, "one move: the owner's and the staff's"


@pytest.mark.parametrize("role, status", [("other_owner", 404), ("admin", 403), ("agent", 403)])
def test_only_the_owner_or_staff_change_a_call(sign_in, role, status):
    call = a_call()
    user = sign_in(role)
    before = all_rows()
    later = next(s for s in free_starts() if s != call.start)
    assert user.get(f"/calls/{call.id}/reschedule").status_code == status
    assert user.post(f"/calls/{call.id}/reschedule", {"start": later.isoformat()}).status_code == status
    assert user.post(f"/calls/{call.id}/cancel", {}).status_code == status
    assert all_rows() == before


@pytest.mark.parametrize("role", ["admin", "agent", "success"])
def test_only_an_owner_books(sign_in, role):
    response = sign_in(role).post("/calls/book", {"start": free_starts()[0].isoformat()})
    assert response.status_code == 403
    assert Call.select().count() == 0


# -- the console -------------------------------------------------------------------------------

def test_staff_see_the_call_with_what_the_owner_said_and_record_the_outcome(owner, sign_in):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    post_step(owner, sub, "survey", {"reason": "technical_problems", "comment": "Calls drop"})
    req = open_request(sub)
    start = free_starts()[0]
    owner.post("/calls/book", {"start": start.isoformat(), "topic": "Dropped calls",
                               "request_id": str(req.id)})
    call = Call.get()
    staff = sign_in("success")
    board = text(staff.get("/success/calls"))
    assert "<bdi>Acme Realty</bdi>" in board and "Olivia Owens" in board
    assert "smrtPhone Pro, smrtDialer Single-line dialer: $300.00 a month" in board
    assert "Technical problems: <bdi>Calls drop</bdi>" in board
    assert "<bdi>Dropped calls</bdi>" in board and "Call booked" in board
    assert f'action="/calls/{call.id}/cancel"' in board  # staff may move or cancel it

    prefix = f"call{call.id}-"
    early = staff.post(f"/success/calls/{call.id}/outcome", {prefix + "held": "held",
                                                           prefix + "outcome": "saved"})
    assert early.status_code == 409 and "once the call has started" in text(early)
    clock.FROZEN = call.end + timedelta(minutes=1)
    missing = refused_form(staff, staff.post(f"/success/calls/{call.id}/outcome", {
        prefix + "held": "held", prefix + "outcome": ""}))
    assert missing.status_code == 422 and "Please choose how the call went." in text(missing)
    assert call.refreshed().status == Call.BOOKED
    response = staff.post(f"/success/calls/{call.id}/outcome", {
        prefix + "held": "held", prefix + "outcome": CallOutcome.SAVED,
        prefix + "notes": "Moving them to a new carrier route."})
    assert response.status_code == 303
    held = call.refreshed()
    assert (held.status, held.outcome, held.outcome_by.email) == (
        Call.HELD, CallOutcome.SAVED, "success@smrtphone.test")

    figures = {f.name: f for f in insights.call_figures(insights.Range.default(clock.now()), clock.now())}
    assert sum(f.booked for f in figures.values()) == 1
    mine = figures[held.staff.name]
    assert (mine.booked, mine.held, mine.outcomes[CallOutcome.SAVED]) == (1, 1, 1)


def test_staff_edit_their_hours_and_the_free_times_follow(sign_in):
    staff = sign_in("success")
    me = User.get(User.email == "success@smrtphone.test")
    page = text(staff.get("/success/hours"))
    assert 'value="09:00"' in page and 'value="America/New_York"' in page

    response = staff.post("/success/hours", {"timezone": "America/Chicago",
                                             "d0_1_from": "10:00", "d0_1_to": "12:00"})
    assert response.status_code == 303
    hours = StaffHours.for_staff(me)
    assert [(h.weekday, h.start_minute, h.end_minute) for h in hours] == [(0, 600, 720)]
    assert User.get_by_id(me.id).timezone == "America/Chicago"
    mine = [s for s in availability.free_slots(clock.now()) if me.id in s.staff_ids]
    assert mine and all(s.start.astimezone(ZoneInfo("America/Chicago")).weekday() == 0
                        for s in mine)

    day = (clock.now() + timedelta(days=4)).date()
    assert staff.post("/success/hours/overrides", {"day": day.isoformat()}).status_code == 303
    overrides = StaffOverride.for_staff(me)
    assert [(o.start_minute, o.end_minute) for o in overrides if o.day == day] == [(None, None)]
    assert day.strftime("%A, %B") in text(staff.get("/success/hours"))
    assert staff.post(f"/success/hours/overrides/{day.isoformat()}/remove", {}).status_code == 303
    assert day not in [o.day for o in StaffOverride.for_staff(me)]
    assert len(StaffOverride.for_staff(me)) == len(overrides) - 1


def test_a_time_too_long_to_be_one_is_refused_at_its_day(sign_in):
    staff = sign_in("success")
    response = refused_form(staff, staff.post("/success/hours", {
        "timezone": "UTC", "d5_2_from": "nine o'clock", "d5_2_to": "10:00"}))
    assert response.status_code == 422
    assert 'id="day-5-error"' in text(response) and "Please write times as HH:MM" in text(response)


@pytest.mark.parametrize("form, message, where", [
    ({"timezone": "Mars/Olympus", "d0_1_from": "09:00", "d0_1_to": "10:00"}, "is not a known time zone",
     'id="timezone-error"'),
    # Folders and files of the zone database that name no zone (a 500 once, for the folders).
    *[({"timezone": name, "d0_1_from": "09:00", "d0_1_to": "10:00"}, "is not a known time zone",
       'id="timezone-error"') for name in ("America", "Europe", "Etc", "localtime", "posixrules",
                                           "../../../etc/passwd", "America/", "tzdata.zi")],
    ({"timezone": "UTC", "d1_1_from": "12:00", "d1_1_to": "09:00"}, "Hours must end after they start",
     'id="day-1-error"'),
    ({"timezone": "UTC", "d2_1_from": "09:00", "d2_1_to": "12:00", "d2_2_from": "11:00", "d2_2_to": "13:00"},
     "The hours of Wednesday overlap", 'id="day-2-error"'),
    ({"timezone": "UTC", "d3_1_from": "09:00"}, "Please give both times of a block", 'id="day-3-error"'),
    ({"timezone": "UTC", "d4_1_from": "9 am", "d4_1_to": "10:00"}, "is not a time of day",
     'id="day-4-error"'),
])
def test_hours_that_cannot_be_are_refused_at_their_day(sign_in, form, message, where):
    staff = sign_in("success")
    before = all_rows()
    response = refused_form(staff, staff.post("/success/hours", form))
    assert response.status_code == 422
    assert message in text(response) and where in text(response)
    assert all_rows() == before
    assert message not in text(staff.get("/success/hours")), "shown once"


@pytest.mark.parametrize("role", ["owner", "admin", "agent"])
def test_only_staff_reach_the_calls_and_hours(sign_in, role):
    user = sign_in(role)
    for url in ("/success/calls", "/success/hours"):
        assert user.get(url).status_code == 403
    assert user.post("/success/hours", {"timezone": "UTC"}).status_code == 403


def test_the_calls_csv(sign_in):
    call = calls.book(owner_of(), free_starts()[0], "=cmd|' /C calc'!A0", clock.now())
    response = sign_in("success").get("/success/calls.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert [r["call"] for r in rows] == [str(call.id)]
    assert rows[0]["topic"].startswith("'=cmd") and rows[0]["status"] == "Booked"
    assert rows[0]["owner_email"] == "owner@acme.test"
    assert sign_in("owner").get("/success/calls.csv").status_code == 403
    assert sign_in("success").get("/success/calls.csv", query_string={"first": "nope"}).status_code == 400


def test_a_double_click_books_one_call(owner):
    start = free_starts()[0]
    form = {"start": start.isoformat(), "topic": ""}
    first, second = owner.post("/calls/book", form), owner.post("/calls/book", form)
    assert first.status_code == second.status_code == 303
    assert Call.select().count() == 1
    from tests.support.calls import CALL_KINDS
    from wizard.store.models import OutboxMessage

    assert OutboxMessage.select().where(OutboxMessage.kind.in_(CALL_KINDS)).count() == 2  # owner, staff

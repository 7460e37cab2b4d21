"""Booking a call with Customer Success, as owners and staff use the pages:
from the wizard's offers and from Products; moving and canceling it; the
console's calls, outcomes and hours; every bad input refused at its field."""
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import NOW
from tests.support.calls import ACME_MAIN, a_call, book_url, booking
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

    days = text(owner.get("/calls/book", query_string={"request": req.id}))
    first = free_starts()[0]
    local = first.astimezone(ZoneInfo(NEW_YORK))
    day_link = re.search(r'<a href="([^"]+)" data-testid="call-day">([^<]+)</a>', days)
    assert day_link.group(2) == f"{local:%A, %B} {local.day}"
    assert sorted(day_link.group(1).split("?")[1].split("&amp;")) == [
        f"day={local.date().isoformat()}", f"request={req.id}"]
    assert 'value="' not in days.split("<main")[1], "the days first, no times yet"

    page = text(owner.get(book_url(first, request=req.id)))
    assert f"Choose a time on {local:%A, %B} {local.day}" in page
    assert f'value="{first.isoformat()}"' in page
    assert f">{formatting.local_time(first, NEW_YORK)}</label>" in page
    assert f'name="request_id" type="hidden" value="{req.id}"' in page
    assert f'href="/cancel/{sub.id}/options">Back</a>' in page
    assert f'href="/calls/book?request={req.id}" data-testid="other-day">Choose another day</a>' in page
    assert f'name="number" spellcheck="false" type="tel" value="{ACME_MAIN}"' in page

    response = owner.post(book_url(first), booking(first, "Our bill", request_id=str(req.id)))
    assert response.status_code == 303 and response.location.endswith("/billing/products")
    call = Call.get()
    assert (call.start, call.topic, call.request_id) == (first, "Our bill", req.id)
    assert call.callback_number == "+16175550101"
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
    response = owner.post("/calls/book", booking(free_starts()[0], request_id=str(req.id)))
    assert response.status_code == 409
    assert "That option is not available." in text(response)
    assert all_rows() == before, "no call, no email, the request still open"


def test_a_call_booked_from_products(sign_in):
    birch = sign_in("other_owner")
    assert 'href="/calls/book">Speak with our Success Team</a>' in text(birch.get("/billing/products"))
    start = free_starts()[1]
    assert 'value="(212) 555-0140"' in text(birch.get(book_url(start))), "Birch's main number"
    response = birch.post(book_url(start), booking(start, number="212 555 0141"))
    assert response.status_code == 303
    call = Call.get()
    assert call.account.name == "Birch Homes" and call.request_id is None
    assert call.callback_number == "+12125550141"
    assert "Customer Success will call you at (212) 555-0141." in text(birch.get("/billing/products"))
    card = text(birch.get("/billing/products"))  # the flash is read: this is the call's own card
    assert "Reschedule" in card and "Customer Success will call you at <strong>(212) 555-0141</strong>." in card


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
    response = refused_form(owner, owner.post(book_url(free_starts()[0]), booking(start)))
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
    response = refused_form(owner, owner.post(book_url(start), booking(start)))
    assert response.status_code == 409
    assert "That time was just taken. Please pick another." in text(response)
    response = refused_form(owner, owner.post(book_url(free_starts()[0]),
                                              booking(free_starts()[0], "x" * 501)))
    assert response.status_code == 422 and "500 characters or fewer" in text(response)
    assert all_rows() == before


def radio_values(page):
    return re.findall(r'name="start" type="radio" value="([^"]+)"', text(page))


def test_the_days_come_first_then_one_days_times(owner):
    """One page of choices at a time: the days with free times as links, then
    a day's times; no JavaScript needed."""
    days = owner.get("/calls/book")
    assert days.status_code == 200 and radio_values(days) == []
    offered = availability.offered_days(clock.now(), NEW_YORK)
    links = re.findall(r'<a href="/calls/book\?day=([0-9-]+)" data-testid="call-day">', text(days))
    assert links == [day.isoformat() for day, _ in offered]
    for day, slots in offered[:3]:
        page = owner.get(f"/calls/book?day={day.isoformat()}")
        assert radio_values(page) == [slot.start.isoformat() for slot in slots]
        assert len(slots) <= 20, "one day's times: a screen, not 220 radio buttons"
        assert 'href="/calls/book" data-testid="other-day">Choose another day</a>' in text(page)
    assert "<script" not in text(days).split("<main")[1]


def test_times_outside_the_owners_day_are_shown_when_asked(owner):
    """London's 08:00 is New York's 03:00: a New York owner is offered 8 AM to
    7 PM of their own day, and every time after "Show all times"."""
    from tests.support.calls import MON_FRI, clear_team, staff_member

    clear_team()
    staff_member("Europe/London", [(MON_FRI, "08:00", "17:00")])
    page = owner.get("/calls/book?day=2026-11-30")
    body = text(page)
    assert "Times are in Eastern Time (America/New_York)." in body
    shown = [formatting.local_time(availability.parse_start(v), NEW_YORK) for v in radio_values(page)]
    assert shown == ["8:00 AM", "8:30 AM", "9:00 AM", "9:30 AM", "10:00 AM", "10:30 AM", "11:00 AM",
                     "11:30 AM"], "start at 8 AM or later, end by noon, London's 5 PM"
    assert '<a href="/calls/book?day=2026-11-30&amp;all=1">Show all times</a>' in body
    every = owner.get("/calls/book?day=2026-11-30&all=1")
    shown = [formatting.local_time(availability.parse_start(v), NEW_YORK) for v in radio_values(every)]
    assert shown[:2] == ["3:00 AM", "3:30 AM"] and len(shown) == 18
    assert 'href="/calls/book?day=2026-11-30">Show only 8 AM to 7 PM</a>' in text(every)
    assert 'action="/calls/book?day=2026-11-30&amp;all=1"' in text(every)
    # A time outside the owner's day, chosen after "Show all times", books.
    early = availability.parse_start(radio_values(every)[0])
    response = owner.post("/calls/book?day=2026-11-30&all=1", booking(early))
    assert response.status_code == 303 and Call.get().start == early


def test_the_owners_day_is_data_of_the_call_rules():
    from wizard.domain.policy import CALL_RULES

    assert (CALL_RULES.owner_day_from, CALL_RULES.owner_day_until) == (8, 19)
    assert CALL_RULES.standing_calls_per_account == 1
    at = availability.as_utc
    from datetime import datetime

    def ny(hour, minute=0):
        return at(datetime(2026, 7, 6, hour, minute, tzinfo=ZoneInfo(NEW_YORK)))
    assert CALL_RULES.suits_owner(ny(8), ny(8, 30), NEW_YORK)
    assert CALL_RULES.suits_owner(ny(18, 30), ny(19), NEW_YORK)
    assert not CALL_RULES.suits_owner(ny(7, 30), ny(8), NEW_YORK)
    assert not CALL_RULES.suits_owner(ny(18, 45), ny(19, 15), NEW_YORK)


@pytest.mark.parametrize("day", ["tomorrow", "2026-02-30", "2026-11-3", "26-11-2026",
                                 "２０２６-１１-３０", "2026-11-30T10:00", "9" * 500])
def test_a_day_that_is_not_a_date_is_refused(owner, day):
    for url in ("/calls/book", f"/calls/{a_call().id}/reschedule" if day == "tomorrow" else None):
        if url:
            response = owner.get(url, query_string={"day": day})
            assert response.status_code == 400, (url, day)
            assert "That is not a day." in text(response)


@pytest.mark.parametrize("day", ["2026-11-28", "2026-11-25", "1999-01-01", "2027-06-01"])
def test_a_day_without_free_times_shows_the_days(owner, day):
    """A Saturday, yesterday, long ago, beyond the 14 days: the days instead, said so."""
    response = owner.get("/calls/book", query_string={"day": day})
    assert response.status_code == 404
    body = text(response)
    assert "Please choose another day." in body and 'data-testid="call-day"' in body
    assert radio_values(response) == []


@pytest.mark.parametrize("number, message", [
    ("", "Enter the number we will call."),
    ("12", "Enter a phone number we can call, like (201) 555-0123."),
    ("555-010-0123", "Enter a phone number we can call, like (201) 555-0123."),
    ("not a number", "Enter a phone number we can call, like (201) 555-0123."),
    ("+1 617 555 0101 " + "9" * 100, "Enter a phone number we can call, like (201) 555-0123."),
])
def test_a_number_that_cannot_be_called_is_refused_at_its_field(owner, number, message):
    start = free_starts()[0]
    before = all_rows()
    response = refused_form(owner, owner.post(book_url(start), booking(start, number=number)))
    assert response.status_code == 422 and all_rows() == before
    body = text(response)
    assert "<title>Error: Book a call with Customer Success" in body
    summary = body.index('class="error-summary"')
    assert body.index('id="book-title"') < summary < body.index('<form method="post" action="/calls/book')
    assert f'<a href="#number">The number we will call: {message}</a>' in body
    assert f'<p class="field-error" id="number-error">{message}</p>' in body
    assert "9" * 41 not in body, "never echoed back whole"


@pytest.mark.parametrize("fields, status", [
    ({"number": "1" * 20_000}, 400),  # longer than any field takes
    ({"number": "1" * 1_000_000}, 413),  # a megabyte
    ({"number": ["(617) 555-0101", "(617) 555-0102"]}, 400),  # a list where text is expected
    ({"start": ["a", "b"]}, 400),
])
def test_a_huge_or_repeated_field_is_refused_before_booking(owner, fields, status):
    start = free_starts()[0]
    before = all_rows()
    response = owner.post(book_url(start), {**booking(start), **fields})
    assert response.status_code == status and all_rows() == before


def test_a_time_not_offered_that_day_is_refused(owner):
    day, slots = availability.offered_days(clock.now(), NEW_YORK)[0]
    not_offered = slots[0].start + timedelta(minutes=10)
    response = refused_form(owner, owner.post(f"/calls/book?day={day}", booking(not_offered)))
    assert response.status_code == 422 and "Please pick one of the times offered" in text(response)
    assert Call.select().count() == 0


def test_a_number_abroad_is_kept_and_shown_with_its_country_code(owner):
    start = free_starts()[0]
    owner.post(book_url(start), booking(start, number="+44 20 7946 0958"))
    assert Call.get().callback_number == "+442079460958"
    products = text(owner.get("/billing/products"))
    assert "Customer Success will call you at +44 20 7946 0958." in products  # the flash


def test_a_second_call_ahead_is_refused_and_points_at_the_first(owner):
    first = a_call()
    page = owner.get("/calls/book")
    body = text(page)
    assert "You already have a call with" in body and radio_values(page) == []
    assert f'href="/calls/{first.id}/reschedule" data-testid="move-call">' in body
    later = next(s for s in free_starts() if s.date() != first.start.date())
    before = all_rows()
    response = refused_form(owner, owner.post(book_url(later), booking(later)))
    assert response.status_code == 409 and all_rows() == before
    assert f'href="/calls/{first.id}/reschedule" data-testid="move-call">' in text(response)
    assert "You can move that call to another time instead." in text(response)
    assert '<li><a href="#move-call">You already have a call with Customer Success on ' in text(response)
    assert "<title>Error: Book a call" in text(response)
    # Its day's page too says so, rather than offering the times.
    assert radio_values(owner.get(book_url(later))) == []


def test_moving_a_call_keeps_its_number(owner):
    call = a_call()
    later = next(s for s in free_starts() if s != call.start)
    page = text(owner.get(move_url(call, later)))
    assert "Customer Success will call you at (617) 555-0101; moving the call keeps the number." in page
    assert 'name="number"' not in page
    response = owner.post(move_url(call, later), {"start": later.isoformat(),
                                                  "drawn_sequence": str(call.sequence)})
    assert response.status_code == 303
    assert call.refreshed().callback_number == "+16175550101"


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
    assert again.status_code == 409 and "already been canceled" in text(again)


def move_url(call, start):
    """The move page of `call`, on the day of `start`."""
    return book_url(start).replace("/calls/book", f"/calls/{call.id}/reschedule")


def drawn_sequence(page):
    import re

    return re.search(r'name="drawn_sequence" type="hidden" value="(\d+)"', text(page)).group(1)


def test_a_move_from_a_page_drawn_before_another_move_is_refused(owner, sign_in):
    call = a_call()
    first, second = [s for s in free_starts() if s != call.start][:2]
    stale = drawn_sequence(owner.get(move_url(call, second)))
    other_tab = sign_in("owner")
    fresh = drawn_sequence(other_tab.get(move_url(call, first)))
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
    drawn = [drawn_sequence(tab.get(move_url(call, start))) for tab, start in zip(tabs, (first, second))]
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
    response = sign_in(role).post("/calls/book", booking(free_starts()[0]))
    assert response.status_code == 403
    assert Call.select().count() == 0


# -- the console -------------------------------------------------------------------------------

def test_staff_see_the_call_with_what_the_owner_said_and_record_the_outcome(owner, sign_in):
    sub = subscription()
    complete_steps(owner, sub, "survey")
    post_step(owner, sub, "survey", {"reason": "technical_problems", "comment": "Calls drop"})
    req = open_request(sub)
    start = free_starts()[0]
    owner.post(book_url(start), booking(start, "Dropped calls", request_id=str(req.id)))
    call = Call.get()
    staff = sign_in("success")
    board = text(staff.get("/success/calls"))
    assert "<bdi>Acme Realty</bdi>" in board and "Olivia Owens" in board
    assert "smrtPhone Pro, smrtDialer Single-line dialer: $300.00 a month" in board
    assert "Technical problems: <bdi>Calls drop</bdi>" in board
    assert "<bdi>Dropped calls</bdi>" in board and "Call booked" in board
    assert ('Customer Success will call them at <a href="tel:+16175550101">(617) 555-0101</a>'
            in board)
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
    assert 'id="day-5-error"' in text(response) and "Please enter a time, such as 9:30 AM." in text(response)


@pytest.mark.parametrize("form, message, where", [
    ({"timezone": "Mars/Olympus", "d0_1_from": "09:00", "d0_1_to": "10:00"}, "is not a known time zone",
     'id="timezone-error"'),
    # Folders and files of the zone database that name no zone (a 500 once, for the folders).
    *[({"timezone": name, "d0_1_from": "09:00", "d0_1_to": "10:00"}, "is not a known time zone",
       'id="timezone-error"') for name in ("America", "Europe", "Etc", "localtime", "posixrules",
                                           "../../../etc/passwd", "America/", "tzdata.zi")],
    ({"timezone": "UTC", "d1_1_from": "12:00", "d1_1_to": "09:00"},
     "Hours must end after they start (12:00 PM to 9:00 AM)",
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
    form = booking(start)
    first, second = owner.post(book_url(start), form), owner.post(book_url(start), form)
    assert first.status_code == second.status_code == 303
    assert Call.select().count() == 1
    from tests.support.calls import CALL_KINDS
    from wizard.store.models import OutboxMessage

    assert OutboxMessage.select().where(OutboxMessage.kind.in_(CALL_KINDS)).count() == 2  # owner, staff

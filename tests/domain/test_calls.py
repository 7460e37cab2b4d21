"""Booking, moving and canceling a call with Customer Success; who may; the
invitation each email carries; round robin; the race for one slot; every
refusal changing nothing."""
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from peewee import IntegrityError

from tests.support.calls import (
    MON_FRI,
    calls_emails,
    demo_staff,
    owner,
    snapshot,
    staff_member,
    utc,
)
from tests.support.helpers import subscription
from tests.support.jobs import race
from wizard.domain import availability, calls, lifecycle
from wizard import clock, refusals
from wizard.store.db import database
from wizard.store.models import AuditEvent, Call, CallOutcome, OutboxMessage, User

NY = "America/New_York"
LONDON = "Europe/London"
# Monday 30 November 2026: Casey (New York) works 14:00-22:00 UTC, Morgan
# (London) 08:30-12:30 and 13:30-16:00 UTC. From 14:00 to 15:30 both are free.
BOTH = utc(2026, 11, 30, 14, 0)
CASEY_ONLY = utc(2026, 11, 30, 17, 0)
MORGAN_ONLY = utc(2026, 11, 30, 9, 0)
# For tests of many calls of one account (round robin, races): no limit.
MANY_CALLS = replace(calls.CALL_RULES, standing_calls_per_account=99)


def now():
    return clock.now()


def user(email):
    return User.by_email(email)


# -- booking ------------------------------------------------------------------------

def test_booking_a_call(app):
    casey, morgan = demo_staff()
    made = calls.book(owner(), CASEY_ONLY, "  Can we lower the price?  ", now())
    assert made.staff_id == casey.id
    assert (made.start, made.end, made.active_start) == (
        CASEY_ONLY, CASEY_ONLY + timedelta(minutes=30), CASEY_ONLY)
    assert made.topic == "Can we lower the price?"
    assert made.status == Call.BOOKED and made.sequence == 0
    assert made.account_id == owner().account_id and made.owner_id == owner().id
    assert made.uid.startswith("call-") and made.uid.endswith("@smrtphone.test")
    assert made.created_at == made.updated_at == made.assigned_at == now()
    assert made.request_id is None
    assert AuditEvent.get(AuditEvent.kind == "call.booked").actor_id == owner().id
    assert CASEY_ONLY not in [s.start for s in availability.free_slots(now())]


def test_a_call_booked_from_the_wizard_remembers_and_saves_its_request(app):
    from wizard.store.models import CancellationRequest, OfferDecision

    sub = subscription()
    request = lifecycle.start_or_resume(sub, owner(), now())
    lifecycle.record_survey(request, "technical_problems", "", now())
    made = calls.book(owner(), BOTH, "", now(), request=request)
    assert made.request_id == request.id
    assert CancellationRequest.get_by_id(request.id).status == CancellationRequest.SAVED_BY_OFFER
    assert OfferDecision.get(OfferDecision.accepted == True).offer == "book_call"  # noqa: E712
    staff_email = calls_emails()[1]
    assert staff_email.to_address != owner().email
    # It never blocks leaving: a new request starts at once.
    assert lifecycle.start_or_resume(sub, owner(), now()).id != request.id


def test_a_call_cannot_be_booked_from_a_request_before_its_survey(app):
    from wizard.store.models import Call
    from wizard.refusals import Incomplete

    request = lifecycle.start_or_resume(subscription(), owner(), now())
    with pytest.raises(Incomplete):
        calls.book(owner(), BOTH, "", now(), request=request)
    assert Call.select().count() == 0


def test_two_calls_get_two_uids(app):
    first = calls.book(owner(), BOTH, "", now())
    second = calls.book(owner("Birch Homes"), BOTH, "", now())
    assert first.uid != second.uid
    assert {first.staff_id, second.staff_id} == {u.id for u in demo_staff()}


def test_round_robin_gives_the_call_to_whoever_had_one_longest_ago(app):
    casey, morgan = demo_staff()
    third = staff_member(NY, [(MON_FRI, "09:00", "17:00")], name="Third")
    times = [utc(2026, 11, 30, 14, 0), utc(2026, 12, 1, 14, 0), utc(2026, 12, 2, 14, 30),
             utc(2026, 12, 3, 14, 0), utc(2026, 12, 7, 14, 0)]
    given = []
    for i, at in enumerate(times):
        clock.FROZEN = clock.FROZEN + timedelta(minutes=1)
        given.append(calls.book(owner(), at, "", now(), rules=MANY_CALLS).staff_id)
    # Never-booked first, by id; then whoever was given a call longest ago.
    assert given == [casey.id, morgan.id, third.id, casey.id, morgan.id]


def test_round_robin_skips_whoever_is_busy(app):
    casey, morgan = demo_staff()
    assert calls.book(owner(), CASEY_ONLY, "", now()).staff_id == casey.id
    # Morgan never had a call, but at 17:00 on 1 December only Casey works.
    assert calls.book(owner(), utc(2026, 12, 1, 17, 0), "", now(),
                      rules=MANY_CALLS).staff_id == casey.id
    # Casey's call at 17:00 on the 30th leaves her busy at 17:30 (the buffer).
    with pytest.raises(refusals.SlotTaken):
        calls.book(owner("Birch Homes"), CASEY_ONLY + timedelta(minutes=30), "", now())


# -- refusals --------------------------------------------------------------------------

def _refused(refusal, function, *args, match=None, **kwargs):
    before = snapshot()
    with pytest.raises(refusal, match=match) as caught:
        function(*args, **kwargs)
    assert snapshot() == before, "a refusal changes nothing"
    return caught.value


@pytest.mark.parametrize("start, refusal, words", [
    (utc(2026, 11, 26, 14, 0), refusals.SlotInPast, "already passed"),
    (utc(2026, 11, 26, 15, 0), refusals.SlotInPast, "already passed"),
    (utc(2026, 11, 26, 18, 30), refusals.TooSoon, "at least 4 hours' notice"),
    (utc(2026, 12, 10, 15, 30), refusals.TooFarAhead, "at most 14 days ahead"),
    (utc(2026, 12, 14, 14, 0), refusals.TooFarAhead, "at most 14 days ahead"),
    (utc(2026, 11, 28, 15, 0), refusals.OutsideHours, "No one from Customer Success"),  # Saturday
    (utc(2026, 11, 30, 5, 0), refusals.OutsideHours, "No one"),  # night in both offices
    (utc(2026, 11, 30, 14, 10), refusals.OutsideHours, "No one"),  # off the half-hour grid
    (utc(2026, 11, 30, 22, 0), refusals.OutsideHours, "No one"),  # would end after hours
    (utc(2026, 12, 4, 15, 0), refusals.OutsideHours, "No one"),  # Casey's day off
])
def test_a_time_that_is_no_slot_is_refused(app, start, refusal, words):
    error = _refused(refusal, calls.book, owner(), start, "", now(), match=words)
    assert error.status == 422


def test_a_time_without_a_zone_or_that_is_not_a_time_is_refused(app):
    _refused(refusals.NotASlot, calls.book, owner(), BOTH.replace(tzinfo=None), "", now())
    _refused(refusals.NotASlot, calls.book, owner(), "2026-11-30T14:00:00Z", "", now())
    assert availability.parse_start("2026-11-30T14:00:00Z") == BOTH
    assert availability.parse_start("2026-11-30T09:00:00-05:00") == BOTH
    for garbage in ("", "tomorrow", "2026-11-30T14:00:00", "2026-11-30T14:00:00Z" * 3, "２０２６"):
        with pytest.raises(refusals.NotASlot):
            availability.parse_start(garbage)


def test_a_slot_already_taken_is_refused(app):
    calls.book(owner(), CASEY_ONLY, "", now())
    error = _refused(refusals.SlotTaken, calls.book, owner("Birch Homes"), CASEY_ONLY, "", now())
    assert str(error) == "That time was just taken. Please pick another."
    assert error.status == 409


def test_a_topic_too_long_is_refused(app):
    _refused(refusals.TopicTooLong, calls.book, owner(), BOTH, "x" * 501, now(),
             match="500 characters")
    made = calls.book(owner(), BOTH, "  " + "x" * 500 + "\n", now())
    assert made.topic == "x" * 500


@pytest.mark.parametrize("email", ["admin@acme.test", "agent@acme.test", "success@smrtphone.test"])
def test_only_an_account_owner_books(app, email):
    error = _refused(refusals.NotYourCall, calls.book, user(email), BOTH, "", now())
    assert error.status == 403


def test_a_request_of_another_account_is_refused(app):
    request = lifecycle.start_or_resume(subscription(account="Birch Homes"), owner("Birch Homes"), now())
    _refused(refusals.NotYourCall, calls.book, owner(), BOTH, "", now(), request=request)


# -- who may change a call ----------------------------------------------------------

def test_who_may_change_a_call(app):
    made = calls.book(owner(), BOTH, "", now())
    allowed = {email: made.manageable_by(user(email)) for email in (
        "owner@acme.test", "admin@acme.test", "agent@acme.test", "owner@birch.test",
        "success@smrtphone.test", "morgan@smrtphone.test")}
    assert allowed == {"owner@acme.test": True, "admin@acme.test": False, "agent@acme.test": False,
                       "owner@birch.test": False, "success@smrtphone.test": True,
                       "morgan@smrtphone.test": True}
    for email in ("admin@acme.test", "owner@birch.test"):
        _refused(refusals.NotYourCall, calls.reschedule, made, CASEY_ONLY, user(email), now())
        _refused(refusals.NotYourCall, calls.cancel_call, made, user(email), now())


# -- rescheduling --------------------------------------------------------------------------

def test_rescheduling_keeps_the_uid_and_bumps_the_sequence(app):
    casey, _ = demo_staff()
    made = calls.book(owner(), CASEY_ONLY, "Pricing", now())
    clock.FROZEN += timedelta(minutes=5)
    moved = calls.reschedule(made, CASEY_ONLY + timedelta(minutes=30), owner(), now())
    assert moved.id == made.id and moved.uid == made.uid
    assert moved.sequence == 1 and moved.staff_id == casey.id
    assert moved.start == moved.active_start == CASEY_ONLY + timedelta(minutes=30)
    assert moved.updated_at == now() and moved.assigned_at == made.assigned_at
    # By staff too, and again.
    again = calls.reschedule(moved, CASEY_ONLY + timedelta(hours=2), casey, now())
    assert again.sequence == 2 and again.uid == made.uid
    assert CASEY_ONLY in [s.start for s in availability.free_slots(now())]


def test_rescheduling_next_to_its_own_time_is_allowed(app):
    """The call's own time does not count against it (the buffer would)."""
    made = calls.book(owner(), CASEY_ONLY, "", now())
    moved = calls.reschedule(made, CASEY_ONLY - timedelta(minutes=30), owner(), now())
    assert moved.staff_id == made.staff_id


def test_rescheduling_to_the_same_time_changes_nothing(app):
    made = calls.book(owner(), CASEY_ONLY, "", now())
    before = snapshot()
    assert calls.reschedule(made, CASEY_ONLY, owner(), now()).sequence == 0
    assert snapshot() == before


def test_rescheduling_reassigns_when_the_staff_member_is_busy(app):
    casey, morgan = demo_staff()
    made = calls.book(owner(), MORGAN_ONLY, "", now())
    assert made.staff_id == morgan.id
    # Morgan is busy until 14:10 (13:30 is London only: New York opens at 14:00 UTC).
    blocker = calls.book(owner("Birch Homes"), utc(2026, 12, 1, 13, 30), "", now())
    assert blocker.staff_id == morgan.id
    clock.FROZEN += timedelta(minutes=1)
    moved = calls.reschedule(made, utc(2026, 12, 1, 14, 0), owner(), now())
    assert moved.staff_id == casey.id and moved.assigned_at == now()


def test_rescheduling_prefers_the_same_staff_member(app):
    casey, morgan = demo_staff()
    made = calls.book(owner(), MORGAN_ONLY, "", now())
    moved = calls.reschedule(made, BOTH, owner(), now())  # Casey never had a call, but:
    assert moved.staff_id == morgan.id


@pytest.mark.parametrize("start, refusal", [
    (utc(2026, 11, 26, 18, 30), refusals.TooSoon),
    (utc(2026, 12, 10, 15, 30), refusals.TooFarAhead),
    (utc(2026, 11, 28, 15, 0), refusals.OutsideHours),
    (utc(2026, 11, 20, 15, 0), refusals.SlotInPast),
])
def test_rescheduling_checks_the_new_time_like_booking(app, start, refusal):
    made = calls.book(owner(), BOTH, "", now())
    _refused(refusal, calls.reschedule, made, start, owner(), now())


def test_rescheduling_onto_a_taken_time_is_refused(app):
    made = calls.book(owner(), MORGAN_ONLY, "", now())
    calls.book(owner("Birch Homes"), CASEY_ONLY, "", now())
    _refused(refusals.SlotTaken, calls.reschedule, made, CASEY_ONLY, owner(), now())


def test_a_cancelled_or_past_call_cannot_be_moved(app):
    made = calls.book(owner(), BOTH, "", now())
    cancelled = calls.cancel_call(made, owner(), now())
    _refused(refusals.CallCancelled, calls.reschedule, cancelled, CASEY_ONLY, owner(), now())
    other = calls.book(owner(), CASEY_ONLY, "", now())
    clock.FROZEN = CASEY_ONLY + timedelta(minutes=1)
    _refused(refusals.CallTookPlace, calls.reschedule, other, utc(2026, 12, 1, 17, 0), owner(), now())
    _refused(refusals.CallTookPlace, calls.cancel_call, other, owner(), now())


def test_a_stale_copy_of_the_call_cannot_move_it_twice(app):
    made = calls.book(owner(), CASEY_ONLY, "", now())
    calls.reschedule(made, CASEY_ONLY + timedelta(hours=1), owner(), now())
    # `made` still says sequence 0; the function re-reads the row before it moves.
    moved = calls.reschedule(made, CASEY_ONLY + timedelta(hours=2), owner(), now())
    assert moved.sequence == 2


# -- cancelling ------------------------------------------------------------------------

def test_cancelling_frees_the_time_and_bumps_the_sequence(app):
    made = calls.book(owner(), CASEY_ONLY, "", now())
    cancelled = calls.cancel_call(made, user("success@smrtphone.test"), now())
    assert cancelled.status == Call.CANCELLED and cancelled.active_start is None
    assert cancelled.sequence == 1 and cancelled.uid == made.uid and cancelled.start == CASEY_ONLY
    again = calls.book(owner("Birch Homes"), CASEY_ONLY, "", now())
    assert again.staff_id == made.staff_id  # the unique index lets the time be taken again
    error = _refused(refusals.CallCancelled, calls.cancel_call, cancelled, owner(), now())
    assert str(error) == "This call has already been canceled."


# -- the database's guard --------------------------------------------------------------------

def test_the_database_refuses_two_standing_calls_of_one_staff_member_at_one_time(app):
    made = calls.book(owner(), CASEY_ONLY, "", now())
    copy = {k: v for k, v in made.__data__.items() if k != "id"}
    with pytest.raises(IntegrityError), database.atomic():
        Call.create(**dict(copy, uid="another"))
    # A cancelled call's time (NULL) collides with nothing.
    Call.create(**dict(copy, uid="canceled-1", active_start=None, status=Call.CANCELLED))
    Call.create(**dict(copy, uid="canceled-2", active_start=None, status=Call.CANCELLED))


def _stale_calls(monkeypatch):
    """Make the domain blind to standing calls, as if another booking had
    committed after it looked: only the unique index is left to guard."""
    monkeypatch.setattr(Call, "active_between", classmethod(lambda cls, *a, **k: []))


def _occupy(staff, at):
    """A standing call of `staff` at `at`, written behind the domain's back."""
    return Call.create(account=owner("Birch Homes").account_id, owner=owner("Birch Homes"),
                          staff=staff, start=at, end=at + timedelta(minutes=30), active_start=at,
                          uid=f"behind-{staff.id}-{at:%Y%m%d%H%M}", assigned_at=now() - timedelta(days=1),
                          created_at=now(), updated_at=now())


def test_when_the_index_says_taken_the_next_free_staff_member_gets_the_call(app, monkeypatch):
    casey, morgan = demo_staff()
    _occupy(casey, BOTH)  # Casey was given a call a day ago; Morgan never: Morgan first ...
    _occupy(morgan, MORGAN_ONLY)
    Call.update(assigned_at=now()).where(Call.staff == morgan).execute()  # ... now Casey first
    _stale_calls(monkeypatch)
    made = calls.book(owner(), BOTH, "", now())
    assert made.staff_id == morgan.id
    from tests.support.jobs import new_account
    from wizard.dev.demo import ensure_plans

    other = new_account(ensure_plans(), app.config["RECORDINGS_DIR"], now())  # neither Acme nor Birch
    error = _refused(refusals.SlotTaken, calls.book, other.owner(), BOTH, "", now())
    assert str(error) == "That time was just taken. Please pick another."


def test_a_reschedule_that_meets_the_index_tries_the_next_staff_member(app, monkeypatch):
    casey, morgan = demo_staff()
    made = calls.book(owner(), MORGAN_ONLY, "", now())
    _occupy(morgan, BOTH)
    _stale_calls(monkeypatch)
    # Morgan (the call's own, so preferred) is taken by the index at 14:00: Casey gets it.
    moved = calls.reschedule(made, BOTH, owner(), now())
    assert moved.staff_id == casey.id and moved.sequence == 1
    _occupy(casey, CASEY_ONLY)
    _refused(refusals.SlotTaken, calls.reschedule, moved, CASEY_ONLY, owner(), now())
    assert Call.get_by_id(moved.id).start == BOTH


# -- the race ----------------------------------------------------------------------------------

def test_two_owners_racing_for_the_last_free_slot_get_one_call_and_one_refusal(app):
    """Only Casey works then: one booking, one 'just taken', on either database."""
    casey, _ = demo_staff()
    owners = [owner(), owner("Birch Homes")]
    for round_number, days in enumerate([0, 1, 2, 3, 7, 8]):  # Casey's working days
        at = CASEY_ONLY + timedelta(days=days)
        results = []

        def attempt(person):
            def run():
                try:
                    results.append(calls.book(person, at, "", clock.now(), rules=MANY_CALLS).id)
                except refusals.SlotTaken as error:
                    results.append(str(error))
                finally:
                    database.close()
            return run

        race(attempt(owners[0]), attempt(owners[1]), first_starts=round_number % 2 == 0)
        booked = [r for r in results if isinstance(r, int)]
        assert len(booked) == 1, f"round {round_number}: {results}"
        assert results.count("That time was just taken. Please pick another.") == 1, results
        assert Call.select().where((Call.start == at) & (Call.staff == casey)).count() == 1
    assert OutboxMessage.select().count() == 2 * Call.select().count()


def test_one_owner_posting_one_slot_twice_at_once_gets_one_call(app):
    """Two tabs, or a double post: both staff members are free at 14:00, so
    without the account's unique key each post would take one of them."""
    for round_number, days in enumerate([0, 1, 2, 3]):
        at = BOTH + timedelta(days=days)

        def attempt():
            try:
                return calls.book(owner(), at, "", clock.now(), rules=MANY_CALLS).id
            finally:
                database.close()

        raced = race(attempt, attempt, first_starts=round_number % 2 == 0)
        assert raced.results[0] == raced.results[1], f"round {round_number}: {raced}"
        assert Call.select().where(Call.active_start == at).count() == 1
    assert OutboxMessage.select().count() == 2 * Call.select().count(), "one pair of emails a call"


def test_the_database_refuses_two_standing_calls_of_one_account_at_one_time(app):
    casey, morgan = demo_staff()
    made = calls.book(owner(), BOTH, "", now())
    other = morgan if made.staff_id == casey.id else casey
    with pytest.raises(IntegrityError), database.atomic():
        Call.create(account=made.account_id, owner=made.owner_id, staff=other.id, start=BOTH,
                    end=made.end, active_start=BOTH, uid="call-twice@smrtphone.test",
                    assigned_at=now(), created_at=now(), updated_at=now())


def test_an_account_holds_one_call_ahead_and_is_pointed_at_it(app):
    first = calls.book(owner(), CASEY_ONLY, "", now())
    error = _refused(refusals.CallAlreadyBooked, calls.book, owner(), MORGAN_ONLY, "", now())
    assert error.call.id == first.id and error.status == 409
    assert "You already have a call with Customer Success on Monday, November 30, 2026 at " \
           "12:00 PM EST. You can move that call to another time instead." == str(error)
    # The same time again is the call already booked (a double post), not a refusal.
    assert calls.book(owner(), CASEY_ONLY, "", now()).id == first.id
    # Once it is cancelled, or has taken place, another can be booked.
    calls.cancel_call(first, owner(), now())
    second = calls.book(owner(), MORGAN_ONLY, "", now())
    clock.FROZEN = second.end + timedelta(minutes=1)
    assert calls.calls_ahead(owner().account_id, clock.now()) == []
    assert calls.book(owner(), utc(2026, 12, 1, 17, 0), "", clock.now()).is_booked


def test_one_owner_booking_two_times_at_once_gets_one_call(app):
    """Two tabs, two different times: each alone would pass the count of calls
    ahead; the account's row lock makes the second count the first's."""
    for round_number, days in enumerate([0, 1]):
        Call.update(status=Call.CANCELLED, active_start=None).execute()
        results = []

        def attempt(at):
            def run():
                try:
                    results.append(calls.book(owner(), at, "", clock.now()).id)
                except refusals.CallAlreadyBooked as error:
                    results.append(error.call.id)
                finally:
                    database.close()
            return run

        race(attempt(BOTH + timedelta(days=days)), attempt(CASEY_ONLY + timedelta(days=days)),
             first_starts=round_number % 2 == 0)
        assert len(results) == 2 and results[0] == results[1], f"round {round_number}: {results}"
        assert Call.select().where(Call.status == Call.BOOKED).count() == 1


def test_the_number_to_call_is_kept_in_e164(app):
    made = calls.book(owner(), CASEY_ONLY, "", now())
    assert made.callback_number == "+16175550101", "by default the account's main number"
    calls.cancel_call(made, owner(), now())
    abroad = calls.book(owner(), MORGAN_ONLY, "", now(), number="+44 20 7946 0958")
    assert abroad.callback_number == "+442079460958"
    for typed, words in [("", "Enter the number we will call."),
                         ("555-010-0123", "Enter a phone number we can call, like (201) 555-0123."),
                         ("call me maybe", "like (201) 555-0123"), ("1" * 41, "like (201)")]:
        _refused(refusals.NotAPhoneNumber, calls.book, owner("Birch Homes"), BOTH, "", now(),
                 number=typed, match=re.escape(words))


def test_the_migration_keeps_the_first_of_calls_booked_twice_before_it(app):
    from wizard.store import migrations

    casey, morgan = demo_staff()
    first = calls.book(owner(), BOTH, "", now())
    other = morgan if first.staff_id == casey.id else casey
    database.execute_sql("DROP INDEX call_account_id_active_start")
    second = Call.create(account=first.account_id, owner=first.owner_id, staff=other.id, start=BOTH,
                         end=first.end, active_start=BOTH, uid="call-twice@smrtphone.test",
                         assigned_at=now(), created_at=now(), updated_at=now())
    migrations._one_call_per_account_at_a_time(database.obj, None)
    assert Call.get_by_id(first.id).active_start == BOTH
    kept_aside = Call.get_by_id(second.id)
    assert (kept_aside.status, kept_aside.active_start) == (Call.CANCELLED, None)
    assert "call_account_id_active_start" in {i.name for i in database.get_indexes("booking")}


def test_racing_for_neighbouring_slots_of_one_staff_member_keeps_the_buffer(app):
    """17:00 and 17:30 are different starts (no unique clash) but too close."""
    casey, _ = demo_staff()
    results = []

    def attempt(person, at):
        def run():
            try:
                results.append(calls.book(person, at, "", clock.now()).start)
            except refusals.SlotTaken:
                results.append("taken")
            finally:
                database.close()
        return run

    race(attempt(owner(), CASEY_ONLY), attempt(owner("Birch Homes"), CASEY_ONLY + timedelta(minutes=30)))
    assert sorted(map(str, results)).count("taken") == 1, results
    assert Call.select().where(Call.active_start.is_null(False)).count() == 1


# -- lists -------------------------------------------------------------------------------------

def test_an_owners_and_a_staff_members_calls_load_in_one_query(app, count_queries):
    casey, morgan = demo_staff()
    first = calls.book(owner(), CASEY_ONLY, "", now())
    second = calls.book(owner(), MORGAN_ONLY, "", now(), rules=MANY_CALLS)
    calls.book(owner("Birch Homes"), BOTH, "", now())
    acme = owner().account
    with count_queries() as counted:
        listed = Call.of_account(acme)
        shown = [(c.staff.name, c.owner.email, c.account.name) for c in listed]
    assert counted.count == 1
    assert [c.id for c in listed] == [second.id, first.id]  # soonest first
    assert shown == [("Morgan Reed", "owner@acme.test", "Acme Realty"),
                     ("Casey Success", "owner@acme.test", "Acme Realty")]
    assert [c.id for c in Call.of_account(owner().account, upcoming_from=CASEY_ONLY)] == [first.id]
    with count_queries() as counted:
        mine = [(c.account.name, c.owner.name) for c in Call.with_people().where(Call.staff == casey)]
    assert counted.count == 1
    # Birch's call at 14:00 went to Casey too (a tie with Morgan, broken by id).
    assert mine == [("Birch Homes", "Ben Birch"), ("Acme Realty", "Olivia Owens")]
    assert Call.by_id(first.id).uid == first.uid


# -- outcomes ----------------------------------------------------------------------------------

def test_staff_record_how_a_call_went(app):
    casey, morgan = demo_staff()
    made = calls.book(owner(), CASEY_ONLY, "", now())
    clock.FROZEN = CASEY_ONLY + timedelta(minutes=35)
    held = calls.record_outcome(made, morgan, True, CallOutcome.SAVED, "  Moved to Starter.  ", now())
    assert (held.status, held.outcome, held.outcome_notes) == (Call.HELD, "saved", "Moved to Starter.")
    assert held.outcome_by_id == morgan.id and held.outcome_at == now()
    assert held.active_start == CASEY_ONLY  # its time stays taken
    corrected = calls.record_outcome(held, casey, False, None, "", now())
    assert (corrected.status, corrected.outcome) == (Call.NO_SHOW, None)
    _refused(refusals.FollowUpDate, calls.record_outcome, held, casey, False, CallOutcome.FOLLOW_UP,
             "Call back Monday", now())  # a follow-up needs its day
    follow = calls.record_outcome(held, casey, False, CallOutcome.FOLLOW_UP, "Call back Monday", now(),
                                  follow_up_on=now().date() + timedelta(days=4))
    assert follow.outcome == CallOutcome.FOLLOW_UP and CallOutcome.NAMES[follow.outcome] == "Needs a follow-up"
    _refused(refusals.CallTookPlace, calls.cancel_call, follow, owner(), now())


def test_recording_an_outcome_is_refused_when_it_cannot_be(app):
    casey, _ = demo_staff()
    made = calls.book(owner(), CASEY_ONLY, "", now())
    _refused(refusals.CallNotYet, calls.record_outcome, made, casey, True, CallOutcome.SAVED, "", now())
    clock.FROZEN = CASEY_ONLY + timedelta(minutes=1)
    _refused(refusals.StaffOnly, calls.record_outcome, made, owner(), True, CallOutcome.SAVED, "", now())
    _refused(refusals.UnknownOutcome, calls.record_outcome, made, casey, True, None, "", now())
    _refused(refusals.UnknownOutcome, calls.record_outcome, made, casey, True, "maybe", "", now())
    _refused(refusals.NotesTooLong, calls.record_outcome, made, casey, True, CallOutcome.SAVED,
             "x" * 2001, now())
    other = calls.book(owner(), utc(2026, 12, 1, 17, 0), "", now())
    cancelled = calls.cancel_call(other, owner(), now())
    clock.FROZEN = utc(2026, 12, 1, 17, 5)
    _refused(refusals.CallCancelled, calls.record_outcome, cancelled, casey, True, CallOutcome.SAVED,
             "", now())


# -- the purge ---------------------------------------------------------------------------------

def test_the_purge_erases_the_accounts_calls_and_keeps_the_staff(app):
    from tests.support.jobs import confirm_through_domain
    from wizard.domain import purge
    from wizard.store.models import Account, PurgeSchedule

    acme = Account.get(Account.name == "Acme Realty")
    calls.book(owner(), CASEY_ONLY, "", now())
    kept = calls.book(owner("Birch Homes"), BOTH, "", now())
    confirm_through_domain(acme, now())
    schedule = PurgeSchedule.get(PurgeSchedule.account_id == acme.id)
    clock.FROZEN = schedule.due_at + timedelta(minutes=1)
    claimed = purge.claim_schedule(schedule.id, schedule.generation, "test", now())
    record = purge.run(claimed, "test", clock.now, app.config["RECORDINGS_DIR"],
                       exports_dir=app.config["EXPORTS_DIR"])
    assert record.verified and '"calls": 1' in record.counts
    assert [b.id for b in Call.select()] == [kept.id]
    assert all(u is not None for u in demo_staff())

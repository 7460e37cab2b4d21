"""Follow-ups: a call's "Needs a follow-up" outcome makes a task for the
staff member who held it; *My follow-ups* lists it, due first; it is done
with a note; the sweep emails its staff member on the due morning in their
own time zone, once, across a daylight-saving change too. Bad days and
other people's tasks are refused with nothing changed."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.calls import a_call
from tests.support.helpers import all_rows, refused_form, text
from wizard import clock
from wizard.domain import sweep as sweep_work
from wizard.store.models import FollowUp, OutboxMessage, User

NEW_YORK = ZoneInfo("America/New_York")


def held_call():
    call = a_call()
    clock.FROZEN = call.end + timedelta(minutes=5)
    return call


def record(staff, call, outcome="follow_up", day=None, notes="Send the Starter price list"):
    prefix = f"call{call.id}-"
    form = {prefix + "held": "held", prefix + "outcome": outcome, prefix + "notes": notes}
    if day is not None:
        form[prefix + "follow_up_on"] = day
    return staff.post(f"/success/calls/{call.id}/outcome", form)


def staff_today():
    staff = User.by_email("success@smrtphone.test")
    return clock.now().astimezone(ZoneInfo(staff.timezone or "UTC")).date()


def test_a_follow_up_is_made_listed_due_first_and_done_with_a_note(sign_in):
    call = held_call()
    staff = sign_in("success")
    due = staff_today() + timedelta(days=3)
    assert record(staff, call, day=due.isoformat()).status_code == 303
    (follow_up,) = FollowUp.select()
    assert (follow_up.due_on, follow_up.staff_id, follow_up.done_at) == (
        due, call.staff_id, None)
    page = text(staff.get("/success/follow-ups"))
    assert "<bdi>Acme Realty</bdi>: due" in page and "Send the Starter price list" in page

    # Recording the call again moves the task; it is never doubled.
    later = due + timedelta(days=2)
    assert record(staff, call, day=later.isoformat()).status_code == 303
    assert [(f.due_on) for f in FollowUp.select()] == [later]

    missing = staff.post(f"/success/follow-ups/{follow_up.id}/done", {f"done{follow_up.id}-note": ""})
    assert "Please say what came of the follow-up." in text(refused_form(staff, missing))
    done = staff.post(f"/success/follow-ups/{follow_up.id}/done",
                      {f"done{follow_up.id}-note": "Moved them to Starter"})
    assert done.status_code == 303
    assert FollowUp.get().done_note == "Moved them to Starter"
    assert "No follow-ups are waiting for you." in text(staff.get("/success/follow-ups"))
    again = staff.post(f"/success/follow-ups/{follow_up.id}/done", {f"done{follow_up.id}-note": "x"})
    assert again.status_code == 409 and "already done" in text(again)


def test_another_outcome_removes_an_open_follow_up(sign_in):
    call = held_call()
    staff = sign_in("success")
    record(staff, call, day=(staff_today() + timedelta(days=1)).isoformat())
    assert FollowUp.select().count() == 1
    assert record(staff, call, outcome="saved").status_code == 303
    assert FollowUp.select().count() == 0


@pytest.mark.parametrize("day, message", [
    (None, "Please choose the day to follow up."),
    ("yesterday", "Not a valid date value."),
    (-1, "The follow-up day must be today or later."),
    (366, "Please choose a follow-up day within a year."),
])
def test_a_follow_up_day_that_cannot_be_is_refused_at_its_field(sign_in, day, message):
    call = held_call()
    staff = sign_in("success")
    before = all_rows()
    if isinstance(day, int):
        day = (staff_today() + timedelta(days=day)).isoformat()
    response = record(staff, call, day=day)
    assert message in text(refused_form(staff, response))
    assert all_rows() == before, "nothing recorded"


def test_only_the_staff_member_who_holds_it_completes_a_follow_up(sign_in):
    call = held_call()
    staff = sign_in("success")
    record(staff, call, day=staff_today().isoformat())
    follow_up = FollowUp.get()
    other = User.create(email="other-success@smrtphone.test", name="Sam Other", password_hash="x",
                        role="success", timezone="Europe/London")
    FollowUp.update(staff=other.id).where(FollowUp.id == follow_up.id).execute()
    before = all_rows()
    response = staff.post(f"/success/follow-ups/{follow_up.id}/done", {f"done{follow_up.id}-note": "x"})
    assert response.status_code == 404
    assert all_rows() == before
    assert sign_in("owner").get("/success/follow-ups").status_code == 403


def test_the_reminder_goes_on_the_due_morning_in_the_staff_time_zone_once_across_dst(app, sign_in):
    """Due on Sunday 2027-03-14, the day New York springs forward: nothing at
    07:59 there, one email from 08:00 on, never a second."""
    staff_user = User.by_email("success@smrtphone.test")
    User.update(timezone="America/New_York").where(User.id == staff_user.id).execute()
    call = held_call()
    staff = sign_in("success")
    due = date(2027, 3, 14)
    clock.FROZEN = datetime(2027, 3, 10, 12, 0, tzinfo=NEW_YORK)
    assert record(staff, call, day=due.isoformat()).status_code == 303

    def sweep_at(local):
        clock.FROZEN = local.replace(tzinfo=NEW_YORK)
        sweep_work.run(clock.now(), None)
        return OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.FOLLOW_UP_DUE).count()

    assert sweep_at(datetime(2027, 3, 13, 8, 0)) == 0, "the day before"
    assert sweep_at(datetime(2027, 3, 14, 7, 59)) == 0
    assert clock.now().utcoffset() == timedelta(hours=-4), "daylight time already"
    assert sweep_at(datetime(2027, 3, 14, 8, 0)) == 1
    assert sweep_at(datetime(2027, 3, 14, 17, 0)) == 1
    assert sweep_at(datetime(2027, 3, 15, 9, 0)) == 1, "once"
    message = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.FOLLOW_UP_DUE)
    assert message.to_address == "success@smrtphone.test"
    assert "Acme Realty" in message.body and "Send the Starter price list" in message.body


def test_a_follow_up_done_before_its_morning_sends_nothing(sign_in):
    call = held_call()
    staff = sign_in("success")
    record(staff, call, day=(staff_today() + timedelta(days=2)).isoformat())
    follow_up = FollowUp.get()
    staff.post(f"/success/follow-ups/{follow_up.id}/done", {f"done{follow_up.id}-note": "Called early"})
    clock.FROZEN = clock.now() + timedelta(days=3)
    sweep_work.run(clock.now(), None)
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.FOLLOW_UP_DUE).count() == 0


def test_a_morning_missed_by_more_than_two_days_sends_nothing_late(sign_in):
    """The sweep looks at the days around today only (followups.REMINDER_WINDOW),
    as the other reminders have their windows."""
    call = held_call()
    staff = sign_in("success")
    record(staff, call, day=(staff_today() + timedelta(days=1)).isoformat())
    clock.FROZEN = clock.now() + timedelta(days=5)  # the sweep was down all that time
    sweep_work.run(clock.now(), None)
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.FOLLOW_UP_DUE).count() == 0
    assert FollowUp.get().done_at is None, "the task itself still waits on My follow-ups"

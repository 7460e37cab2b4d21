"""Follow-ups: what a call's "Needs a follow-up" outcome leaves to do.

Recording that outcome asks for a day and makes one task for the staff
member who held the call (re-recording the call moves it; another outcome
removes it while it is open). *My follow-ups* lists a staff member's open
tasks, due first; one is done with a note saying what came of it. On the
due morning (FOLLOW_UP_REMINDER_AT, the staff member's own time zone) the
sweep emails them once; a task done before then has its email voided.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from wizard.refusals import FollowUpDate, FollowUpDone, NotesTooLong, StaffOnly
from wizard.store.db import transaction
from wizard.store.models import Account, Call, CallOutcome, FollowUp, User
from . import mail, outbox
from .policy import CALL_RULES, clean_text

FOLLOW_UP_WITHIN = timedelta(days=365)
FOLLOW_UP_REMINDER_AT = time(8, 0)
REMINDER_WINDOW = timedelta(days=2)  # how late a missed morning's email may still go


def staff_today(staff, now):
    return now.astimezone(ZoneInfo(staff.timezone or "UTC")).date()


def check_day(due_on, staff, now):
    """Refuse a follow-up day before today or more than a year ahead (the staff member's today)."""
    today = staff_today(staff, now)
    if due_on is None:
        raise FollowUpDate("Please choose the day to follow up.")
    if due_on < today:
        raise FollowUpDate("The follow-up day must be today or later.")
    if due_on > today + FOLLOW_UP_WITHIN:
        raise FollowUpDate("Please choose a follow-up day within a year.")


def settle_for_call(call, outcome, due_on, now):
    """In the transaction that records the call's outcome: make or move its
    follow-up for "follow_up", or remove an open one for any other outcome."""
    existing = FollowUp.get_or_none(FollowUp.call == call.id)
    if outcome != CallOutcome.FOLLOW_UP:
        if existing is not None and existing.done_at is None:
            existing.delete_instance()
            outbox.void_by_key(reminder_key(existing))
        return None
    if existing is None:
        return FollowUp.create(call=call.id, account=call.account_id, staff=call.staff_id,
                               due_on=due_on, created_at=now)
    if existing.done_at is None and existing.due_on != due_on:
        outbox.void_by_key(reminder_key(existing))
        FollowUp.update(due_on=due_on).where(FollowUp.id == existing.id).execute()
    return FollowUp.get_by_id(existing.id)


def open_for(staff):
    """The staff member's open follow-ups, due first, with the call, account and owner."""
    owner = User.alias()
    return list(FollowUp.select(FollowUp, Call, Account, owner)
                .join(Call).join(Account, on=(Call.account == Account.id))
                .switch(Call).join(owner, on=(Call.owner == owner.id))
                .where((FollowUp.staff == staff.id) & FollowUp.done_at.is_null())
                .order_by(FollowUp.due_on, FollowUp.id))


def own(follow_up_id, staff):
    """The staff member's own follow-up of that id, or None (another's is not theirs to see)."""
    return FollowUp.get_or_none((FollowUp.id == follow_up_id) & (FollowUp.staff == staff.id))


def complete(follow_up, staff, note, now):
    """Mark the staff member's own follow-up done, with what came of it."""
    if not staff.is_success_staff:
        raise StaffOnly()
    note = clean_text(note, CALL_RULES.notes_max_length, NotesTooLong)
    if not note:
        raise FollowUpDone("Please say what came of the follow-up.")
    with transaction():
        done = (FollowUp.update(done_at=now, done_note=note)
                .where((FollowUp.id == follow_up.id) & FollowUp.done_at.is_null()).execute())
        if not done:
            raise FollowUpDone("This follow-up is already done.")
        outbox.void_by_key(reminder_key(follow_up))
    return FollowUp.get_by_id(follow_up.id)


def reminder_key(follow_up):
    return f"follow-up-due:{follow_up.id}:{follow_up.due_on.isoformat()}"


def compose_reminders(now, links=None):
    """The emails of the follow-ups whose due morning has come in their staff
    member's time zone; return how many are new (each goes once).

    Only the days around today (in any zone) are looked at, as the erasure
    and call reminders have their windows: a task left open for weeks is not
    composed again on every sweep, and a sweep down for longer than
    REMINDER_WINDOW sends nothing late."""
    composed = 0
    today = now.date()
    due = (FollowUp.select(FollowUp, User).join(User, on=(FollowUp.staff == User.id))
           .where(FollowUp.done_at.is_null()
                  & FollowUp.due_on.between(today - REMINDER_WINDOW, today + timedelta(days=1))))
    for follow_up in due:
        staff = follow_up.staff
        local = now.astimezone(ZoneInfo(staff.timezone or "UTC"))
        morning = datetime.combine(follow_up.due_on, FOLLOW_UP_REMINDER_AT, local.tzinfo)
        if local >= morning:
            composed += mail.follow_up_due(follow_up, staff, reminder_key(follow_up), now, links).is_new
    return composed

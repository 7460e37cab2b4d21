"""Calls with Customer Success: book one, move it, cancel it, record how it went.

Plain functions, one transaction each; no Flask and no RQ. Each takes the
time as `now` (from wizard.clock) and raises a wizard.refusals.Refusal,
having changed nothing, when it cannot be honoured. Emails (with their
calendar invitations) are composed in the same transaction; the caller
enqueues them after the commit (queue.enqueue_account_work).

Double booking is impossible by construction: a standing call holds its
start in `Call.active_start`, unique with the staff member. Inside the
transaction the candidates' rows are locked in id order (PostgreSQL; SQLite
holds its one write lock) and their calls re-read, so two bookings of one
staff member never come closer than the buffer; should an insert still meet
the unique index, the slot went to someone else a moment ago and the next
free staff member is tried. A second unique index, of the account and the
start, settles two posts of one owner's booking: the second finds the
first's call and returns it, so one call and one pair of emails result.
An account holds at most `standing_calls_per_account` calls ahead: the
bookings of one account take its row's lock first (PostgreSQL; SQLite's
write lock does the same), so two tabs booking two times count each other.
"""
import uuid
from datetime import timedelta

from peewee import IntegrityError

from . import followups, formatting, lifecycle, mail, outbox, phones
from .availability import Availability, as_utc
from wizard.store.db import database, locked, transaction
from wizard.store.models import Account, AuditEvent, Call, CallOutcome, PhoneNumber, User
from .policy import CALL_RULES, clean_text
from wizard.refusals import (
    CallAlreadyBooked,
    CallCancelled,
    CallChanged,
    CallNotYet,
    CallTookPlace,
    NotesTooLong,
    NotYourCall,
    SlotTaken,
    StaffOnly,
    TopicTooLong,
    UnknownOutcome,
)

# Calls are shorter than this: re-reading a staff member's calls from this
# long before a start finds every call that could clash with it.
LOOK_BACK = timedelta(days=1)


def require_manager(user, call):
    """The one rule of who may reschedule or cancel a call: its account's
    owner, or any Customer Success staff. Anyone else: NotYourCall (403)."""
    if not call.manageable_by(user):
        raise NotYourCall()


def _round_robin(staff_ids, prefer=None):
    """Order the staff: whoever was given a call longest ago first (never, first
    of all), ties by id; `prefer` (the call's current staff member) before all."""
    last = Call.last_assigned(staff_ids)
    order = sorted(staff_ids, key=lambda i: (i in last, last.get(i), i))
    if prefer in order:
        order.remove(prefer)
        order.insert(0, prefer)
    return order


def _candidates(staff_ids, start, end, rules, ignoring=None, prefer=None):
    """Within the transaction: lock the staff rows, re-read their calls, and
    return those still free at [start, end), in the order to try them."""
    list(locked(User.select(User.id).where(User.id.in_(staff_ids)).order_by(User.id)))
    busy = {staff_id for staff_id, s, e in Call.active_between(
                start - LOOK_BACK, end + rules.buffer, ignoring=ignoring, staff_ids=staff_ids)
            if rules.clashes(start, end, s, e)}
    return _round_robin([i for i in staff_ids if i not in busy], prefer)


def _unless_taken(write):
    """Run `write` in a savepoint; None if the unique index says the slot is taken."""
    try:
        with database.atomic():
            return write()
    except IntegrityError:
        return None


def calls_ahead(account_id, now):
    """The account's calls still booked ahead of `now`, soonest first."""
    return [call for call in Call.booked_of_account(account_id, now) if call.start > now]


def call_to_move_instead(account_id, now, rules=CALL_RULES):
    """The account's soonest call ahead when it holds as many calls ahead as
    it may (rules.standing_calls_per_account), else None: another booking is
    then refused, and the booking page offers to move this one."""
    ahead = calls_ahead(account_id, now)
    return ahead[0] if len(ahead) >= rules.standing_calls_per_account else None


def _refuse_another(account, now, rules):
    """CallAlreadyBooked when the account holds as many calls ahead as it may."""
    ahead = call_to_move_instead(account.id, now, rules)
    if ahead is not None:
        raise CallAlreadyBooked(ahead, formatting.local_datetime(ahead.start, account.timezone))


def _number_to_call(owner, number):
    """The number as E.164: `number` as the owner typed it, or (None) the account's main one."""
    account = owner.account
    if number is None:
        main = PhoneNumber.main_of(account.id)
        return main.e164 if main else None
    return phones.parse_number(number, account.timezone)


def _standing_or_free(owner, start, now, rules):
    """Before booking at `start`: (the account's call there, None) when a
    double post booked it already; else (None, the staff free then).
    CallAlreadyBooked for one call ahead too many, SlotTaken when no one is free."""
    standing = Call.standing_at(owner.account_id, start)
    if standing is not None:
        return standing, None
    _refuse_another(owner.account, now, rules)
    try:
        return None, Availability.load(now, rules).free_staff_or_refuse(start)
    except SlotTaken:
        # Taken by this account's own post of a moment ago?
        standing = Call.standing_at(owner.account_id, start)
        if standing is None:
            raise
        return standing, None


def book(owner, start_utc, topic, now, request=None, rules=CALL_RULES, links=None, number=None):
    """Book a call at `start_utc` for `owner` (an Account Owner); return the Call.

    `request`: the cancellation request the call was booked from, if any;
    it ends as saved by the "Book a call" offer, in the same transaction.
    `number`: the number Customer Success calls, as the owner wrote it
    (NotAPhoneNumber if it is none); None takes the account's main number.
    The staff member is the free one given a call longest ago. An account
    holds at most `rules.standing_calls_per_account` calls ahead: one more
    is CallAlreadyBooked, naming the call to move instead.
    """
    if not owner.is_owner or (request is not None and request.account_id != owner.account_id):
        raise NotYourCall()
    topic = clean_text(topic, rules.topic_max_length, TopicTooLong)
    callback_number = _number_to_call(owner, number)
    start = as_utc(start_utc)
    standing, free = _standing_or_free(owner, start, now, rules)
    if standing is not None:  # a double click, a reload: the call is booked already
        return standing
    end = start + rules.duration
    with transaction():
        # Two bookings of one account (two tabs, two times) queue here, so
        # the second counts the first's call.
        list(locked(Account.select(Account.id).where(Account.id == owner.account_id),
                    "FOR NO KEY UPDATE"))
        standing = Call.standing_at(owner.account_id, start)
        if standing is not None:
            return standing
        _refuse_another(owner.account, now, rules)
        for staff_id in _candidates(free, start, end, rules):
            call = _unless_taken(lambda: Call.create(
                account=owner.account_id, owner=owner, staff=staff_id, request=request,
                start=start, end=end, active_start=start, topic=topic,
                callback_number=callback_number,
                uid=f"call-{uuid.uuid4().hex}@smrtphone.test", sequence=0, status=Call.BOOKED,
                assigned_at=now, created_at=now, updated_at=now))
            if call is None:
                continue
            call = Call.get_by_id(call.id)
            mail.call_booked(call, now, links)
            AuditEvent.record("call.booked", owner.account_id, owner, None, now, call=call.id,
                              staff=staff_id, start=start.isoformat())
            if request is not None:
                # Booked from the wizard's offers: the request ends as saved, pending
                # the call. It never blocks leaving: a new request can start at once.
                lifecycle.accept_offer(request, owner, "book_call", None, now)
            return call
        # Nobody free, or every insert met a unique index: if one was this
        # account's own, a second tab or a double post booked it a moment ago.
        standing = Call.standing_at(owner.account_id, start)
        if standing is not None:
            return standing
        raise SlotTaken()


def _why_unchangeable(call_id):
    """The refusal for a call that is no longer booked (or changed under us)."""
    current = Call.get_by_id(call_id)
    if current.is_cancelled:
        return CallCancelled()
    if current.has_taken_place:
        return CallTookPlace()
    return CallChanged()


def _require_changeable(call, now):
    if call.is_cancelled:
        raise CallCancelled()
    if call.has_taken_place or call.start <= now:
        raise CallTookPlace()


def reschedule(call, new_start, actor, now, rules=CALL_RULES, links=None, drawn_sequence=None):
    """Move a booked call to `new_start`; return the Call as it now stands.

    The same checks as booking. The UID stays; SEQUENCE grows. The call
    keeps its staff member when they are free then, else goes to the free
    one given a call longest ago. Moving a call to its own time changes
    nothing (a double click). `drawn_sequence`: the call's SEQUENCE when the
    page was drawn; a call moved or changed since is CallChanged (409), so of
    moves posted at once from pages drawn together, one applies.
    """
    require_manager(actor, call)
    current = call.refreshed()
    _require_changeable(current, now)
    start = as_utc(new_start)
    if start == current.start:
        return current
    if drawn_sequence is not None and drawn_sequence != current.sequence:
        raise CallChanged()
    free = Availability.load(now, rules, ignoring=current.id).free_staff_or_refuse(start)
    end = start + rules.duration
    with transaction():
        for staff_id in _candidates(free, start, end, rules, ignoring=current.id,
                                    prefer=current.staff_id):
            changes = dict(start=start, end=end, active_start=start, staff=staff_id,
                           sequence=Call.sequence + 1, updated_at=now)
            if staff_id != current.staff_id:
                changes["assigned_at"] = now
            moved = _unless_taken(lambda: Call.update(**changes).where(
                (Call.id == current.id) & (Call.status == Call.BOOKED)
                & (Call.sequence == current.sequence)).execute())
            if moved is None:
                continue
            if not moved:
                latest = current.refreshed()
                if latest.is_booked and latest.start == start:
                    return latest  # the same move, posted twice at once
                raise _why_unchangeable(current.id)
            fresh = current.refreshed()
            outbox.void_call_reminders(fresh.id)
            mail.call_rescheduled(fresh, current.staff, now, links)
            AuditEvent.record("call.rescheduled", fresh.account_id, actor, None, now,
                              call=fresh.id, staff=staff_id, start=start.isoformat(),
                              previous_start=current.start.isoformat())
            return fresh
        raise SlotTaken()


def cancel_call(call, actor, now, links=None):
    """Cancel a booked call; return the Call. Its time is free again at once."""
    require_manager(actor, call)
    with transaction():
        cancelled = Call.update(
            status=Call.CANCELLED, active_start=None, sequence=Call.sequence + 1, updated_at=now,
        ).where((Call.id == call.id) & (Call.status == Call.BOOKED)
                & (Call.start > now)).execute()
        if not cancelled:
            current = call.refreshed()
            _require_changeable(current, now)
            raise CallChanged()
        fresh = call.refreshed()
        outbox.void_call_reminders(fresh.id)
        mail.call_cancelled(fresh, now, links)
        AuditEvent.record("call.cancelled", fresh.account_id, actor, None, now, call=fresh.id)
        return fresh


def record_outcome(call, staff, held, outcome, notes, now, rules=CALL_RULES, follow_up_on=None):
    """Record, as Customer Success, whether the call was held and what came of it.

    `outcome` is a CallOutcome (required when held; optional for a no-show).
    "Needs a follow-up" asks for the day (`follow_up_on`) and makes the task
    for the staff member who held the call (wizard/domain/followups.py).
    It can be recorded again, to correct it. Return the Call.
    """
    if not staff.is_success_staff:
        raise StaffOnly()
    outcome = outcome or None
    if (outcome is None and held) or (outcome is not None and outcome not in CallOutcome.ALL):
        raise UnknownOutcome()
    notes = clean_text(notes, rules.notes_max_length, NotesTooLong)
    if outcome == CallOutcome.FOLLOW_UP:
        followups.check_day(follow_up_on, staff, now)
    with transaction():
        recorded = Call.update(
            status=Call.HELD if held else Call.NO_SHOW, outcome=outcome, outcome_notes=notes,
            outcome_by=staff, outcome_at=now, updated_at=now,
        ).where((Call.id == call.id) & (Call.status != Call.CANCELLED)
                & (Call.start <= now)).execute()
        if not recorded:
            if call.refreshed().is_cancelled:
                raise CallCancelled()
            raise CallNotYet()
        fresh = call.refreshed()
        followups.settle_for_call(fresh, outcome, follow_up_on, now)
        AuditEvent.record("call.outcome", fresh.account_id, staff, None, now, call=fresh.id,
                          held=held, outcome=outcome,
                          follow_up_on=follow_up_on.isoformat() if follow_up_on else None)
        return fresh

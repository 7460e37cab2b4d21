"""Calls with Customer Success, and the hours staff take them."""
from datetime import time

from peewee import CharField, DateField, ForeignKeyField, IntegerField, TextField, fn

from wizard.store.db import ReusedSelect
from wizard.store.models.accounts import Account, User
from wizard.store.models.base import BaseModel, UTCDateTimeField
from wizard.store.models.requests import CancellationRequest


def _clock_time(minute):
    """Minutes since midnight as a time of day (1440, the end of the day, as 23:59:59)."""
    if minute >= 24 * 60:
        return time(23, 59, 59)
    return time(minute // 60, minute % 60)


class StaffHours(BaseModel):
    """One block of a staff member's weekly hours, in their own time zone.

    A day may have several blocks (08:30-12:30 and 13:30-16:00). Times are
    minutes since midnight, wall-clock, so hours stay 09:00 local across
    daylight-saving changes; `end_minute` may be 1440 (midnight at the end).
    """

    staff = ForeignKeyField(User, backref="weekly_hours", on_delete="CASCADE")
    weekday = IntegerField()  # 0 = Monday ... 6 = Sunday
    start_minute = IntegerField()
    end_minute = IntegerField()

    class Meta:
        indexes = ((("staff", "weekday"), False),)

    @property
    def starts(self):
        return _clock_time(self.start_minute)

    @property
    def ends(self):
        return _clock_time(self.end_minute)

    @classmethod
    def of_staff(cls):
        """Every staff member's weekly blocks, with the staff row (its time zone): one query."""
        return (cls.select(cls, User).join(User)
                .where(User.role == User.SUCCESS)
                .order_by(cls.staff, cls.weekday, cls.start_minute))

    @classmethod
    def for_staff(cls, staff):
        return list(cls.select().where(cls.staff == staff).order_by(cls.weekday, cls.start_minute))


class StaffOverride(BaseModel):
    """A date on which a staff member's weekly hours do not apply.

    All the rows of one (staff, day) together replace that day's weekly
    hours: a row without minutes is a day off; rows with minutes are that
    day's blocks. `day` is a date in the staff member's time zone.
    """

    staff = ForeignKeyField(User, backref="date_overrides", on_delete="CASCADE")
    day = DateField()
    start_minute = IntegerField(null=True)  # NULL (with end_minute): the day off
    end_minute = IntegerField(null=True)

    class Meta:
        indexes = ((("staff", "day"), False), (("day",), False))

    @property
    def is_day_off(self):
        return self.start_minute is None

    @property
    def starts(self):
        return None if self.is_day_off else _clock_time(self.start_minute)

    @property
    def ends(self):
        return None if self.is_day_off else _clock_time(self.end_minute)

    @classmethod
    def between(cls, first_day, last_day):
        """Every staff member's overrides of those days, with the staff row: one query."""
        return (cls.select(cls, User).join(User)
                .where((User.role == User.SUCCESS) & (cls.day >= first_day) & (cls.day <= last_day))
                .order_by(cls.staff, cls.day, cls.start_minute))

    @classmethod
    def for_staff(cls, staff, from_day=None):
        query = cls.select().where(cls.staff == staff)
        if from_day is not None:
            query = query.where(cls.day >= from_day)
        return list(query.order_by(cls.day, cls.start_minute))


class CallOutcome:
    """What came of a call with Customer Success, as staff record it."""

    SAVED, CANCELLED, FOLLOW_UP = "saved", "cancelled", "follow_up"
    NAMES = {SAVED: "Saved: the account stays", CANCELLED: "Canceled anyway",
             FOLLOW_UP: "Needs a follow-up"}
    ALL = tuple(NAMES)


class Call(BaseModel):
    """A call an account owner booked with a Customer Success staff member.

    `active_start` holds the start while the call stands (booked, or held /
    missed: its time stays taken) and is NULL once canceled. Its unique
    index with the staff member is what makes double booking impossible, and
    its unique index with the account keeps one owner from holding two calls
    at one time (NULLs do not collide on SQLite or PostgreSQL). `uid` and `sequence` are
    the calendar invitation's UID and SEQUENCE: the UID never changes, the
    sequence grows with each reschedule or cancellation.
    """

    BOOKED, CANCELLED, HELD, NO_SHOW = "booked", "cancelled", "held", "no_show"
    STATUS_NAMES = {BOOKED: "Booked", CANCELLED: "Canceled", HELD: "Held", NO_SHOW: "No-show"}

    account = ForeignKeyField(Account, backref="bookings", on_delete="CASCADE")
    owner = ForeignKeyField(User, backref="bookings", on_delete="CASCADE")
    staff = ForeignKeyField(User, backref="calls")
    request = ForeignKeyField(CancellationRequest, null=True, backref="bookings", on_delete="SET NULL")
    start = UTCDateTimeField()
    end = UTCDateTimeField()
    active_start = UTCDateTimeField(null=True)
    topic = TextField(default="")
    # The number Customer Success calls the owner at, in E.164 (domain/phones.py);
    # NULL for calls booked before it was asked (migration 15).
    callback_number = CharField(null=True)
    uid = CharField(unique=True)
    sequence = IntegerField(default=0)
    status = CharField(default=BOOKED)
    outcome = CharField(null=True)  # a CallOutcome
    outcome_notes = TextField(default="")
    outcome_by = ForeignKeyField(User, null=True, backref="outcomes_recorded", on_delete="SET NULL")
    outcome_at = UTCDateTimeField(null=True)
    # When the staff member was (last) given this call: round robin reads it.
    assigned_at = UTCDateTimeField()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()

    class Meta:
        table_name = "booking"  # the table's name from before the model was called Call
        indexes = (
            (("staff", "active_start"), True),
            # One account, one standing call at a time: ten posts of one slot
            # from one session make one call (migration 10).
            (("account", "active_start"), True),
            (("active_start",), False),
            (("status", "start"), False),
        )

    @classmethod
    def by_id(cls, call_id):
        return cls.get_or_none(cls.id == call_id)

    def refreshed(self):
        return type(self).get_by_id(self.id)

    @property
    def is_booked(self):
        return self.status == self.BOOKED

    @property
    def is_cancelled(self):
        return self.status == self.CANCELLED

    @property
    def has_taken_place(self):
        return self.status in (self.HELD, self.NO_SHOW)

    def manageable_by(self, user):
        """Who may reschedule or cancel: the account's owner, or any Customer Success staff."""
        return user.is_success_staff or (user.is_owner and user.account_id == self.account_id)

    @classmethod
    def active_between(cls, since, until, ignoring=None, staff_ids=None):
        """(staff id, start, end) of every call standing that starts in [since, until),
        by start: one query. `ignoring`: a booking id to leave out; `staff_ids`:
        only theirs."""
        query = (cls.select(cls.staff, cls.active_start, cls.end)
                 .where((cls.active_start >= since) & (cls.active_start < until)))
        if ignoring is not None:
            query = query.where(cls.id != ignoring)
        if staff_ids is not None:
            query = query.where(cls.staff.in_(list(staff_ids)))
        return query.order_by(cls.active_start).tuples()

    @classmethod
    def last_assigned(cls, staff_ids):
        """{staff id: when they were last given a call} (staff never given one are absent)."""
        return dict(cls.select(cls.staff, fn.MAX(cls.assigned_at))
                    .where(cls.staff.in_(list(staff_ids)))
                    .group_by(cls.staff).tuples())

    @classmethod
    def with_people(cls):
        """Calls with their account, owner and staff member loaded: one query, however many."""
        owner, staff = User.alias(), User.alias()
        return (cls.select(cls, Account, owner, staff)
                .join(Account, on=(cls.account == Account.id))
                .switch(cls).join(owner, on=(cls.owner == owner.id))
                .switch(cls).join(staff, on=(cls.staff == staff.id)))

    @classmethod
    def standing_at(cls, account_id, start):
        """The account's call booked to start at `start`, or None."""
        return cls.get_or_none((cls.account == account_id) & (cls.active_start == start))

    @classmethod
    def starting_from(cls, since):
        """Every call that starts at `since` or later, soonest first, people loaded."""
        return list(cls.with_people().where(cls.start >= since).order_by(cls.start, cls.id))

    @classmethod
    def of_account(cls, account, upcoming_from=None):
        """The account's calls, soonest first (only those from `upcoming_from` on, if given)."""
        if upcoming_from is not None:
            return _UPCOMING_CALLS.rows(getattr(account, "id", account), upcoming_from)
        return list(cls.with_people().where(cls.account == account).order_by(cls.start, cls.id))

    @classmethod
    def booked_of_account(cls, account_id, since):
        """The account's calls still booked that start from `since` on, soonest first."""
        return [call for call in cls.of_account(account_id, upcoming_from=since) if call.is_booked]

    @classmethod
    def reminders_due(cls, now, before):
        """Booked calls starting within `before` from now (index: status, start)."""
        return list(cls.with_people()
                    .where((cls.status == cls.BOOKED) & (cls.start > now) & (cls.start <= now + before))
                    .order_by(cls.start, cls.id))


_UPCOMING_CALLS = ReusedSelect(
    lambda account_id, since: Call.with_people()
    .where((Call.account == account_id) & (Call.start >= since))
    .order_by(Call.start, Call.id),
    adapt=(int, Call.start.db_value))


class FollowUp(BaseModel):
    """What a call's "Needs a follow-up" outcome leaves to do: one task, for
    the staff member who held the call, due on a day (wizard/domain/followups.py)."""

    call = ForeignKeyField(Call, unique=True, backref="follow_ups", on_delete="CASCADE")
    account = ForeignKeyField(Account, on_delete="CASCADE")
    staff = ForeignKeyField(User, on_delete="CASCADE")
    due_on = DateField(index=True)  # the staff member's own day
    created_at = UTCDateTimeField()
    done_at = UTCDateTimeField(null=True)
    done_note = TextField(default="")

    class Meta:
        table_name = "follow_up"

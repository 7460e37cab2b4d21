"""Peewee models, and the queries that belong to them.

Money is integer cents. Every time is timezone-aware UTC in Python and stored
as naive UTC in the database (UTCDateTimeField), so SQLite and PostgreSQL hold
the same values.
"""
import json
from datetime import datetime, time, timezone

from flask_login import UserMixin
from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JOIN,
    Model,
    SqliteDatabase,
    TextField,
    fn,
)

from .db import ReusedSelect, database, locked


class Product:
    """The two products, as stored in `product` columns and as owners read them."""

    SMRTPHONE = "smrtphone"
    SMRTDIALER = "smrtdialer"
    NAMES = {SMRTPHONE: "smrtPhone", SMRTDIALER: "smrtDialer"}


class UTCDateTimeField(DateTimeField):
    """A DateTimeField that only takes aware datetimes and gives back UTC ones."""

    def db_value(self, value):
        if value is not None and hasattr(value, "tzinfo"):
            if value.tzinfo is None:
                raise ValueError("UTCDateTimeField needs an aware datetime")
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        if isinstance(value, str):
            # SQLite hands back text. fromisoformat reads what we store
            # ("2026-11-26 15:00:00[.ffffff]") many times faster than the
            # strptime formats peewee tries, which matters when a query
            # reads a thousand rows (call availability).
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def posted_id_value(posted_id):
    """An id a form or URL sent, as an int, or None when it is not one.

    The text is untrusted: anything but a short run of ASCII digits is no id
    at all (and never reaches the database as a huge number).
    """
    if not isinstance(posted_id, str) or not (
            posted_id.isascii() and posted_id.isdigit() and len(posted_id) <= 9):
        return None
    return int(posted_id)


class BaseModel(Model):
    class Meta:
        database = database


class Account(BaseModel):
    name = CharField()
    timezone = CharField(default="America/New_York")
    credit_balance_cents = IntegerField(default=0)
    # The CRM's name when one is integrated (e.g. "Follow Up Boss"), else None.
    crm_name = CharField(null=True)
    created_at = UTCDateTimeField()

    def owner(self):
        """The Account Owner (the first, should there ever be two)."""
        return _OWNER.first(self.id)

    def subscription(self, product):
        return _LATEST_SUBSCRIPTION[product].first(self.id)

    def subscriptions(self):
        """The account's subscriptions with their plans, smrtPhone first (a list).

        Each comes with this account object, its open request, and that
        request's survey answer and acknowledgements, read in the same
        statement (Subscription.open_request_as_read).
        """
        rows = _SUBSCRIPTIONS.rows(self.id)
        for subscription in rows:
            subscription.account = self
            _unpack_open_request(subscription, subscription)
        return rows

    def known_subscriptions(self):
        """subscriptions(), read once per object.

        A signed-in request loads its user's account once and reads this for
        the banner (billing's load_account_state); the pages of that request
        reuse it (which smrtDialer is active, which plan pages to link). So a
        caller that changes a subscription must not ask this object afterwards:
        the wizard's saves change none, and confirming leaves the page.
        """
        if "read_subscriptions" not in self.__dict__:
            self.read_subscriptions = self.subscriptions()
        return self.read_subscriptions

    def known_facts(self):
        """(credit balance in cents, whether smrtDialer is active), as this object
        and its known_subscriptions() hold them: what CancellationRequest.account_facts
        reads, without a statement."""
        return self.credit_balance_cents, any(
            s.product == Product.SMRTDIALER and s.is_active for s in self.known_subscriptions())

    @staticmethod
    def latest_of(subscriptions, product):
        """What subscription(product) answers, from a list of subscriptions() already read."""
        return max((s for s in subscriptions if s.product == product), key=lambda s: s.id,
                   default=None)

    def agents_in_use(self):
        return Agent.select().where(Agent.account == self).count()

    def kept_counts_and_numbers(self):
        """(the account's kept AccountDataCounts or None, its phone numbers in
        number order): what step 1 and Confirm read. Brought by the signed-in
        statement on those pages (SIGNED_IN_WITH_CONSEQUENCES), else read in
        one statement here."""
        if "read_counts_and_numbers" in self.__dict__:
            return self.read_counts_and_numbers
        kept, numbers = AccountDataCounts.kept_with_numbers(self.id)
        if numbers is None:  # no counts kept yet: the numbers alone
            numbers = PhoneNumber.of_account(self.id)
        return kept, numbers

    def booked_calls_from(self, now):
        """The account's calls still booked that start from `now` on, soonest
        first. None at all, as the signed-in statement found on Products
        (SIGNED_IN_WITH_PRODUCTS), asks nothing more."""
        since, any_ahead = self.__dict__.get("read_calls_ahead_since", (None, True))
        if since is not None and since <= now and not any_ahead:
            return []
        return [call for call in Booking.of_account(self, upcoming_from=now) if call.is_booked]

    def erasure_and_pending_changes(self):
        """(the account's PurgeSchedule or None, {subscription id: scheduled
        plan change}): what Products shows beside the subscriptions. Brought
        by the signed-in statement on Products (SIGNED_IN_WITH_PRODUCTS), else
        read in one statement here."""
        if "read_erasure_and_changes" in self.__dict__:
            return self.read_erasure_and_changes
        schedule, changes = None, {}
        for row in _ERASURE_AND_PENDING_CHANGES.rows(self.id):
            schedule = row.__dict__.pop("joined_schedule", None) or schedule
            change = row.__dict__.pop("joined_change", None)
            if change is not None:
                changes[change.subscription_id] = change
        return schedule, changes

    def request_posted(self, posted_id):
        """The account's cancellation request whose id a form posted, or None."""
        request_id = posted_id_value(posted_id)
        if request_id is None:
            return None
        return CancellationRequest.get_or_none((CancellationRequest.id == request_id)
                                               & (CancellationRequest.account == self))


class User(UserMixin, BaseModel):
    # Roles. Customer Success staff (SUCCESS) belong to no account.
    OWNER, ADMIN, AGENT, SUCCESS = "owner", "admin", "agent", "success"

    email = CharField(unique=True)
    name = CharField()
    password_hash = CharField()
    role = CharField()
    account = ForeignKeyField(Account, backref="users", null=True, on_delete="CASCADE")
    # Customer Success staff only: the IANA time zone their hours are in
    # (e.g. "Europe/London"). NULL for everyone else.
    timezone = CharField(null=True)
    # Part of every session's id (get_id): raising it ends the user's sessions,
    # cookies saved before included (signing out, a new password).
    session_version = IntegerField(default=1)

    def get_id(self):
        return f"{self.id}.{self.session_version}"

    @classmethod
    def by_session_id(cls, session_id, extra=None, now=None):
        """The user a session's id names, or None once that session has ended.

        `extra` (SIGNED_IN_WITH_CONSEQUENCES or SIGNED_IN_WITH_PRODUCTS) has
        the same statement bring what that page reads besides (the account's
        kept_counts_and_numbers, or its erasure_and_pending_changes and
        whether it has a call booked from `now` on), so the page runs no
        statement of its own for them.
        """
        user_id, _, version = (session_id or "").partition(".")
        if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
            return None
        if len(user_id) > 9 or len(version) > 9:
            return None
        # One statement for what every signed-in page reads: the user, their
        # account (its name is in the header) and its subscriptions, each with
        # its open request and that request's answers (the banner, the
        # wizard's steps, Products): known_subscriptions() then reads nothing.
        values = (int(user_id), int(version))
        if extra == SIGNED_IN_WITH_PRODUCTS:
            values += (now,)
        rows = _SIGNED_IN_BRINGING[extra].rows(*values)
        if not rows:
            return None
        user = rows[0]
        account = user.account
        if account is not None:
            subscriptions = []
            for row in rows:
                subscription = row.account.__dict__.pop("joined_subscription", None)
                if subscription is not None:
                    subscription.account = account
                    _unpack_open_request(subscription, row)
                    subscriptions.append(subscription)
            account.read_subscriptions = subscriptions
            if extra == SIGNED_IN_WITH_CONSEQUENCES:
                account.read_counts_and_numbers = (
                    account.__dict__.pop("joined_counts", None),
                    _numbers_from_json(account.id, user.__dict__.pop("joined_numbers", None)))
            elif extra == SIGNED_IN_WITH_PRODUCTS:
                account.read_erasure_and_changes = (
                    account.__dict__.pop("joined_schedule", None),
                    {s.id: change for s in subscriptions
                     if (change := s.__dict__.pop("joined_change", None)) is not None})
                account.read_calls_ahead_since = (
                    now, bool(user.__dict__.pop("joined_calls_ahead", True)))
        return user

    def end_sessions(self):
        """End every session of this user, on every device."""
        User.update(session_version=User.session_version + 1).where(User.id == self.id).execute()

    def set_password(self, password_hash):
        """Store a new password hash and end the sessions signed in with the old one."""
        User.update(password_hash=password_hash, session_version=User.session_version + 1).where(
            User.id == self.id).execute()

    @classmethod
    def by_email(cls, email):
        return cls.get_or_none(cls.email == email)

    @property
    def is_owner(self):
        return self.role == self.OWNER and self.account_id is not None

    @property
    def is_success_staff(self):
        return self.role == self.SUCCESS

    @property
    def staff_timezone(self):
        """The time zone of a staff member's hours (UTC when none was set)."""
        return self.timezone or "UTC"

    def owns(self, subscription):
        """The article: only the Account Owner may cancel (and so reactivate)."""
        return self.is_owner and self.account_id == subscription.account_id


class Plan(BaseModel):
    product = CharField()  # a Product
    code = CharField(unique=True)
    name = CharField()
    price_cents_per_seat = IntegerField()
    rank = IntegerField()  # order within the product, cheapest first
    max_seats = IntegerField(default=100)  # the most seats the plan allows

    @classmethod
    def by_code(cls, code):
        return cls.get_or_none(cls.code == code)

    @classmethod
    def catalogue(cls, product):
        """The plans of `product`, cheapest first."""
        return list(cls.select().where(cls.product == product).order_by(cls.rank, cls.id))


class Subscription(BaseModel):
    # ACTIVE -> CANCELLATION_PENDING (confirmed) -> ENDED (paid period over);
    # reactivation returns it to ACTIVE. A purge deletes the row.
    ACTIVE, CANCELLATION_PENDING, ENDED = "active", "cancellation_pending", "ended"

    account = ForeignKeyField(Account, backref="subscription_set", on_delete="CASCADE")
    product = CharField()  # a Product
    plan = ForeignKeyField(Plan)
    seats = IntegerField(default=1)
    price_cents = IntegerField()  # per billing period, all seats
    status = CharField(default=ACTIVE)
    # End of the period already paid for; when cancelled, the service end date.
    current_period_end = UTCDateTimeField()
    cancellation_requested_at = UTCDateTimeField(null=True)
    cancellation_requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    ended_at = UTCDateTimeField(null=True)

    @classmethod
    def by_id(cls, subscription_id):
        return cls.get_or_none(cls.id == subscription_id)

    @property
    def product_name(self):
        return Product.NAMES[self.product]

    @property
    def is_smrtphone(self):
        return self.product == Product.SMRTPHONE

    @property
    def is_active(self):
        return self.status == self.ACTIVE

    @property
    def is_cancellation_pending(self):
        return self.status == self.CANCELLATION_PENDING

    @property
    def has_ended(self):
        return self.status == self.ENDED

    @classmethod
    def active(cls, account_id, product):
        """The account's active subscription to `product`, or None."""
        return _ACTIVE_SUBSCRIPTION[product].first(account_id)

    def waits_for_smrtphone(self, phone):
        """smrtDialer works only beside an active smrtPhone: True when this is
        smrtDialer and `phone` (the account's smrtPhone, or None) is not active."""
        return self.product == Product.SMRTDIALER and (phone is None or not phone.is_active)

    def dialer_stays_cancelled(self):
        """For smrtPhone: is smrtDialer there but cancelled? (It is reactivated
        separately, as the article says.)"""
        if not self.is_smrtphone:
            return False
        dialer = self.account.subscription(Product.SMRTDIALER)
        return dialer is not None and not dialer.is_active

    def open_request(self):
        """The subscription's open cancellation request, or None."""
        return _OPEN_REQUEST.first(self.id)

    def open_request_as_read(self):
        """open_request(), as read with this subscription when Account.subscriptions
        read it (with its survey answer), else read now.

        For the start of a request, as the wizard's views use it: code that
        may follow a write (start_or_resume) asks open_request().
        """
        if "read_open_request" in self.__dict__:
            return self.read_open_request
        return self.open_request()

    def request_posted(self, posted_id):
        """The request of this subscription whose id a form posted, or None."""
        request_id = posted_id_value(posted_id)
        if request_id is None:
            return None
        return CancellationRequest.get_or_none((CancellationRequest.id == request_id)
                                               & (CancellationRequest.subscription == self))

    def latest_request(self, status):
        """The subscription's most recent cancellation request in `status`."""
        return (CancellationRequest.select()
                .where((CancellationRequest.subscription == self)
                       & (CancellationRequest.status == status))
                .order_by(CancellationRequest.id.desc())
                .first())

    @classmethod
    def lock_for_account(cls, account_id):
        """Hold the account's subscription rows until the transaction ends.

        Every writer of subscriptions takes these row locks first, in id
        order, so on PostgreSQL writers queue instead of deadlocking, and the
        second sees what the first committed (a smrtDialer reactivation cannot
        slip in beside a smrtPhone cancellation confirmed at the same moment).
        """
        return list(locked(cls.select().where(cls.account == account_id).order_by(cls.id)))


class PhoneNumber(BaseModel):
    # Port-out status: a number ported out is no longer ours to lose.
    NOT_PORTING, PORT_REQUESTED, PORTED = "none", "requested", "ported"

    account = ForeignKeyField(Account, backref="numbers", on_delete="CASCADE")
    e164 = CharField(unique=True)
    label = CharField(default="")
    port_out_status = CharField(default=NOT_PORTING)

    @classmethod
    def of_account(cls, account_id):
        """The account's numbers, in number order (a list)."""
        return _NUMBERS.rows(account_id)

    @property
    def is_ported(self):
        return self.port_out_status == self.PORTED

    @property
    def port_requested(self):
        return self.port_out_status == self.PORT_REQUESTED

    @property
    def display(self):
        """+15555550101 as +1 (555) 555-0101 for North American numbers."""
        n = self.e164
        if n.startswith("+1") and len(n) == 12:
            return f"+1 ({n[2:5]}) {n[5:8]}-{n[8:]}"
        return n


class Agent(BaseModel):
    account = ForeignKeyField(Account, backref="agents", on_delete="CASCADE")
    name = CharField()
    email = CharField()


class CallFlow(BaseModel):
    account = ForeignKeyField(Account, backref="call_flows", on_delete="CASCADE")
    name = CharField()


class CallLog(BaseModel):
    account = ForeignKeyField(Account, backref="call_logs", on_delete="CASCADE")
    direction = CharField()  # inbound | outbound
    from_number = CharField()
    to_number = CharField()
    started_at = UTCDateTimeField()
    duration_s = IntegerField()


class Recording(BaseModel):
    account = ForeignKeyField(Account, backref="recordings", on_delete="CASCADE")
    call_log = ForeignKeyField(CallLog, null=True, on_delete="SET NULL")
    # Relative to RECORDINGS_DIR.
    path = CharField()
    size_bytes = IntegerField()
    created_at = UTCDateTimeField()


class BillingRecord(BaseModel):
    account = ForeignKeyField(Account, backref="billing_records", on_delete="CASCADE")
    invoice_number = CharField()
    issued_at = UTCDateTimeField()
    amount_cents = IntegerField()
    description = CharField()


class AccountDataCounts(BaseModel):
    """How much data an account holds, counted at `counted_at`: what step 1 of
    the wizard says cancelling erases.

    A cache, not a record: wizard.lifecycle.data_counts() recounts when the
    row is older than lifecycle.DATA_COUNTS_MAX_AGE, so the page costs the same
    for 100 recordings as for 100,000. The purge counts what it deletes
    itself, exactly; this row goes with the account (ON DELETE CASCADE).
    """

    account = ForeignKeyField(Account, unique=True, on_delete="CASCADE")
    agents = IntegerField()
    users = IntegerField()
    call_flows = IntegerField()
    call_logs = IntegerField()
    recordings = IntegerField()
    recording_bytes = BigIntegerField()
    invoices = IntegerField()
    counted_at = UTCDateTimeField()

    @classmethod
    def kept_with_numbers(cls, account_id):
        """Step 1's two readings in one statement: (the account's kept counts,
        its phone numbers in number order), or (None, None) when no counts are
        kept (the numbers are then read with PhoneNumber.of_account)."""
        rows = _DATA_COUNTS_WITH_NUMBERS.rows(account_id)
        if not rows:
            return None, None
        numbers = [number for number in (row.__dict__.pop("joined_number", None) for row in rows)
                   if number is not None]
        return rows[0], numbers

    @classmethod
    def count_now(cls, account_id):
        """Count the account's data; return the values of a row (not saved)."""
        def rows(model):
            return model.select().where(model.account == account_id).count()

        recordings, recording_bytes = (
            Recording.select(fn.COUNT(Recording.id), fn.COALESCE(fn.SUM(Recording.size_bytes), 0))
            .where(Recording.account == account_id)
            .tuples()
            .get()
        )
        return dict(account=account_id, agents=rows(Agent), users=rows(User),
                    call_flows=rows(CallFlow), call_logs=rows(CallLog), recordings=recordings,
                    recording_bytes=int(recording_bytes), invoices=rows(BillingRecord))

    @classmethod
    def store(cls, values):
        """Insert or replace the account's row (two processes may count at once)."""
        fields = {k: v for k, v in values.items() if k != "account"}
        cls.insert(values).on_conflict(conflict_target=[cls.account], update=fields).execute()


class CancellationRequest(BaseModel):
    """One run of the wizard for one subscription: its progress and outcome.

    `open_for` holds the subscription while the request is open and is cleared
    when it closes; its unique index is what keeps one open request per
    subscription (NULLs do not collide on SQLite or PostgreSQL), so two tabs
    that start at once converge on one row.
    """

    # KEPT: the owner chose Keep my account; RETAINED: accepted an offer;
    # SUPERSEDED: left open while smrtPhone's cancellation took its product too.
    OPEN, KEPT, RETAINED, CONFIRMED, SUPERSEDED = (
        "open", "kept", "retained", "confirmed", "superseded")

    account = ForeignKeyField(Account, backref="cancellation_requests", on_delete="CASCADE")
    subscription = ForeignKeyField(Subscription, backref="cancellation_requests", on_delete="CASCADE")
    open_for = ForeignKeyField(
        Subscription, null=True, unique=True, column_name="open_for_id", on_delete="CASCADE"
    )
    product = CharField()
    started_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    started_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    status = CharField(default=OPEN)
    consequences_seen_at = UTCDateTimeField(null=True)
    offers_declined_at = UTCDateTimeField(null=True)
    closed_at = UTCDateTimeField(null=True)
    confirmed_at = UTCDateTimeField(null=True)
    reactivation_deadline = UTCDateTimeField(null=True)
    purge_due_at = UTCDateTimeField(null=True)
    # What confirming really cancelled: "smrtphone smrtdialer", or one product
    # (smrtDialer may have been cancelled on its own before).
    cancelled_products = CharField(default="")
    # A smrtDialer request started from smrtPhone's "Cancel only smrtDialer"
    # offer: the request whose survey answer it carries (not asked twice).
    survey_carried_from = IntegerField(null=True)

    @classmethod
    def latest(cls, limit):
        """The most recent requests with their accounts, newest first, answers loaded."""
        rows = list(cls.select(cls, Account).join(Account)
                    .order_by(cls.started_at.desc(), cls.id.desc()).limit(limit))
        return cls.prefetch_answers(rows)

    def refreshed(self):
        """This request as the database holds it now."""
        return type(self).get_by_id(self.id)

    @property
    def is_open(self):
        return self.status == self.OPEN

    @property
    def is_confirmed(self):
        return self.status == self.CONFIRMED

    @property
    def product_name(self):
        return Product.NAMES[self.product]

    def products_cancelled(self):
        """What confirming cancelled, smrtPhone first."""
        return self.cancelled_products.split()

    def acknowledged_versions(self):
        """Return {statement key: text version} of what was acknowledged.

        Read once per object, like account_facts: a page asks several times
        (is the step complete, which boxes are ticked), and every write goes
        through a re-read request (`refreshed`), which reads afresh.
        """
        if "prefetched_acknowledgements" not in self.__dict__:
            self.prefetched_acknowledgements = {
                key: version for key, version in _ACKNOWLEDGEMENTS.rows(self.id)}
        return self.prefetched_acknowledgements

    def survey(self):
        """The survey's answer, or None; read once per object (see acknowledged_versions)."""
        if "prefetched_survey" not in self.__dict__:
            self.prefetched_survey = _SURVEY.first(self.id)
        return self.prefetched_survey

    def account_facts(self):
        """(credit balance in cents, whether smrtDialer is active) of the request's
        account: what decides which statements apply (lifecycle.statements_for).

        Read once per object: a page asks many times, and a re-read request
        (`refreshed`, as confirm does) reads them afresh.
        """
        if "prefetched_account_facts" not in self.__dict__:
            credit, dialer_active = _ACCOUNT_FACTS.first(self.account_id)
            self.know_account_facts(credit, dialer_active)
        return self.prefetched_account_facts

    def know_account_facts(self, credit_cents, dialer_active):
        """Give the facts account_facts would read, when the caller holds them."""
        self.prefetched_account_facts = (credit_cents or 0, bool(dialer_active))

    @classmethod
    def prefetch_answers(cls, requests):
        """Load the acknowledgements, surveys and account facts of many requests
        in four queries, so listing where each stands costs no queries a row."""
        by_id = {r.id: r for r in requests}
        for r in requests:
            r.prefetched_acknowledgements, r.prefetched_survey = {}, None
        if not by_id:
            return requests
        for a in Acknowledgement.select().where(Acknowledgement.request.in_(list(by_id))):
            by_id[a.request_id].prefetched_acknowledgements[a.statement_key] = a.text_version
        for s in SurveyResponse.select().where(SurveyResponse.request.in_(list(by_id))):
            by_id[s.request_id].prefetched_survey = s
        account_ids = list({r.account_id for r in requests})
        credits = dict(Account.select(Account.id, Account.credit_balance_cents)
                       .where(Account.id.in_(account_ids)).tuples())
        dialers = {s.account_id for s in Subscription.select(Subscription.account).where(
            Subscription.account.in_(account_ids) & (Subscription.product == Product.SMRTDIALER)
            & (Subscription.status == Subscription.ACTIVE))}
        for r in requests:
            r.know_account_facts(credits.get(r.account_id), r.account_id in dialers)
        return requests


class Acknowledgement(BaseModel):
    request = ForeignKeyField(CancellationRequest, backref="acknowledgements", on_delete="CASCADE")
    statement_key = CharField()
    text_version = CharField()
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    accepted_at = UTCDateTimeField()
    ip = CharField(null=True)

    class Meta:
        indexes = ((("request", "statement_key"), True),)


class SurveyResponse(BaseModel):
    request = ForeignKeyField(CancellationRequest, unique=True, on_delete="CASCADE")
    reason = CharField()
    comment = TextField(default="")
    answered_at = UTCDateTimeField()


class OfferShown(BaseModel):
    """An offer the request's options step shows, in its place (0 first).

    Written with the survey answer that decides them, so Customer Success can
    compare what was shown with what was accepted.
    """

    request = ForeignKeyField(CancellationRequest, backref="offers_shown", on_delete="CASCADE")
    offer = CharField()
    position = IntegerField()

    class Meta:
        indexes = ((("request", "offer"), True),)


class OfferDecision(BaseModel):
    request = ForeignKeyField(CancellationRequest, backref="offer_decisions", on_delete="CASCADE")
    offer = CharField()  # an offer key, or "none" for "No thanks, continue to cancel"
    accepted = BooleanField()
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    decided_at = UTCDateTimeField()


class PlanChange(BaseModel):
    """A change of a subscription's plan or seats: made now, or scheduled.

    An upgrade (a higher monthly price) is APPLIED at once, the difference
    for the rest of the period charged pro rata (`prorated_cents`). A
    downgrade is SCHEDULED for the end of the period; until then the owner
    may undo it (UNDONE), and a subscription no longer active by then lets it
    LAPSE. `pending_for` holds the subscription while the change is
    scheduled (unique: one pending change per subscription), as
    CancellationRequest.open_for does.
    """

    SCHEDULED, APPLIED, UNDONE, LAPSED = "scheduled", "applied", "undone", "lapsed"

    account = ForeignKeyField(Account, backref="plan_changes", on_delete="CASCADE")
    subscription = ForeignKeyField(Subscription, backref="plan_changes", on_delete="CASCADE")
    pending_for = ForeignKeyField(Subscription, null=True, unique=True, column_name="pending_for_id",
                                  on_delete="CASCADE")
    from_plan = ForeignKeyField(Plan)
    from_seats = IntegerField()
    from_price_cents = IntegerField()
    to_plan = ForeignKeyField(Plan)
    to_seats = IntegerField()
    to_price_cents = IntegerField()
    prorated_cents = IntegerField(default=0)
    effective_at = UTCDateTimeField()
    status = CharField()
    # The cancellation request this change saved (an accepted offer), if any.
    request = ForeignKeyField(CancellationRequest, null=True, on_delete="SET NULL")
    made_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = UTCDateTimeField()
    decided_at = UTCDateTimeField(null=True)  # applied, undone or lapsed

    class Meta:
        indexes = ((("status", "effective_at"), False),)

    @property
    def is_scheduled(self):
        return self.status == self.SCHEDULED

    @classmethod
    def pending(cls, subscription_id):
        """The subscription's scheduled change, or None."""
        return cls.get_or_none(cls.pending_for == subscription_id)


class AuditEvent(BaseModel):
    account = ForeignKeyField(Account, null=True, on_delete="SET NULL")
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    kind = CharField(index=True)
    detail = TextField(default="{}")  # JSON
    at = UTCDateTimeField(index=True)
    ip = CharField(null=True)

    @classmethod
    def record(cls, kind, account=None, actor=None, ip=None, now=None, **detail):
        """Write one event; `detail` is kept as JSON."""
        return cls.create(account=account, actor=actor, kind=kind, ip=ip, at=now,
                          detail=json.dumps(detail, sort_keys=True, default=str))


class PurgeSchedule(BaseModel):
    """When an account's data is to be erased, and how far the erasure got.

    The database is the truth; RQ only triggers the work. `generation` grows
    each time the schedule is cancelled or re-armed, so a job enqueued for an
    older generation finds nothing to do. A worker holds the row through
    `lease_expires_at`; a lease that runs out (the worker died) lets the sweep
    hand the purge to another worker, which resumes from `checkpoint`.

    account_id is a plain integer, not a foreign key: the row outlives the
    account it erases.
    """

    SCHEDULED, RUNNING, DONE, CANCELLED = "scheduled", "running", "done", "cancelled"

    account_id = IntegerField(unique=True)
    request_id = IntegerField(null=True)
    due_at = UTCDateTimeField()
    status = CharField(default=SCHEDULED)
    generation = IntegerField(default=1)
    lease_expires_at = UTCDateTimeField(null=True)
    claimed_by = CharField(null=True)
    attempts = IntegerField(default=0)
    checkpoint = TextField(default="{}")  # JSON: rows and files erased so far, per table
    started_at = UTCDateTimeField(null=True)
    finished_at = UTCDateTimeField(null=True)
    updated_at = UTCDateTimeField()

    class Meta:
        # The sweep's question: what is due and not done, and whose lease ran out.
        indexes = ((("status", "due_at"), False), (("status", "lease_expires_at"), False))

    @classmethod
    def for_account(cls, account_id):
        """The account's purge schedule (an account has at most one), or None."""
        return _PURGE_SCHEDULE.first(account_id)

    @property
    def is_scheduled(self):
        return self.status == self.SCHEDULED

    @property
    def has_started(self):
        """Running or done: the account is being, or has been, erased."""
        return self.status in (self.RUNNING, self.DONE)


class ErasureRecord(BaseModel):
    """Proof that an account was erased, holding no personal data."""

    surrogate_id = CharField(unique=True)  # random; not the account id
    schedule = ForeignKeyField(PurgeSchedule, unique=True, on_delete="CASCADE")
    counts = TextField()  # JSON: rows (and files) erased per table
    started_at = UTCDateTimeField()
    finished_at = UTCDateTimeField()
    verified = BooleanField()
    verification = TextField()  # JSON: what remained per table (all zero when verified)


class OutboxMessage(BaseModel):
    """An email to send. `dedupe_key` is unique, so no email is queued twice.

    The mail job claims a row (pending -> sending, with a lease) before it
    sends, and marks it sent afterwards. The erasure notice's address is
    cleared once it is sent: it is the last personal data we hold.
    """

    # HELD: written but not to be sent yet (the erasure notice, until verified);
    # VOID: no longer true (a reminder after reactivation).
    HELD, PENDING, SENDING, SENT, VOID = "held", "pending", "sending", "sent", "void"

    # Kinds: each has its templates, templates/email/<kind>.txt and .html
    # (wizard/domain/mail.py composes them).
    CANCELLATION_CONFIRMED = "cancellation_confirmed"
    PLAN_CHANGED, PLAN_CHANGE_UNDONE = "plan_changed", "plan_change_undone"
    REMINDER_30, REMINDER_7 = "reminder_30", "reminder_7"  # before erasure
    ERASURE_REMINDERS = (REMINDER_30, REMINDER_7)
    REACTIVATION_CONFIRMED = "reactivation_confirmed"
    ERASURE_COMPLETE = "erasure_complete"
    CALL_BOOKED, CALL_RESCHEDULED = "call_booked", "call_rescheduled"
    CALL_CANCELLED, CALL_REMINDER = "call_cancelled", "call_reminder"
    KINDS = (CANCELLATION_CONFIRMED, PLAN_CHANGED, PLAN_CHANGE_UNDONE, *ERASURE_REMINDERS,
             REACTIVATION_CONFIRMED, ERASURE_COMPLETE, CALL_BOOKED, CALL_RESCHEDULED,
             CALL_CANCELLED, CALL_REMINDER)

    dedupe_key = CharField(unique=True)
    kind = CharField()
    account_id = IntegerField(null=True)
    to_address = CharField(null=True)
    subject = CharField()
    body = TextField()
    status = CharField(default=PENDING)
    attempts = IntegerField(default=0)
    lease_expires_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)
    # A calendar invitation (.ics text) the email carries, or NULL.
    attachment_ics = TextField(null=True)
    # The HTML alternative of `body`, or NULL (a message from before HTML).
    body_html = TextField(null=True)
    # What a reminder must still be true of when it is sent: the purge, in its
    # generation (erasure reminders), or the call, at its start (call reminders).
    purge_schedule_id = IntegerField(null=True)
    purge_generation = IntegerField(null=True)
    booking_id = IntegerField(null=True)
    booking_start = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "created_at"), False),)

    @classmethod
    def pending_for(cls, account_id):
        """Ids of the account's messages waiting to be sent."""
        return [m.id for m in cls.select(cls.id).where(
            (cls.account_id == account_id) & (cls.status == cls.PENDING))]


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
    NAMES = {SAVED: "Saved: the account stays", CANCELLED: "Cancelled anyway",
             FOLLOW_UP: "Needs a follow-up"}
    ALL = tuple(NAMES)


class Booking(BaseModel):
    """A call an account owner booked with a Customer Success staff member.

    `active_start` holds the start while the call stands (booked, or held /
    missed: its time stays taken) and is NULL once cancelled. Its unique
    index with the staff member is what makes double booking impossible
    (NULLs do not collide on SQLite or PostgreSQL). `uid` and `sequence` are
    the calendar invitation's UID and SEQUENCE: the UID never changes, the
    sequence grows with each reschedule or cancellation.
    """

    BOOKED, CANCELLED, HELD, NO_SHOW = "booked", "cancelled", "held", "no_show"
    STATUS_NAMES = {BOOKED: "Booked", CANCELLED: "Cancelled", HELD: "Held", NO_SHOW: "No-show"}

    account = ForeignKeyField(Account, backref="bookings", on_delete="CASCADE")
    owner = ForeignKeyField(User, backref="bookings", on_delete="CASCADE")
    staff = ForeignKeyField(User, backref="calls")
    request = ForeignKeyField(CancellationRequest, null=True, backref="bookings", on_delete="SET NULL")
    start = UTCDateTimeField()
    end = UTCDateTimeField()
    active_start = UTCDateTimeField(null=True)
    topic = TextField(default="")
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
        indexes = (
            (("staff", "active_start"), True),
            (("active_start",), False),
            (("status", "start"), False),
        )

    @classmethod
    def by_id(cls, booking_id):
        return cls.get_or_none(cls.id == booking_id)

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

    @property
    def status_name(self):
        return self.STATUS_NAMES[self.status]

    @property
    def outcome_name(self):
        return CallOutcome.NAMES.get(self.outcome, "")

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
    def for_staff_member(cls, staff, upcoming_from=None):
        """A staff member's calls, soonest first."""
        query = cls.with_people().where(cls.staff == staff)
        if upcoming_from is not None:
            query = query.where(cls.start >= upcoming_from)
        return list(query.order_by(cls.start, cls.id))

    @classmethod
    def reminders_due(cls, now, before):
        """Booked calls starting within `before` from now (index: status, start)."""
        return list(cls.with_people()
                    .where((cls.status == cls.BOOKED) & (cls.start > now) & (cls.start <= now + before))
                    .order_by(cls.start, cls.id))


class QaClockOffset(BaseModel):
    """How far QA has moved the clock (wizard/qaclock.py): one row, read only
    in QA mode, so every process (web, worker, sweep) moves together."""

    ROW = 1

    id = IntegerField(primary_key=True)
    offset_seconds = BigIntegerField(default=0)
    changed_at = UTCDateTimeField()

    @classmethod
    def seconds(cls):
        """The stored offset in seconds; 0 with none stored, no database bound
        yet, or before migration 8 made the table (migrating reads the clock).

        The table is looked up first rather than queried and caught: on
        PostgreSQL a failed statement would abort the caller's transaction.
        """
        if database.obj is None or not database.table_exists(cls._meta.table_name):
            return 0
        return cls.select(cls.offset_seconds).where(cls.id == cls.ROW).scalar() or 0

    @classmethod
    def store(cls, seconds, at):
        """Keep `seconds` as the offset (one row, written in place)."""
        (cls.insert(id=cls.ROW, offset_seconds=seconds, changed_at=at)
         .on_conflict(conflict_target=[cls.id],
                      update={cls.offset_seconds: seconds, cls.changed_at: at})
         .execute())


class SchemaVersion(BaseModel):
    """Which migrations have been applied (see wizard/migrations.py)."""

    version = IntegerField(primary_key=True)
    name = CharField()
    applied_at = UTCDateTimeField()


ACCOUNT_DATA = [PhoneNumber, Agent, CallFlow, CallLog, Recording, BillingRecord]
MODELS = [
    Account,
    User,
    Plan,
    Subscription,
    *ACCOUNT_DATA,
    CancellationRequest,
    Acknowledgement,
    SurveyResponse,
    OfferShown,
    OfferDecision,
    PlanChange,
    AuditEvent,
    PurgeSchedule,
    ErasureRecord,
    OutboxMessage,
    StaffHours,
    StaffOverride,
    Booking,
    AccountDataCounts,
    QaClockOffset,
]



# -- the statements every page runs, built once (see db.ReusedSelect) ----------

def _acknowledgements_of_open_request():
    """A column: the joined open request's acknowledgements as a JSON object
    {statement key: text version} (SQLite: text, '{}' for none; PostgreSQL:
    parsed by the driver, NULL for none). Built when the statement is, for
    the database it runs on."""
    ack = Acknowledgement.alias("ack")
    as_object = (fn.json_group_object if isinstance(database.obj, SqliteDatabase)
                 else fn.json_object_agg)
    return (ack.select(as_object(ack.statement_key, ack.text_version))
            .where(ack.request == CancellationRequest.id).alias("joined_acknowledgements"))


def _with_open_requests(query):
    """Join each subscription of `query` (the current join) to its plan, its
    open request and that request's survey answer (each one row at most)."""
    return (query.join(Plan, JOIN.LEFT_OUTER, on=(Subscription.plan == Plan.id), attr="plan")
            .switch(Subscription)
            .join(CancellationRequest, JOIN.LEFT_OUTER,
                  on=(CancellationRequest.open_for == Subscription.id), attr="joined_open_request")
            .join(SurveyResponse, JOIN.LEFT_OUTER,
                  on=(SurveyResponse.request == CancellationRequest.id), attr="joined_survey")
            .order_by(Subscription.product.desc(), Subscription.id))


def _unpack_open_request(subscription, row):
    """Hand `subscription` the open request its row joined, with the request's
    survey answer and acknowledgements (the row's joined_acknowledgements)."""
    req = subscription.__dict__.pop("joined_open_request", None)
    acknowledgements = row.__dict__.pop("joined_acknowledgements", None)
    if req is not None:
        req.prefetched_survey = req.__dict__.pop("joined_survey", None)
        if isinstance(acknowledgements, str):
            acknowledgements = json.loads(acknowledgements)
        req.prefetched_acknowledgements = dict(acknowledgements or {})
    subscription.read_open_request = req


def _numbers_of_account():
    """A column: the joined account's phone numbers as a JSON array of
    [id, e164, label, port_out_status] (SQLite: text; PostgreSQL: parsed by
    the driver, NULL for none), in no particular order."""
    number = PhoneNumber.alias("number")
    if isinstance(database.obj, SqliteDatabase):
        as_array, values = fn.json_group_array, fn.json_array
    else:
        as_array, values = fn.json_agg, fn.json_build_array
    return (number.select(as_array(values(number.id, number.e164, number.label,
                                          number.port_out_status)))
            .where(number.account == Account.id).alias("joined_numbers"))


def _numbers_from_json(account_id, numbers):
    """The PhoneNumber rows a _numbers_of_account() column holds, in number order."""
    if isinstance(numbers, str):
        numbers = json.loads(numbers)
    rows = []
    for number_id, e164, label, port_out_status in sorted(numbers or (), key=lambda n: n[1]):
        number = PhoneNumber(id=number_id, account=account_id, e164=e164, label=label,
                             port_out_status=port_out_status)
        number._dirty.clear()  # as read, not as changed
        rows.append(number)
    return rows


_TO_PLAN = Plan.alias("to_plan")


def _signed_in(extra=None):
    """The statement that reads a signed-in user (User.by_session_id): the
    user, their account and its subscriptions, each with its plan, open
    request, survey answer and acknowledgements; and what `extra` names.

    Every join it adds is one row at most per row already there (the kept
    counts and the purge schedule per account, a pending plan change per
    subscription), so it brings them without repeating a row.
    """

    def query(user_id, version, since=None):
        columns = [User, Account, Subscription, Plan, CancellationRequest, SurveyResponse,
                   _acknowledgements_of_open_request()]
        if extra == SIGNED_IN_WITH_CONSEQUENCES:
            columns += [AccountDataCounts, _numbers_of_account()]
        elif extra == SIGNED_IN_WITH_PRODUCTS:
            columns += [PurgeSchedule, PlanChange, _TO_PLAN, fn.EXISTS(
                Booking.select(Booking.id).where(
                    (Booking.account == Account.id) & (Booking.status == Booking.BOOKED)
                    & (Booking.start >= since))).alias("joined_calls_ahead")]
        found = User.select(*columns).join(Account, JOIN.LEFT_OUTER)
        if extra == SIGNED_IN_WITH_CONSEQUENCES:
            found = found.join(AccountDataCounts, JOIN.LEFT_OUTER,
                               on=(AccountDataCounts.account == Account.id),
                               attr="joined_counts").switch(Account)
        elif extra == SIGNED_IN_WITH_PRODUCTS:
            found = found.join(PurgeSchedule, JOIN.LEFT_OUTER,
                               on=(PurgeSchedule.account_id == Account.id),
                               attr="joined_schedule").switch(Account)
        found = _with_open_requests(
            found.join(Subscription, JOIN.LEFT_OUTER, on=(Subscription.account == Account.id),
                       attr="joined_subscription"))
        if extra == SIGNED_IN_WITH_PRODUCTS:
            # pending_for is unique: one scheduled change per subscription at most.
            found = (found.switch(Subscription)
                     .join(PlanChange, JOIN.LEFT_OUTER,
                           on=(PlanChange.pending_for == Subscription.id), attr="joined_change")
                     .join(_TO_PLAN, JOIN.LEFT_OUTER, on=(PlanChange.to_plan == _TO_PLAN.id),
                           attr="to_plan"))
        return found.where((User.id == user_id) & (User.session_version == version))

    if extra == SIGNED_IN_WITH_PRODUCTS:  # and whether a call is booked from `since` on
        return ReusedSelect(lambda user_id, version, since: query(user_id, version, since),
                            adapt=(int, int, Booking.start.db_value))
    return ReusedSelect(lambda user_id, version: query(user_id, version))


# What a page may have the signed-in statement bring (User.by_session_id).
SIGNED_IN_WITH_CONSEQUENCES = "consequences"  # step 1 and Confirm
SIGNED_IN_WITH_PRODUCTS = "products"  # and whether any call is booked ahead
_SIGNED_IN = _signed_in()
_SIGNED_IN_BRINGING = {None: _SIGNED_IN,
                       SIGNED_IN_WITH_CONSEQUENCES: _signed_in(SIGNED_IN_WITH_CONSEQUENCES),
                       SIGNED_IN_WITH_PRODUCTS: _signed_in(SIGNED_IN_WITH_PRODUCTS)}

_SUBSCRIPTIONS = ReusedSelect(
    lambda account_id: _with_open_requests(
        Subscription.select(Subscription, Plan, CancellationRequest, SurveyResponse,
                            _acknowledgements_of_open_request()))
    .where(Subscription.account == account_id))

_LATEST_SUBSCRIPTION = {
    product: ReusedSelect(
        lambda account_id, product=product: Subscription.select(Subscription, Plan).join(Plan)
        .where((Subscription.account == account_id) & (Subscription.product == product))
        .order_by(Subscription.id.desc()).limit(1))
    for product in Product.NAMES}

_ACTIVE_SUBSCRIPTION = {
    product: ReusedSelect(
        lambda account_id, product=product: Subscription.select()
        .where((Subscription.account == account_id) & (Subscription.product == product)
               & (Subscription.status == Subscription.ACTIVE)).limit(1))
    for product in Product.NAMES}

_OPEN_REQUEST = ReusedSelect(
    lambda subscription_id: CancellationRequest.select()
    .where(CancellationRequest.open_for == subscription_id).limit(1))

_ACKNOWLEDGEMENTS = ReusedSelect(
    lambda request_id: Acknowledgement.select(Acknowledgement.statement_key,
                                              Acknowledgement.text_version)
    .where(Acknowledgement.request == request_id).tuples())

_SURVEY = ReusedSelect(
    lambda request_id: SurveyResponse.select()
    .where(SurveyResponse.request == request_id).limit(1))

# (credit balance in cents, whether smrtDialer is active): CancellationRequest.account_facts.
_ACCOUNT_FACTS = ReusedSelect(
    lambda account_id: Account.select(
        Account.credit_balance_cents,
        fn.EXISTS(Subscription.select().where(
            (Subscription.account == Account.id) & (Subscription.product == Product.SMRTDIALER)
            & (Subscription.status == Subscription.ACTIVE))))
    .where(Account.id == account_id).tuples())

_DATA_COUNTS_WITH_NUMBERS = ReusedSelect(
    lambda account_id: AccountDataCounts.select(AccountDataCounts, PhoneNumber)
    .join(PhoneNumber, JOIN.LEFT_OUTER, on=(PhoneNumber.account == AccountDataCounts.account),
          attr="joined_number")
    .where(AccountDataCounts.account == account_id).order_by(PhoneNumber.e164))

_NUMBERS = ReusedSelect(
    lambda account_id: PhoneNumber.select()
    .where(PhoneNumber.account == account_id).order_by(PhoneNumber.e164))

_OWNER = ReusedSelect(
    lambda account_id: User.select()
    .where((User.account == account_id) & (User.role == User.OWNER)).order_by(User.id).limit(1))

_ERASURE_AND_PENDING_CHANGES = ReusedSelect(
    lambda account_id, scheduled=PlanChange.SCHEDULED: Account.select(
        Account.id, PurgeSchedule, PlanChange, Plan)
    .join(PurgeSchedule, JOIN.LEFT_OUTER, on=(PurgeSchedule.account_id == Account.id),
          attr="joined_schedule")
    .switch(Account)
    .join(PlanChange, JOIN.LEFT_OUTER,
          on=((PlanChange.account == Account.id) & (PlanChange.status == scheduled)),
          attr="joined_change")
    .join(Plan, JOIN.LEFT_OUTER, on=(PlanChange.to_plan == Plan.id), attr="to_plan")
    .where(Account.id == account_id))

_PURGE_SCHEDULE = ReusedSelect(
    lambda account_id: PurgeSchedule.select().where(PurgeSchedule.account_id == account_id)
    .limit(1))

_UPCOMING_CALLS = ReusedSelect(
    lambda account_id, since: Booking.with_people()
    .where((Booking.account == account_id) & (Booking.start >= since))
    .order_by(Booking.start, Booking.id),
    adapt=(int, Booking.start.db_value))

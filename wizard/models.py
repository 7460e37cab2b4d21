"""Peewee models, and the queries that belong to them.

Money is integer cents. Every time is timezone-aware UTC in Python and stored
as naive UTC in the database (UTCDateTimeField), so SQLite and PostgreSQL hold
the same values.
"""
from datetime import timezone

from flask_login import UserMixin
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    fn,
)

from .db import database, locked

PRODUCTS = {"smrtphone": "smrtPhone", "smrtdialer": "smrtDialer"}
ROLES = ("owner", "admin", "agent", "success")


class UTCDateTimeField(DateTimeField):
    """A DateTimeField that only takes aware datetimes and gives back UTC ones."""

    def db_value(self, value):
        if value is not None and hasattr(value, "tzinfo"):
            if value.tzinfo is None:
                raise ValueError("UTCDateTimeField needs an aware datetime")
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if value is not None and hasattr(value, "tzinfo") and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


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
        return (
            User.select()
            .where((User.account == self) & (User.role == "owner"))
            .order_by(User.id)
            .first()
        )

    def subscription(self, product):
        return (
            Subscription.select(Subscription, Plan)
            .join(Plan)
            .where((Subscription.account == self) & (Subscription.product == product))
            .order_by(Subscription.id.desc())
            .first()
        )

    def subscriptions(self):
        return (
            Subscription.select(Subscription, Plan)
            .join(Plan)
            .where(Subscription.account == self)
            .order_by(Subscription.product.desc(), Subscription.id)
        )


class User(UserMixin, BaseModel):
    email = CharField(unique=True)
    name = CharField()
    password_hash = CharField()
    role = CharField()  # one of ROLES; "success" users have no account
    account = ForeignKeyField(Account, backref="users", null=True, on_delete="CASCADE")

    @property
    def is_owner(self):
        return self.role == "owner" and self.account_id is not None

    @property
    def is_success_staff(self):
        return self.role == "success"


class Plan(BaseModel):
    product = CharField()  # smrtphone | smrtdialer
    code = CharField(unique=True)
    name = CharField()
    price_cents_per_seat = IntegerField()
    rank = IntegerField()  # order within the product, cheapest first


class Subscription(BaseModel):
    # active -> cancellation_pending (confirmed) -> ended (paid period over);
    # reactivation returns it to active. A purge deletes the row.
    STATUSES = ("active", "cancellation_pending", "ended")

    account = ForeignKeyField(Account, backref="subscription_set", on_delete="CASCADE")
    product = CharField()  # smrtphone | smrtdialer
    plan = ForeignKeyField(Plan)
    seats = IntegerField(default=1)
    price_cents = IntegerField()  # per billing period, all seats
    status = CharField(default="active")
    # End of the period already paid for; when cancelled, the service end date.
    current_period_end = UTCDateTimeField()
    cancellation_requested_at = UTCDateTimeField(null=True)
    cancellation_requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    ended_at = UTCDateTimeField(null=True)

    @property
    def product_name(self):
        return PRODUCTS[self.product]

    @property
    def is_active(self):
        return self.status == "active"

    @classmethod
    def active(cls, account_id, product):
        """The account's active subscription to `product`, or None."""
        return cls.select().where((cls.account == account_id) & (cls.product == product)
                                  & (cls.status == "active")).first()

    def dialer_stays_cancelled(self):
        """For smrtPhone: is smrtDialer there but cancelled? (It is reactivated
        separately, as the article says.)"""
        if self.product != "smrtphone":
            return False
        dialer = self.account.subscription("smrtdialer")
        return dialer is not None and not dialer.is_active

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
    PORT_OUT = ("none", "requested", "ported")

    account = ForeignKeyField(Account, backref="numbers", on_delete="CASCADE")
    e164 = CharField(unique=True)
    label = CharField(default="")
    port_out_status = CharField(default="none")

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


class CancellationRequest(BaseModel):
    """One run of the wizard for one subscription: its progress and outcome.

    `open_for` holds the subscription while the request is open and is cleared
    when it closes; its unique index is what keeps one open request per
    subscription (NULLs do not collide on SQLite or PostgreSQL), so two tabs
    that start at once converge on one row.
    """

    # kept: the owner chose Keep my account; retained: accepted an offer;
    # superseded: left open while smrtPhone's cancellation took its product too.
    STATUSES = ("open", "kept", "retained", "confirmed", "superseded")

    account = ForeignKeyField(Account, backref="cancellation_requests", on_delete="CASCADE")
    subscription = ForeignKeyField(Subscription, backref="cancellation_requests", on_delete="CASCADE")
    open_for = ForeignKeyField(
        Subscription, null=True, unique=True, column_name="open_for_id", on_delete="CASCADE"
    )
    product = CharField()
    started_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    started_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    status = CharField(default="open")
    consequences_seen_at = UTCDateTimeField(null=True)
    offers_declined_at = UTCDateTimeField(null=True)
    closed_at = UTCDateTimeField(null=True)
    confirmed_at = UTCDateTimeField(null=True)
    reactivation_deadline = UTCDateTimeField(null=True)
    purge_due_at = UTCDateTimeField(null=True)
    # What confirming really cancelled: "smrtphone smrtdialer", or one product
    # (smrtDialer may have been cancelled on its own before).
    cancelled_products = CharField(default="")

    @property
    def is_open(self):
        return self.status == "open"

    def acknowledged_versions(self):
        """Return {statement key: text version} of what was acknowledged."""
        if "prefetched_acknowledgements" in self.__dict__:
            return self.prefetched_acknowledgements
        return {
            a.statement_key: a.text_version
            for a in Acknowledgement.select().where(Acknowledgement.request == self)
        }

    def survey(self):
        if "prefetched_survey" in self.__dict__:
            return self.prefetched_survey
        return SurveyResponse.get_or_none(SurveyResponse.request == self)

    @classmethod
    def prefetch_answers(cls, requests):
        """Load the acknowledgements and surveys of many requests in two queries,
        so listing where each stands does not cost two queries a row."""
        by_id = {r.id: r for r in requests}
        for r in requests:
            r.prefetched_acknowledgements, r.prefetched_survey = {}, None
        if not by_id:
            return requests
        for a in Acknowledgement.select().where(Acknowledgement.request.in_(list(by_id))):
            by_id[a.request_id].prefetched_acknowledgements[a.statement_key] = a.text_version
        for s in SurveyResponse.select().where(SurveyResponse.request.in_(list(by_id))):
            by_id[s.request_id].prefetched_survey = s
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


class OfferDecision(BaseModel):
    request = ForeignKeyField(CancellationRequest, backref="offer_decisions", on_delete="CASCADE")
    offer = CharField()  # an offer key, or "none" for "No thanks, continue to cancel"
    accepted = BooleanField()
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    decided_at = UTCDateTimeField()


class AuditEvent(BaseModel):
    account = ForeignKeyField(Account, null=True, on_delete="SET NULL")
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    kind = CharField(index=True)
    detail = TextField(default="{}")  # JSON
    at = UTCDateTimeField(index=True)
    ip = CharField(null=True)


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

    STATUSES = ("scheduled", "running", "done", "cancelled")

    account_id = IntegerField(unique=True)
    request_id = IntegerField(null=True)
    due_at = UTCDateTimeField()
    status = CharField(default="scheduled")
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

    dedupe_key = CharField(unique=True)
    kind = CharField()
    account_id = IntegerField(null=True)
    to_address = CharField(null=True)
    subject = CharField()
    body = TextField()
    # held: written but not to be sent yet (the erasure notice, until verified);
    # void: no longer true (a reminder after reactivation).
    status = CharField(default="pending")  # held | pending | sending | sent | void
    attempts = IntegerField(default=0)
    lease_expires_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "created_at"), False),)


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
    OfferDecision,
    AuditEvent,
    PurgeSchedule,
    ErasureRecord,
    OutboxMessage,
]


def count_for_account(model, account):
    return model.select(fn.COUNT(model.id)).where(model.account == account).scalar()

"""The account and what it holds: its users, plans and subscriptions, and the
data canceling erases (numbers, agents, call flows, call logs, recordings,
invoices), with the counts step 1 shows."""
from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField, fn

from wizard.store import models
from wizard.store.db import ReusedSelect, locked
from wizard.store.models.base import BaseModel, UTCDateTimeField, posted_id_value


class Product:
    """The two products, as stored in `product` columns and as owners read them."""

    SMRTPHONE = "smrtphone"
    SMRTDIALER = "smrtdialer"
    NAMES = {SMRTPHONE: "smrtPhone", SMRTDIALER: "smrtDialer"}



class Account(BaseModel):
    name = CharField()
    timezone = CharField(default="America/New_York")
    credit_balance_cents = IntegerField(default=0)
    # The CRM's name when one is integrated (e.g. "Follow Up Boss"), else None.
    crm_name = CharField(null=True)
    created_at = UTCDateTimeField()
    # What a new carrier checks to port a number out (wizard/domain/portout.py):
    # the service address on the account, and which port-out PIN is in force.
    # The PIN itself is not stored: it is derived from the app's secret and
    # this generation, which "Make a new PIN" moves on.
    service_address = CharField(null=True)
    port_pin_generation = IntegerField(default=0)

    def owner(self):
        """The Account Owner (the first, should there ever be two)."""
        return _OWNER.first(self.id)

    def subscription(self, product):
        return _LATEST_SUBSCRIPTION[product].first(self.id)

    def agents_in_use(self):
        return Agent.select().where(Agent.account == self).count()

    def request_posted(self, posted_id):
        """The account's cancellation request whose id a form posted, or None."""
        request_id = posted_id_value(posted_id)
        if request_id is None:
            return None
        request = models.CancellationRequest
        return request.get_or_none((request.id == request_id) & (request.account == self))


class User(BaseModel):
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

    # What Flask-Login asks of a signed-in user (its UserMixin, written out so
    # that the store needs no Flask): every user read from a session is
    # signed in and active.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self):
        """The session's id: the user and their session_version."""
        return f"{self.id}.{self.session_version}"

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
    # Random, given with the subscription's first request record: what the
    # anonymous history knows it by (models/history.py). Erased with the row.
    history_tag = CharField(null=True)

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
    def is_active_dialer(self):
        """The rule "smrtDialer is active", for one subscription (is_active_dialer_sql in SQL)."""
        return self.product == Product.SMRTDIALER and self.status == self.ACTIVE

    @classmethod
    def is_active_dialer_sql(cls):
        """is_active_dialer, as a condition on the subscriptions a query reads."""
        return (cls.product == Product.SMRTDIALER) & (cls.status == cls.ACTIVE)

    @staticmethod
    def dialer_active_among(subscriptions):
        """Whether smrtDialer is active among an account's subscriptions."""
        return any(s.is_active_dialer for s in subscriptions)

    @staticmethod
    def latest_of(subscriptions, product):
        """The account's latest subscription to `product` among `subscriptions`, or None."""
        return max((s for s in subscriptions if s.product == product), key=lambda s: s.id,
                   default=None)

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
        """For smrtPhone: is smrtDialer there but canceled? (It is reactivated
        separately, as the article says.)"""
        if not self.is_smrtphone:
            return False
        dialer = self.account.subscription(Product.SMRTDIALER)
        return dialer is not None and not dialer.is_active

    def open_request(self):
        """The subscription's open cancellation request, or None."""
        return models.CancellationRequest.open_of(self.id)

    def request_posted(self, posted_id):
        """The request of this subscription whose id a form posted, or None."""
        request_id = posted_id_value(posted_id)
        if request_id is None:
            return None
        request = models.CancellationRequest
        return request.get_or_none((request.id == request_id) & (request.subscription == self))

    def latest_request(self, status):
        """The subscription's most recent cancellation request in `status`."""
        request = models.CancellationRequest
        return (request.select()
                .where((request.subscription == self) & (request.status == status))
                .order_by(request.id.desc())
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

    @classmethod
    def main_of(cls, account_id):
        """The account's main number: of those still in service (not ported
        out), the one labelled "Main..." if any, else the first; None if none."""
        in_service = [n for n in cls.of_account(account_id) if not n.is_ported]
        main = [n for n in in_service if n.label.lower().startswith("main")]
        return (main or in_service or [None])[0]

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
    the wizard says canceling erases.

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


# -- statements, built once (see db.ReusedSelect) ------------------------------

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


_NUMBERS = ReusedSelect(
    lambda account_id: PhoneNumber.select()
    .where(PhoneNumber.account == account_id).order_by(PhoneNumber.e164))


_OWNER = ReusedSelect(
    lambda account_id: User.select()
    .where((User.account == account_id) & (User.role == User.OWNER)).order_by(User.id).limit(1))

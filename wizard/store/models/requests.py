"""A cancellation request (one run of the wizard) and its answers, offers and
plan changes."""
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField, fn

from wizard.store.db import ReusedSelect
from wizard.store.models.accounts import Account, Plan, Product, Subscription, User
from wizard.store.models.base import BaseModel, UTCDateTimeField
from wizard.store.models.history import RequestRecord


class CancellationRequest(BaseModel):
    """One run of the wizard for one subscription: its progress and outcome.

    `open_for` holds the subscription while the request is open and is cleared
    when it closes; its unique index is what keeps one open request per
    subscription (NULLs do not collide on SQLite or PostgreSQL), so two tabs
    that start at once converge on one row.
    """

    # KEPT: the owner chose Keep my account; SAVED_BY_OFFER: accepted an offer
    # (stored as "retained"; the console shows it as "Saved by an offer", or as
    # "Call booked" when the offer was the call: console.state_of);
    # SUPERSEDED: left open while smrtPhone's cancellation took its product too.
    OPEN, KEPT, SAVED_BY_OFFER, CONFIRMED, SUPERSEDED = (
        "open", "kept", "retained", "confirmed", "superseded")

    account = ForeignKeyField(Account, backref="cancellation_requests", on_delete="CASCADE")
    subscription = ForeignKeyField(Subscription, backref="cancellation_requests", on_delete="CASCADE")
    open_for = ForeignKeyField(
        Subscription, null=True, unique=True, column_name="open_for_id", on_delete="CASCADE"
    )
    product = CharField()
    started_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    started_at = UTCDateTimeField(index=True)  # the console lists by it, newest first
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
    # Its anonymous record (models/history.py): the link goes this way only,
    # so erasing the request leaves a record that points to no one.
    record = ForeignKeyField(RequestRecord, null=True, unique=True, on_delete="SET NULL")

    @classmethod
    def open_of(cls, subscription_id):
        """The subscription's open request, or None."""
        return _OPEN_REQUEST.first(subscription_id)

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
        """What confirming canceled, smrtPhone first."""
        return self.cancelled_products.split()

    # What a page asks of a request several times (is a step complete, which
    # boxes are ticked, which statements apply): read once per object, or
    # handed over by the read that brought the request (know_answers,
    # know_account_facts). A write works on a re-read request (`refreshed`),
    # which reads them afresh.
    _answers = None  # (survey answer or None, {statement key: text version})
    _account_facts = None  # (credit balance in cents, whether smrtDialer is active)

    def know_answers(self, survey, acknowledged_versions):
        """Hand over the survey answer and acknowledgements read with the request."""
        self._answers = (survey, acknowledged_versions)

    def _read_answers(self):
        if self._answers is None:
            self.know_answers(_SURVEY.first(self.id), dict(_ACKNOWLEDGEMENTS.rows(self.id)))
        return self._answers

    def acknowledged_versions(self):
        """{statement key: text version} of what was acknowledged."""
        return self._read_answers()[1]

    def survey(self):
        """The survey's answer, or None."""
        return self._read_answers()[0]

    def account_facts(self):
        """(credit balance in cents, whether smrtDialer is active) of the request's
        account: what decides which statements apply (lifecycle.statements_for)."""
        if self._account_facts is None:
            self.know_account_facts(*_ACCOUNT_FACTS.first(self.account_id))
        return self._account_facts

    def know_account_facts(self, credit_cents, dialer_active):
        """Hand over the facts account_facts would read, when the caller holds them."""
        self._account_facts = (credit_cents or 0, bool(dialer_active))

    @classmethod
    def prefetch_answers(cls, requests):
        """Load the acknowledgements, surveys and account facts of many requests
        in four queries, so listing where each stands costs no queries a row."""
        by_id = {r.id: r for r in requests}
        answers = {r.id: [None, {}] for r in requests}
        if not by_id:
            return requests
        for a in Acknowledgement.select().where(Acknowledgement.request.in_(list(by_id))):
            answers[a.request_id][1][a.statement_key] = a.text_version
        for s in SurveyResponse.select().where(SurveyResponse.request.in_(list(by_id))):
            answers[s.request_id][0] = s
        account_ids = list({r.account_id for r in requests})
        credits = dict(Account.select(Account.id, Account.credit_balance_cents)
                       .where(Account.id.in_(account_ids)).tuples())
        dialers = {s.account_id for s in Subscription.select(Subscription.account).where(
            Subscription.account.in_(account_ids) & Subscription.is_active_dialer_sql())}
        for r in requests:
            r.know_answers(*answers[r.id])
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
    def is_pending_sql(cls):
        """The rule "a pending plan change" in SQL: scheduled, not yet made
        (pending_for then holds its subscription, one at most each)."""
        return cls.status == cls.SCHEDULED

    @classmethod
    def pending(cls, subscription_id):
        """The subscription's scheduled change, or None."""
        return cls.get_or_none((cls.pending_for == subscription_id) & cls.is_pending_sql())


# -- statements, built once (see db.ReusedSelect) ------------------------------

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

_ACCOUNT_FACTS = ReusedSelect(
    lambda account_id: Account.select(
        Account.credit_balance_cents,
        fn.EXISTS(Subscription.select().where(
            (Subscription.account == Account.id) & Subscription.is_active_dialer_sql())))
    .where(Account.id == account_id).tuples())

"""The erasure of an account: its schedule and the proof it was done."""
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField

from wizard.store.db import ReusedSelect
from wizard.store.models.base import BaseModel, UTCDateTimeField


class PurgeSchedule(BaseModel):
    """When an account's data is to be erased, and how far the erasure got.

    The database is the truth; RQ only triggers the work. `generation` grows
    each time the schedule is canceled or re-armed, so a job enqueued for an
    older generation finds nothing to do. A worker holds the row through
    `lease_expires_at`; a lease that runs out (the worker died) lets the sweep
    hand the purge to another worker, which resumes from `checkpoint`.

    account_id is a plain integer, not a foreign key: the row outlives the
    account it erases.
    """

    SCHEDULED, RUNNING, DONE, CANCELLED = "scheduled", "running", "done", "cancelled"
    # Verification failed PURGE_MAX_ATTEMPTS times: no worker tries again
    # until an operator says so (`flask --app wizard purge retry`).
    NEEDS_ATTENTION = "needs_attention"
    STATES = (SCHEDULED, RUNNING, NEEDS_ATTENTION, DONE, CANCELLED)

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
    # Why it needs attention: what verification found left (no personal data).
    attention_reason = TextField(null=True)

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
        """Running, stuck or done: the account is being, or has been, erased."""
        return self.status in (self.RUNNING, self.NEEDS_ATTENTION, self.DONE)


class ErasureRecord(BaseModel):
    """Proof that an account was erased, holding no personal data."""

    surrogate_id = CharField(unique=True)  # random; not the account id
    schedule = ForeignKeyField(PurgeSchedule, unique=True, on_delete="CASCADE")
    counts = TextField()  # JSON: rows (and files) erased per table
    started_at = UTCDateTimeField()
    finished_at = UTCDateTimeField()
    verified = BooleanField()
    verification = TextField()  # JSON: what remained per table (all zero when verified)


_PURGE_SCHEDULE = ReusedSelect(
    lambda account_id: PurgeSchedule.select().where(PurgeSchedule.account_id == account_id)
    .limit(1))

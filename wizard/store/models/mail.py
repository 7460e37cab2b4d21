"""The outbox: every email, as a row, before and after it is sent."""
from peewee import CharField, IntegerField, TextField

from wizard.store.models.base import BaseModel, UTCDateTimeField


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
    # To a Customer Success staff member, on the morning a follow-up is due.
    FOLLOW_UP_DUE = "follow_up_due"
    # To the owner: the account's data is ready to download (wizard/domain/exports.py).
    EXPORT_READY = "export_ready"
    # To the operators (OPS_EMAIL), never about a person: ids and reasons only.
    OPS_ALERT = "ops_alert"
    KINDS = (CANCELLATION_CONFIRMED, PLAN_CHANGED, PLAN_CHANGE_UNDONE, *ERASURE_REMINDERS,
             REACTIVATION_CONFIRMED, ERASURE_COMPLETE, CALL_BOOKED, CALL_RESCHEDULED,
             CALL_CANCELLED, CALL_REMINDER, FOLLOW_UP_DUE, OPS_ALERT, EXPORT_READY)

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
    call_id = IntegerField(null=True)
    call_start = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "created_at"), False),)

    @classmethod
    def pending_for(cls, account_id):
        """Ids of the account's messages waiting to be sent."""
        return [m.id for m in cls.select(cls.id).where(
            (cls.account_id == account_id) & (cls.status == cls.PENDING))]

"""The models, one module per subject; every model can be imported from here.

  base       the base model, the UTC datetime field, posted ids
  accounts   the account, its users, plans, subscriptions and the data canceling erases
  history    the anonymous record of each request, kept after the purge
  requests   a cancellation request, its answers, offers and plan changes
  calls      calls with Customer Success and staff hours
  erasure    the purge's schedule and its proof
  exports    the account's data to download (Download your data)
  mail       the outbox
  audit      the audit log
  system     the QA clock's offset, the schema's version

A method that needs a model of a later subject reaches it through this
package (`models.Call`), read when it runs, so the modules import in one
direction only.
"""
from wizard.store.models.base import BaseModel, UTCDateTimeField, posted_id_value
from wizard.store.models.accounts import (
    Account, AccountDataCounts, Agent, BillingRecord, CallFlow, CallLog, PhoneNumber, Plan,
    Product, Recording, Subscription, User,
)
from wizard.store.models.history import RecordStep, RecordTally, RequestRecord
from wizard.store.models.requests import (
    Acknowledgement, CancellationRequest, OfferDecision, OfferShown, PlanChange, SurveyResponse,
)
from wizard.store.models.audit import AuditEvent
from wizard.store.models.erasure import ErasureRecord, PurgeSchedule
from wizard.store.models.exports import DataExport
from wizard.store.models.mail import OutboxMessage
from wizard.store.models.calls import Call, CallOutcome, FollowUp, StaffHours, StaffOverride
from wizard.store.models.system import QaClockOffset, SchemaVersion

# Every table, in the order migration 1 creates them.
MODELS = [
    Account,
    User,
    Plan,
    Subscription,
    PhoneNumber,
    Agent,
    CallFlow,
    CallLog,
    Recording,
    BillingRecord,
    RequestRecord,
    RecordStep,
    RecordTally,
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
    Call,
    FollowUp,
    AccountDataCounts,
    QaClockOffset,
    DataExport,
]

__all__ = [model.__name__ for model in MODELS] + [
    "BaseModel", "CallOutcome", "Product", "SchemaVersion", "UTCDateTimeField", "posted_id_value"]

"""The audit log."""
import json

from peewee import CharField, ForeignKeyField, TextField

from wizard.store.models.accounts import Account, User
from wizard.store.models.base import BaseModel, UTCDateTimeField


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

"""The app's own bookkeeping: the QA clock's offset and the schema's version."""
from peewee import BigIntegerField, CharField, IntegerField

from wizard.store.db import database
from wizard.store.models.base import BaseModel, UTCDateTimeField


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

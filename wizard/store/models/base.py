"""What every model shares: the base class bound to the database, the UTC
datetime field, and reading an id a client posted.

Money is integer cents. Every time is timezone-aware UTC in Python and stored
as naive UTC in the database (UTCDateTimeField), so SQLite and PostgreSQL hold
the same values.
"""
from datetime import datetime, timezone

from peewee import DateTimeField, Model

from wizard.store.db import database


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

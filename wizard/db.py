"""The database: chosen at start-up from DATABASE_URL, versioned migrations.

SQLite is the default (a file under instance/); a postgresql:// URL selects
PostgreSQL. Both run the same migrations, so both run the same schema.
"""
import os
from urllib.parse import urlparse

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase

database = DatabaseProxy()


def open_database(url):
    """Return an unconnected peewee database for `url` (sqlite:/// or postgresql://)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # A file, never ":memory:": each request closes its connection, and
        # an in-memory database would vanish with it.
        path = url[len("sqlite:///"):]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return SqliteDatabase(
            path,
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                # Web and worker write to the same file; wait for the lock
                # instead of failing a request.
                "busy_timeout": 10000,
            },
        )
    if parsed.scheme in ("postgres", "postgresql"):
        return PostgresqlDatabase(
            parsed.path.lstrip("/"),
            user=parsed.username,
            password=parsed.password,
            host=parsed.hostname,
            port=parsed.port,
        )
    raise ValueError(f"Unsupported DATABASE_URL scheme: {parsed.scheme!r}")


def init_database(url):
    """Point the proxy at the database named by `url`; return it."""
    db = open_database(url)
    database.initialize(db)
    return db


def init_app(app):
    """Bind the database to `app` and open one connection per request."""
    init_database(app.config["DATABASE_URL"])

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()


def transaction():
    """Open a write transaction (nested calls become savepoints).

    On SQLite the write lock is taken at BEGIN (IMMEDIATE): two writers, say
    a web request and the purge worker, then wait for each other through
    busy_timeout, instead of the later one failing because the snapshot it
    read went stale. PostgreSQL needs nothing special: its conditional
    UPDATEs re-check their WHERE clause after waiting for a row lock.
    """
    if isinstance(database.obj, SqliteDatabase):
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()


def locked(query):
    """Lock the rows `query` reads until the transaction ends (PostgreSQL).

    SQLite needs no row locks: transaction() already holds its one write lock.
    """
    if isinstance(database.obj, SqliteDatabase):
        return query
    return query.for_update()

"""The database: chosen at start-up from DATABASE_URL, versioned migrations.

SQLite is the default (a file under instance/); a postgresql:// URL selects
PostgreSQL. Both run the same migrations, so both run the same schema.
"""
import os
from urllib.parse import urlparse

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

database = DatabaseProxy()


# The web server keeps its connections between requests: a new PostgreSQL
# connection costs a handshake and a new SQLite one its PRAGMAs, more than
# many a page's queries. A connection idle this long is opened afresh.
POOL = dict(max_connections=32, stale_timeout=300)


def open_database(url, pooled=False):
    """Return an unconnected peewee database for `url` (sqlite:/// or postgresql://).

    `pooled`: close() hands the connection back to a pool of this process
    (the web server); jobs and commands open and close their own.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # A file, never ":memory:": each request closes its connection, and
        # an in-memory database would vanish with it.
        path = url[len("sqlite:///"):]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return (PooledSqliteDatabase if pooled else SqliteDatabase)(
            path,
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                # Web and worker write to the same file; wait for the lock
                # instead of failing a request.
                "busy_timeout": 10000,
            },
            # A pooled connection goes back to the pool and may next serve another
            # thread (one at a time), which sqlite3 refuses unless told.
            **(dict(POOL, check_same_thread=False) if pooled else {}),
        )
    if parsed.scheme in ("postgres", "postgresql"):
        return (PooledPostgresqlDatabase if pooled else PostgresqlDatabase)(
            parsed.path.lstrip("/"),
            user=parsed.username,
            password=parsed.password,
            host=parsed.hostname,
            port=parsed.port,
            **(POOL if pooled else {}),
        )
    raise ValueError(f"Unsupported DATABASE_URL scheme: {parsed.scheme!r}")


def init_database(url, pooled=False):
    """Point the proxy at the database named by `url`; return it."""
    db = open_database(url, pooled)
    database.initialize(db)
    return db


def init_app(app):
    """Bind the database to `app`: each request takes a connection from the pool."""
    init_database(app.config["DATABASE_URL"], pooled=True)

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()


def close_pool():
    """Close every pooled connection of this process (an app being thrown away)."""
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()


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

"""The database: chosen at start-up from DATABASE_URL, versioned migrations.

SQLite is the default (a file under instance/); a postgresql:// URL selects
PostgreSQL. Both run the same migrations, so both run the same schema.
"""
import inspect
import os
import select
from urllib.parse import urlparse

from peewee import (
    SQL, AutoField, BigIntegerField, CharField, DatabaseProxy, ForeignKeyField, IntegerField,
    NodeList, SqliteDatabase, TextField, fn,
)
from playhouse.pool import PooledPsycopg3Database, PooledSqliteDatabase
from playhouse.psycopg3_ext import Psycopg3Database

from wizard import files

database = DatabaseProxy()


# The web server keeps its connections between requests: a new PostgreSQL
# connection costs a handshake and a new SQLite one its PRAGMAs, more than
# many a page's queries. A connection idle this long is opened afresh.
POOL = dict(max_connections=32, stale_timeout=300)


# psycopg 3 prepares a statement on the server once a connection has run
# it this many times, and then only executes it: the pages' statements are
# planned once per pooled connection instead of on every request. None turns
# that off, as PgBouncer in transaction mode needs (DATABASE_PREPARE_THRESHOLD=off).
PREPARE_THRESHOLD = 5


class PooledPostgres(PooledPsycopg3Database):
    """The web's pool, which never hands a request a connection the server has
    dropped (PostgreSQL restarted, an operator ended the backends).

    Nothing tells an idle connection its server went away until it is used,
    and then the request using it fails. But an idle connection has nothing
    to read: if its socket is readable, the server has closed it or sent its
    "terminating connection" notice. One select(2) with no wait, no round
    trip, at checkout; such a connection is thrown away and a new one made.
    """

    def _is_closed(self, conn):
        if super()._is_closed(conn):
            return True
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):  # no socket any more
            return True
        return bool(readable)


def open_database(url, pooled=False, prepare_threshold=PREPARE_THRESHOLD):
    """Return an unconnected peewee database for `url` (sqlite:/// or postgresql://).

    `pooled`: close() hands the connection back to a pool of this process
    (the web server); jobs and commands open and close their own.
    `prepare_threshold`: see PREPARE_THRESHOLD (PostgreSQL only).
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # A file, never ":memory:": each request closes its connection, and
        # an in-memory database would vanish with it.
        path = url[len("sqlite:///"):]
        # Only its owner reads it (wizard/files.py); SQLite gives the -wal and
        # -shm files the database file's mode.
        files.private_folder(os.path.dirname(os.path.abspath(path)))
        files.private_file(path)
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
        return (PooledPostgres if pooled else Psycopg3Database)(
            parsed.path.lstrip("/"),
            user=parsed.username,
            password=parsed.password,
            host=parsed.hostname,
            port=parsed.port,
            prepare_threshold=prepare_threshold,
            **(POOL if pooled else {}),
        )
    raise ValueError(f"Unsupported DATABASE_URL scheme: {parsed.scheme!r}")


def init_database(url, pooled=False, prepare_threshold=PREPARE_THRESHOLD):
    """Point the proxy at the database named by `url`; return it."""
    db = open_database(url, pooled, prepare_threshold)
    database.initialize(db)
    return db


def init_app(app):
    """Bind the database to `app`'s settings, pooled: the web server's requests
    take a connection from the pool (wizard/web/hooks.py opens and closes it)."""
    init_database(app.config["DATABASE_URL"], pooled=True,
                  prepare_threshold=app.config["DATABASE_PREPARE_THRESHOLD"])


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


def locked(query, strength="FOR UPDATE"):
    """Lock the rows `query` reads until the transaction ends (PostgreSQL).

    `strength` "FOR NO KEY UPDATE" is for rows whose keys the transaction
    leaves alone: it lets other transactions insert rows pointing at them
    meanwhile (a foreign key's check takes a key-share lock, which FOR
    UPDATE would wait for, or deadlock with).
    SQLite needs no row locks: transaction() already holds its one write lock.
    """
    if isinstance(database.obj, SqliteDatabase):
        return query
    return query.for_update(strength)


class ReusedSelect:
    """A SELECT whose SQL text is built once per kind of database, then run
    again and again with new values.

    Building a statement's text is most of what peewee spends on a page (its
    tree walk over every column of a wide SELECT), and the statements every
    page runs (the signed-in user, the open request, its answers) differ from
    request to request only in an id or two. So `build(*values)` returns the
    peewee query once, with stand-in values; its text and parameters are kept
    per database class (SQLite and PostgreSQL spell SQL differently), and each
    call puts the real values where the stand-ins were and runs the text as
    it is. Peewee builds the rows, as the query itself would (models, with
    their joined models attached).

    Only the text is kept, never a row: each call reads the database afresh,
    so nothing here can show stale or another account's data. Each of
    `build`'s arguments must be used exactly once in the query; they are ints
    (ids), unless `adapt` gives, argument by argument, the function that turns
    a value into its database form (a field's db_value): `build` still gets an
    int stand-in for it.

    On PostgreSQL the same text, run again and again, is what lets psycopg 3
    prepare it on each pooled connection (PREPARE_THRESHOLD).

    `models`: for the statement every page runs, the models it selects whole,
    in the order it selects them (then any further columns). `rows` then gives
    each row as a tuple: an instance of each model (None where an outer join
    found no row), then the further columns, built by a plain loop over the
    columns. Peewee's cursor wrapper works a joined row's shape out again on
    every row, which cost the signed-in read more than the database did
    (about 130 µs a page in one process).

    Uses peewee 3.19's `_get_cursor_wrapper`, the call its own queries make to
    build rows from a cursor, and a model's `__data__`, where it keeps the
    values it read (private, pinned in requirements.txt; tests/store/test_queries.py
    checks the rows match the query's own).
    """

    # Stand-ins no real id or constant of a query can equal.
    _STAND_IN = -7_300_000_001

    def __init__(self, build, adapt=None, models=None):
        self.build = build
        self.models = models
        # Parameters with a default are the query's constants (bound when built).
        self.arity = sum(p.default is inspect.Parameter.empty
                         for p in inspect.signature(build).parameters.values())
        self.adapt = adapt or (int,) * self.arity
        self._compiled = {}  # database class -> (query, sql, params, positions)

    def _compile(self, db):
        stand_ins = [self._STAND_IN - i for i in range(self.arity)]
        query = self.build(*stand_ins)
        sql, params = db.get_sql_context().sql(query).query()
        positions = [params.index(s) for s in stand_ins]
        if sorted(params.count(s) for s in stand_ins) != [1] * self.arity:
            raise ValueError("each value of a ReusedSelect must appear exactly once")
        compiled = self._compiled[type(db)] = (query, sql, list(params), positions)
        return compiled

    def rows(self, *values):
        """The rows for `values`, as a list."""
        db = database.obj
        query, sql, params, positions = self._compiled.get(type(db)) or self._compile(db)
        params = list(params)
        for position, adapt, value in zip(positions, self.adapt, values, strict=True):
            params[position] = adapt(value)
        cursor = db.execute_sql(sql, params)
        if self.models is None:
            return list(query._get_cursor_wrapper(cursor))
        return [_as_models(self.models, row) for row in cursor.fetchall()]

    def first(self, *values):
        """The first row for `values`, or None (`build` should limit itself to one)."""
        found = self.rows(*values)
        return found[0] if found else None


def _as_models(models, row):
    """A row of whole models' columns, then further ones, as (instances..., columns...)."""
    built, start = [], 0
    for model in models:
        fields = _fields_of(model)
        built.append(_instance(model, fields, row[start:start + len(fields)]))
        start += len(fields)
    return (*built, *row[start:])


# Fields whose value the driver already gives as peewee would hand it back:
# an int for an integer column (or a foreign key to one), a str for text.
_AS_READ = (AutoField, IntegerField, BigIntegerField, CharField, TextField)
_fields = {}  # model -> ((name, converter or None), ...), in sorted_fields order


def _fields_of(model):
    """The model's columns as a whole-model SELECT lists them: (name, the
    field's python_value, or None where the driver's value is already it)."""
    if model not in _fields:
        def as_read(field):
            target = field.rel_field if isinstance(field, ForeignKeyField) else field
            return type(target) in _AS_READ
        _fields[model] = tuple((field.name, None if as_read(field) else field.python_value)
                               for field in model._meta.sorted_fields)
    return _fields[model]


def _instance(model, fields, values):
    """The model as read from `values` (its sorted fields' columns), or None
    when its primary key is NULL: an outer join that found no row."""
    if values[0] is None:  # sorted_fields starts with the primary key
        return None
    instance = model(__no_default__=True)
    instance.__data__.update({name: value if convert is None or value is None else convert(value)
                              for (name, convert), value in zip(fields, values)})
    return instance


def contains_text(field, text):
    """`field` contains `text`, as typed: case aside, % _ and \\ are plain
    characters, not wildcards (LIKE with an escape character, spelled the
    same on SQLite and PostgreSQL)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return NodeList((fn.LOWER(field), SQL("LIKE"), f"%{escaped}%", SQL("ESCAPE '\\'")))

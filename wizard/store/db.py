"""The database: chosen at start-up from DATABASE_URL, versioned migrations.

SQLite is the default (a file under instance/); a postgresql:// URL selects
PostgreSQL. Both run the same migrations, so both run the same schema.
"""
import inspect
import itertools
import os
import re
import weakref
from urllib.parse import urlparse

from peewee import (
    AutoField, BigIntegerField, CharField, DatabaseProxy, FieldAccessor, ForeignKeyAccessor,
    ForeignKeyField, IntegerField, ModelCursorWrapper, ModelObjectCursorWrapper,
    PostgresqlDatabase, SqliteDatabase, TextField, is_model,
)
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


def _plain_field_names(model):
    """Names of `model`'s fields whose accessor only stores the value in
    __data__ (a plain field, or a foreign key given its id): the values a row
    may put there directly."""
    def accessor(name):
        return next((vars(k)[name] for k in model.__mro__ if name in vars(k)), None)
    return {name for name in model._meta.fields
            if type(accessor(name)) in (FieldAccessor, ForeignKeyAccessor)}


def _unchanged_type(converter):
    """The type whose values `converter` (a field's python_value) gives back
    as they are, or None: an int for an integer column or a foreign key to
    one, a str for a text column. Peewee's adapt is int() or str() there, so
    the driver's value of exactly that type is already the field's value."""
    field = getattr(converter, "__self__", None)
    if isinstance(field, ForeignKeyField):
        field = field.rel_field
    if type(field) in (AutoField, IntegerField, BigIntegerField):
        return int
    if type(field) in (CharField, TextField):
        return str
    return None


class _RowBuilder:
    """Turns a statement's rows into models as peewee's cursor wrapper would,
    from what the wrapper worked out on the statement's first run: which
    model each column fills, its converter, how the joined models hang
    together. Peewee works much of that out again on every row (a wide
    joined row calls setattr once per column); here each column's value goes
    straight into its model's __data__, as the field's accessor would put it.

    `for_wrapper` returns None for a wrapper it does not know (tuples, dicts):
    those rows stay with peewee.
    """

    @classmethod
    def for_wrapper(cls, wrapper):
        if type(wrapper) is ModelCursorWrapper:
            if not all(is_model(c) for c in wrapper.key_to_constructor.values()):
                return None
            return cls(wrapper, wrapper.key_to_constructor, wrapper.column_keys,
                       wrapper.src_to_dest, wrapper.src_is_dest)
        if type(wrapper) is ModelObjectCursorWrapper and wrapper.is_model:
            # One model; a column named twice keeps its first value.
            keys, seen = [], set()
            for column in wrapper.columns:
                keys.append(wrapper.model if column not in seen else None)
                seen.add(column)
            return cls(wrapper, {wrapper.model: wrapper.constructor}, keys, (), {})
        return None

    def __init__(self, wrapper, key_to_constructor, column_keys, src_to_dest, src_is_dest):
        root = wrapper.model
        # Per model: the columns that go straight into its __data__, as
        # (index, name, converter); then the columns set as attributes (any
        # other, such as an aliased expression); and per key, the columns
        # whose value marks it as set (for hanging joined models).
        fields = {key: [] for key in key_to_constructor}
        attributes, marks = [], {}
        plain = {key: _plain_field_names(constructor)
                 for key, constructor in key_to_constructor.items()}
        for idx, key in enumerate(column_keys):
            if key is None:
                continue
            marks.setdefault(key, []).append(idx)
            target = key if key in key_to_constructor else root
            name, converter = wrapper.columns[idx], wrapper.converters[idx]
            if name in plain[target]:
                fields[target].append((idx, name, converter))
            else:
                attributes.append((idx, target, name, converter))
        self.build = _compiled_build(root, key_to_constructor, fields, attributes, marks,
                                     src_to_dest, src_is_dest)


def _compiled_build(root, key_to_constructor, fields, attributes, marks, src_to_dest, src_is_dest):
    """`build(row)`, written out as Python for one statement's columns.

    The function one loop over the columns would be, unrolled: each model's
    __data__ is one dict display of row[i] (converted when it holds a value:
    a field's converter gives None for None, peewee's and UTCDateTimeField
    alike), so a wide row costs a few dict displays instead of a Python step
    per column. Only indexes, names and converters of this statement go into
    the text.
    """
    names, objects = {}, {}
    lines = ["def build(row):"]
    for number, (key, constructor) in enumerate(key_to_constructor.items()):
        objects[key] = f"o{number}"
        names[f"C{number}"] = constructor
        items = []
        for idx, name, converter in fields[key]:
            unchanged = _unchanged_type(converter)
            if converter is None:
                items.append(f"{name!r}: row[{idx}]")
            elif unchanged is not None:
                names[f"f{idx}"], names[f"t{idx}"] = converter, unchanged
                items.append(f"{name!r}: row[{idx}] if row[{idx}].__class__ is t{idx} "
                             f"or row[{idx}] is None else f{idx}(row[{idx}])")
            else:
                names[f"f{idx}"] = converter
                items.append(f"{name!r}: None if row[{idx}] is None else f{idx}(row[{idx}])")
        lines += [f"    o{number} = C{number}.__new__(C{number})",
                  f"    o{number}.__data__ = {{{', '.join(items)}}}",
                  f"    o{number}._dirty = set()",
                  f"    o{number}.__rel__ = {{}}"]
    for idx, target, name, converter in attributes:
        value = f"row[{idx}]"
        if converter is not None:
            names[f"f{idx}"] = converter
            value = f"f{idx}({value})"
        lines.append(f"    setattr({objects[target]}, {name!r}, {value})")
    # Hang each joined model on its source, as peewee does: a model is hung
    # when a column of its own is set, or (inner joins) when it is itself the
    # source of a join that was selected; never an empty one, every column
    # NULL, as an outer join gives for no match.
    for src, attr, dest, _, join_type in src_to_dest:
        if dest not in objects or src not in objects:
            continue
        is_set = " or ".join(f"row[{i}] is not None" for i in marks.get(dest, ())) or "False"
        if src_is_dest.get(dest) and not join_type.endswith("OUTER JOIN"):
            is_set = "True"
        lines += [f"    if {is_set}:",
                  f"        setattr({objects[src]}, {attr!r}, {objects[dest]})",
                  f"        {objects[src]}._dirty.clear()"]
    lines.append(f"    return {objects[root]}")
    exec("\n".join(lines), names)  # noqa: S102 (text made only from the statement's layout)
    return names["build"]


class ReusedSelect:
    """A SELECT whose SQL text is built once per kind of database, then run
    again and again with new values.

    Building a statement's text is most of what peewee spends on a page (its
    tree walk over every column of a wide SELECT), and the statements every
    page runs (the user, the account's subscriptions, the open request, its
    answers) differ from request to request only in an id or two. So
    `build(*values)` returns the peewee query once, with stand-in values; its
    text and parameters are kept per database class (SQLite and PostgreSQL
    spell SQL differently), and each call puts the real values where the
    stand-ins were and runs the text as it is. Rows come back as the query
    would give them (models, with their joined models attached): built by
    peewee on the first run, then by a _RowBuilder learnt from it.

    Only the text is kept, never a row: each call reads the database afresh,
    so nothing here can show stale or another account's data. Each of
    `build`'s arguments must be used exactly once in the query; they are ints
    (ids), unless `adapt` gives, argument by argument, the function that turns
    a value into its database form (a field's db_value): `build` still gets an
    int stand-in for it.

    On PostgreSQL the text is also planned once per connection: it is
    PREPAREd the first time a connection runs it, and EXECUTEd after that.
    Planning costs the server more than running these indexed lookups, and
    the pages run them on every request (see _PreparedOnPostgres).

    Uses peewee 3.19's `_get_cursor_wrapper` and what its cursor wrappers
    work out (private, pinned in requirements.txt; tests/test_queries.py
    checks the rows and their models match peewee's own).
    """

    # Stand-ins no real id or constant of a query can equal.
    _STAND_IN = -7_300_000_001
    _numbers = itertools.count(1)

    def __init__(self, build, adapt=None):
        self.build = build
        # The statement's name on a PostgreSQL connection (unique per process).
        self.name = f"wizard_reused_{next(self._numbers)}"
        # Parameters with a default are the query's constants (bound when built).
        self.arity = sum(p.default is inspect.Parameter.empty
                         for p in inspect.signature(build).parameters.values())
        self.adapt = adapt or (int,) * self.arity
        self._compiled = {}  # database class -> (query, sql, params, positions)
        # database class -> a _RowBuilder, from what peewee's cursor wrapper
        # works out on the first run with rows (columns, converters, which
        # model each column fills): the same for every run of the same text.
        # None: rows peewee builds itself (tuples).
        self._builders = {}

    def _compile(self, db):
        stand_ins = [self._STAND_IN - i for i in range(self.arity)]
        query = self.build(*stand_ins)
        sql, params = db.get_sql_context().sql(query).query()
        positions = [params.index(s) for s in stand_ins]
        if sorted(params.count(s) for s in stand_ins) != [1] * self.arity:
            raise ValueError("each value of a ReusedSelect must appear exactly once")
        if isinstance(db, PostgresqlDatabase):
            sql = _PreparedOnPostgres(self.name, sql, len(params))
        compiled = self._compiled[type(db)] = (query, sql, list(params), positions)
        return compiled

    def rows(self, *values):
        """The rows for `values`, as a list."""
        db = database.obj
        query, sql, params, positions = self._compiled.get(type(db)) or self._compile(db)
        params = list(params)
        for position, adapt, value in zip(positions, self.adapt, values, strict=True):
            params[position] = adapt(value)
        if isinstance(sql, _PreparedOnPostgres):
            cursor = sql.execute(db, params)
        else:
            cursor = db.execute_sql(sql, params)
        builder = self._builders.get(type(db), False)
        if builder:
            return [builder.build(row) for row in cursor.fetchall()]
        wrapper = query._get_cursor_wrapper(cursor)
        rows = list(wrapper)
        if builder is False and wrapper.initialized:  # learnt from the first run with rows
            self._builders[type(db)] = _RowBuilder.for_wrapper(wrapper)
        return rows

    def first(self, *values):
        """The first row for `values`, or None (`build` should limit itself to one)."""
        found = self.rows(*values)
        return found[0] if found else None


class _PreparedOnPostgres:
    """One ReusedSelect's text as a PostgreSQL prepared statement.

    A connection prepares it the first time it runs it and keeps the plan
    until it closes (prepared statements live as long as their session), so
    a pooled connection plans each statement once in its life instead of on
    every page. The connections that have prepared it are remembered weakly:
    a connection the pool throws away takes its entry with it.
    """

    def __init__(self, name, sql, count):
        self.name = name
        # psycopg2's placeholders become PostgreSQL's numbered ones ($1, ...).
        numbers = itertools.count(1)
        self.prepare_sql = f"PREPARE {name} AS " + re.sub(
            r"%s", lambda _: f"${next(numbers)}", sql)
        if next(numbers) != count + 1 or "%%" in sql:
            raise ValueError("cannot number the parameters of a ReusedSelect")
        self.execute_sql = f"EXECUTE {name}" + (
            "(" + ", ".join(["%s"] * count) + ")" if count else "")
        self._prepared_on = weakref.WeakSet()

    def execute(self, db, params):
        connection = db.connection()
        if connection not in self._prepared_on:
            # Its own round trip, once per connection: a PREPARE survives an
            # error in anything sent with it, so only alone is it known to be
            # prepared exactly when it succeeded.
            db.execute_sql(self.prepare_sql)
            self._prepared_on.add(connection)
        return db.execute_sql(self.execute_sql, params)

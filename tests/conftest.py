"""Fixtures: an app per test on SQLite and on PostgreSQL, a signed-in client,
and the one clock held still.

Every test that takes `app` runs twice, once per database. PostgreSQL is
found or started by tests/support/postgres.py; when none can be had the PostgreSQL
half is skipped loudly, except under CI=true, where the run fails.
"""
import email
import email.policy
import logging
import os
import re
import socket
import warnings
from datetime import datetime, timezone

import pytest
from aiosmtpd.controller import Controller

from tests.support import postgres, redis_server as redis_support
from wizard import clock, create_app
from wizard.store import migrations
from wizard.store.db import close_pool, database, init_database
from wizard.dev.demo import seed_demo
from wizard.store.models import MODELS, SchemaVersion

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
TEST_PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast; the app's default is scrypt


@pytest.fixture(scope="session")
def postgres_url():
    server = postgres.find_or_start()
    if server is None:
        message = ("No PostgreSQL server could be found or started: the PostgreSQL half of "
                   "the suite cannot run. Set TEST_DATABASE_URL or install PostgreSQL.")
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        warnings.warn(message)
        pytest.skip(message)
    try:
        db = init_database(server.url)
        with db.connection_context():
            db.drop_tables(MODELS + [SchemaVersion], safe=True, cascade=True)
            migrations.migrate(db)
        db.close()
        yield server.url
    finally:
        server.close()


def _empty_postgres(db):
    tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
    db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server on a free port, for the whole run; stopped after."""
    server = redis_support.PrivateRedis(str(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The private Redis, emptied for this test."""
    redis_server.client().flushall()
    return redis_server.url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        db = init_database(url)
        with db.connection_context():
            migrations.migrate(db)
        return url
    url = request.getfixturevalue("postgres_url")
    db = init_database(url)
    with db.connection_context():
        _empty_postgres(db)
    return url


@pytest.fixture
def frozen_clock():
    clock.FROZEN = NOW
    yield clock
    clock.FROZEN = None
    clock.use_offset(None)  # a QA-mode app's offset ends with its test


@pytest.fixture
def app(request, database_url, redis_url, tmp_path, frozen_clock, monkeypatch):
    # @pytest.mark.qa_mode: QA mode (the QA clock); else off, even beside a running `make run`.
    qa_mode = request.node.get_closest_marker("qa_mode") is not None
    monkeypatch.setenv("WIZARD_QA", "1" if qa_mode else "0")
    settings = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RECORDINGS_DIR": str(tmp_path / "recordings"),
        "EXPORTS_DIR": str(tmp_path / "exports"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "MAIL_SERVER": "",
        "PURGE_BATCH_SIZE": "7",  # small batches, so tests cross batch boundaries
    }
    # Jobs read their settings from the environment, as in a worker process.
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "PASSWORD_HASH_METHOD": TEST_PASSWORD_METHOD,
        "WIZARD_QA": qa_mode,
        "RATELIMIT_STORAGE_URI": "memory://",  # counters per app, so per test
        **settings,
    })
    with database.connection_context():
        seed_demo(app.config["RECORDINGS_DIR"], password_method=TEST_PASSWORD_METHOD,
                  call_logs=40, recordings=6, invoices=3, past_call=False)
    yield app
    if not database.is_closed():
        database.close()
    close_pool()


class Browser:
    """A test client that signs in and sends CSRF tokens like a browser."""

    TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, htmx=False, **kwargs):
        headers = kwargs.pop("headers", {})
        if htmx:
            headers.update({"HX-Request": "true", "HX-Target": "wizard-panel"})
        response = self.client.get(url, headers=headers, **kwargs)
        self._remember_token(response)
        return response

    def post(self, url, data=None, htmx=False, csrf=True, **kwargs):
        if csrf and self.token is None:
            self.get("/auth/login", follow_redirects=True)  # signed in: the home page's token
        headers = kwargs.pop("headers", {})
        data = dict(data or {})
        if htmx:
            headers.update({"HX-Request": "true", "HX-Target": "wizard-panel"})
            if csrf:
                headers["X-CSRFToken"] = self.token
        elif csrf:
            data.setdefault("csrf_token", self.token)
        response = self.client.post(url, data=data, headers=headers, **kwargs)
        self._remember_token(response)
        if url in ("/auth/login", "/auth/logout") and response.status_code == 303:
            self.token = None  # a new session, with a new token (auth.views.start_afresh)
        return response

    def _remember_token(self, response):
        if response.mimetype == "text/html":
            match = self.TOKEN.search(response.get_data(as_text=True))
            if match:
                self.token = match.group(1)

    def login(self, email, password):
        response = self.post("/auth/login", {"email": email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)
        self.get(response.location, follow_redirects=True)  # the new session's token
        return response


DEMO_LOGINS = {
    "owner": ("owner@acme.test", "owner-pass"),
    "admin": ("admin@acme.test", "admin-pass"),
    "agent": ("agent@acme.test", "agent-pass"),
    "other_owner": ("owner@birch.test", "owner-pass"),
    "success": ("success@smrtphone.test", "success-pass"),
}


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def owner(browser):
    browser.login(*DEMO_LOGINS["owner"])
    return browser


@pytest.fixture
def sign_in(app):
    """Return a function that gives a signed-in Browser for a demo role."""

    def sign_in(role):
        b = Browser(app.test_client())
        b.login(*DEMO_LOGINS[role])
        return b

    return sign_in


class QueryCounter(logging.Handler):
    """The SQL statements peewee logs (`count`): each statement it runs, one a
    line (peewee's pool logs returning a connection too, but not at DEBUG on
    its own logger's statements: only tuples are statements)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if isinstance(record.msg, tuple):
            self.count += 1


@pytest.fixture
def count_queries():
    """Count the SQL statements peewee runs inside a `with` block."""
    logger = logging.getLogger("peewee")

    class Counting:
        def __enter__(self):
            self.handler = QueryCounter()
            self.level = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self.handler)
            return self.handler

        def __exit__(self, *exc):
            logger.removeHandler(self.handler)
            logger.setLevel(self.level)

    return Counting


# -- a local SMTP server (aiosmtpd), for the tests of emails sent for real --------

class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted"

    def subjects(self):
        return [m["Subject"] for _, m in self.messages]


@pytest.fixture
def smtp(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(port))
    yield inbox
    controller.stop()

"""Faults survived, with real processes: PostgreSQL dropping every connection
while gunicorn serves, the database out of reach, and Redis stopping during a
confirmation. Each test prints what it did and what it saw."""
import json
import os
from contextlib import ExitStack
from datetime import timedelta

import pytest

from tests.support.helpers import cancel_smrtphone
from tests.support.jobs import run_worker
from tests.support.processes import free_port, gunicorn, http_get, wait_for
from tests.support.redis_server import PrivateRedis
from jobs.sweep import sweep
from wizard import clock, create_app, queue
from wizard.store.models import ErasureRecord, OutboxMessage, PurgeSchedule


def get(url):
    return http_get(url)[:2]


@pytest.fixture
def gunicorn_on(redis_url, tmp_path):
    """Start the app under gunicorn on a database; stopped after the test."""
    with ExitStack() as running:
        yield lambda database_url: running.enter_context(gunicorn(dict(
            os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, WIZARD_QA="0",
            WIZARD_INSTANCE=str(tmp_path / "instance"))))


def test_postgresql_dropping_every_connection_fails_no_request_after(gunicorn_on, postgres_url):
    """As a restart does to a pool: every server-side connection ends at once."""
    import psycopg

    base = gunicorn_on(postgres_url)
    warm = [get(base + "/readyz")[0] for _ in range(20)]
    assert set(warm) == {200}, "both workers hold a pooled connection"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        others = [pid for (pid,) in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()").fetchall()]
        for pid in others:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        ended = len(others)
        # pg_terminate_backend only signals: the restart is over once those
        # backends have exited (a request sent before then is one in flight).
        wait_for(lambda: not admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                                           (others,)).fetchone()[0],
                 timeout=10, what="the ended backends to exit", every=0.05)
    after = [get(base + "/readyz") for _ in range(20)]
    print(f"ended {ended} server connections; the 20 requests after answered "
          f"{sorted({s for s, _ in after})}")
    assert ended >= 1
    assert [s for s, _ in after] == [200] * 20, [json.loads(b) for _, b in after if b.startswith("{")]


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_database_out_of_reach_is_a_clean_503(redis_url, monkeypatch, signed_in):
    from wizard.store.db import close_pool

    monkeypatch.setenv("WIZARD_QA", "0")
    down = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "RATELIMIT_STORAGE_URI": "memory://",
                       "REDIS_URL": redis_url,
                       "DATABASE_URL": f"postgresql://127.0.0.1:{free_port()}/nowhere"})
    try:
        client = down.test_client()
        if signed_in:
            with client.session_transaction() as session:
                session["_user_id"] = "1.1"  # the demo owner's session id
        response = client.get("/billing/products")
        body = response.get_data(as_text=True)
        print(f"database out of reach, signed in={signed_in}: {response.status_code}")
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert "Unavailable for a moment" in body and "Nothing was changed." in body
        if signed_in:
            assert "session" not in response.headers.get("Set-Cookie", ""), "still signed in after"
        assert client.get("/healthz").status_code == 200, "the process itself is fine"
        assert client.get("/readyz").status_code == 503
    finally:
        close_pool()


def test_redis_stopping_during_a_confirmation_loses_nothing(app, owner, smtp, tmp_path):
    """The confirmation commits; what it would have enqueued, the sweep
    enqueues once Redis is back, exactly once."""
    redis = PrivateRedis(str(tmp_path))
    queue.init(redis.url, app.config["DEPLOYMENT"])
    os.environ["REDIS_URL"] = redis.url  # the jobs read it, as a worker would
    try:
        redis.stop()
        phone = cancel_smrtphone(owner)
        status = type(phone).get_by_id(phone.id).status
        print(f"Redis stopped; confirmation answered, subscription {status}")
        assert status == "cancellation_pending"  # confirmed; the service runs to its period end
        schedule = PurgeSchedule.get()
        assert OutboxMessage.select().count() == 1

        redis = PrivateRedis(str(tmp_path), port=redis.port)  # back, empty
        assert sweep()["messages"] == 1
        run_worker(redis.url)
        assert sweep()["messages"] == 0
        run_worker(redis.url)
        print(f"Redis back: sent {smtp.subjects()}")
        assert smtp.subjects() == ["Your smrtPhone and smrtDialer cancellation is confirmed"]

        clock.FROZEN = schedule.due_at + timedelta(minutes=1)
        assert sweep()["purges"] == 1
        run_worker(redis.url)
        sweep()
        run_worker(redis.url)
        assert ErasureRecord.select().count() == 1 and PurgeSchedule.get().status == "done"
        assert smtp.subjects()[1:] == ["Your smrtPhone data has been erased"], "each email once"
        print(f"at the due time: purged once, emails {smtp.subjects()}")
    finally:
        redis.stop()

"""What operators and their probes read: /healthz, /readyz and /metrics, in
the test client and under gunicorn with two workers (multiprocess metrics)."""
import json
import os
import re
import secrets
from datetime import timedelta

import pytest

from tests.support.helpers import cancel_smrtphone, text
from tests.support.processes import free_port, gunicorn, http_get
from wizard import clock
from wizard.store.models import Call, OutboxMessage, PurgeSchedule

TOKEN = "metrics-token-" + "x7Qp2" * 4


def sample(body, name, **labels):
    """The value of one sample of the Prometheus text `body`, or None."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        found = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if found and found.group(1) == name:
            got = ",".join(sorted(p for p in (found.group(2) or "").split(",") if p))
            if got == wanted:
                return float(found.group(3))
    return None


def test_healthz_needs_nothing_and_shows_nothing(app, browser):
    response = browser.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert "set-cookie" not in {h.lower() for h in response.headers.keys()}


def test_readyz_says_what_is_down(app, browser, monkeypatch):
    ready = browser.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}

    from wizard import queue

    monkeypatch.setattr(queue, "connection", lambda: __import__("redis").Redis(port=free_port()))
    down = browser.get("/readyz")
    assert down.status_code == 503 and down.get_json()["checks"] == {"database": "ok", "redis": "down"}


def test_readyz_knows_a_migration_that_has_not_run(app, browser):
    from wizard.store import migrations
    from wizard.store.db import database
    from wizard.store.models import SchemaVersion

    with database.connection_context():  # the latest: re-created, it stays last
        last = SchemaVersion.get(SchemaVersion.version == migrations.MIGRATIONS[-1][0])
        last.delete_instance()
    try:
        response = browser.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["database"] == "migrations pending"
    finally:  # the PostgreSQL schema is shared by the session's tests
        with database.connection_context():
            SchemaVersion.create(version=last.version, name=last.name, applied_at=last.applied_at)


def test_metrics_count_what_the_database_holds(app, owner):
    """Each figure computed here from the rows, as the test seeded them."""
    cancel_smrtphone(owner)
    from tests.support.calls import a_call

    a_call()
    PurgeSchedule.update(status=PurgeSchedule.NEEDS_ATTENTION).execute()
    clock.FROZEN = clock.now() + timedelta(minutes=10)
    body = text(owner.get("/metrics"))
    for state in PurgeSchedule.STATES:
        expected = PurgeSchedule.select().where(PurgeSchedule.status == state).count()
        assert sample(body, "wizard_purges", state=state) == expected, state
    assert sample(body, "wizard_purges", state="needs_attention") == 1
    for status in ("held", "pending", "sending", "sent", "void"):
        expected = OutboxMessage.select().where(OutboxMessage.status == status).count()
        assert sample(body, "wizard_emails", status=status) == expected, status
    assert sample(body, "wizard_emails", status="pending") >= 1, "the confirmation waits"
    oldest = min(m.created_at for m in OutboxMessage.select().where(OutboxMessage.status == "pending"))
    assert sample(body, "wizard_oldest_pending_email_seconds") == (clock.now() - oldest).total_seconds()
    assert sample(body, "wizard_calls", status="booked") == Call.select().count() == 1
    assert sample(body, "wizard_emails_failing") == 0
    OutboxMessage.update(attempts=5).where(OutboxMessage.status == "pending").execute()
    failing = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
    assert sample(text(owner.get("/metrics")), "wizard_emails_failing") == failing
    assert sample(body, "wizard_queue_depth") is not None
    assert "owner@acme.test" not in body and "Acme" not in body


def test_metrics_count_requests_by_endpoint_and_status(app, browser):
    before = sample(text(browser.get("/metrics")), "wizard_requests_total", endpoint="auth.login",
                    method="GET", status="200") or 0
    for _ in range(3):
        browser.get("/auth/login")
    browser.get("/no/such/page")
    body = text(browser.get("/metrics"))
    assert sample(body, "wizard_requests_total", endpoint="auth.login", method="GET",
                  status="200") == before + 3
    assert sample(body, "wizard_requests_total", endpoint="unmatched", method="GET", status="404") >= 1
    assert sample(body, "wizard_request_duration_seconds_count", endpoint="auth.login") >= 3


def test_metrics_ask_for_the_token_when_one_is_set(app, browser):
    app.config["METRICS_TOKEN"] = TOKEN
    assert browser.get("/metrics").status_code == 401
    assert browser.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert browser.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_production_refuses_to_start_without_a_metrics_token():
    from wizard import config

    settings = {"WIZARD_ENV": "production", "DATABASE_URL": "postgresql://db/wizard",
                "SECRET_KEY": secrets.token_hex(32), "SESSION_COOKIE_SECURE": True}
    with pytest.raises(config.ConfigError, match="needs METRICS_TOKEN"):
        config.check_production(settings, {"WIZARD_DEPLOYMENT": "x"})


# -- under gunicorn, two workers ------------------------------------------------------------

def get(url, token=None):
    status, body, _ = http_get(url, {"Authorization": f"Bearer {token}"} if token else None)
    return status, body


@pytest.fixture
def served(database_url, redis_url, tmp_path):
    """The app under gunicorn (2 sync workers, wizard/web/ops/gunicorn_conf.py), migrated."""
    with gunicorn(dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, WIZARD_QA="0",
                       WIZARD_INSTANCE=str(tmp_path / "instance"), METRICS_TOKEN=TOKEN)) as base:
        yield base


def test_under_gunicorn_the_probes_answer_and_metrics_sum_both_workers(served):
    status, body = get(served + "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, body = get(served + "/readyz")
    assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "redis": "ok"}
    assert get(served + "/metrics")[0] == 401
    for _ in range(40):  # spread over both workers by the kernel
        assert get(served + "/auth/login")[0] == 200
    counts = []
    for _ in range(6):  # whichever worker answers, the sum is the same
        status, body = get(served + "/metrics", TOKEN)
        assert status == 200
        counts.append(sample(body, "wizard_requests_total", endpoint="auth.login", method="GET",
                             status="200"))
    assert set(counts) == {40.0}, counts
    assert sample(body, "wizard_purges", state="needs_attention") == 0


# -- logs ---------------------------------------------------------------------------------

def test_a_request_id_goes_from_the_post_to_the_job_it_enqueues(app, owner, redis_url):
    import io
    import logging

    from tests.support.jobs import rq_queue, run_worker
    from wizard import logs

    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logs.JsonLines())
    logging.getLogger("jobs").addHandler(handler)
    logging.getLogger("jobs").setLevel(logging.INFO)
    try:
        owner.client.environ_base["HTTP_X_REQUEST_ID"] = "cancel-acme-1"  # every request of the walk
        cancel_smrtphone(owner)
        jobs = [rq_queue(redis_url).fetch_job(i) for i in rq_queue(redis_url).job_ids]
        assert jobs and {j.meta.get("request_id") for j in jobs} == {"cancel-acme-1"}
        run_worker(redis_url)
    finally:
        logging.getLogger("jobs").removeHandler(handler)
    sent = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert sent and all(entry["request_id"] == "cancel-acme-1" for entry in sent), sent
    assert any(entry["message"].startswith("Sent message") and entry["job"] == "mail" for entry in sent)


@pytest.mark.parametrize("given, kept", [("trace-123", True), ("a b", False), ("x" * 101, False),
                                         ("évian", False), ("", False)])
def test_a_request_id_is_taken_only_when_it_looks_like_one(app, browser, given, kept):
    response = browser.get("/auth/login", headers={"X-Request-ID": given} if given else {})
    answered = response.headers["X-Request-ID"]
    assert (answered == given) is kept
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,100}", answered)


def test_under_gunicorn_each_request_is_one_json_line_with_its_id(database_url, redis_url, tmp_path):
    log_file = open(tmp_path / "stderr.log", "w+")
    with gunicorn(dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, WIZARD_QA="0",
                       WIZARD_INSTANCE=str(tmp_path / "instance")), stderr=log_file) as base:
        status, _, headers = http_get(base + "/auth/login", {"X-Request-ID": "walk-7"})
        assert status == 200 and headers["X-Request-ID"] == "walk-7"
    log_file.seek(0)
    ours = [json.loads(line) for line in log_file if line.startswith("{")]
    walked = [entry for entry in ours if entry.get("request_id") == "walk-7"]
    assert [(e["logger"], e["method"], e["path"], e["status"]) for e in walked] == [
        ("wizard.requests", "GET", "/auth/login", 200)], ours[-5:]
    assert walked[0]["duration_ms"] > 0 and walked[0]["user_id"] is None

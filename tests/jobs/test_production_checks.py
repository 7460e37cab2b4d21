"""Every process refuses the settings the web app refuses in production.

The worker, `rq cron` and the CLI read the same environment as gunicorn; a
worker that took WIZARD_CLOCK_AT or WIZARD_QA=1 in production would end
services and erase accounts on a date that is not today's. Each process is
started here as the Procfile (or an operator) starts it.
"""
import os
import secrets
import subprocess
import sys

import pytest

from wizard import ROOT, config

BIN = os.path.dirname(sys.executable)


def production_environment(tmp_path, **extra):
    environment = dict(os.environ, WIZARD_ENV="production", SECRET_KEY=secrets.token_hex(32),
                       WIZARD_DEPLOYMENT="checks", SESSION_COOKIE_SECURE="1",
                       METRICS_TOKEN=secrets.token_hex(16),
                       DATABASE_URL=f"sqlite:///{tmp_path}/wizard.sqlite3",
                       ALLOW_SQLITE_IN_PRODUCTION="1", WIZARD_INSTANCE=str(tmp_path),
                       REDIS_URL="redis://127.0.0.1:1/0", PYTHONPATH=ROOT)
    for name in ("WIZARD_QA", "WIZARD_CLOCK_AT"):
        environment.pop(name, None)
    environment.update(extra)
    return environment


PROCESSES = {
    "worker": [os.path.join(BIN, "rq"), "worker", "--burst", "-c", "jobs.rq_settings"],
    "cron": [os.path.join(BIN, "rq"), "cron", "-c", "jobs.rq_settings", "jobs.schedule"],
    "a job": [sys.executable, "-c", "from jobs.sweep import sweep; sweep()"],
    "the CLI": [os.path.join(BIN, "flask"), "--app", "wizard", "clock", "show"],
    "web": [sys.executable, "-c", "from wizard import create_app; create_app()"],
}

UNSAFE = {
    "a moved clock": ({"WIZARD_CLOCK_AT": "2027-03-04T09:00"}, "refuses a moved clock"),
    "QA mode": ({"WIZARD_QA": "1"}, "refuses QA mode"),
    "a weak key": ({"SECRET_KEY": "changeme" * 5}, "SECRET_KEY is too weak"),
    "a near-miss environment": ({"WIZARD_ENV": "Production"}, "WIZARD_ENV must be exactly"),
}


@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize("unsafe", UNSAFE)
def test_each_process_refuses_unsafe_production_settings(tmp_path, process, unsafe):
    extra, refusal = UNSAFE[unsafe]
    started = subprocess.run(PROCESSES[process], cwd=ROOT, capture_output=True, text=True,
                             env=production_environment(tmp_path, **extra), timeout=60)
    assert started.returncode != 0, f"{process} started with {unsafe}"
    assert "ConfigError" in started.stderr and refusal in started.stderr, started.stderr[-2000:]
    assert not os.path.exists(tmp_path / "wizard.sqlite3"), "it refused before opening the database"


def test_a_safe_production_worker_gets_past_the_checks(tmp_path):
    """The same settings without the unsafe one: the checks let it start (it
    then stops for want of a Redis, which is not a settings refusal)."""
    started = subprocess.run(PROCESSES["worker"], cwd=ROOT, capture_output=True, text=True,
                             env=production_environment(tmp_path), timeout=60)
    assert "ConfigError" not in started.stderr, started.stderr[-2000:]


def test_the_jobs_settings_are_checked_in_process(monkeypatch, tmp_path):
    import jobs

    for name, value in production_environment(tmp_path, WIZARD_CLOCK_AT="2027-03-04").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match="moved clock"):
        jobs.settings()

"""`make run`: its own Redis, gunicorn, and the demo served on $PORT."""
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import redis
from rq import Queue, Worker

from tests.support.processes import free_port, wait_for

from wizard import ROOT, config, queue
from wizard.dev import run as devrun


def test_redis_url_from_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:1/3")
    assert devrun.find_or_start_redis(str(tmp_path)) == ("redis://example.invalid:1/3", None)


def test_without_redis_url_an_embedded_redis_is_started_and_stopped(monkeypatch, tmp_path):
    # Even when a shared server answers on 127.0.0.1:6379: a demo never borrows it.
    monkeypatch.delenv("REDIS_URL", raising=False)
    url, server = devrun.find_or_start_redis(str(tmp_path))
    try:
        assert server is not None
        assert url.startswith("unix://")
        client = redis.Redis.from_url(url)
        assert client.ping()
        client.set("wizard-devrun-check", "1")
        assert client.get("wizard-devrun-check") == b"1"
    finally:
        socket_path = server.socket_file
        server.shutdown()
    assert not os.path.exists(socket_path) or not config.redis_answers(url)


def test_other_commands_of_the_checkout_find_the_embedded_redis_while_it_runs(tmp_path):
    instance = str(tmp_path)
    url, server = devrun.find_or_start_redis(instance)
    try:
        devrun.record_embedded_redis(instance, url)
        assert config.redis_url(instance, {}) == url
        assert config.redis_url(instance, {"REDIS_URL": "redis://elsewhere:6379/2"}) == \
            "redis://elsewhere:6379/2", "REDIS_URL still wins"
    finally:
        server.shutdown()
    # A server that has stopped (say `make run` was killed) is not used.
    assert config.redis_url(instance, {}) == config.DEFAULT_REDIS_URL
    devrun.forget_embedded_redis(instance, url)
    assert not os.path.exists(os.path.join(instance, config.EMBEDDED_REDIS_FILE))


def test_links_in_emails_follow_the_port_unless_base_url_is_set():
    assert devrun.process_environment("unix:///r.sock", 8123, {})["BASE_URL"] == "http://127.0.0.1:8123"
    chosen = devrun.process_environment("unix:///r.sock", 8123, {"BASE_URL": "https://demo.example"})
    assert chosen["BASE_URL"] == "https://demo.example"


def test_make_run_serves_the_demo_with_gunicorn_a_worker_and_its_own_redis(tmp_path):
    instance, port = tmp_path / "instance", free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "BASE_URL", "DATABASE_URL", "WIZARD_DEPLOYMENT",
                        "OUTBOX_DIR", "RECORDINGS_DIR")}
    env.update(WIZARD_INSTANCE=str(instance), PORT=str(port), WEB_CONCURRENCY="1")
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    for command in ("migrate", "seed-demo"):
        subprocess.run([flask, "--app", "wizard", command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    log = open(tmp_path / "make-run.log", "w+")
    run = subprocess.Popen([sys.executable, "-m", "wizard.dev.run"], cwd=ROOT, env=env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    cookies = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        def login_page():
            try:
                with cookies.open(f"{base}/auth/login", timeout=5) as response:
                    return response.read().decode()
            except (urllib.error.URLError, ConnectionError):
                assert run.poll() is None, open(tmp_path / "make-run.log").read()
                return None
        page = wait_for(login_page, 90, "the demo to serve its sign-in page")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": "owner@acme.test",
                                       "password": "owner-pass"}).encode()
        with cookies.open(f"{base}/auth/login", data=form, timeout=30) as response:
            assert response.status == 200  # after the redirect
        with cookies.open(f"{base}/billing/products", timeout=30) as response:
            assert "Acme Realty" in response.read().decode()
        served_by = log_text(tmp_path)
        assert "gunicorn" in served_by.lower()
        assert f"Open http://127.0.0.1:{port}/ and sign in as owner@acme.test / owner-pass" in served_by

        # Its own Redis, recorded for other commands of the checkout, with
        # the worker listening on this deployment's queue.
        url = config.redis_url(str(instance), {})
        assert url.startswith("unix://") and "(embedded, stops on exit" in served_by
        listening = Queue(queue.queue_name(config.deployment(str(instance), {})),
                          connection=redis.Redis.from_url(url))
        wait_for(lambda: Worker.all(queue=listening), 60, "the worker on the deployment's queue")
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(60)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
    assert not (instance / config.EMBEDDED_REDIS_FILE).exists()
    assert not config.redis_answers(url), "the embedded Redis stops with make run"


def log_text(tmp_path):
    with open(tmp_path / "make-run.log") as f:
        return f.read()

"""What the tests and benchmarks need to run other processes: a free port,
waiting for a condition, and stopping a process that may not stop."""
import os
import socket
import subprocess
import time
from contextlib import contextmanager


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout=60, what="condition", every=0.2):
    """Call `condition` every `every` seconds until it gives a true value; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process, timeout):
    """Ask `process` to end (SIGTERM); kill it if it has not within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_get(url, headers=None):
    """GET `url` for real; return (status, body text, response headers)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


# gunicorn's settings, as the Procfile gives them (a path from the project's root).
GUNICORN_CONF = os.path.join("wizard", "web", "ops", "gunicorn_conf.py")


@contextmanager
def gunicorn(env, stderr=subprocess.DEVNULL):
    """The app under gunicorn as the Procfile serves it (2 sync workers, the
    settings, GUNICORN_CONF) with `env`; yield its base URL once /healthz answers."""
    import sys

    from wizard import ROOT

    port = free_port()
    env = dict(env, PYTHONPATH=ROOT)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONF, "--workers", "2",
                                "--bind", f"127.0.0.1:{port}", "wizard:create_app()"], cwd=ROOT,
                               env=env, stderr=stderr)
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return http_get(base + "/healthz")[0] == 200
        except OSError:
            return False

    try:
        wait_for(answers, timeout=60, what="gunicorn")
        yield base
    finally:
        stop(process, 20)

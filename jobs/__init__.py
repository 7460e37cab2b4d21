"""RQ job functions. Each takes ids, re-reads the database and re-checks that
its work is still due; running one twice, or after a crash, is safe.

A job process builds no app (create_app): `job_context` reads the same
settings as the app (wizard.config) and opens the database and Redis from
them. The sweep only builds the blueprints' URL map, for the links in the
reminders it composes (wizard/web/url_map.py).
"""
import os
import socket
import uuid
from contextlib import contextmanager

from wizard import config, logs, queue
from wizard.domain import qaclock
from wizard.store.db import database, init_database


def settings():
    """The app's settings, refused in production exactly as the web app refuses
    them (config.check_production): a worker or `rq cron` with a moved clock or
    QA mode would end services and erase accounts on the wrong day."""
    return config.for_process(config.instance_path())


@contextmanager
def job_context():
    """Yield the settings with the database connected (and queue bound to Redis)."""
    current = settings()
    logs.configure()
    if database.obj is None:
        init_database(current["DATABASE_URL"], prepare_threshold=current["DATABASE_PREPARE_THRESHOLD"])
    queue.init(current["REDIS_URL"], current["DEPLOYMENT"])
    qaclock.follow(current["WIZARD_QA"])
    # Log under the id of the request that enqueued the job (a new one for the sweep's own).
    logs.use_id(queue.current_request_id() or logs.accepted_id(None))
    with database.connection_context():
        yield current


def worker_label():
    """Who holds a lease: host, process and a random tag per run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

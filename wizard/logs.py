"""Logs as one JSON object per line, each with the request id it belongs to.

A request's id is its `X-Request-ID` header when that looks like an id
(letters, digits, `.`, `_`, `:`, `-`, at most 100), else a new random one;
the response carries it back. Jobs a request enqueues carry it in their RQ
meta (wizard/queue.py), and a worker logs under it while it runs them: one
owner's cancellation can be followed from the post to the purge.

Time in a line is the record's own (when logging made it), in UTC.
"""
import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import datetime, timezone

REQUEST_ID = contextvars.ContextVar("request_id", default=None)
_AN_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# Fields a record may carry (logging's `extra=`) that a line shows.
FIELDS = ("method", "path", "status", "duration_ms", "user_id", "job", "job_id")


def accepted_id(incoming):
    """The request id to use: `incoming` if it looks like one, else a new one."""
    if isinstance(incoming, str) and _AN_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def use_id(request_id):
    """Log under `request_id` from now on in this context (a request, a job)."""
    REQUEST_ID.set(request_id)


def current_id():
    return REQUEST_ID.get()


class JsonLines(logging.Formatter):
    def format(self, record):
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc)
                 .isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if REQUEST_ID.get():
            entry["request_id"] = REQUEST_ID.get()
        entry.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when it writes (a test runner swaps it)."""

    def emit(self, record):
        self.stream = sys.stderr
        super().emit(record)


def configure(level=logging.INFO, stream=None):
    """Send this process's logs to stderr as JSON lines (once per process)."""
    root = logging.getLogger()
    if any(getattr(h, "wizard_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.setFormatter(JsonLines())
    handler.wizard_json = True
    root.addHandler(handler)
    root.setLevel(level)

"""Prometheus metrics: each request counted and timed, by endpoint and status,
and, at each scrape, what the database and the queue hold.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by wizard/web/ops/gunicorn_conf.py) puts
prometheus_client in multiprocess mode: each worker writes its counts to
files there, and a scrape, whichever worker answers it, sums them all. Without
it (tests, `flask run`), the counts live in this process.
"""
import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("wizard_requests", "HTTP requests answered, by endpoint and status.",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("wizard_request_duration_seconds", "Time to answer a request, by endpoint.",
                    ["endpoint"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def started():
    """What before_request keeps for after_request: when the request began."""
    return time.perf_counter()


def elapsed_ms(began):
    return (time.perf_counter() - began) * 1000


def observe(endpoint, method, status, began):
    """Count and time one answered request (endpoint None: no route matched)."""
    name = endpoint or "unmatched"
    REQUESTS.labels(name, method, str(status)).inc()
    LATENCY.labels(name).observe(time.perf_counter() - began)


class StateCollector:
    """What the database and Redis hold, read at the scrape: `read()` returns
    (operations.Figures, queue depth or None when Redis does not answer)."""

    def __init__(self, read):
        self.read = read

    def collect(self):
        figures, depth = self.read()
        purges = GaugeMetricFamily("wizard_purges", "Purge schedules by state.", labels=["state"])
        for state, count in figures.purges.items():
            purges.add_metric([state], count)
        emails = GaugeMetricFamily("wizard_emails", "Outbox messages by status.", labels=["status"])
        for status, count in figures.emails.items():
            emails.add_metric([status], count)
        calls = GaugeMetricFamily("wizard_calls", "Calls with Customer Success by status.",
                                  labels=["status"])
        for status, count in figures.calls.items():
            calls.add_metric([status], count)
        yield purges
        yield emails
        yield calls
        yield GaugeMetricFamily("wizard_emails_failing", "Emails unsent after MAIL_MAX_ATTEMPTS tries.",
                                value=figures.emails_failing)
        yield GaugeMetricFamily("wizard_oldest_pending_email_seconds",
                                "Age of the oldest email waiting to be sent (0: none).",
                                value=figures.oldest_pending_email_seconds)
        yield GaugeMetricFamily("wizard_queue_depth", "Jobs waiting in this deployment's RQ queue "
                                "(-1: Redis does not answer).", value=-1 if depth is None else depth)


def scrape(read):
    """The metrics page's text: every process's request counts, and the state now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (REQUESTS, LATENCY):
            registry.register(collector)
    registry.register(StateCollector(read))
    return generate_latest(registry)


"""The periodic schedule, read by `rq cron -c jobs.rq_settings jobs.schedule`
(see Procfile).

RQ 2.12's `rq cron` takes no lock: each process enqueues on its own, and
RQ keys what it records of a cron job (`rq:cron_job:<name>:jobs`,
`rq:cron_jobs`) by the job's name. So the sweep goes to this deployment's
queue under a name that carries the deployment, and one `rq cron` runs per
deployment (a second one would only sweep twice as often: the sweep is
safe to repeat).
"""
import os

from rq import cron

from jobs import settings
from jobs.sweep import sweep
from wizard import queue

SWEEP_INTERVAL_SECONDS = int(os.environ.get("SWEEP_INTERVAL_SECONDS", "180"))

_deployment = settings()["DEPLOYMENT"]
cron.register(sweep, queue.queue_name(_deployment), interval=SWEEP_INTERVAL_SECONDS,
              job_timeout=600, name=f"{_deployment}-sweep")

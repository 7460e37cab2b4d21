"""The periodic schedule, read by `rq cron jobs.schedule` (see Procfile)."""
import os

from rq import cron

from jobs.sweep import sweep

SWEEP_INTERVAL_SECONDS = int(os.environ.get("SWEEP_INTERVAL_SECONDS", "180"))

cron.register(sweep, "default", interval=SWEEP_INTERVAL_SECONDS, job_timeout=600)

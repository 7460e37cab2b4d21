"""Settings for `rq worker -c jobs.rq_settings` and `rq cron -c jobs.rq_settings`
(see Procfile): the app's own Redis and this deployment's queue, read from
the environment exactly as the app reads them (wizard.config)."""
from wizard import queue

from . import settings

_current = settings()

REDIS_URL = _current["REDIS_URL"]
QUEUES = [queue.queue_name(_current["DEPLOYMENT"])]

"""gunicorn's settings, given as `-c wizard/web/ops/gunicorn_conf.py` (the
Procfile's web process, `make run`, the web benchmark, the tests' servers):
prometheus_client's multiprocess mode, so /metrics sums every worker's
counts whichever worker answers.

A file path, not `python:wizard.web.ops.gunicorn_conf`: importing it as a
module would import the app's packages, and prometheus_client with them, in
the master before the setting below; the library picks its mode on import.

PROMETHEUS_MULTIPROC_DIR is set here, in the master, before any worker
imports prometheus_client (it picks its mode on import): an operator's own
folder is emptied at start; without one, a private temporary folder is
made and removed at exit. A worker that exits is marked dead, so its live
gauges go while its counts stay in the sums.
"""
import glob
import os
import shutil
import tempfile

_made = None
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)
else:
    _made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="wizard-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made:
        shutil.rmtree(_made, ignore_errors=True)

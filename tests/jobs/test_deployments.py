"""Two deployments on one Redis never take each other's jobs.

Each deployment has its own database (the parametrized one, and a SQLite file
of its own) and its own real `rq worker` process, started as the Procfile
starts it (`-c jobs.rq_settings`, the queue read from WIZARD_DEPLOYMENT).
Both demo databases hold the same ids, so without the deployment's prefix
their job ids (`mail-1`, `purge-account-1-g1`) and queues would collide.
"""
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from tests.conftest import DEMO_LOGINS, NOW, TEST_PASSWORD_METHOD, Browser
from tests.support.helpers import cancel_smrtphone
from wizard import ROOT, clock, config, create_app, queue
from wizard.store import migrations
from wizard.store.db import database, init_database
from wizard.dev.demo import seed_demo
from wizard.store.models import ErasureRecord, OutboxMessage, PurgeSchedule
from jobs.sweep import sweep


@dataclass
class Deployment:
    name: str
    database_url: str
    folder: str
    redis_url: str
    environment: pytest.MonkeyPatch

    @property
    def settings(self):
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "RECORDINGS_DIR": os.path.join(self.folder, "recordings"),
            "OUTBOX_DIR": os.path.join(self.folder, "outbox"),
            "MAIL_SERVER": "",
        }

    def use(self):
        """Point this process at this deployment: its database, its queue, and
        the environment a job (the sweep, run here) reads its settings from."""
        for name, value in self.settings.items():
            self.environment.setenv(name, value)
        self.environment.setenv("WIZARD_DEPLOYMENT", self.name)
        if not database.is_closed():
            database.close()
        init_database(self.database_url)
        queue.init(self.redis_url, self.name)

    def app(self):
        app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                          "PASSWORD_HASH_METHOD": TEST_PASSWORD_METHOD,
                          "DEPLOYMENT": self.name, **self.settings})
        with database.connection_context():
            seed_demo(app.config["RECORDINGS_DIR"], password_method=TEST_PASSWORD_METHOD,
                      call_logs=10, recordings=2, invoices=1, past_call=False)
        return app

    def queue(self):
        return Queue(queue.queue_name(self.name), connection=Redis.from_url(self.redis_url))

    def outbox(self):
        folder = self.settings["OUTBOX_DIR"]
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

    def start_worker(self, clock_at):
        """A real `rq worker --burst`, configured as the Procfile's worker."""
        env = dict(os.environ, WIZARD_DEPLOYMENT=self.name, WIZARD_CLOCK_AT=clock_at.isoformat(),
                   PYTHONPATH=ROOT, **self.settings)
        return subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "rq"), "worker", "--burst",
             "--name", f"{self.name}-worker", "-c", "jobs.rq_settings"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )


def run_workers(deployments, clock_at):
    """Run both deployments' workers at the same time until their queues are empty."""
    workers = [d.start_worker(clock_at) for d in deployments]
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output


def finished_jobs(deployment):
    """{job id: the worker that ran it} of the deployment's finished jobs."""
    q = deployment.queue()
    ids = q.finished_job_registry.get_job_ids()
    return {job.id: job.worker_name for job in Job.fetch_many(ids, connection=q.connection)}


@pytest.fixture
def deployments(database_url, redis_url, tmp_path, frozen_clock, monkeypatch):
    second = f"sqlite:///{tmp_path / 'beta' / 'wizard.sqlite3'}"
    with init_database(second).connection_context():
        migrations.migrate(database)
    found = [Deployment("alpha", database_url, str(tmp_path / "alpha"), redis_url, monkeypatch),
             Deployment("beta", second, str(tmp_path / "beta"), redis_url, monkeypatch)]
    yield found
    if not database.is_closed():
        database.close()


def test_two_deployments_on_one_redis_each_run_their_own_jobs_once(deployments):
    alpha, beta = deployments
    for deployment in deployments:
        deployment.use()
        owner = Browser(deployment.app().test_client())
        owner.login(*DEMO_LOGINS["owner"])
        cancel_smrtphone(owner)
    # The same account and message ids in both databases, yet two sets of jobs.
    assert set(alpha.queue().job_ids).isdisjoint(beta.queue().job_ids)
    assert all(i.startswith("alpha-") for i in alpha.queue().job_ids)
    assert all(i.startswith("beta-") for i in beta.queue().job_ids)

    run_workers(deployments, NOW)

    for deployment in deployments:
        assert [f for f in deployment.outbox() if f.endswith(f"{OutboxMessage.CANCELLATION_CONFIRMED}.eml")] \
            and len(deployment.outbox()) == 1, (deployment.name, deployment.outbox())

    # 90 days on, each deployment's sweep hands its purge to its own worker.
    due = max(deployment_due(d) for d in deployments)
    clock.FROZEN = due + timedelta(minutes=1)
    for deployment in deployments:
        deployment.use()
        assert sweep()["purges"] == 1
    run_workers(deployments, clock.FROZEN)

    for deployment in deployments:
        deployment.use()
        with database.connection_context():
            assert ErasureRecord.select().count() == 1, deployment.name
            assert not OutboxMessage.select().where(OutboxMessage.sent_at.is_null()).exists()
        kinds = [f.split("-", 2)[2] for f in deployment.outbox()]
        assert sorted(kinds) == [f"{OutboxMessage.CANCELLATION_CONFIRMED}.eml",
                                 f"{OutboxMessage.ERASURE_COMPLETE}.eml"], kinds
        ran = finished_jobs(deployment)
        assert ran and set(ran.values()) == {f"{deployment.name}-worker"}, ran
        assert all(i.startswith(f"{deployment.name}-") for i in ran), ran
        assert deployment.queue().failed_job_registry.get_job_ids() == []


def deployment_due(deployment):
    deployment.use()
    with database.connection_context():
        return PurgeSchedule.get().due_at


def test_the_default_deployment_follows_the_instance_folder(tmp_path):
    first, second = tmp_path / "checkout-1" / "instance", tmp_path / "checkout-2" / "instance"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (tmp_path / "link").symlink_to(first)
    environ = {}
    name = config.deployment(str(first), environ)
    assert name == config.deployment(str(first), environ), "stable for one folder"
    assert name == config.deployment(str(tmp_path / "link"), environ), "the real path counts"
    assert name != config.deployment(str(second), environ), "two checkouts differ"
    assert config.DEPLOYMENT_NAME.fullmatch(name), "usable in an RQ job id"
    assert config.deployment(str(first), {"WIZARD_DEPLOYMENT": "acme-prod"}) == "acme-prod"


@pytest.mark.parametrize("name", ["a:b", "two words", "x" * 41, "ünï"])
def test_a_deployment_name_rq_cannot_carry_is_refused(tmp_path, name):
    with pytest.raises(config.ConfigError, match="WIZARD_DEPLOYMENT"):
        config.deployment(str(tmp_path), {"WIZARD_DEPLOYMENT": name})

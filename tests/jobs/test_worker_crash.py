"""A worker killed (SIGKILL) in the middle of a purge, of sending an email or of a sweep:
another finishes it, with exact counts (the purge) and the email sent once. The killed worker is a real `rq worker`
process on the private Redis and the same database as the test."""
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

from tests.support.helpers import cancel_smrtphone
from tests.support.jobs import counts_of, rq_queue, run_worker
from tests.support.processes import wait_for
from wizard import ROOT, clock, queue
from wizard.dev.demo import add_activity
from wizard.store.models import Account, ErasureRecord, PurgeSchedule
from wizard.domain.purge import LEASE
from jobs.sweep import sweep


def session_members(sid):
    """Processes of session `sid`: the worker and its work horse, which RQ
    puts in a process group of its own (so killpg would miss it)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    members.append(int(entry))
            except ProcessLookupError:
                pass
    return members


def kill_session(sid):
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_worker(redis_url, database_url, app, **env):
    """A real `rq worker --burst` on the private Redis and the test's database,
    in a session of its own (so kill_session reaches its work horse too)."""
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, PYTHONPATH=ROOT,
               WIZARD_DEPLOYMENT=app.config["DEPLOYMENT"], **env)
    return subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "rq"), "worker", "--burst",
         "--url", redis_url, queue.current_queue_name()],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_purge_is_resumed_and_counts_are_exact(app, owner, redis_url, database_url):
    recordings = app.config["RECORDINGS_DIR"]
    acme = Account.get(Account.name == "Acme Realty")
    # Enough rows that, one per transaction, the purge takes a few seconds.
    add_activity(acme, recordings, call_logs=1500, recordings=60, invoices=0)
    before = counts_of(acme.id, recordings)
    birch = Account.get(Account.name == "Birch Homes").id
    birch_before = counts_of(birch, recordings)

    cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    at = schedule.due_at + timedelta(minutes=1)
    clock.FROZEN = at
    rq_queue(redis_url).empty()
    assert sweep()["purges"] == 1

    worker = start_worker(redis_url, database_url, app, WIZARD_CLOCK_AT=at.isoformat(),
                          PURGE_BATCH_SIZE="1")
    try:
        def halfway():
            row = PurgeSchedule.get_by_id(schedule.id)
            return json.loads(row.checkpoint).get("call_logs", 0) >= 200
        wait_for(halfway, what="the purge to get halfway", every=0.02)
        kill_session(worker.pid)  # the worker and its work horse, at once
        worker.wait(10)
        wait_for(lambda: not session_members(worker.pid), what="the work horse to die", every=0.02)
    finally:
        kill_session(worker.pid)

    stopped = PurgeSchedule.get_by_id(schedule.id)
    done_so_far = json.loads(stopped.checkpoint)
    assert stopped.status == "running"
    assert 200 <= done_so_far["call_logs"] < before["call_logs"], "killed in the middle"
    left = counts_of(acme.id, recordings)
    assert left["call_logs"] == before["call_logs"] - done_so_far["call_logs"], \
        "the checkpoint matches what was really deleted"

    # While the dead worker's lease runs, nobody takes the purge over ...
    assert sweep()["purges"] == 0
    # ... and once it has expired, the sweep hands the purge to a new worker.
    clock.FROZEN = at + LEASE + timedelta(seconds=1)
    assert sweep()["purges"] == 1
    run_worker(redis_url)
    assert rq_queue(redis_url).failed_job_registry.get_job_ids() == [], "the rerun ran without errors"

    assert not any(counts_of(acme.id, recordings).values())
    record = ErasureRecord.get()
    counts = json.loads(record.counts)
    for table in ("call_logs", "recordings", "agents", "call_flows", "billing_records",
                  "phone_numbers", "users", "subscriptions", "accounts"):
        assert counts[table] == before[table], table
    assert record.verified
    assert PurgeSchedule.get_by_id(schedule.id).attempts == 2
    assert counts_of(birch, recordings) == birch_before


class SlowInbox:
    """An SMTP server that holds each message until the test releases it (or
    10 s), and takes it only if its sender is still connected then: a server
    that cannot say 250 has not taken the message."""

    def __init__(self):
        self.messages, self.receiving = [], 0

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        self.receiving += 1
        for _ in range(100):  # up to 10 s
            await asyncio.sleep(0.1)
            if server.transport is None or server.transport.is_closing():
                return "421 Sender gone"
            if _released:
                break
        self.messages.append(envelope.rcpt_tos)
        return "250 Message accepted"


_released = []


def test_a_worker_killed_mid_send_leaves_the_email_to_another_sent_once(app, owner, redis_url,
                                                                         database_url, monkeypatch):
    from aiosmtpd.controller import Controller

    from tests.support.processes import free_port
    from wizard.store.models import OutboxMessage

    inbox, port = SlowInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(port))
    try:
        cancel_smrtphone(owner)
        (message,) = OutboxMessage.select()
        worker = start_worker(redis_url, database_url, app, WIZARD_CLOCK_AT=clock.now().isoformat())
        try:
            wait_for(lambda: inbox.receiving == 1, what="the worker to be mid-send", every=0.02)
            kill_session(worker.pid)
            worker.wait(10)
        finally:
            kill_session(worker.pid)
        wait_for(lambda: OutboxMessage.get_by_id(message.id).status == OutboxMessage.SENDING
                 and inbox.receiving == 1, what="the killed send to settle")
        print(f"killed mid-send: message {message.id} is "
              f"{OutboxMessage.get_by_id(message.id).status}, the server took {len(inbox.messages)}")
        assert inbox.messages == [], "the server never took it: its sender was gone"

        assert sweep()["messages"] == 0, "the dead sender's lease still runs"
        clock.FROZEN = clock.now() + timedelta(minutes=6)
        assert sweep()["messages"] == 1
        _released.append(True)
        run_worker(redis_url)
        sent = OutboxMessage.get_by_id(message.id)
        print(f"after the lease: {sent.status} after {sent.attempts} tries; the server took "
              f"{len(inbox.messages)}")
        assert (sent.status, sent.attempts) == (OutboxMessage.SENT, 2)
        assert inbox.messages == [["owner@acme.test"]], "sent once, by the second worker"
    finally:
        _released.clear()
        controller.stop()


def test_a_sweep_killed_midway_is_finished_by_the_next_with_each_reminder_once(app, redis_url,
                                                                                database_url):
    """The sweep does its work in many short transactions (services, then one
    reminder at a time). Killed between two of them, it has enqueued nothing;
    the next sweep, on another worker, composes only what is missing and then
    every email goes out once."""
    from tests.support.jobs import confirm_through_domain, new_account
    from wizard.dev.demo import ensure_plans
    from wizard.store.models import OutboxMessage, Subscription

    accounts = 120
    plans, recordings = ensure_plans(), app.config["RECORDINGS_DIR"]
    confirmed = [new_account(plans, recordings, clock.now()) for _ in range(accounts)]
    for account in confirmed:
        confirm_through_domain(account, clock.now())
    ids = {a.id for a in confirmed}
    due_at = max(s.due_at for s in PurgeSchedule.select())
    at = due_at - timedelta(days=20)  # paid periods over, every 30-day reminder due
    clock.FROZEN = at
    reminders = OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.REMINDER_30)
    rq_queue(redis_url).empty()
    rq_queue(redis_url).enqueue("jobs.sweep.sweep")

    worker = start_worker(redis_url, database_url, app, WIZARD_CLOCK_AT=at.isoformat())
    try:
        wait_for(lambda: reminders.count() >= 5, what="the sweep to be composing reminders",
                 every=0.005)
        kill_session(worker.pid)
        worker.wait(10)
        wait_for(lambda: not session_members(worker.pid), what="the work horse to die", every=0.02)
    finally:
        kill_session(worker.pid)

    composed = reminders.count()
    ended = Subscription.select().where(Subscription.account.in_(list(ids))
                                        & (Subscription.status == Subscription.ENDED)).count()
    print(f"killed mid-sweep: {composed} of {accounts} reminders composed, "
          f"{ended} subscriptions ended, {len(rq_queue(redis_url))} jobs queued")
    assert 5 <= composed < accounts, "killed in the middle"
    assert len(rq_queue(redis_url)) == 0, "the killed sweep enqueued nothing"

    found = sweep()
    run_worker(redis_url)
    print(f"the next sweep: {found}")
    assert found["reminders"] == accounts - composed, "it composed only what was missing"
    assert sorted(m.account_id for m in reminders) == sorted(ids), "one reminder per account"
    assert Subscription.select().where(Subscription.account.in_(list(ids))
                                       & (Subscription.status != Subscription.ENDED)).count() == 0
    unsent = OutboxMessage.select().where((OutboxMessage.status != OutboxMessage.SENT)
                                          | (OutboxMessage.attempts != 1))
    assert [(m.kind, m.status, m.attempts) for m in unsent] == [], "every email sent, each once"
    assert rq_queue(redis_url).failed_job_registry.get_job_ids() == []

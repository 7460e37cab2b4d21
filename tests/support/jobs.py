"""Helpers for tests of jobs: a real RQ worker on the private Redis,
accounts brought to a confirmed cancellation through the domain functions,
and two functions raced in two threads."""
import itertools
import os
import threading
from dataclasses import dataclass

from redis import Redis
from rq import Queue, SimpleWorker

from wizard.domain import confirmation, lifecycle, policy, purge
from wizard import queue
from wizard.store.db import database
from wizard.store.models import Account, Subscription

_numbers = itertools.count(1000)


def run_worker(redis_url):
    """Run every job queued for this deployment in this process (burst), as a worker would."""
    connection = Redis.from_url(redis_url)
    worker = SimpleWorker([rq_queue(redis_url)], connection=connection)
    worker.work(burst=True)
    return worker


def rq_queue(redis_url):
    """The deployment's queue (the one the app was last built for)."""
    return Queue(queue.current_queue_name(), connection=Redis.from_url(redis_url))


def counts_of(account_id, recordings_dir, exports_dir=None):
    """Rows (and recording and archive files) of `account_id`, per table. The
    app fixture keeps its exports folder beside its recordings folder."""
    exports_dir = exports_dir or os.path.join(os.path.dirname(recordings_dir), "exports")
    return purge.remaining(account_id, recordings_dir, exports_dir)


def ready_to_confirm(account, now):
    """Walk `account`'s owner through every smrtPhone step but Confirm; return
    (the open request, the owner)."""
    owner = account.owner()
    phone = Subscription.get((Subscription.account == account) & (Subscription.product == "smrtphone"))
    req = lifecycle.start_or_resume(phone, owner, now)
    lifecycle.mark_consequences_seen(req, now)
    lifecycle.record_acknowledgements(req, owner, [s.key for s in policy.SMRTPHONE_STATEMENTS],
                                      "127.0.0.1", now)
    lifecycle.record_survey(req, "other", "", now)
    lifecycle.decline_offers(req, owner, now)
    return req, owner


def confirm_through_domain(account, now):
    """Walk `account`'s owner through every step and confirm; return the request."""
    req, owner = ready_to_confirm(account, now)
    return confirmation.confirm(req, owner, "127.0.0.1", now)


def new_account(plans, recordings_dir, now, name=None):
    """A small extra account with some data, for tests that need many."""
    from wizard.dev.demo import add_activity, create_account

    n = next(_numbers)
    account = create_account(
        name or f"Extra {n}", f"owner{n}@extra.test", lambda email: "x", plans,
        owner_name=f"Owner {n}", numbers=[(f"+1303555{n:04d}", "Main", "none")], now=now,
    )
    add_activity(account, recordings_dir, call_logs=5, recordings=2, invoices=1, now=now, seed=n)
    return Account.get_by_id(account.id)


@dataclass
class Raced:
    order: tuple  # ("first", "second") or ("second", "first"): which thread was started first
    results: tuple  # what `first` and `second` returned


def race(first, second, first_starts=True):
    """Run two functions in two threads, released together by a barrier.

    Fails the test unless both sides ran to completion without raising (an
    exception in a thread would otherwise only be printed); returns which
    side was started first and what each returned.
    """
    barrier = threading.Barrier(2)
    sides = {"first": first, "second": second}
    results, errors = {}, {}

    def released(name):
        def run():
            try:
                barrier.wait(timeout=30)
                results[name] = sides[name]()
            except BaseException as exc:  # reported below, in the test's thread
                errors[name] = exc
            finally:
                if not database.is_closed():
                    database.close()  # this thread's connection
        return threading.Thread(target=run, name=f"race-{name}")

    order = ("first", "second") if first_starts else ("second", "first")
    threads = [released(name) for name in order]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not [t.name for t in threads if t.is_alive()], "a side of the race did not finish in 30 s"
    assert not errors, f"a side of the race raised: {errors!r}"
    assert set(results) == {"first", "second"}
    return Raced(order, (results["first"], results["second"]))

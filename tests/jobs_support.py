"""Helpers for tests of jobs: a real RQ worker on the private Redis, and
accounts brought to a confirmed cancellation through the domain functions."""
import itertools

from redis import Redis
from rq import Queue, SimpleWorker

from wizard.domain import confirmation, lifecycle, policy, purge
from wizard import queue
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


def counts_of(account_id, recordings_dir):
    """Rows (and recording files) of `account_id`, per table."""
    return purge.remaining(account_id, recordings_dir)


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

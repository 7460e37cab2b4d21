"""What pages read across several models, one statement each, named for what
it brings. A view (or the step it shows) calls the read it needs, by name,
in the request that shows it; nothing here is kept between requests.

  signed_in(session_id)         the signed-in user, their account and its subscriptions
  subscriptions(account)        an account's subscriptions, as signed_in reads them
  consequences(account_id)      step 1's and Confirm's: the kept data counts, the phone numbers
  products(account_id, now)     Products': the erasure schedule, the pending plan changes,
                                whether a call is booked from `now` on

What signed_in and subscriptions hand over is a snapshot of the start of the
request: `account.subscriptions_read`, each subscription with its `account`
and `open_request_read` (the open request, with its survey answer and
acknowledgements, or None). A write re-reads what it changes
(Subscription.by_id, CancellationRequest.refreshed) and the page it leads to
is a new request.
"""
import json
from dataclasses import dataclass

from peewee import JOIN, SqliteDatabase, fn

from wizard.store.db import ReusedSelect, database
from wizard.store.models import (
    Account, AccountDataCounts, Acknowledgement, Call, CancellationRequest, PhoneNumber, Plan,
    PlanChange, PurgeSchedule, Subscription, SurveyResponse, User,
)


def signed_in(session_id):
    """The user a session's id names, or None once that session has ended
    (User.get_id: the user and their session_version).

    One statement reads the user, their account and its subscriptions, each
    with its plan and open request, that request's survey answer and its
    acknowledgements: what every signed-in page shows (the banner, the
    wizard's steps, Products).
    """
    user_id, _, version = (session_id or "").partition(".")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    if len(user_id) > 9 or len(version) > 9:
        return None
    rows = _SIGNED_IN.rows(int(user_id), int(version))
    if not rows:
        return None
    user, account = rows[0][:2]
    if account is not None:
        user.account = account
        account.subscriptions_read = [_with_open_request(account, *row[2:])
                                      for row in rows if row[2] is not None]
    return user


def subscriptions(account):
    """The account's subscriptions with their plans, smrtPhone first, each
    with its open request as signed_in reads them; also kept as
    `account.subscriptions_read`. For an account read otherwise than by
    signed_in (a job, a test)."""
    account.subscriptions_read = [_with_open_request(account, *row)
                                  for row in _SUBSCRIPTIONS.rows(account.id)]
    return account.subscriptions_read


def consequences(account_id):
    """(the account's kept AccountDataCounts or None, its phone numbers in
    number order): what step 1 and Confirm show beside the dates."""
    rows = _COUNTS_AND_NUMBERS.rows(account_id)
    kept = rows[0][0] if rows else None
    return kept, [number for _, number in rows if number is not None]


@dataclass
class ProductsRead:
    """What Products shows beside the subscriptions."""

    schedule: object  # the account's PurgeSchedule, or None
    pending_changes: dict  # {subscription id: its scheduled PlanChange, with .to_plan}
    calls_ahead: bool  # a call is booked from `now` on


def products(account_id, now):
    """Products' read of the account (a ProductsRead)."""
    schedule, changes, calls_ahead = None, {}, False
    for row_schedule, change, to_plan, any_ahead in _PRODUCTS.rows(account_id, now):
        schedule = row_schedule or schedule
        if change is not None:
            change.to_plan = to_plan
            changes[change.subscription_id] = change
        calls_ahead = calls_ahead or bool(any_ahead)
    return ProductsRead(schedule, changes, calls_ahead)


# -- the statements --------------------------------------------------------------

def _acknowledgements_of_open_request():
    """A column: the joined open request's acknowledgements as a JSON object
    {statement key: text version} (SQLite: text, '{}' for none; PostgreSQL:
    parsed by the driver, NULL for none). Built when the statement is, for
    the database it runs on."""
    ack = Acknowledgement.alias("ack")
    as_object = (fn.json_group_object if isinstance(database.obj, SqliteDatabase)
                 else fn.json_object_agg)
    return (ack.select(as_object(ack.statement_key, ack.text_version))
            .where(ack.request == CancellationRequest.id).alias("joined_acknowledgements"))


def _with_open_requests(query):
    """Join each subscription of `query` (the current join) to its plan, its
    open request and that request's survey answer (each one row at most)."""
    return (query.join(Plan, JOIN.LEFT_OUTER, on=(Subscription.plan == Plan.id), attr="plan")
            .switch(Subscription)
            .join(CancellationRequest, JOIN.LEFT_OUTER,
                  on=(CancellationRequest.open_for == Subscription.id), attr="joined_open_request")
            .join(SurveyResponse, JOIN.LEFT_OUTER,
                  on=(SurveyResponse.request == CancellationRequest.id), attr="joined_survey")
            .order_by(Subscription.product.desc(), Subscription.id))


def _with_open_request(account, subscription, plan, req, survey, acknowledgements):
    """A row of _with_open_requests: `subscription` with its account, its plan
    and its open request (`open_request_read`), that request holding its
    survey answer and acknowledgements (a JSON object)."""
    subscription.account, subscription.plan = account, plan
    if req is not None:
        if isinstance(acknowledgements, str):
            acknowledgements = json.loads(acknowledgements)
        req.know_answers(survey, dict(acknowledgements or {}))
    subscription.open_request_read = req
    return subscription


_SIGNED_IN = ReusedSelect(
    lambda user_id, version: _with_open_requests(
        User.select(User, Account, Subscription, Plan, CancellationRequest, SurveyResponse,
                    _acknowledgements_of_open_request())
        .join(Account, JOIN.LEFT_OUTER)
        .join(Subscription, JOIN.LEFT_OUTER, on=(Subscription.account == Account.id),
              attr="joined_subscription"))
    .where((User.id == user_id) & (User.session_version == version)),
    models=(User, Account, Subscription, Plan, CancellationRequest, SurveyResponse))

_SUBSCRIPTIONS = ReusedSelect(
    lambda account_id: _with_open_requests(
        Subscription.select(Subscription, Plan, CancellationRequest, SurveyResponse,
                            _acknowledgements_of_open_request()))
    .where(Subscription.account == account_id),
    models=(Subscription, Plan, CancellationRequest, SurveyResponse))

_COUNTS_AND_NUMBERS = ReusedSelect(
    lambda account_id: Account.select(AccountDataCounts, PhoneNumber)
    .join(AccountDataCounts, JOIN.LEFT_OUTER, on=(AccountDataCounts.account == Account.id),
          attr="joined_counts")
    .switch(Account)
    .join(PhoneNumber, JOIN.LEFT_OUTER, on=(PhoneNumber.account == Account.id),
          attr="joined_number")
    .where(Account.id == account_id).order_by(PhoneNumber.e164),
    models=(AccountDataCounts, PhoneNumber))

_PRODUCTS = ReusedSelect(
    lambda account_id, since, booked=Call.BOOKED: Account.select(
        PurgeSchedule, PlanChange, Plan,
        fn.EXISTS(Call.select(Call.id).where(
            (Call.account == Account.id) & (Call.status == booked)
            & (Call.start >= since))).alias("calls_ahead"))
    .join(PurgeSchedule, JOIN.LEFT_OUTER, on=(PurgeSchedule.account_id == Account.id),
          attr="joined_schedule")
    .switch(Account)
    .join(PlanChange, JOIN.LEFT_OUTER,
          on=((PlanChange.account == Account.id) & PlanChange.is_pending_sql()),
          attr="joined_change")
    .join(Plan, JOIN.LEFT_OUTER, on=(PlanChange.to_plan == Plan.id), attr="to_plan")
    .where(Account.id == account_id),
    adapt=(int, Call.start.db_value), models=(PurgeSchedule, PlanChange, Plan))

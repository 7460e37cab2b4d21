"""Emails: who gets which one, and when; what each says is its templates.

Each kind of email (a constant on OutboxMessage) has two templates under
templates/email/: `<kind>.txt`, the plain text, and `<kind>.html`, the same
words as HTML; partials they share start with "_". `compose` renders both
and queues the message (wizard/domain/outbox.py, the delivery bookkeeping);
the functions below decide the recipient, the subject, the dedupe key and
the context of each. A new email is its two templates, its kind and one
call of `compose`.

Templates are rendered by a plain Jinja environment (no Flask: jobs compose
emails too) with the formatting filters of pages (money, local_date, ...),
autoescaping the .html only. Every line of a .txt ends with a newline, the
last one too; the body's last line does not (as emails were always written).
Subjects are the domain's: each is a line of Python next to the call that
composes the email, and templates get it as `subject` (the HTML's title).

Links: emails link to pages, and the URL map is the web's. So every function
here that writes a link takes `links`, a callable `links(endpoint, **values)`
-> absolute URL, and names the page by its endpoint ("billing.reactivate",
subscription_id=3). The web layer makes it (wizard/web/links.py): views and
commands from the app's own URL map (`links.for_app()`), the sweep job, which
has no app, from the blueprints' URL map built once per process
(`wizard.web.url_map.links(BASE_URL)`: the one module of the web layer jobs
may import, see tests/test_layers.py).
Either way a link is BASE_URL followed by the page's path. Without `links`
(the domain's rules tested alone) an email links nowhere: the call emails
then say where to go in words, the others leave their link out.
"""
import math
import os
from datetime import timedelta, timezone

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from . import exports, formatting, invitation, outbox, phones, policy, portout
from wizard.store.models import Call, OutboxMessage, Product

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "templates", "email")
FILTERS = ("money", "local_date", "local_time", "local_datetime", "iso_date", "duration",
           "filesize", "count_of")

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=False),
    undefined=StrictUndefined,  # a misspelt name fails the test, not the email
    keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
)
env.filters.update({name: getattr(formatting, name) for name in FILTERS})
env.filters.update(phone_number=phones.phone_number, calls_you_at=phones.calls_you_at)


def render(kind, context):
    """The email of `kind` with `context`: (plain text, HTML)."""
    text = env.get_template(f"{kind}.txt").render(context).removesuffix("\n")
    return text, env.get_template(f"{kind}.html").render(context)


def compose(kind, dedupe_key, to_address, subject, context, now, **row):
    """Render the email of `kind` and queue it unless its key exists; return its row.

    `row`: the rest of the outbox row (account_id, status, attachment_ics, and
    what a reminder must still be true of; see outbox.compose).
    """
    body, body_html = render(kind, {"subject": subject, **context})
    return outbox.compose(dedupe_key, kind, to_address, subject, body, now,
                          body_html=body_html, **row)


def _link(links, endpoint, **values):
    return links(endpoint, **values) if links else None


def _reactivate_url(links, subscription):
    """The page that reactivates `subscription`; signing in first comes back to it."""
    return _link(links, "billing.reactivate", subscription_id=subscription.id)


def cancellation_confirmed(req, subscription, owner, now, links=None):
    account = subscription.account
    products = (" and ".join(Product.NAMES[p] for p in req.products_cancelled())
                or subscription.product_name)
    context = {"owner": owner, "account": account, "req": req, "subscription": subscription,
               "products": products, "reactivate_url": _reactivate_url(links, subscription),
               # smrtPhone's numbers go when its service ends (portout.release_at).
               "numbers_released_at": portout.release_at(subscription) if subscription.is_smrtphone else None,
               "numbers_url": _link(links, "billing.numbers")}
    return compose(OutboxMessage.CANCELLATION_CONFIRMED, f"cancellation-confirmed:{req.id}",
                   owner.email, f"Your {products} cancellation is confirmed", context, now,
                   account_id=account.id)


def plan_changed(change, subscription, owner, sentence, now, links=None):
    """The owner's record of a plan change: `sentence` says what and when."""
    scheduled = change.status == change.SCHEDULED
    subject = (f"Your {subscription.product_name} plan change is scheduled" if scheduled
               else f"Your {subscription.product_name} plan has changed")
    context = {"owner": owner, "sentence": sentence, "scheduled": scheduled,
               "products_url": _link(links, "billing.products")}
    return compose(OutboxMessage.PLAN_CHANGED, f"plan-change:{change.id}", owner.email, subject,
                   context, now, account_id=subscription.account_id)


def plan_change_undone(change, subscription, owner, now, links=None):
    context = {"owner": owner, "subscription": subscription,
               "products_url": _link(links, "billing.products")}
    return compose(OutboxMessage.PLAN_CHANGE_UNDONE, f"plan-change-undone:{change.id}", owner.email,
                   f"Your {subscription.product_name} plan stays as it is", context, now,
                   account_id=subscription.account_id)


ERASURE_REMINDER_KINDS = {30: OutboxMessage.REMINDER_30, 7: OutboxMessage.REMINDER_7}


def erasure_reminder(schedule, window, account, owner, now, links, deadline):
    """The reminder of the `window`-day window (30 or 7) before erasure.

    It names the real number of days left (a late sweep may send it late) and
    the last day to reactivate, which is earlier than erasure when the paid
    period outlasts the 90 days.
    """
    days_left = max(1, math.ceil((schedule.due_at - now) / timedelta(days=1)))
    in_days = "tomorrow" if days_left == 1 else f"in {days_left} days"
    can_reactivate = deadline is None or now <= deadline
    context = {"owner": owner, "account": account, "schedule": schedule, "in_days": in_days,
               "deadline": deadline, "can_reactivate": can_reactivate,
               "window_ended": None if can_reactivate else policy.window_ended(
                   formatting.local_date(deadline, account.timezone)),
               "reactivate_url": _reactivate_url(links, account.subscription(Product.SMRTPHONE))
               if can_reactivate and links else None}
    return compose(ERASURE_REMINDER_KINDS[window],
                   f"erasure-reminder-{window}:{schedule.id}:{schedule.generation}", owner.email,
                   f"Your smrtPhone data will be erased {in_days}", context, now,
                   account_id=account.id, purge_schedule_id=schedule.id,
                   purge_generation=schedule.generation)


def reactivation_confirmed(account, subscription, owner, now, links, event_id):
    """`event_id` is the reactivation's audit event: one email per reactivation."""
    dialer_stays_cancelled = subscription.dialer_stays_cancelled()
    context = {"owner": owner, "account": account, "subscription": subscription,
               "dialer_stays_cancelled": dialer_stays_cancelled,
               "reactivate_dialer_url": _reactivate_url(links, account.subscription(Product.SMRTDIALER))
               if dialer_stays_cancelled else None}
    return compose(OutboxMessage.REACTIVATION_CONFIRMED, f"reactivated:{event_id}", owner.email,
                   f"{subscription.product_name} is active again", context, now,
                   account_id=account.id)


def export_ready(export, now, links=None):
    """Tell the owner their data is ready: once per archive. It links to
    Download your data, not to the file: the download needs the owner's
    session anyway, and the page always holds the link that works."""
    account, owner = export.account, export.account.owner()
    if owner is None:
        return None
    context = {"owner": owner, "account": account, "export": export,
               "until": exports.available_until(export, exports.erasure_of(account.id)),
               "data_url": _link(links, "billing.data")}
    return compose(OutboxMessage.EXPORT_READY, f"export-ready:{export.id}", owner.email,
                   "Your smrtPhone data is ready to download", context, now,
                   account_id=account.id)


def erasure_complete(schedule, email, name, now, had_crm=False):
    """`had_crm`: the account had a CRM connection, so its CRM data is worth a word."""
    # Held until the erasure is verified (see outbox.release_erasure_notice).
    # Tied to its schedule (purge_schedule_id) while held: a purge that needs
    # attention keeps it until an operator's retry lets the erasure finish.
    return compose(OutboxMessage.ERASURE_COMPLETE, outbox.erasure_notice_key(schedule), email,
                   "Your smrtPhone data has been erased", {"name": name, "had_crm": had_crm}, now,
                   status=OutboxMessage.HELD, purge_schedule_id=schedule.id,
                   purge_generation=schedule.generation)


def purge_needs_attention(schedule, ops_email, now):
    """Tell the operators a purge stopped trying: which, how often, and why."""
    return compose(OutboxMessage.OPS_ALERT,
                   f"ops-alert:purge:{schedule.id}:{now:%Y%m%dT%H%M%S%f}", ops_email,
                   f"Purge {schedule.id} needs attention", {"schedule": schedule}, now)


# -- calls with Customer Success -------------------------------------------------
#
# One row per recipient and per change: the key names the booking, its
# SEQUENCE and the recipient, so each change is emailed once to each. Each
# email but the reminder carries the invitation as the call now stands. A
# call email's template has the owner's copy and the staff member's
# (`to_owner`); `staff` is the staff member the email is about, or to.

_KEY_TIME = "%Y%m%dT%H%M%SZ"


def _call_key(kind, call, recipient):
    return f"{kind.replace('_', '-')}:{call.id}:{call.sequence}:{recipient}"


def _reason(call):
    """Why the owner was canceling, when the call came from the wizard."""
    survey = call.request.survey() if call.request_id else None
    if survey is None:
        return None
    return dict(policy.SURVEY_REASONS).get(survey.reason)


def _to_owner(kind, call, now, subject, method, links, **context):
    """The owner's copy; where they move or cancel the call, or book again
    (signing in first returns there)."""
    owner, staff, account = call.owner, call.staff, call.account
    calls_you = phones.calls_you_at(call.callback_number, account.timezone)
    ics = invitation.invitation(call, owner, staff, method, now,
                                summary="smrtPhone call with Customer Success",
                                description="\n\n".join(filter(None, (calls_you, call.topic))),
                                location=phones.phone_number(call.callback_number, account.timezone))
    context.update(to_owner=True, call=call, owner=owner, account=account, staff=staff,
                   reschedule_url=_link(links, "calls.reschedule", call_id=call.id),
                   products_url=_link(links, "billing.products"),
                   book_url=_link(links, "calls.book"))
    return compose(kind, _call_key(kind, call, "owner"), owner.email, subject, context, now,
                   account_id=account.id, attachment_ics=ics)


def _to_staff(kind, call, staff, now, subject, method, **context):
    """The copy of `staff`, with what they need to know about the caller."""
    owner, account = call.owner, call.account
    number = phones.phone_number(call.callback_number, staff.staff_timezone)
    ics = invitation.invitation(call, owner, staff, method, now,
                                summary=f"Call with {owner.name} ({account.name})",
                                description="\n\n".join(filter(None, (
                                    number and f"Call {owner.name} at {number}.", call.topic))),
                                location=number)
    context.update(to_owner=False, call=call, owner=owner, account=account, staff=staff,
                   reason=_reason(call))
    return compose(kind, _call_key(kind, call, f"staff-{staff.id}"), staff.email, subject,
                   context, now, account_id=account.id, attachment_ics=ics)


def _staff_when(call, staff):
    return formatting.local_datetime(call.start, staff.staff_timezone)


def call_booked(call, now, links=None):
    """Confirm a new call to the owner and to the staff member; return the rows."""
    staff, kind = call.staff, OutboxMessage.CALL_BOOKED
    minutes = int((call.end - call.start).total_seconds() // 60)
    return [
        _to_owner(kind, call, now, "Your call with smrtPhone Customer Success is booked",
                  invitation.REQUEST, links, minutes=minutes),
        _to_staff(kind, call, staff, now,
                  f"Call booked: {call.account.name}, {_staff_when(call, staff)}",
                  invitation.REQUEST),
    ]


def call_rescheduled(call, previous_staff, now, links=None):
    """Tell the owner and the staff member of the new time; if the call changed
    hands, the new staff member gets it as booked and the previous one a
    cancellation. Return the rows."""
    staff, kind = call.staff, OutboxMessage.CALL_RESCHEDULED
    handed_over = previous_staff.id != staff.id
    messages = [
        _to_owner(kind, call, now, "Your call with smrtPhone Customer Success has moved",
                  invitation.REQUEST, links),
        _to_staff(kind, call, staff, now,
                  f"Call {'booked' if handed_over else 'moved'}: {call.account.name}, "
                  f"{_staff_when(call, staff)}",
                  invitation.REQUEST, handed_over=handed_over),
    ]
    if handed_over:
        messages.append(_to_staff(OutboxMessage.CALL_CANCELLED, call, previous_staff, now,
                                  f"Call reassigned: {call.account.name}", invitation.CANCEL,
                                  reassigned=True))
    return messages


def call_cancelled(call, now, links=None):
    """Tell the owner and the staff member that the call is off; return the rows."""
    staff, kind = call.staff, OutboxMessage.CALL_CANCELLED
    return [
        _to_owner(kind, call, now, "Your call with smrtPhone Customer Success is canceled",
                  invitation.CANCEL, links),
        _to_staff(kind, call, staff, now,
                  f"Call canceled: {call.account.name}, {_staff_when(call, staff)}",
                  invitation.CANCEL, reassigned=False),
    ]


def call_reminder(call, now, links=None):
    """Remind the owner of the call a day ahead: once per booking and start."""
    owner, kind = call.owner, OutboxMessage.CALL_REMINDER
    context = {"call": call, "owner": owner, "account": call.account,
               "staff": call.staff,
               "reschedule_url": _link(links, "calls.reschedule", call_id=call.id),
               "products_url": _link(links, "billing.products")}
    return compose(kind, f"call-reminder:{call.id}:{call.start.astimezone(timezone.utc):{_KEY_TIME}}",
                   owner.email, "Reminder: your call with smrtPhone Customer Success", context, now,
                   account_id=call.account_id, call_id=call.id, call_start=call.start)


def follow_up_due(follow_up, staff, key, now, links=None):
    """Tell the staff member, on its morning, that a follow-up is due: once per `key`
    (followups.reminder_key: the task and its day)."""
    call = Call.with_people().where(Call.id == follow_up.call_id).get()
    context = {"follow_up": follow_up, "staff": staff, "call": call, "account": call.account,
               "owner": call.owner, "due_day": formatting.spoken_day(follow_up.due_on),
               "follow_ups_url": _link(links, "success.follow_ups")}
    return compose(OutboxMessage.FOLLOW_UP_DUE, key, staff.email,
                   f"Follow-up due today: {call.account.name}", context, now,
                   account_id=call.account_id)


def mail_failing(message, attempts, ops_email, now):
    """Tell the operators, once per message, that it keeps failing."""
    return compose(OutboxMessage.OPS_ALERT, f"ops-alert:mail:{message.id}:{message.dedupe_key}",
                   ops_email, f"Email {message.id} keeps failing",
                   {"message": message, "attempts": attempts}, now)


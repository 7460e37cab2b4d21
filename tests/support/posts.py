"""Every POST endpoint of the app, with how a test makes a browser post it
(`POSTS`), and what a refused post must leave unchanged (`state`): shared by
the CSRF, bad-input and rate-limit tests."""
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest

from tests.support.helpers import (
    DIALER_STEP_NAMES,
    STEP_NAMES,
    all_rows,
    answers,
    cancel_smrtphone,
    complete_steps,
    open_request,
    request_id_on,
    step_url,
    subscription,
    text,
)
from wizard import clock
from wizard.domain import reactivation
from wizard.store.models import Account, Plan, User


def owner_of(name):
    return Account.get(Account.name == name).owner()


def _form_for(browser, sub, name, given):
    """The step's form as the page draws it, filled in with `given`."""
    page = browser.get(step_url(sub, name))
    assert page.status_code == 200, (name, page.status_code)
    data = dict(given)
    data["request_id"] = request_id_on(page)
    return data


def _phone_step(name):
    def setup(browser):
        sub = subscription()
        complete_steps(browser, sub, name)
        return step_url(sub, name), _form_for(browser, sub, name, answers(sub, name))
    return setup


def _dialer_step(name):
    def setup(browser):
        dialer = subscription("smrtdialer")
        complete_steps(browser, dialer, name)
        return step_url(dialer, name), _form_for(browser, dialer, name, answers(dialer, name))
    return setup


def _keep(browser):
    sub = subscription()
    complete_steps(browser, sub, "survey")
    return f"/cancel/{sub.id}/keep", {"request_id": str(open_request(sub).id)}


def _reactivate(browser):
    sub = cancel_smrtphone(browser)  # cancelled, so reactivating is possible
    assert reactivation.reactivation_for(subscription(), clock.now()).allowed
    return f"/billing/reactivate/{sub.id}", {}


def _change_plan(browser):
    sub = subscription()
    business = Plan.get(Plan.code == "phone-business")
    return f"/billing/plans/{sub.id}/{business.code}", {
        "seats": str(sub.seats), "request_id": "", "drawn_plan": str(sub.plan_id),
        "drawn_seats": str(sub.seats)}


def _port_pin(browser):
    """Make a new port-out PIN (it changes the account's row), the password given."""
    return "/billing/numbers/pin", {"action": "regenerate", "password": "owner-pass"}


def _prepare_data(browser):
    """Ask for the account's archive (a new DataExport row, queued)."""
    return "/billing/data", {}


def _undo_plan_change(browser):
    from wizard.domain import plans

    sub = subscription()
    plans.change(sub, Plan.get(Plan.code == "phone-starter"), sub.seats, owner_of("Acme Realty"),
                 None, clock.now())  # a downgrade, scheduled: something to undo
    return f"/billing/plans/{sub.id}/undo", {}


def _dialer_instead(browser):
    phone = subscription()
    complete_steps(browser, phone, "options")
    return f"/cancel/{subscription('smrtdialer').id}/instead", {"request_id": str(open_request(phone).id)}


def _free_starts(count=2):
    from wizard.domain import availability

    return [slot.start for slot in availability.free_slots(clock.now())[:count]]


def _a_call():
    from wizard.domain import calls

    return calls.book(owner_of("Acme Realty"), _free_starts(1)[0], "", clock.now())


def _book_call(browser):
    return "/calls/book", {"start": _free_starts(1)[0].isoformat(), "topic": "Prices",
                           "number": "(617) 555-0101"}


def _reschedule_call(browser):
    call = _a_call()
    later = next(s for s in _free_starts(10) if s != call.start)
    return f"/calls/{call.id}/reschedule", {"start": later.isoformat(), "drawn_sequence": str(call.sequence)}


def _cancel_call(browser):
    return f"/calls/{_a_call().id}/cancel", {}


def _record_outcome(browser):
    call = _a_call()
    clock.FROZEN = call.end + timedelta(minutes=5)
    prefix = f"call{call.id}-"
    return f"/success/calls/{call.id}/outcome", {
        prefix + "held": "held", prefix + "outcome": "saved", prefix + "notes": "Stays on Pro."}


def _complete_follow_up(browser):
    from wizard.store.models import FollowUp

    call = _a_call()
    clock.FROZEN = call.end + timedelta(minutes=5)
    staff = User.get(User.email == "success@smrtphone.test")
    task = FollowUp.create(call=call.id, account=call.account_id, staff=staff.id,
                           due_on=clock.now().date(), created_at=clock.now())
    return f"/success/follow-ups/{task.id}/done", {f"done{task.id}-note": "Called back."}


def _save_hours(browser):
    return "/success/hours", {"timezone": "America/Chicago", "d0_1_from": "10:00", "d0_1_to": "12:00"}


def _add_override(browser):
    return "/success/hours/overrides", {"day": (clock.now() + timedelta(days=3)).date().isoformat()}


def _remove_override(browser):
    from wizard.domain import availability

    day = (clock.now() + timedelta(days=3)).date()
    availability.set_date_override(User.get(User.email == "success@smrtphone.test"), day)
    return f"/success/hours/overrides/{day.isoformat()}/remove", {}


def _qa_advance(browser):
    return "/qa/clock/advance", {"amount": "91d"}


def _qa_set(browser):
    return "/qa/clock/set", {"moment": "2027-03-01T09:00"}


def _qa_reset(browser):
    from wizard.domain import qaclock

    qaclock.advance(timedelta(days=3))  # moved: something to reset
    return "/qa/clock/reset", {}


def _logout(browser):
    return "/auth/logout", {}


def _login(browser):
    browser.get("/auth/login")  # a session (and CSRF token) of its own
    return "/auth/login", {"email": "owner@acme.test", "password": "owner-pass"}


@dataclass(frozen=True)
class Post:
    """A POST endpoint and how to bring the app to where posting it would act."""

    endpoint: str
    setup: Callable  # (browser) -> (url, form data that would succeed with a good token)
    step: tuple = None  # (product, step name) for cancel.save_step
    signed_in: bool = True
    role: str = "owner"  # who signs in to post it
    qa: bool = False  # exists only in QA mode (the QA clock)

    def __str__(self):
        return "/".join(self.step) if self.step else self.endpoint


# Every POST endpoint of the app, in one place: add new ones here
# (test_every_post_endpoint_is_in_the_csrf_list fails until you do).
POSTS = [
    *[Post("cancel.save_step", _phone_step(name), ("smrtphone", name)) for name in STEP_NAMES],
    *[Post("cancel.save_step", _dialer_step(name), ("smrtdialer", name)) for name in DIALER_STEP_NAMES],
    Post("cancel.keep", _keep),
    Post("billing.reactivate", _reactivate),
    Post("billing.change_plan", _change_plan),
    Post("billing.undo_plan_change", _undo_plan_change),
    Post("billing.port_pin", _port_pin),
    Post("billing.prepare_data", _prepare_data),
    Post("cancel.dialer_instead", _dialer_instead),
    Post("calls.book", _book_call),
    Post("calls.reschedule", _reschedule_call),
    Post("calls.cancel", _cancel_call),
    Post("success.record_outcome", _record_outcome, role="success"),
    Post("success.complete_follow_up", _complete_follow_up, role="success"),
    Post("success.save_hours", _save_hours, role="success"),
    Post("success.add_override", _add_override, role="success"),
    Post("success.remove_override", _remove_override, role="success"),
    Post("auth.logout", _logout),
    Post("auth.login", _login, signed_in=False),
    Post("qa.advance", _qa_advance, signed_in=False, qa=True),
    Post("qa.set_to", _qa_set, signed_in=False, qa=True),
    Post("qa.reset", _qa_reset, signed_in=False, qa=True),
]


def in_its_mode(post):
    """The post as a test parameter; the QA clock's posts need the app in QA mode."""
    return pytest.param(post, marks=pytest.mark.qa_mode) if post.qa else post


def signed_in_as(browser):
    """Who the browser's session is signed in as (None if nobody)."""
    home = browser.get("/")  # signed in: your home page; else: sign in
    if "/auth/login" in home.location:
        return None
    response = browser.get(home.location)
    assert response.status_code == 200
    return re.search(r'<span class="who">([^<]*)</span>', text(response)).group(1)


def state(browser):
    return all_rows(), signed_in_as(browser)

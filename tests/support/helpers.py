"""Small helpers shared by the wizard tests.

The wizard's shape (which steps, in which order, how many) is read from
wizard/steps.py, never spelled out here: a test says what it answers at a
step, by the step's name, and the step list says where that step is.
"""
import re

from wizard.domain import policy, steps as wizard_steps
from wizard.store.models import (
    MODELS,
    Account,
    AuditEvent,
    CancellationRequest,
    Product,
    Subscription,
)

ACK_ALL = {s.key: "y" for s in policy.SMRTPHONE_STATEMENTS}
REQUEST_ID = re.compile(r'name="request_id" type="hidden" value="(\d*)"')

STEPS = wizard_steps.steps_for(Product.SMRTPHONE)
STEP_NAMES = [s.name for s in STEPS]
DIALER_STEP_NAMES = [s.name for s in wizard_steps.steps_for(Product.SMRTDIALER)]

# What the owner answers at each step (a step not named here is a plain Continue).
ANSWERS = {
    "acknowledge": ACK_ALL,
    "survey": {"reason": "too_expensive", "comment": "Budget cuts this quarter."},
    "options": {"choice": "none"},
}
DIALER_ANSWERS = {
    "acknowledge": {s.key: "y" for s in policy.SMRTDIALER_STATEMENTS},
    "survey": {"reason": "not_using_enough", "comment": ""},
}


def answers(sub, name):
    """The answers the tests give at step `name` of `sub`'s wizard."""
    return dict((ANSWERS if sub.product == Product.SMRTPHONE else DIALER_ANSWERS).get(name, {}))


def progress(name, product=Product.SMRTPHONE):
    """The "Step n of N" marker of step `name`."""
    names = [s.name for s in wizard_steps.steps_for(product)]
    return f"Step {names.index(name) + 1} of {len(names)}"


def plain_text(message):
    """The plain-text part of a delivered email (multipart/alternative, maybe with an invitation)."""
    return message.get_body(("plain",)).get_content()


def text(response):
    return response.get_data(as_text=True)


def all_rows():
    """Every row of every table, as plain values: compare two to see that nothing changed."""
    rows = {m.__name__: list(m.select().order_by(m._meta.primary_key).tuples()) for m in MODELS}
    # A refusal is written to the audit log (access.refused): the log, not a change.
    rows["AuditEvent"] = list(AuditEvent.select().where(AuditEvent.kind != "access.refused")
                              .order_by(AuditEvent.id).tuples())
    return rows


def subscription(product=Product.SMRTPHONE, account="Acme Realty"):
    return (Subscription.select().join(Account)
            .where((Account.name == account) & (Subscription.product == product)).get())


def step_url(sub, name):
    return f"/cancel/{sub.id}/{name}"


def request_id_on(page):
    match = REQUEST_ID.search(page.get_data(as_text=True))
    assert match, "the step has no request_id field"
    return match.group(1)


def post_step(browser, sub, name, data=None, htmx=False):
    """Open the step as a person would, then submit it."""
    page = browser.get(step_url(sub, name))
    assert page.status_code == 200, (name, page.status_code, page.location)
    form = answers(sub, name) if data is None else dict(data)
    form["request_id"] = request_id_on(page)
    return browser.post(step_url(sub, name), form, htmx=htmx)


def refused_form(browser, response):
    """Follow a plain browser's refused post to the page that shows its errors
    (see wizard/invalid_forms.py): a 303 to the form's page, shown once."""
    assert response.status_code == 303, response.status_code
    return browser.get(response.location)


def errors_page(browser, sub, name, response):
    """The page a plain browser lands on after a post of step `name` that failed:
    redirected (303) to the step itself, shown once with the errors (422)."""
    assert response.status_code == 303, response.status_code
    assert response.location.endswith(step_url(sub, name)), response.location
    page = browser.get(response.location)
    assert page.status_code == 422, page.status_code
    return page


def complete_steps(browser, sub, upto):
    """Complete every step of `sub`'s wizard before `upto` (a step name)."""
    names = [s.name for s in wizard_steps.steps_for(sub.product)]
    for name in names[:names.index(upto)]:
        response = post_step(browser, sub, name)
        assert response.status_code == 303, (name, response.status_code, response.get_data(as_text=True)[:2000])


def open_request(sub):
    return CancellationRequest.get_or_none(CancellationRequest.open_for == sub.id)


def walk_wizard(browser, sub):
    """Answer every step of `sub`'s wizard, the last (Confirm) included."""
    last = wizard_steps.steps_for(sub.product)[-1].name
    complete_steps(browser, sub, last)
    response = post_step(browser, sub, last)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return sub


def cancel_smrtphone(browser):
    """Walk the whole smrtPhone wizard as the owner; return the subscription."""
    return walk_wizard(browser, subscription())


def cancel_smrtdialer(browser):
    """Walk the smrtDialer-only wizard as the owner; return the subscription."""
    return walk_wizard(browser, subscription(Product.SMRTDIALER))

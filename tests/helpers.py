"""Small helpers shared by the wizard tests."""
import re

from wizard import policy
from wizard.models import MODELS, Account, CancellationRequest, Subscription

ACK_ALL = {s.key: "y" for s in policy.SMRTPHONE_STATEMENTS}
REQUEST_ID = re.compile(r'name="request_id" type="hidden" value="(\d*)"')

ANSWERS = {
    "consequences": {},
    "acknowledge": ACK_ALL,
    "survey": {"reason": "too_expensive", "comment": "Budget cuts this quarter."},
    "options": {"choice": "none"},
    "confirm": {},
}
STEP_NAMES = list(ANSWERS)


def text(response):
    return response.get_data(as_text=True)


def all_rows():
    """Every row of every table, as plain values: compare two to see that nothing changed."""
    return {m.__name__: list(m.select().order_by(m._meta.primary_key).tuples()) for m in MODELS}


def subscription(product="smrtphone", account="Acme Realty"):
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
    form = dict(ANSWERS[name] if data is None else data)
    form["request_id"] = request_id_on(page)
    return browser.post(step_url(sub, name), form, htmx=htmx)


def complete_steps(browser, sub, upto):
    """Complete every step before `upto` (a step name)."""
    for name in STEP_NAMES[:STEP_NAMES.index(upto)]:
        response = post_step(browser, sub, name)
        assert response.status_code == 303, (name, response.status_code, response.get_data(as_text=True)[:2000])


def open_request(sub):
    return CancellationRequest.get_or_none(CancellationRequest.open_for == sub.id)


def cancel_smrtphone(browser):
    """Walk the whole smrtPhone wizard as the owner; return the subscription."""
    sub = subscription()
    complete_steps(browser, sub, "confirm")
    response = post_step(browser, sub, "confirm")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return sub


DIALER_ANSWERS = {
    "consequences": {},
    "acknowledge": {key: "y" for key in ("dialer_access_ends", "dialer_phone_unaffected",
                                          "dialer_manual_reactivation")},
    "survey": {"reason": "not_using_enough", "comment": ""},
    "confirm": {},
}


def cancel_smrtdialer(browser):
    """Walk the smrtDialer-only wizard as the owner; return the subscription."""
    sub = subscription("smrtdialer")
    for name, answers in DIALER_ANSWERS.items():
        response = post_step(browser, sub, name, answers)
        assert response.status_code == 303, (name, response.get_data(as_text=True)[:500])
    return sub

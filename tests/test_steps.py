"""The step list alone: order, navigation and completeness."""
import os
from dataclasses import replace
from types import SimpleNamespace

import pytest

from wizard import ROOT, clock
from wizard.domain import steps as wizard_steps

STEPS = wizard_steps.steps_for("smrtphone")


def fake_request(done):
    """A stand-in request whose steps in `done` are complete."""
    return SimpleNamespace(done=set(done))


def with_completion(steps):
    # Swap each step's completeness test for one reading fake_request.done.
    return [replace(s, is_complete=lambda req, n=s.name: req is not None and n in req.done)
            for s in steps]


def test_the_smrtphone_wizard_has_the_five_steps_of_the_article_in_order():
    assert [s.name for s in STEPS] == ["consequences", "acknowledge", "survey", "options", "confirm"]
    assert [s.title for s in STEPS][0] == "What will happen"


def test_every_step_has_a_template_that_exists():
    for step in STEPS:
        assert os.path.exists(os.path.join(ROOT, "templates", step.template)), step.template


def test_first_incomplete_is_the_first_step_without_a_request():
    assert wizard_steps.first_incomplete(STEPS, None) is STEPS[0]


def test_first_incomplete_skips_completed_steps_in_order():
    steps = with_completion(STEPS)
    req = fake_request({"consequences", "acknowledge"})
    assert wizard_steps.first_incomplete(steps, req).name == "survey"
    # A gap: the first hole wins, even if a later step is complete.
    req = fake_request({"consequences", "survey"})
    assert wizard_steps.first_incomplete(steps, req).name == "acknowledge"


def test_reachable_allows_earlier_steps_and_the_first_incomplete_only():
    steps = with_completion(STEPS)
    req = fake_request({"consequences"})
    reachable = [s.name for s in steps if wizard_steps.reachable(steps, req, s)]
    assert reachable == ["consequences", "acknowledge"]


def test_when_all_are_complete_the_last_step_is_where_the_wizard_stands():
    steps = with_completion(STEPS)
    req = fake_request({s.name for s in steps})
    assert wizard_steps.first_incomplete(steps, req) is steps[-1]


def test_find_returns_none_for_an_unknown_step():
    assert wizard_steps.find(STEPS, "consequences") is STEPS[0]
    assert wizard_steps.find(STEPS, "bogus") is None


def test_steps_for_leaves_out_a_step_whose_condition_fails(monkeypatch):
    hidden = replace(STEPS[2], condition=lambda req: False)
    monkeypatch.setitem(wizard_steps.STEPS_BY_PRODUCT, "smrtphone", (*STEPS[:2], hidden, *STEPS[3:]))
    names = [s.name for s in wizard_steps.steps_for("smrtphone")]
    assert names == ["consequences", "acknowledge", "options", "confirm"]


def test_a_step_added_to_the_list_is_shown_numbered_and_required_before_confirm(
        app, owner, sign_in, monkeypatch):
    """One entry in a copy of the list, a form (an existing one) and a partial:
    no other change, and the wizard shows, numbers, requires and re-checks it."""
    from jinja2 import ChoiceLoader, DictLoader

    from tests.helpers import complete_steps, open_request, post_step, step_url, subscription, text
    from wizard.domain import confirmation
    from wizard import refusals
    from wizard.store.models import AuditEvent, PurgeSchedule

    read = set()  # the throw-away step's own record of who completed it
    extra = wizard_steps.Step(
        "extra", "One more thing", "cancel/_extra.html", "ContinueForm",
        is_complete=lambda req: req is not None and req.id in read,
        save=lambda req, answers, user, ip, now: read.add(req.id),
        unfinished="Please read one more thing first.",
    )
    listed = wizard_steps.STEPS_BY_PRODUCT["smrtphone"]
    monkeypatch.setitem(wizard_steps.STEPS_BY_PRODUCT, "smrtphone", (*listed[:-1], extra, listed[-1]))
    monkeypatch.setattr(app, "jinja_loader", ChoiceLoader([DictLoader({
        "cancel/_extra.html": '{% from "_macros.html" import step_form %}'
                              "<p>A new thing to read.</p>{{ step_form(form, subscription, step) }}",
    }), app.jinja_loader]))

    sub = subscription()
    complete_steps(owner, sub, "extra")
    page = text(owner.get(step_url(sub, "extra")))
    total = len(listed) + 1
    assert f"Step {total - 1} of {total}" in page and "A new thing to read." in page
    assert "<li>One more thing</li>" in text(owner.get(step_url(sub, "consequences")))
    assert "<td>One more thing</td>" in text(sign_in("success").get("/success/"))

    # Confirm is out of reach until the new step is done, by the page and by the domain.
    assert owner.get(step_url(sub, "confirm")).location.endswith(step_url(sub, "extra"))
    response = owner.post(step_url(sub, "confirm"), {"request_id": str(open_request(sub).id)})
    assert response.location.endswith(step_url(sub, "extra"))
    events = AuditEvent.select().count()
    with pytest.raises(refusals.Incomplete) as refused:
        confirmation.confirm(open_request(sub), sub.account.owner(), None, clock.now())
    assert refused.value.step_name == "extra"
    assert str(refused.value) == "Please read one more thing first."
    assert subscription().status == "active" and PurgeSchedule.select().count() == 0
    assert AuditEvent.select().count() == events

    assert post_step(owner, sub, "extra").location.endswith(step_url(sub, "confirm"))
    assert post_step(owner, sub, "confirm").location.endswith(f"/cancel/{sub.id}/done")
    assert subscription().status == "cancellation_pending"

"""The step list alone: order, navigation and completeness."""
import os
from dataclasses import replace
from types import SimpleNamespace

from wizard import ROOT
from wizard import steps as wizard_steps

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

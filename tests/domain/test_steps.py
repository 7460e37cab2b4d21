"""The step list alone: order, navigation and completeness."""
import json
import os
from dataclasses import replace
from datetime import timedelta
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

    from tests.support.helpers import (
        complete_steps,
        open_request,
        post_step,
        step_url,
        subscription,
        text,
    )
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


def test_a_step_that_stores_a_new_kind_of_answer_needs_only_its_own_parts(
        app, owner, sign_in, monkeypatch):
    """A throw-away step with an answer of a new kind, written as a developer
    would write one. Its parts, each in the file it would live in:

      wizard/domain/steps.py            its entry (with answer_model and summary)
      wizard/web/cancel/forms.py        its form, in STEP_FORMS
      templates/cancel/_stay.html       its partial
      wizard/store/models/requests.py   its answer's model
      wizard/store/models/__init__.py   the model in MODELS
      wizard/store/migrations.py        its migration

    With nothing else changed, the wizard shows it, confirm requires it,
    Customer Success reads the answer on the request's page, and the purge
    erases it with the account."""
    from jinja2 import ChoiceLoader, DictLoader
    from peewee import ForeignKeyField, TextField
    from wtforms.validators import InputRequired

    from jobs.purge import run_purge
    from tests.support.helpers import (
        errors_page,
        open_request,
        post_step,
        step_url,
        subscription,
        text,
    )
    from wizard.store import migrations, models
    from wizard.store.db import database
    from wizard.store.models import CancellationRequest, ErasureRecord, PurgeSchedule
    from wizard.store.models.base import BaseModel, UTCDateTimeField
    from wizard.web.cancel import forms

    # Its answer's model and migration.
    class StayAnswer(BaseModel):
        request = ForeignKeyField(CancellationRequest, unique=True, backref="+",
                                  on_delete="CASCADE")
        answer = TextField()
        answered_at = UTCDateTimeField()

    monkeypatch.setattr(models, "MODELS", [*models.MODELS, StayAnswer])
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, (
        migrations.MIGRATIONS[-1][0] + 1, "what would have made them stay",
        lambda db, migrator: db.create_tables([StayAnswer], safe=True))])
    assert migrations.migrate() == ["what would have made them stay"]

    # Its form.
    class StayForm(forms.StepForm):
        short_names = {"answer": "Answer"}
        answer = forms.StringField("What would have made you stay?",
                                   validators=[InputRequired("Please tell us in a few words.")])

    monkeypatch.setitem(forms.STEP_FORMS, "StayForm", StayForm)

    # Its partial.
    monkeypatch.setattr(app, "jinja_loader", ChoiceLoader([DictLoader({
        "cancel/_stay.html": '{% from "_macros.html" import field, step_form %}'
                             "{% call step_form(form, subscription, step) %}"
                             "{{ field(form.answer) }}{% endcall %}",
    }), app.jinja_loader]))

    # Its entry.
    def answer_of(req):
        found = StayAnswer.get_or_none(StayAnswer.request == req.id)
        return found.answer if found else None

    def save(req, answers, user, ip, now):
        StayAnswer.insert(request=req.id, answer=answers["answer"], answered_at=now).on_conflict(
            conflict_target=[StayAnswer.request],
            update={StayAnswer.answer: answers["answer"], StayAnswer.answered_at: now}).execute()

    stay = wizard_steps.Step(
        "stay", "What would have made you stay", "cancel/_stay.html", "StayForm",
        is_complete=lambda req: req is not None and answer_of(req) is not None, save=save,
        unfinished="Please tell us what would have made you stay.",
        answer_model=StayAnswer, summary=answer_of,
    )
    listed = wizard_steps.STEPS_BY_PRODUCT["smrtphone"]
    monkeypatch.setitem(wizard_steps.STEPS_BY_PRODUCT, "smrtphone",
                        (*listed[:-1], stay, listed[-1]))

    try:
        sub = subscription()
        for name in ("consequences", "acknowledge", "survey", "options"):
            post_step(owner, sub, name)
        # The wizard shows it, and confirm is out of reach until it is answered.
        page = text(owner.get(step_url(sub, "stay")))
        assert "What would have made you stay?" in page and "Step 5 of 6" in page
        assert owner.get(step_url(sub, "confirm")).location.endswith(step_url(sub, "stay"))
        refused = post_step(owner, sub, "stay", {"answer": ""})
        assert "Please tell us in a few words." in text(errors_page(owner, sub, "stay", refused))
        assert post_step(owner, sub, "stay", {"answer": "A cheaper plan for two seats"}) \
            .location.endswith(step_url(sub, "confirm"))
        req = open_request(sub)
        assert post_step(owner, sub, "confirm").status_code == 303
        assert subscription().status == "cancellation_pending"

        # Customer Success reads the answer.
        staff_page = text(sign_in("success").get(f"/success/requests/{req.id}"))
        assert "What would have made you stay" in staff_page
        assert "A cheaper plan for two seats" in staff_page

        # The purge erases it with the account.
        assert StayAnswer.select().count() == 1
        schedule = PurgeSchedule.get(PurgeSchedule.account_id == sub.account_id)
        clock.FROZEN = schedule.due_at + timedelta(minutes=1)
        assert run_purge(schedule.id, schedule.generation) not in ("not claimed", "taken over")
        assert StayAnswer.select().count() == 0
        counts = json.loads(ErasureRecord.get(ErasureRecord.schedule == schedule.id).counts)
        assert counts["stayanswer"] == 1
    finally:
        database.drop_tables([StayAnswer], safe=True)
        migrations.SchemaVersion.delete().where(
            migrations.SchemaVersion.version == migrations.MIGRATIONS[-1][0]).execute()

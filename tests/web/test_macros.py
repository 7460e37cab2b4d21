"""The form macros (templates/_macros.html) render every field through its
wtforms widget, tied to its hint and error for screen readers; hidden inputs
carry no id; a bounded text area echoes no more than its limit."""
import os

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from wtforms import BooleanField, Form, HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from wizard import ROOT
from wizard.web.form_input import BoundedTextAreaField
from wizard.web.templating import TEXT_AREAS, aria_attrs, csrf_input, hidden_input

AWKWARD = 'say "hi" & <b>bye</b>'


class Sample(Form):
    ticked = BooleanField("Ticked", validators=[DataRequired("Please tick it.")])
    hidden = HiddenField()
    reason = RadioField("Reason", choices=[SelectChoice("a", "A"), SelectChoice("b", AWKWARD)])
    comment = BoundedTextAreaField("Comment", max_length=10, message="Too long")


@pytest.fixture(scope="module")
def macros():
    env = Environment(loader=FileSystemLoader(os.path.join(ROOT, "templates")), autoescape=True,
                      undefined=StrictUndefined)
    env.globals.update(aria_attrs=aria_attrs, csrf_input=csrf_input, hidden_input=hidden_input,
                       TEXT_AREAS=TEXT_AREAS)
    return env.get_template("_macros.html").module


def words(html):
    return " ".join(str(html).split())


def test_a_checkbox_is_wtforms_own_with_its_hint_and_error(macros):
    form = Sample(data={"ticked": False})
    form.validate()
    html = words(macros.checkbox(form.ticked, hint="A hint"))
    assert words(form.ticked(aria_describedby="ticked-error ticked-hint", aria_invalid="true",
                             required=False)) in html
    assert '<p class="hint" id="ticked-hint">A hint</p>' in html
    assert '<p class="field-error" id="ticked-error">Please tick it.</p>' in html
    assert "has-error" in html


def test_radios_are_wtforms_options_numbered_from_0(macros):
    form = Sample(data={"reason": "b"})
    html = words(macros.radios(form.reason))
    for option in form.reason:
        assert f"{option()} {option.label}" in html
    assert 'checked id="reason-1"' in html and "say &#34;hi&#34; &amp; &lt;b&gt;bye&lt;/b&gt;" in html


def test_hidden_inputs_have_no_id(macros):
    form = Sample(data={"hidden": AWKWARD})
    assert str(macros.hidden(form.hidden)) == form.hidden(id=False)
    assert 'id="' not in str(macros.hidden(form.hidden))
    assert str(hidden_input("request_id", 7)) == '<input name="request_id" type="hidden" value="7">'
    assert str(hidden_input("next", AWKWARD)) == form.hidden(id=False).replace("hidden", "next", 1)


def test_a_bounded_text_area_echoes_no_more_than_its_limit(macros):
    form = Sample(data={"comment": "y" * 5000})
    html = str(macros.field(form.comment))
    assert 'maxlength="10"' in html and "y" * 10 in html and "y" * 11 not in html


@pytest.mark.parametrize("data, fail", [({"comment": "a <b> & \"c\"\nline"}, False),
                                        ({"comment": "y" * 50}, True), ({}, False)])
def test_a_text_area_is_wtforms_own_with_its_hint_and_error(macros, data, fail):
    form = Sample(data=data)
    if fail:
        form.comment.errors = ["Too long"]
    attrs = {"aria-describedby": "comment-error comment-hint", "aria-invalid": "true"} if fail \
        else {"aria-describedby": "comment-hint"}
    html = str(macros.field(form.comment, hint="At most 10."))
    assert str(form.comment(**attrs)) in html
    assert html.count("<textarea") == 1

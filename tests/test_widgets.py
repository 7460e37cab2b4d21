"""The quick widgets (wizard/widgets.py) write exactly what wtforms' own write."""
import pytest
from wtforms import BooleanField, Form, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, HiddenInput, RadioInput, TextArea

from wizard.web.form_input import BoundedTextAreaField
from wizard.web.widgets import QuickCheckboxInput, QuickHiddenInput, QuickRadioInput, QuickTextArea

AWKWARD = 'say "hi" & <b>bye</b>\r\nthen \'leave\''


class Sample(Form):
    ticked = BooleanField("Ticked", validators=[DataRequired()])
    hidden = HiddenField()
    reason = RadioField("Reason", choices=[SelectChoice("a", "A"), SelectChoice("b", 'B "quoted"')])
    comment = BoundedTextAreaField("Comment", [DataRequired()], max_length=1000, message="Too long")
    name = StringField("Name", [Length(min=2, max=40)])


ATTRIBUTES = [
    {},
    {"aria_describedby": "x-error x-hint", "class_": "wide", "data_test_id": "t"},
    {"id": False, "required": False, "autofocus": True},
    {"placeholder": AWKWARD, "rows": 4},
]


def sample(**data):
    return Sample(data=dict(ticked=True, hidden=AWKWARD, reason="b", comment=AWKWARD, **data))


@pytest.mark.parametrize("kwargs", ATTRIBUTES)
@pytest.mark.parametrize("quick, plain, name", [
    (QuickCheckboxInput(), CheckboxInput(), "ticked"),
    (QuickHiddenInput(), HiddenInput(), "hidden"),
    (QuickTextArea(), TextArea(), "comment"),
    (QuickTextArea(), TextArea(), "name"),
])
def test_a_quick_widget_writes_what_wtforms_writes(quick, plain, name, kwargs):
    form = sample()
    assert quick(form[name], **dict(kwargs)) == plain(form[name], **dict(kwargs))


def test_quick_radios_write_what_wtforms_radios_write():
    form = sample()
    for option in form.reason:
        assert QuickRadioInput()(option) == RadioInput()(option)
        assert QuickRadioInput()(option, aria_invalid="true") == RadioInput()(option, aria_invalid="true")


def test_bounded_text_areas_use_the_quick_widget_and_echo_no_more_than_their_limit():
    form = sample(name="x")
    form.comment.data = "y" * 5000
    html = form.comment()
    assert isinstance(form.comment.widget, QuickTextArea)
    assert 'maxlength="1000"' in html and "y" * 1000 in html and "y" * 1001 not in html

"""wtforms' input and text area widgets, writing the same HTML in a fraction
of the time.

wtforms' generic path (dir() over the field's flags, then each attribute
through Markup.format) costs some 35 µs an input and 40 µs a text area: the
survey has nine radios and a comment, acknowledge a checkbox per statement,
which made them the slowest steps. These write the same attributes, in the
same (sorted) order, with the same escaping; tests/test_widgets.py compares
them with wtforms' own.
"""
from markupsafe import Markup, escape
from wtforms.widgets import CheckboxInput, HiddenInput, Input, RadioInput, TextArea


def attributes(field, validation_attrs, kwargs):
    """The attributes of `field`'s element, as wtforms' html_params writes them
    (`kwargs` as given to the widget, with the flags of `validation_attrs`
    the field has and its name added)."""
    flags = vars(getattr(field, "flags", None) or object())  # the flags set on the field
    for k in validation_attrs:
        if k in flags and k not in kwargs:
            value = flags[k]
            kwargs[k] = value() if callable(value) else value
    kwargs["name"] = field.name
    params = []
    for k, v in sorted(kwargs.items()):
        k = k.rstrip("_")
        if k.startswith(("data_", "aria_")):
            k = k.replace("_", "-")
        if v is True:
            params.append(str(escape(k)))
        elif v is not False:
            params.append(f'{escape(k)}="{escape(v)}"')
    return " ".join(params)


class _QuickInput(Input):
    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", self.input_type)
        if "value" not in kwargs:
            kwargs["value"] = field._value()
        return Markup(f"<input {attributes(field, self.validation_attrs, kwargs)}>")


class QuickRadioInput(RadioInput, _QuickInput):
    pass


class QuickCheckboxInput(CheckboxInput, _QuickInput):
    pass


class QuickHiddenInput(HiddenInput, _QuickInput):
    pass


class QuickTextArea(TextArea):
    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        return Markup(f"<textarea {attributes(field, self.validation_attrs, kwargs)}>\r\n"
                      f"{escape(field._value())}</textarea>")

"""What templates have besides their context: the formatting filters, the
fields' ARIA attributes, and a url_for that remembers what it built."""
from flask import has_request_context, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from wizard.domain import console, formatting, phones

ERROR_TITLE = "Error: "


def titled(title, *forms, errors=None):
    """A page's title, begun with "Error: " when any of its `forms` was
    refused (GOV.UK's pattern): a screen reader says it first on arrival.
    `forms` may hold None (a form the page does not show) and lists;
    `errors`: the page's refusals that belong to no form field (a plan
    that cannot be had, a day's hours), also in its error summary."""
    flat = [f for form in forms for f in (form if isinstance(form, (list, tuple)) else [form])]
    refused = errors or any(f is not None and f.errors for f in flat)
    return (ERROR_TITLE if refused else "") + title


def aria_attrs(field, hint_id=""):
    """The attributes that tie a field to its error and hint, for screen readers.

    The one place that builds them: the macros in _macros.html render them on
    inputs (as keyword arguments) and on fieldsets (with `xmlattr`).
    """
    described_by = ([f"{field.id}-error"] if field.errors else []) + ([hint_id] if hint_id else [])
    attrs = {}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return attrs


def remembered_url_for(app):
    """Templates' url_for, remembering the URLs it has built.

    Every page builds the same few URLs (the stylesheet, htmx, the menu, the
    steps of the wizard), and werkzeug builds each anew from the URL map,
    which costs a page a noticeable part of its time. A URL depends only on
    its endpoint, its values and where the app is mounted (the script root),
    and the map does not change once the app serves; so each is built once,
    and at most MAX_REMEMBERED_URLS are kept per app. Calls with building
    options (_external, _anchor, ...) or a relative endpoint always build.
    """
    built = {}

    def url_for(endpoint, **values):
        if (endpoint.startswith(".") or any(name.startswith("_") for name in values)
                or not has_request_context()):
            return app.url_for(endpoint, **values)
        key = (request.script_root, endpoint, *sorted(values.items()))
        try:
            return built[key]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key (a list, say)
            return app.url_for(endpoint, **values)
        if len(built) >= MAX_REMEMBERED_URLS:
            built.clear()
        url = built[key] = app.url_for(endpoint, **values)
        return url

    return url_for


def hidden_input(name, value):
    """A hidden input without an id (several forms share a page, and ids must
    stay unique): for a value that is no field of a form object the page has
    (the ids the Keep form and "Cancel only smrtDialer" carry)."""
    # An f-string of escaped parts: Markup.format's string.Formatter costs
    # each input some 10 µs, and a page has several.
    return Markup(f'<input name="{escape(name)}" type="hidden" value="{escape(value)}">')


def csrf_input(form=None):
    """The CSRF token of a form that posts: `form`'s own field where the page
    has the form object (a prefixed form names it "<prefix>-csrf_token"), else
    the session's token under Flask-WTF's name. A function, not a macro: every
    page has one (the sign-out form), and importing a macro costs a page more
    than writing the input."""
    if form is None:
        return hidden_input("csrf_token", generate_csrf())
    return hidden_input(form.csrf_token.name, form.csrf_token._value())


MAX_REMEMBERED_URLS = 256


# The fields the `field` macro writes as a text area itself (_macros.html).
TEXT_AREAS = ("TextAreaField", "BoundedTextAreaField")


def init_app(app):
    app.jinja_env.globals["url_for"] = remembered_url_for(app)
    app.add_template_filter(formatting.money)
    app.add_template_filter(formatting.local_date)
    app.add_template_filter(formatting.iso_date)
    app.add_template_filter(formatting.duration)
    app.add_template_filter(formatting.local_time)
    app.add_template_filter(formatting.clock_time)
    app.add_template_filter(formatting.local_datetime)
    app.add_template_filter(formatting.filesize)
    app.add_template_filter(formatting.count_of)
    app.add_template_filter(phones.phone_number)
    app.add_template_global(aria_attrs)
    app.add_template_global(titled)
    app.add_template_global(csrf_input)
    app.add_template_global(hidden_input)
    app.add_template_global(formatting.spoken_day)
    app.jinja_env.globals["TEXT_AREAS"] = TEXT_AREAS
    app.add_template_global(console.offer_title)  # the console's pages name offers

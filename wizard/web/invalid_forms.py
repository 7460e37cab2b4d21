"""A form's errors across a redirect (POST/redirect/GET), for plain browsers.

Pages behind sign-in are sent with `Cache-Control: no-store`, so a browser
keeps no copy of a POST's answer: Back onto a form that was re-shown with
its errors would ask to send the form again. So when a plain (no-JavaScript)
form post fails validation, its fields are kept in the session and the
browser is sent (303) to the form's own page, which shows the answers and the
errors once and forgets them. History then holds only GETs, and Back, Forward
and Reload are harmless.

htmx swaps the panel in place and leaves no POST in the history, so it still
gets its 422 at once. So does a post too big to keep in the session cookie
(a long comment with another field missing, say): better one resubmission
prompt than a cookie the browser drops, which would sign the owner out.
"""
import json

from flask import g, redirect, request, session
from werkzeug.datastructures import MultiDict

from . import htmx

SESSION_KEY = "invalid_form"
# The session is a cookie, and browsers drop cookies over 4 KB. This leaves
# room for the rest of the session and for the signature.
MAX_KEPT_BYTES = 1800


def remember(url, form, status=422, which=None, extra=None):
    """Keep `form`'s fields and errors for the next GET of `url`, and redirect there.

    `which` names the form on a page of several; `extra` is anything else the
    page showed about the failure (plain JSON). Returns the redirect, or None
    when the form is htmx's (answer with the errors at once) or too big to keep.
    """
    if htmx.wants_fragment():
        return None
    fields = [[name, value] for name, value in request.form.items(multi=True)
              if isinstance(value, str)]
    errors = {field.short_name: [str(e) for e in field.errors] for field in form if field.errors}
    kept = {"url": url, "fields": fields, "errors": errors, "status": status, "which": which,
            "extra": extra}
    if len(json.dumps(kept)) > MAX_KEPT_BYTES:
        return None
    session[SESSION_KEY] = kept
    return htmx.vary(redirect(url, code=303))


def take_kept_fields():
    """Before a GET: take what remember() kept for this page (web/hooks.py).

    The next page shown after the redirect takes them, whatever it is, so
    errors never reappear later on a page visited again.
    """
    if request.method == "GET" and request.endpoint != "static" and SESSION_KEY in session:
        kept = session.pop(SESSION_KEY)
        if kept.get("url", "").split("#")[0].split("?")[0] == request.path:
            g.kept_form = kept


def recall(which=None):
    """Return the fields kept for this page (and this form of it) by remember(),
    as a MultiDict, or None."""
    kept = g.get("kept_form")
    if kept is None or kept.get("which") != which:
        return None
    return MultiDict([tuple(pair) for pair in kept["fields"]])


def which():
    """The name of the form whose errors this page shows, or None."""
    kept = g.get("kept_form")
    return None if kept is None else kept.get("which")


def extra():
    """What remember() was given as `extra`, or None."""
    kept = g.get("kept_form")
    return None if kept is None else kept.get("extra")


def rebuild(build, which=None):
    """The form a refused post left for this page (and this form of it):
    `build(formdata=...)` given the kept fields, with the errors it was refused
    with. None when nothing was kept for it."""
    fields = recall(which)
    if fields is None:
        return None
    form = build(formdata=fields)
    for name, messages in g.kept_form["errors"].items():
        if name in form:
            form[name].errors = list(messages)
    return form


def rebuild_one(kind, build):
    """On a page of several forms named "<kind>-<id>" (remember's `which`):
    ({id: the refused form, rebuilt by build(id, formdata)}) for the one
    refused, or None when none of them was."""
    refused = which()
    if not refused or not refused.startswith(kind + "-"):
        return None
    form_id = int(refused.split("-")[1])
    return {form_id: rebuild(lambda formdata: build(form_id, formdata), refused)}


def status():
    """The status the page shows its kept errors with (422, or 409 for a taken
    time), or 200 when there are none."""
    kept = g.get("kept_form")
    return 200 if kept is None else kept.get("status", 422)

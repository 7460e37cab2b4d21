"""CSRF tokens signed about once a minute per session, not on every page.

Flask-WTF signs the session's raw token, with the time, once on each request
that draws a form (itsdangerous: some 20 µs, a few percent of a wizard page),
and keeps the signed token in `g` for the rest of that request. A token
signed less than a minute ago is as good as a new one: it expires
(WTF_CSRF_TIME_LIMIT, two hours) at most a minute sooner, and it is still
checked against the session's own raw token. So each process remembers the
last token it signed for each raw token and, for a minute, hands it to
Flask-WTF through that same `g` attribute instead of signing again.

Ages are read on the clock itsdangerous signs with (sessions.signer_time),
not the QA clock (wizard/clock.py), which moves the app's dates, not token
ages.
"""
from flask import current_app, g, session

from .sessions import signer_time

REUSE_FOR = 60  # seconds
MAX_REMEMBERED = 10_000  # raw tokens per process; forgotten all at once past this
FIELD = "csrf_token"  # Flask-WTF's session key and `g` attribute (WTF_CSRF_FIELD_NAME)


def init_app(app):
    if app.config.get("WTF_CSRF_FIELD_NAME", FIELD) != FIELD:
        raise RuntimeError("wizard/csrf_tokens.py expects Flask-WTF's default field name")
    app.extensions["csrf_tokens"] = {}  # raw token -> (signed at, signed token)
    app.before_request(reuse_signed_token)
    app.after_request(remember_signed_token)


def reuse_signed_token():
    raw = session.get(FIELD)
    if raw is None:
        return
    found = current_app.extensions["csrf_tokens"].get(raw)
    if found is not None and 0 <= signer_time() - found[0] < REUSE_FOR:
        setattr(g, FIELD, found[1])
        g.csrf_token_reused = True


def remember_signed_token(response):
    """Remember a token Flask-WTF signed during this request."""
    signed, raw = g.get(FIELD), session.get(FIELD)
    if signed is not None and raw is not None and not g.get("csrf_token_reused"):
        remembered = current_app.extensions["csrf_tokens"]
        if len(remembered) >= MAX_REMEMBERED:
            remembered.clear()
        remembered[raw] = (signer_time(), signed)
    return response

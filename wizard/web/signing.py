"""What is signed, signed and verified once instead of on every page.

## Session cookies: verified once per process per cookie

A browser sends the same cookie on request after request, and checking its
signature and decoding it costs some 30 µs each time (the key derived, the
HMAC, base64, zlib and JSON). So each process remembers what the cookies it
verified held, keyed by the cookie's whole text, signature included: only a
cookie byte for byte as verified before matches, and any other goes through
Flask's full check. A remembered cookie still expires as Flask's does: its
age is checked on every request, with the clock itsdangerous checks it with.
Each request gets its own copy of what the cookie holds, so a request that
changes its session changes nothing remembered.

## CSRF tokens: signed about once a minute per session

CSRF tokens signed about once a minute per session, not on every page.

Flask-WTF signs the session's raw token, with the time, once on each request
that draws a form (itsdangerous: some 20 µs, a few percent of a wizard page),
and keeps the signed token in `g` for the rest of that request. A token
signed less than a minute ago is as good as a new one: it expires
(WTF_CSRF_TIME_LIMIT, two hours) at most a minute sooner, and it is still
checked against the session's own raw token. So each process remembers the
last token it signed for each raw token and, for a minute, hands it to
Flask-WTF through that same `g` attribute instead of signing again.

Ages are read on the clock itsdangerous signs with (signer_time),
not the QA clock (wizard/clock.py), which moves the app's dates, not token
ages.
"""
import copy

from flask import current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner

# Cookies (and CSRF tokens) per process, forgotten all at once past this.
# `make soak` showed what more costs: at 10,000 each worker grew some 3 MB a
# minute, at 1,000 it still grew 9 MB over the three minutes the caches took
# to fill (then stayed flat). 256 sessions active on one worker at once is
# far beyond this wizard's traffic, and a session forgotten costs only the
# ~30 µs of verifying its cookie again.
MAX_REMEMBERED = 256
_SCALARS = (str, int, float, bool, type(None))


def signer_time():
    """Now, in the whole seconds itsdangerous dates and checks signatures with."""
    return TimestampSigner.get_timestamp(None)


class RememberingSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self.opened = {}  # (secret key, cookie) -> (signed at, what it holds)

    def open_session(self, app, request):
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie or not app.secret_key:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (app.secret_key, cookie)
        found = self.opened.get(key)
        if found is not None and 0 <= signer_time() - found[0] <= max_age:
            return self.session_class(_copy(found[1]))
        try:
            data, signed_at = self.get_signing_serializer(app).loads(
                cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:  # forged, expired or from another key: a new session
            return self.session_class()
        if len(self.opened) >= MAX_REMEMBERED:
            self.opened.clear()
        self.opened[key] = (int(signed_at.timestamp()), _copy(data))
        return self.session_class(data)


def _copy(data):
    """A copy of a session's contents that shares nothing mutable with it."""
    if all(isinstance(value, _SCALARS) for value in data.values()):
        return dict(data)
    return copy.deepcopy(data)


# -- CSRF tokens -------------------------------------------------------------------

REUSE_FOR = 60  # seconds
FIELD = "csrf_token"  # Flask-WTF's session key and `g` attribute (WTF_CSRF_FIELD_NAME)


def init_csrf_reuse(app):
    if app.config.get("WTF_CSRF_FIELD_NAME", FIELD) != FIELD:
        raise RuntimeError("wizard/web/signing.py expects Flask-WTF's default field name")
    app.extensions["csrf_tokens"] = {}  # raw token -> (signed at, signed token)


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

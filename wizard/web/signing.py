"""Flask's signed session cookie, verified once per process per cookie.

A browser sends the same cookie on request after request, and checking its
signature and decoding it costs some 30 µs each time (the key derived, the
HMAC, base64, zlib and JSON). So each process remembers what the cookies it
verified held, keyed by the cookie's whole text, signature included: only a
cookie byte for byte as verified before matches, and any other goes through
Flask's full check. A remembered cookie still expires as Flask's does: its
age is checked on every request, with the clock itsdangerous checks it with.
Each request gets its own copy of what the cookie holds, so a request that
changes its session changes nothing remembered.
"""
import copy

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner

MAX_REMEMBERED = 10_000  # cookies per process; forgotten all at once past this
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

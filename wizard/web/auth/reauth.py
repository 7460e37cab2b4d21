"""A sensitive action asks for the password again: one given in this session
within the last REAUTH_SECONDS (10 minutes) is enough.

The moment is kept in the session (signed, as the rest of it) as the
machine's time (clock.session_now): moving the QA clock must neither expire
nor extend it. Signing out ends the session and the confirmation with it.
"""
from flask import current_app, session

from wizard import clock

from .views import password_matches

KEY = "password_confirmed_at"


def recently_confirmed():
    """Did the signed-in user give their password within the window?"""
    at = session.get(KEY)
    window = current_app.config["REAUTH_SECONDS"]
    return isinstance(at, (int, float)) and 0 <= clock.session_now() - at <= window


def confirm(user, password):
    """Check `password`; on a match, start the window. Returns whether it matched."""
    if not password_matches(user, password or ""):
        return False
    session[KEY] = clock.session_now()
    return True

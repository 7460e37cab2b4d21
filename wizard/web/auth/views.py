"""Sign in and out."""
import os
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from wizard import clock
from wizard.web import ratelimits, signing
from wizard.web.extensions import login_manager
from wizard.store import reads
from wizard.store.models import User
from .forms import LoginForm

bp = Blueprint("auth", __name__, url_prefix="/auth")


@login_manager.user_loader
def load_user(session_id):
    """The signed-in user, unless their sessions were ended since (see User.get_id)."""
    return reads.signed_in(session_id)


def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def dummy_hash():
    """A hash of no one's password, made once per app with the app's method.

    Signing in with an unknown email checks the password against it, so a
    known and an unknown email cost the same time: timing does not tell
    which emails have accounts.
    """
    if "DUMMY_PASSWORD_HASH" not in current_app.extensions:
        current_app.extensions["DUMMY_PASSWORD_HASH"] = hash_password(os.urandom(16).hex())
    return current_app.extensions["DUMMY_PASSWORD_HASH"]


def password_matches(user, password):
    """Check the password, hashing exactly once whether or not the user exists."""
    if user is None:
        check_password_hash(dummy_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)


def safe_next(target):
    """Return `target` if it is a path on this site, else None.

    Only a relative path is followed: no scheme, no host, and not "//host" or
    "/\\host", which browsers treat as another site; no backslash, space or
    control character anywhere either, since browsers drop some of them
    ("/<tab>/host" becomes "//host").
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(c == "\\" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def home_for(user):
    if user.is_success_staff:
        return url_for("success.calls")  # the day's work: calls to hold and to record
    return url_for("billing.products")


def start_afresh():
    """A new session at signing in and out: nothing of the last one carries
    over, its CSRF token least of all. A token read from the sign-in page
    before signing in, or left in a shared browser by the last user, then
    posts nothing (Flask-WTF draws a new one for the next form)."""
    session.clear()
    g.pop(signing.FIELD, None)  # the token Flask-WTF signed for this request


@bp.route("/login", methods=["GET", "POST"])
@ratelimits.sign_in_limits
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = User.by_email(form.email.data.strip().lower())
        if not password_matches(user, form.password.data):
            ratelimits.count_failed_sign_in()
            form.password.errors.append("That email and password do not match an account.")
        else:
            start_afresh()
            login_user(user)
            session["seen_at"] = clock.session_now()
            return redirect(safe_next(form.next.data) or home_for(user), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    # CSRFProtect has checked the token. Ending the session on the server too
    # means a copy of the cookie saved before signing out no longer works.
    current_user.end_sessions()
    logout_user()
    start_afresh()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"), code=303)

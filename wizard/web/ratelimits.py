"""Rate limits: how often one email, one address or one user may try.

Counters live in Redis (REDIS_URL) in real use and in memory in tests
(RATELIMIT_STORAGE_URI). Every key starts with the deployment's name, so two
deployments on one Redis never share counters, and holds no personal data:
an email is kept as its hash.

- Signing in: per email and per client address (SIGN_IN_LIMIT_PER_EMAIL,
  SIGN_IN_LIMIT_PER_IP). Only failed sign-ins count: an owner who signs in
  and out a few times is never locked out, and neither is an office whose
  people sign in from one address. Once the limit is reached every attempt
  is refused, the right password too, without signing in.
- Acting on an account (confirming a cancellation, reactivating, booking,
  moving or canceling a call, changing a plan or undoing it): per signed-in
  user and per action (USER_ACTION_LIMIT); every POST counts.
- Downloading the account's archive: per user (DOWNLOAD_LIMIT); every GET
  of the file counts, a resumed download's too.

A limited request is refused before its view runs, so it changes nothing;
the 429 page says when to try again and carries Retry-After. Windows are
counted in the machine's real time (like idle sessions), not the business
clock, which tests and QA move. If the store cannot be reached the site goes
on with counters in this process's memory and logs a warning.
"""
import hashlib
import math
import time

from flask import current_app, g, request
from flask_login import current_user

from .extensions import limiter

# Limits are settings: flask-limiter reads them for each request.
SIGN_IN_PER_EMAIL_MESSAGE = "Too many failed sign-ins for this email."
SIGN_IN_PER_IP_MESSAGE = "Too many failed sign-ins from your network."
USER_ACTION_MESSAGE = "You have tried this too many times in a short while."
REAUTH_MESSAGE = "Too many wrong passwords."


def storage_uri(redis_url):
    """The limits' store for REDIS_URL (a socket path is spelt redis+unix:// there)."""
    if redis_url.startswith("unix://"):
        return "redis+" + redis_url
    return redis_url


def deployment():
    return current_app.config.get("DEPLOYMENT") or "wizard"


def normalised_email(value):
    """The email as sign-in compares it: no whitespace, lower case."""
    return "".join((value or "").split()).lower()


def email_key():
    email = normalised_email(request.form.get("email", ""))
    return f"{deployment()}:sign-in:email:{hashlib.sha256(email.encode()).hexdigest()}"


def ip_key():
    return f"{deployment()}:sign-in:ip:{request.remote_addr or 'unknown'}"


def user_key():
    if current_user.is_authenticated:
        return f"{deployment()}:user:{current_user.id}"
    return f"{deployment()}:anonymous:{request.remote_addr or 'unknown'}"


def count_failed_sign_in():
    """Count this request toward the sign-in limits (a wrong password)."""
    g.sign_in_failed = True


def _failed_sign_in(response):
    return bool(g.get("sign_in_failed"))


def _setting(name):
    return lambda: current_app.config[name]


sign_in_per_email = limiter.limit(
    _setting("SIGN_IN_LIMIT_PER_EMAIL"), key_func=email_key, methods=["POST"],
    deduct_when=_failed_sign_in, error_message=SIGN_IN_PER_EMAIL_MESSAGE)
sign_in_per_ip = limiter.limit(
    _setting("SIGN_IN_LIMIT_PER_IP"), key_func=ip_key, methods=["POST"],
    deduct_when=_failed_sign_in, error_message=SIGN_IN_PER_IP_MESSAGE)


def reauth_key():
    return f"{deployment()}:reauth:user:{current_user.id}"


# A wrong password given again (to reveal the port-out PIN) counts as a failed
# sign-in does, per user: five a minute, twenty an hour.
reauth_limit = limiter.limit(
    _setting("SIGN_IN_LIMIT_PER_EMAIL"), key_func=reauth_key, methods=["POST"],
    deduct_when=_failed_sign_in, error_message=REAUTH_MESSAGE)


def sign_in_limits(view):
    """Limit failed sign-ins per email and per client address."""
    return sign_in_per_email(sign_in_per_ip(view))


per_user = limiter.limit(_setting("USER_ACTION_LIMIT"), key_func=user_key, methods=["POST"],
                         error_message=USER_ACTION_MESSAGE)


def per_user_when(counts):
    """per_user, for the POSTs of a view for which `counts()` is true (the
    wizard's step view: only the step that confirms)."""
    return limiter.limit(_setting("USER_ACTION_LIMIT"), key_func=user_key, methods=["POST"],
                         exempt_when=lambda: not counts(), error_message=USER_ACTION_MESSAGE)


DOWNLOAD_MESSAGE = "You have downloaded this many times in a short while."
DOWNLOAD_ENDPOINT = "billing.download_data"

# Downloads of the account's archive, per user (GETs: see _only_posts_count).
downloads = limiter.limit(_setting("DOWNLOAD_LIMIT"), key_func=user_key,
                          error_message=DOWNLOAD_MESSAGE)


@limiter.request_filter
def _only_posts_count():
    """Every limit above counts POSTs only, but `downloads`, which counts the
    archive's GETs: any other request is let through before flask-limiter
    works out which limits a view has (which costs a page view a noticeable
    part of its time)."""
    return request.method != "POST" and request.endpoint != DOWNLOAD_ENDPOINT


def seconds_until_retry():
    """Seconds until the limit this request broke lets it through again."""
    try:
        breached = limiter.current_limit
        if breached is not None:
            return max(1, math.ceil(breached.reset_at - time.time()))
    except Exception:  # the store went away meanwhile: a minute is a fair guess
        current_app.logger.warning("Could not read the rate limit's reset time", exc_info=True)
    return 60


def wait_in_words(seconds):
    """45 -> "45 seconds", 61 -> "2 minutes": what a person waits, rounded up."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"

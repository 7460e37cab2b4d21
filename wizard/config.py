"""Settings read from the environment, with defaults that work on a laptop,
and the checks that keep a production deployment from starting with them."""
import os
import secrets

# Keys that have been written down somewhere (this project's history, the
# usual placeholders): a session signed with one of them can be forged.
KNOWN_KEYS = {"dev-only-change-me", "change-me", "changeme", "secret", "secret-key", "dev",
              "development", "test", "test-secret", "browser-tests", "password"}
SECRET_KEY_MIN_LENGTH = 32


class ConfigError(RuntimeError):
    """The settings are not safe to start with; the message says what to set."""


def from_environment(instance_path):
    """Return the settings for this process, read from the environment."""
    return {
        # None: made once and kept in the instance folder (see secret_key_file).
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        # "production" turns on the checks of check_production.
        "WIZARD_ENV": os.environ.get("WIZARD_ENV", "development"),
        # Production refuses SQLite unless this is set (one machine, one process of each).
        "ALLOW_SQLITE_IN_PRODUCTION": os.environ.get("ALLOW_SQLITE_IN_PRODUCTION") == "1",
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "sqlite:///" + os.path.join(instance_path, "wizard.sqlite3")
        ),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RECORDINGS_DIR": os.environ.get(
            "RECORDINGS_DIR", os.path.join(instance_path, "recordings")
        ),
        # scrypt is Werkzeug's default; tests choose a cheaper method.
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "SESSION_COOKIE_HTTPONLY": True,
        # A session unused this long is signed out.
        "IDLE_SESSION_HOURS": float(os.environ.get("IDLE_SESSION_HOURS", "12")),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE") == "1",
        # A CSRF token lasts as long as the session that holds it: an owner who
        # reads the consequences slowly must not lose the form to a timer.
        "WTF_CSRF_TIME_LIMIT": int(os.environ.get("WTF_CSRF_TIME_LIMIT", "7200")),
        # Links in emails point here.
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Mail: SMTP when MAIL_SERVER is set, else .eml files in OUTBOX_DIR.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS") == "1",
        "MAIL_FROM": os.environ.get("MAIL_FROM", "smrtPhone <no-reply@smrtphone.test>"),
        "OUTBOX_DIR": os.environ.get("OUTBOX_DIR", os.path.join(instance_path, "outbox")),
        # Rows erased per transaction by the purge.
        "PURGE_BATCH_SIZE": int(os.environ.get("PURGE_BATCH_SIZE", "5000")),
        # Rate limits (wizard/ratelimits.py), in flask-limiter's notation. Only
        # failed sign-ins count. `make run` raises the per-address limit, as
        # the browser tests and QA sign in many times from 127.0.0.1.
        "SIGN_IN_LIMIT_PER_EMAIL": os.environ.get("SIGN_IN_LIMIT_PER_EMAIL",
                                                  "5 per minute;20 per hour"),
        "SIGN_IN_LIMIT_PER_IP": os.environ.get("SIGN_IN_LIMIT_PER_IP", "5 per minute;20 per hour"),
        "USER_ACTION_LIMIT": os.environ.get("USER_ACTION_LIMIT", "10 per minute;60 per hour"),
        # Where the counters live; empty: the app's Redis (REDIS_URL). Tests use memory://.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", ""),
        # A Redis that does not answer at once is taken as down (see extensions.limiter).
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        # No form here needs more than a few kilobytes; a bigger body is a 413.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(256 * 1024))),
        # No field we keep is longer than this (the survey comment: 1,000); a
        # longer value is refused with 400 before any view reads it.
        "MAX_FIELD_LENGTH": int(os.environ.get("MAX_FIELD_LENGTH", "10000")),
    }


def instance_path():
    """The instance folder: WIZARD_INSTANCE, else instance/ beside the code."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("WIZARD_INSTANCE", os.path.join(root, "instance"))


def secret_key_file(instance_path):
    """The instance's own random key: made once, readable by its owner only,
    and kept, so sessions survive a restart and no two installs share a key."""
    path = os.path.join(instance_path, "secret_key")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made before (perhaps a moment ago, by another process)
        with open(path) as f:
            return f.read().strip()
    with os.fdopen(descriptor, "w") as f:
        key = secrets.token_hex(32)
        f.write(key)
    return key


def is_weak(key):
    return key.strip().lower() in KNOWN_KEYS or len(key) < SECRET_KEY_MIN_LENGTH


def check_production(settings, clock_environment=os.environ):
    """Refuse to start in production (WIZARD_ENV=production) with settings
    that are fine on a laptop and dangerous behind the internet."""
    if settings.get("WIZARD_ENV") != "production":
        return
    key = settings.get("SECRET_KEY") or ""
    if not key:
        raise ConfigError("WIZARD_ENV=production needs SECRET_KEY in the environment "
                          f"(a random string of at least {SECRET_KEY_MIN_LENGTH} characters).")
    if is_weak(key):
        raise ConfigError(f"SECRET_KEY is too weak: use a random string of at least "
                          f"{SECRET_KEY_MIN_LENGTH} characters that was never written down.")
    if settings.get("DEBUG"):
        raise ConfigError("WIZARD_ENV=production refuses to start with debug on.")
    if settings["DATABASE_URL"].startswith("sqlite") and not settings.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise ConfigError("WIZARD_ENV=production expects PostgreSQL (DATABASE_URL=postgresql://...); "
                          "set ALLOW_SQLITE_IN_PRODUCTION=1 to run on SQLite on purpose.")
    if clock_environment.get("WIZARD_CLOCK_AT") or clock_environment.get("WIZARD_CLOCK_OFFSET_DAYS"):
        raise ConfigError("WIZARD_ENV=production refuses a moved clock (WIZARD_CLOCK_AT, "
                          "WIZARD_CLOCK_OFFSET_DAYS).")

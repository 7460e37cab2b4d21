"""Settings read from the environment, with defaults that work on a laptop,
and the checks that keep a production deployment from starting with them."""
import hashlib
import math
import os
import re
import secrets

import redis

# Keys that have been written down somewhere (this project's history, the
# usual placeholders): a session signed with one of them can be forged.
KNOWN_KEYS = {"dev-only-change-me", "change-me", "changeme", "secret", "secret-key", "dev",
              "development", "test", "test-secret", "browser-tests", "password"}
SECRET_KEY_MIN_LENGTH = 32
# A key of few distinct characters, or a short one repeated, is guessable
# however long it is: 40 spaces, "a" x 40, "changeme" x 5. Not 16 distinct:
# a random 64-digit hex key lacks one of the 16 digits about one time in four.
SECRET_KEY_MIN_DISTINCT = 8
SECRET_KEY_MIN_BITS = 128
# The alphabets a random key is drawn from, for the estimate of its bits.
KEY_ALPHABETS = ("0123456789abcdef", "0123456789ABCDEF", "0123456789", "abcdefghijklmnopqrstuvwxyz",
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
KEY_OTHER_CHARACTERS = 33  # printable ASCII beyond letters and digits

# WIZARD_ENV is one of these, exactly: a near miss ("Production", "production ")
# would otherwise turn every production check off.
ENVIRONMENTS = ("development", "production")

# RQ allows only these characters in a job id, and every job id carries the
# deployment's name.
DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Where `make run` writes the address of the embedded Redis it started, so
# other commands of the same checkout (flask --app wizard ...) find it.
EMBEDDED_REDIS_FILE = "redis.url"


class ConfigError(RuntimeError):
    """The settings are not safe to start with; the message says what to set."""


def from_environment(instance_path):
    """Return the settings for this process, read from the environment."""
    return {**_core_settings(instance_path), **_web_settings(), **_mail_settings(instance_path),
            **_limit_settings()}


def _core_settings(instance_path):
    """Who this deployment is, its secrets, database, Redis and files."""
    return {
        # Carried by every queue name, job id and Redis key of the app, so
        # deployments sharing one Redis never run each other's jobs.
        "DEPLOYMENT": deployment(instance_path),
        # None: made once and kept in the instance folder (see secret_key_file).
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        # "production" turns on the checks of check_production.
        "WIZARD_ENV": environment_name(os.environ.get("WIZARD_ENV", "development")),
        # Production refuses SQLite unless this is set (one machine, one process of each).
        "ALLOW_SQLITE_IN_PRODUCTION": os.environ.get("ALLOW_SQLITE_IN_PRODUCTION") == "1",
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "sqlite:///" + os.path.join(instance_path, "wizard.sqlite3")
        ),
        # PostgreSQL: after how many runs on a connection psycopg 3 prepares a
        # statement (wizard/store/db.py); "off" for PgBouncer in transaction mode.
        "DATABASE_PREPARE_THRESHOLD": prepare_threshold(
            os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")),
        "REDIS_URL": redis_url(instance_path),
        "RECORDINGS_DIR": os.environ.get(
            "RECORDINGS_DIR", os.path.join(instance_path, "recordings")
        ),
        # Download your data: where the archives are built and kept (7 days),
        # and how many rows each read of a table takes.
        "EXPORTS_DIR": os.environ.get("EXPORTS_DIR", os.path.join(instance_path, "exports")),
        "EXPORT_BATCH_SIZE": int(os.environ.get("EXPORT_BATCH_SIZE", "5000")),
        # Rows erased per transaction by the purge.
        "PURGE_BATCH_SIZE": int(os.environ.get("PURGE_BATCH_SIZE", "5000")),
        # Failed verifications before a purge needs an operator's attention.
        "PURGE_MAX_ATTEMPTS": int(os.environ.get("PURGE_MAX_ATTEMPTS", "3")),
        # Where alerts go (a purge that needs attention, an email that keeps
        # failing); empty: they are logged only.
        "OPS_EMAIL": os.environ.get("OPS_EMAIL", "").strip(),
        # QA mode: the QA clock (wizard/domain/qaclock.py) and its page. Never in production.
        "WIZARD_QA": qa_mode(instance_path),
    }


def _web_settings():
    """Sessions, passwords, CSRF and links."""
    return {
        # scrypt is Werkzeug's default; tests choose a cheaper method.
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "SESSION_COOKIE_HTTPONLY": True,
        # A session unused this long is signed out.
        "IDLE_SESSION_HOURS": float(os.environ.get("IDLE_SESSION_HOURS", "12")),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE") == "1",
        # Production refuses a cookie that may travel in clear unless this says
        # so on purpose (a deployment served over plain HTTP on a private network).
        "ALLOW_INSECURE_COOKIE": os.environ.get("ALLOW_INSECURE_COOKIE") == "1",
        # A CSRF token lasts as long as the session that holds it: an owner who
        # reads the consequences slowly must not lose the form to a timer.
        "WTF_CSRF_TIME_LIMIT": int(os.environ.get("WTF_CSRF_TIME_LIMIT", "7200")),
        # /metrics asks for this bearer token; production refuses to start without one.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", "").strip(),
        # Links in emails point here.
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # How many reverse proxies stand in front of the web server. Only then is
        # X-Forwarded-For believed (for the per-address sign-in limit and the audit
        # log); with 0, anyone could claim any address in that header.
        "PROXY_HOPS": int(os.environ.get("PROXY_HOPS", "0")),
    }


def _mail_settings(instance_path):
    """SMTP, or the folder mail is written to."""
    return {
        # Mail: SMTP when MAIL_SERVER is set, else .eml files in OUTBOX_DIR.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS") == "1",
        "MAIL_FROM": os.environ.get("MAIL_FROM", "smrtPhone <no-reply@smrtphone.test>"),
        "OUTBOX_DIR": os.environ.get("OUTBOX_DIR", os.path.join(instance_path, "outbox")),
        # Tries before an unsent email counts as failing (metrics, alerts).
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "5")),
    }


def _limit_settings():
    """Rate limits and the sizes a request may have."""
    return {
        # Rate limits (wizard/web/ratelimits.py), in flask-limiter's notation. Only
        # failed sign-ins count. `make run` raises the per-address limit, as
        # the browser tests and QA sign in many times from 127.0.0.1.
        "SIGN_IN_LIMIT_PER_EMAIL": os.environ.get("SIGN_IN_LIMIT_PER_EMAIL",
                                                  "5 per minute;20 per hour"),
        "SIGN_IN_LIMIT_PER_IP": os.environ.get("SIGN_IN_LIMIT_PER_IP", "5 per minute;20 per hour"),
        # A sensitive action (revealing the port-out PIN) asks for the password
        # again unless it was given this long ago at most (seconds).
        "REAUTH_SECONDS": int(os.environ.get("REAUTH_SECONDS", "600")),
        "USER_ACTION_LIMIT": os.environ.get("USER_ACTION_LIMIT", "10 per minute;60 per hour"),
        # Downloads of the account's archive, per user: every request counts,
        # a resumed one (a Range request) too.
        "DOWNLOAD_LIMIT": os.environ.get("DOWNLOAD_LIMIT", "20 per minute;100 per day"),
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


QA_MODE_MARKER = "qa-mode"


def environment_name(text):
    """WIZARD_ENV, refused unless it is exactly one of ENVIRONMENTS."""
    if text not in ENVIRONMENTS:
        raise ConfigError(f"WIZARD_ENV must be exactly one of {', '.join(ENVIRONMENTS)}, "
                          f"not {text!r}.")
    return text


def prepare_threshold(text):
    """DATABASE_PREPARE_THRESHOLD as psycopg 3 takes it: a count, or None for "off"."""
    if text.strip().lower() in ("off", "none", ""):
        return None
    if not text.strip().isdigit():
        raise ConfigError(f"DATABASE_PREPARE_THRESHOLD must be a count or off, not {text!r}")
    return int(text)


def qa_mode(instance_path, environ=os.environ):
    """Is QA mode on? WIZARD_QA=1 turns it on and WIZARD_QA=0 off. Unset, it is
    on while `make run` serves this instance folder (devrun leaves its process
    id in instance/qa-mode), so `flask --app wizard clock ...` typed in another
    terminal of the checkout finds it on; production never reads that file."""
    given = environ.get("WIZARD_QA")
    if given is not None:
        return given == "1"
    if environ.get("WIZARD_ENV") == "production":
        return False
    try:
        with open(os.path.join(instance_path, QA_MODE_MARKER)) as f:
            pid = int(f.read().strip())
        if pid <= 0:  # 0 and below name process groups, not a process
            return False
        os.kill(pid, 0)  # signal 0: only asks whether the process is alive
    except (OSError, ValueError):  # no file, a stopped `make run`, or garbage
        return False
    return True


def mark_qa_mode(instance_path):
    """Say that this process (`make run`) serves the instance folder in QA mode."""
    os.makedirs(instance_path, exist_ok=True)
    with open(os.path.join(instance_path, QA_MODE_MARKER), "w") as f:
        f.write(str(os.getpid()))


def instance_path():
    """The instance folder: WIZARD_INSTANCE, else instance/ beside the code."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("WIZARD_INSTANCE", os.path.join(root, "instance"))


def deployment(instance_path, environ=os.environ):
    """This deployment's name: WIZARD_DEPLOYMENT, else one derived from the
    instance folder (a short hash of its real path), which stays the same
    for a checkout and differs between two checkouts on one machine."""
    name = environ.get("WIZARD_DEPLOYMENT", "").strip()
    if not name:
        digest = hashlib.sha256(os.path.realpath(instance_path).encode()).hexdigest()
        return f"wizard-{digest[:10]}"
    if not DEPLOYMENT_NAME.fullmatch(name):
        raise ConfigError("WIZARD_DEPLOYMENT may hold letters, digits, '-' and '_' only "
                          "(at most 40): it becomes part of every RQ job id.")
    return name


def redis_url(instance_path, environ=os.environ):
    """Which Redis to use, in this order: REDIS_URL; else the embedded Redis
    that `make run` started for this instance folder, if it answers; else
    the usual local server (127.0.0.1:6379).

    So `flask --app wizard ...` in a second terminal reaches the Redis of the
    `make run` beside it without being told.
    """
    if environ.get("REDIS_URL"):
        return environ["REDIS_URL"]
    try:
        with open(os.path.join(instance_path, EMBEDDED_REDIS_FILE)) as f:
            embedded = f.read().strip()
    except OSError:
        embedded = ""
    if embedded and redis_answers(embedded):
        return embedded
    return DEFAULT_REDIS_URL


def redis_answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError, ValueError):
        return False


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
    """Too short, a known placeholder, too little variety to be random, or
    fewer than SECRET_KEY_MIN_BITS by estimate."""
    if len(key) < SECRET_KEY_MIN_LENGTH or key.strip().lower() in KNOWN_KEYS:
        return True
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT or key in (key + key)[1:-1]:
        return True  # the second: a shorter string repeated ("abc...abc...")
    return estimated_bits(key) < SECRET_KEY_MIN_BITS


def estimated_bits(key):
    """What a random key of this length and these kinds of characters holds:
    its length times log2 of its alphabet (hex digits 16; else digits 10,
    each case of letters 26, anything else 33). A 32-digit hex key: 128."""
    if all(c in KEY_ALPHABETS[0] for c in key) or all(c in KEY_ALPHABETS[1] for c in key):
        alphabet = 16
    else:
        kinds = [a for a in KEY_ALPHABETS[2:] if any(c in a for c in key)]
        others = any(not any(c in a for a in KEY_ALPHABETS[2:]) for c in key)
        alphabet = sum(len(a) for a in kinds) + (KEY_OTHER_CHARACTERS if others else 0)
    return len(key) * math.log2(alphabet)


def for_process(instance_path):
    """The settings of a process that serves or works (web, worker, cron, the
    CLI), refused as check_production says: every process runs the same checks."""
    settings = from_environment(instance_path)
    check_production(settings)
    return settings


def check_production(settings, environment=os.environ):
    """Refuse to start in production (WIZARD_ENV=production) with settings
    that are fine on a laptop and dangerous behind the internet."""
    environment_name(settings.get("WIZARD_ENV"))
    if settings.get("WIZARD_ENV") != "production":
        return
    key = settings.get("SECRET_KEY") or ""
    if not key:
        raise ConfigError("WIZARD_ENV=production needs SECRET_KEY in the environment "
                          f"(a random string of at least {SECRET_KEY_MIN_LENGTH} characters).")
    if is_weak(key):
        raise ConfigError(f"SECRET_KEY is too weak: use a random string of at least "
                          f"{SECRET_KEY_MIN_LENGTH} characters that was never written down.")
    if not settings.get("SESSION_COOKIE_SECURE") and not settings.get("ALLOW_INSECURE_COOKIE"):
        raise ConfigError("WIZARD_ENV=production needs SESSION_COOKIE_SECURE=1 (HTTPS), so the "
                          "session cookie never travels in clear; ALLOW_INSECURE_COOKIE=1 allows "
                          "plain HTTP on purpose.")
    if len(settings.get("METRICS_TOKEN") or "") < 16:
        raise ConfigError("WIZARD_ENV=production needs METRICS_TOKEN (at least 16 characters), "
                          "the bearer token /metrics asks for.")
    if settings.get("DEBUG"):
        raise ConfigError("WIZARD_ENV=production refuses to start with debug on.")
    if settings["DATABASE_URL"].startswith("sqlite") and not settings.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise ConfigError("WIZARD_ENV=production expects PostgreSQL (DATABASE_URL=postgresql://...); "
                          "set ALLOW_SQLITE_IN_PRODUCTION=1 to run on SQLite on purpose.")
    if settings.get("WIZARD_QA"):
        raise ConfigError("WIZARD_ENV=production refuses QA mode (WIZARD_QA=1): the QA clock "
                          "moves the time of every process. Unset WIZARD_QA.")
    if environment.get("WIZARD_CLOCK_AT"):
        raise ConfigError("WIZARD_ENV=production refuses a moved clock (WIZARD_CLOCK_AT).")
    if not environment.get("WIZARD_DEPLOYMENT"):
        # The default name comes from the instance folder's path: two hosts of one
        # deployment could derive two names, and one host's jobs would wait on a
        # queue no worker of the other listens to.
        raise ConfigError("WIZARD_ENV=production needs WIZARD_DEPLOYMENT, the deployment's name "
                          "(letters, digits, - and _), the same on every host.")

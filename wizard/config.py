"""Settings read from the environment, with defaults that work on a laptop."""
import os


def from_environment(instance_path):
    """Return the settings for this process, read from the environment."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-change-me"),
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
    }


def instance_path():
    """The instance folder: WIZARD_INSTANCE, else instance/ beside the code."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("WIZARD_INSTANCE", os.path.join(root, "instance"))

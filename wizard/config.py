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
    }

"""Extension objects, created here and bound to the app in create_app."""
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"

csrf = CSRFProtect()
htmx = HTMX()

# Limits are declared on the views (wizard/ratelimits.py); the store is
# RATELIMIT_STORAGE_URI. Should it be unreachable, counting goes on in
# memory (in_memory_fallback_enabled) and errors are logged, not raised:
# a broken Redis must not take sign-in down with it.
limiter = Limiter(key_func=get_remote_address, strategy="fixed-window", headers_enabled=False,
                  in_memory_fallback_enabled=True, swallow_errors=True)

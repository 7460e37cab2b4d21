from wizard.web.auth.views import bp  # noqa: F401

from wizard.web.calls.views import bp  # noqa: F401

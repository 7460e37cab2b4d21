from wizard.web.cancel.views import bp  # noqa: F401

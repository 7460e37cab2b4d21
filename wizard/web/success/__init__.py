from wizard.web.success.views import bp  # noqa: F401

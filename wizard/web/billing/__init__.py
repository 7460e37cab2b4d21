from wizard.web.billing.views import bp  # noqa: F401

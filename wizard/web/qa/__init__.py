from wizard.web.qa.views import bp  # noqa: F401

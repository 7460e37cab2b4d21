from wizard.web.ops.views import bp  # noqa: F401

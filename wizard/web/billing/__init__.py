from wizard.web.billing.views import bp  # noqa: F401
from wizard.web.billing import numbers  # noqa: F401,E402  (its routes join the blueprint)
from wizard.web.billing import data  # noqa: F401,E402  (its routes join the blueprint)

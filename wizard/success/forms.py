"""The console's filters: GET forms, so they change nothing and need no token."""
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from .. import insights, policy
from ..models import Product


def _choices(pairs, everything):
    return [SelectChoice(value, label) for value, label in (("", everything), *pairs)]


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField("State", choices=_choices(list(insights.STATES.items()), "Any state"),
                        default="")
    product = SelectField("Product", choices=_choices(list(Product.NAMES.items()), "Both products"),
                          default="")
    reason = SelectField("Reason", choices=_choices(list(policy.SURVEY_REASONS), "Any reason"),
                         default="")
    first = DateField("Started from", validators=[Optional()],
                      render_kw={"autocomplete": "off"})
    last = DateField("Started until", validators=[Optional()],
                     render_kw={"autocomplete": "off"})

    def validate_last(self, field):
        if field.data and self.first.data and field.data < self.first.data:
            raise ValidationError("The last day must not be before the first.")

    def within(self, now):
        """The range the form asks for (the last 90 days where a day is left out)."""
        default = insights.Range.default(now)
        first = self.first.data or default.first.date()
        last = self.last.data or default.last.date()
        return insights.Range.of_days(first, last)

    def query_args(self):
        """The filters as they were given, for links that keep them."""
        return {name: self[name].raw_data[0] for name in ("state", "product", "reason", "first", "last")
                if self[name].raw_data and self[name].raw_data[0]}

"""The console's forms: filters (GET forms, so they change nothing and need no
token), a call's outcome, and a staff member's hours."""
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from wizard.domain import console, formatting, listing, policy
from wizard.domain.availability import WEEKDAYS
from wizard.web.form_input import BoundedTextAreaField
from wizard.store.models import CallOutcome, Product
from wizard.domain.policy import CALL_RULES


def _choices(pairs, everything):
    return [SelectChoice(value, label) for value, label in (("", everything), *pairs)]


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField("State", choices=_choices(list(console.STATES.items()), "Any state"),
                        default="")
    product = SelectField("Product", choices=_choices(list(Product.NAMES.items()), "Both products"),
                          default="")
    reason = SelectField("Reason", choices=_choices(list(policy.SURVEY_REASONS), "Any reason"),
                         default="")
    q = StringField("Search", validators=[Length(max=listing.SEARCH_MAX_LENGTH, message=(
        f"Please keep the search to {listing.SEARCH_MAX_LENGTH} characters or fewer."))],
        description="An account, an owner's name or email, or a request number",
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    sort = SelectField("Sort", choices=[SelectChoice(key, label) for key, label in listing.SORTS.items()],
                       default="started")
    first = DateField("Started from", validators=[Optional()],
                      render_kw={"autocomplete": "off"})
    last = DateField("Started until", validators=[Optional()],
                     render_kw={"autocomplete": "off"})

    def validate_last(self, field):
        if field.data and self.first.data and field.data < self.first.data:
            raise ValidationError("The last day must not be before the first.")

    def within(self, now):
        """The range the form asks for (the last 90 days where a day is left out)."""
        default = console.Range.default(now)
        first = self.first.data or default.first.date()
        last = self.last.data or default.last.date()
        return console.Range.of_days(first, last)

    def query_args(self):
        """The filters as they were given, for links that keep them."""
        return {name: self[name].raw_data[0] for name in FILTERS
                if self[name].raw_data and self[name].raw_data[0]}

    def listing_filters(self, within):
        """What the list and its CSV are asked for (listing.Filters)."""
        return listing.Filters(within, state=self.state.data or None, product=self.product.data or None,
                               reason=self.reason.data or None, search=(self.q.data or "").strip(),
                               sort=self.sort.data or "started")


FILTERS = ("q", "state", "product", "reason", "first", "last", "sort")


class OutcomeForm(FlaskForm):
    """How a call went: held or missed, what came of it, and notes."""

    held = SelectField("Was the call held?", choices=[SelectChoice("held", "Held"),
                                                     SelectChoice("no_show", "The owner did not come")])
    outcome = SelectField("Outcome", default="", choices=_choices(
        list(CallOutcome.NAMES.items()), "No outcome (a no-show)"))
    notes = BoundedTextAreaField("Notes", max_length=CALL_RULES.notes_max_length, message=(
        f"Please keep the notes to {CALL_RULES.notes_max_length:,} characters or fewer."))
    follow_up_on = DateField("Follow up on (for \u201cNeeds a follow-up\u201d)", validators=[Optional()],
                             render_kw={"autocomplete": "off"})


class FollowUpDoneForm(FlaskForm):
    """A follow-up done, and what came of it."""

    note = BoundedTextAreaField("What came of it", validators=[InputRequired(
        "Please say what came of the follow-up.")], max_length=CALL_RULES.notes_max_length,
        message=f"Please keep the note to {CALL_RULES.notes_max_length:,} characters or fewer.")


TIME_FORMAT = "Please enter a time, such as 9:30 AM."


def _zones_by_region():
    """The select's groups: {region: [(zone, place), ...]} (read when a form is built)."""
    return {region: zones for region, zones in formatting.time_zones_by_region()}


class WeeklyHoursForm(FlaskForm):
    """A staff member's time zone and up to two blocks of hours each weekday.

    The time zone is a choice of the zone database's places, grouped by
    region; what a crafted post sends instead is refused by the domain
    (availability.set_weekly_hours: "... is not a known time zone")."""

    timezone = SelectField("Your time zone", choices=_zones_by_region, validate_choice=False,
                           validators=[InputRequired("Please choose your time zone."), Length(max=64)])


for _weekday, _name in enumerate(WEEKDAYS):
    for _block in (1, 2):
        for _edge, _label in (("from", "from"), ("to", "to")):
            setattr(WeeklyHoursForm, f"d{_weekday}_{_block}_{_edge}", StringField(
                f"{_name}, block {_block}, {_label}",
                validators=[Optional(), Length(max=5, message=TIME_FORMAT)], render_kw={"type": "time"}))


class OverrideForm(FlaskForm):
    """A date whose hours differ: a day off (no times) or other hours."""

    day = DateField("Date", validators=[InputRequired("Please choose a date.")])
    starts = StringField("From (leave empty for a day off)",
                         validators=[Optional(), Length(max=5, message=TIME_FORMAT)],
                         render_kw={"type": "time"})
    ends = StringField("To", validators=[Optional(), Length(max=5, message=TIME_FORMAT)],
                       render_kw={"type": "time"})

    def validate_ends(self, field):
        if bool(field.data) != bool(self.starts.data):
            raise ValidationError("Please give both times, or neither for a day off.")

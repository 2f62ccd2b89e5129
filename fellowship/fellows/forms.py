"""Staff forms for fellows, and the GET filter forms of the fellows and alumni lists."""

from __future__ import annotations

from wtforms import DateField, Form, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from fellowship.alumni.models import FollowUpStatus
from fellowship.applications.models import Sector
from fellowship.fellows.models import FellowStatus
from fellowship.fellows.queries import LOST_CONTACT_CHOICES, NO_FOLLOW_UP_DUE
from fellowship.forms import FellowshipForm
from fellowship.geo import REGIONS, country_choices
from fellowship.widgets import QuickSelect


class FellowForm(FellowshipForm):
    """The fellowship's details as staff keep them; completion goes through the return form."""

    host_institution = StringField("Host institution in Japan", validators=[Optional(), Length(max=200)])
    supervisor = StringField("Supervisor", validators=[Optional(), Length(max=200)])
    study_programme = StringField("Study programme", validators=[Optional(), Length(max=200)])
    arrival_date = DateField("Arrival date", validators=[Optional()])
    planned_return_date = DateField("Planned return date", validators=[Optional()],
                                    description="Must be after the arrival date.")
    status = SelectField("Status",
                         choices=[(s.value, s.label) for s in FellowStatus if s is not FellowStatus.COMPLETED],
                         description="To complete the fellowship, record the return home below.")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    submit = SubmitField("Save")

    def validate_planned_return_date(self, field: DateField) -> None:
        if field.data and self.arrival_date.data and field.data <= self.arrival_date.data:
            raise ValidationError("The planned return date must be after the arrival date.")


class ReturnForm(FellowshipForm):
    actual_return_date = DateField("Date of return home", validators=[DataRequired(message="Enter the date.")])
    submit = SubmitField("Record the return home")


class ConfirmReturnsForm(FellowshipForm):
    """CSRF only: the fellow ids come as repeated `fellow_id` fields."""

    submit = SubmitField("Confirm")


def _countries() -> list[tuple[str, str]]:
    return [("", "Any country"), *country_choices()]


class FellowFilterForm(Form):
    """GET filters (no CSRF: they change nothing)."""

    cohort = SelectField("Cohort", choices=[("", "Any cohort")])
    status = SelectField("Status", choices=[("", "Any status")] + [(s.value, s.label) for s in FellowStatus])
    country = SelectField("Home country", choices=[], widget=QuickSelect())  # ~250 countries

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _countries()


FOLLOW_UP_CHOICES = [("", "Any"), (NO_FOLLOW_UP_DUE, "None due yet")] + [
    *FollowUpStatus.choices()]


class AlumniFilterForm(Form):
    """GET filters (no CSRF: they change nothing)."""

    cohort = SelectField("Cohort", choices=[("", "Any cohort")], widget=QuickSelect())
    country = SelectField("Home country", choices=[], widget=QuickSelect())  # ~250 countries
    region = SelectField("Region", choices=[("", "Any region")] + [(r, r) for r in REGIONS], widget=QuickSelect())
    sector = SelectField("Sector (current position)", choices=[("", "Any sector"), *Sector.choices()],
                         widget=QuickSelect())
    follow_up = SelectField("Latest follow-up", choices=FOLLOW_UP_CHOICES, widget=QuickSelect())
    lost_contact = SelectField("Contact", choices=[("", "Any"), *LOST_CONTACT_CHOICES.items()], widget=QuickSelect())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _countries()

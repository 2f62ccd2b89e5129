"""Staff forms for fellows, and the GET filter forms of the fellows and alumni lists."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, Form, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from fellowship.alumni.models import FollowUpStatus
from fellowship.applications.models import Sector
from fellowship.fellows.models import FellowStatus
from fellowship.fellows.queries import LOST_CONTACT_CHOICES, NO_FOLLOW_UP_DUE
from fellowship.forms import FellowshipForm
from fellowship.geo import country_choices, region_choices
from fellowship.widgets import QuickSelect


class FellowForm(FellowshipForm):
    """The fellowship's details as staff keep them; completion goes through the return form."""

    host_institution = StringField(_l("Host institution in Japan"), validators=[Optional(), Length(max=200)])
    supervisor = StringField(_l("Supervisor"), validators=[Optional(), Length(max=200)])
    study_programme = StringField(_l("Study programme"), validators=[Optional(), Length(max=200)])
    arrival_date = DateField(_l("Arrival date"), validators=[Optional()])
    planned_return_date = DateField(_l("Planned return date"), validators=[Optional()],
                                    description=_l("Must be after the arrival date."))
    status = SelectField(_l("Status"),
                         choices=[(s.value, s.lazy_label) for s in FellowStatus if s is not FellowStatus.COMPLETED],
                         description=_l("To complete the fellowship, record the return home below."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Save"))

    def validate_planned_return_date(self, field: DateField) -> None:
        if field.data and self.arrival_date.data and field.data <= self.arrival_date.data:
            raise ValidationError(_("The planned return date must be after the arrival date."))


class ReturnForm(FellowshipForm):
    actual_return_date = DateField(_l("Date of return home"), validators=[DataRequired(message=_l("Enter the date."))])
    submit = SubmitField(_l("Record the return home"))


class ConfirmReturnsForm(FellowshipForm):
    """CSRF only: the fellow ids come as repeated `fellow_id` fields."""

    submit = SubmitField(_l("Confirm"))


def _countries() -> list[tuple[str, str]]:
    return [("", _("Any country")), *country_choices()]


class FellowFilterForm(Form):
    """GET filters (no CSRF: they change nothing)."""

    cohort = SelectField(_l("Cohort"), choices=[("", _l("Any cohort"))])
    status = SelectField(_l("Status"), choices=[("", _l("Any status")), *FellowStatus.lazy_choices()])
    country = SelectField(_l("Home country"), choices=[], widget=QuickSelect())  # ~250 countries

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _countries()


FOLLOW_UP_CHOICES = [("", _l("Any")), (NO_FOLLOW_UP_DUE, _l("None due yet")), *FollowUpStatus.lazy_choices()]


class AlumniFilterForm(Form):
    """GET filters (no CSRF: they change nothing)."""

    cohort = SelectField(_l("Cohort"), choices=[("", _l("Any cohort"))], widget=QuickSelect())
    country = SelectField(_l("Home country"), choices=[], widget=QuickSelect())  # ~250 countries
    region = SelectField(_l("Region"), choices=[("", _l("Any region"))], widget=QuickSelect())
    sector = SelectField(_l("Sector (current position)"), choices=[("", _l("Any sector")), *Sector.lazy_choices()],
                         widget=QuickSelect())
    follow_up = SelectField(_l("Latest follow-up"), choices=FOLLOW_UP_CHOICES, widget=QuickSelect())
    lost_contact = SelectField(_l("Contact"), choices=[("", _l("Any")), *LOST_CONTACT_CHOICES.items()],
                               widget=QuickSelect())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _countries()
        self.region.choices = [("", _("Any region")), *region_choices()]  # named in the reader's language

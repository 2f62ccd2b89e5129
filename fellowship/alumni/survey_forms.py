"""Forms of the follow-up survey and the alumnus's career page; errors are shown beside each field."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from fellowship.alumni.models import LeadershipLevel
from fellowship.alumni.survey import CareerInput, SurveyAnswer
from fellowship.applications.models import Sector
from fellowship.forms import FellowshipForm
from fellowship.geo import country_choices

SECTOR_CHOICES = Sector.lazy_choices()
LEADERSHIP_CHOICES = [
    (LeadershipLevel.STAFF.value, _l("Staff / specialist")),
    (LeadershipLevel.TEAM_LEAD.value, _l("Team or project lead")),
    (LeadershipLevel.MANAGER.value, _l("Manager (department, programme)")),
    (LeadershipLevel.SENIOR.value, _l("Senior leader (director, head of organisation, elected or appointed office)"))]
YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]
CHOOSE = _l("Choose one from the list.")


def _with_blank(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _l("— choose —")), *pairs]


def _count(label: Any) -> IntegerField:
    return IntegerField(label, default=0, validators=[InputRequired(_l("Enter a number (0 if none).")),
                                                       NumberRange(min=0, max=100000, message=_l("Enter 0 or more."))])


class CareerFields(FellowshipForm):
    position = StringField(_l("Current position"), validators=[DataRequired(), Length(max=200)],
                           description=_l("Your job title, e.g. Climate adaptation officer."))
    organisation = StringField(_l("Organisation"), validators=[DataRequired(), Length(max=200)])
    sector = SelectField(_l("Sector"), validators=[DataRequired(CHOOSE)], choices=_with_blank(SECTOR_CHOICES))
    country = SelectField(_l("Country of this position"), validators=[DataRequired(CHOOSE)])
    environmental = RadioField(_l("Is this environmental work?"), choices=YES_NO,
                               validators=[InputRequired(_l("Answer yes or no."))])
    leadership_level = SelectField(_l("Leadership level"), validators=[DataRequired(CHOOSE)],
                                   choices=_with_blank(LEADERSHIP_CHOICES))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _with_blank(country_choices())

    def career(self) -> CareerInput:
        return CareerInput(position=self.position.data or "", organisation=self.organisation.data or "",
                           sector=Sector(self.sector.data), country=self.country.data or "",
                           environmental=self.environmental.data == "yes",
                           leadership_level=LeadershipLevel(self.leadership_level.data))


class CareerForm(CareerFields):
    submit = SubmitField(_l("Save my current position"))


class SurveyForm(CareerFields):
    country_of_residence = SelectField(_l("Country where you live"), validators=[DataRequired(CHOOSE)])
    country_of_work = SelectField(_l("Country where you work"), validators=[DataRequired(CHOOSE)])
    projects_led = _count(_l("Projects you led since your last follow-up"))
    policies_contributed = _count(_l("Policies or regulations you contributed to"))
    publications = _count(_l("Publications"))
    people_trained = _count(_l("People you trained"))
    awards = _count(_l("Awards or distinctions"))
    collaboration_with_japan = RadioField(_l("Do you collaborate with people or institutions in Japan?"),
                                          choices=YES_NO, validators=[InputRequired(_l("Answer yes or no."))])
    achievements_text = TextAreaField(_l("Anything else you achieved or want us to know"),
                                      validators=[Optional(), Length(max=5000)])
    directory_consent = BooleanField(_l("List me in the alumni directory (name, country, position and field), "
                                     "visible to other alumni and staff"))
    submit = SubmitField(_l("Send my answers"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country_of_residence.choices = _with_blank(country_choices())
        self.country_of_work.choices = _with_blank(country_choices())

    def answer(self) -> SurveyAnswer:
        return SurveyAnswer(
            country_of_residence=self.country_of_residence.data or "", country_of_work=self.country_of_work.data or "",
            career=self.career(), projects_led=self.projects_led.data or 0,
            policies_contributed=self.policies_contributed.data or 0, publications=self.publications.data or 0,
            people_trained=self.people_trained.data or 0, awards=self.awards.data or 0,
            collaboration_with_japan=self.collaboration_with_japan.data == "yes",
            achievements_text=self.achievements_text.data or "", directory_consent=bool(self.directory_consent.data))


class DirectoryConsentForm(FellowshipForm):
    directory_consent = BooleanField(_l("List me in the alumni directory"))
    submit = SubmitField(_l("Save"))

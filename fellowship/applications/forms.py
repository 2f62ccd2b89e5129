"""One form per section. Saving keeps whatever is well-formed; completeness is checked separately."""

from __future__ import annotations

from datetime import date

from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from fellowship.applications.declarations import DECLARATIONS
from fellowship.applications.models import EnvironmentalField, Gender, LanguageLevel, Sector
from fellowship.applications.sections import WORD_LIMITS
from fellowship.calls.models import DegreeLevel
from fellowship.forms import FellowshipForm
from fellowship.geo import country_choices, is_country


def _choices(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "— choose —"), *pairs]


def _words_hint(name: str) -> str:
    low, high = WORD_LIMITS[name]
    return f"{low}–{high} words."


class SectionForm(FellowshipForm):
    submit = SubmitField("Save")
    save_and_next = SubmitField("Save and continue")


class PersonalForm(SectionForm):
    given_name = StringField("Given name(s)", validators=[Optional(), Length(max=100)],
                             render_kw={"autocomplete": "given-name"})
    family_name = StringField("Family name", validators=[Optional(), Length(max=100)],
                              render_kw={"autocomplete": "family-name"})
    date_of_birth = DateField("Date of birth", validators=[Optional()],
                              description="As in your passport.", render_kw={"autocomplete": "bday"})
    gender = SelectField("Gender", validators=[Optional()], choices=_choices(Gender.choices()))
    nationality = SelectField("Nationality", validators=[Optional()])
    country_of_residence = SelectField("Country of residence", validators=[Optional()])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)], render_kw={"autocomplete": "tel"})

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.nationality.choices = _choices(country_choices())
        self.country_of_residence.choices = _choices(country_choices())

    def validate_date_of_birth(self, field: DateField) -> None:
        if field.data and not date(1900, 1, 1) <= field.data <= date.today():
            raise ValidationError("Enter a real date of birth.")

    def validate_nationality(self, field: SelectField) -> None:
        if field.data and not is_country(field.data):
            raise ValidationError("Choose a country from the list.")

    validate_country_of_residence = validate_nationality


class EducationForm(SectionForm):
    highest_degree = SelectField("Highest degree completed", validators=[Optional()],
                                 choices=_choices([(d.value, d.label) for d in DegreeLevel]))
    degree_subject = StringField("Subject of that degree", validators=[Optional(), Length(max=200)])
    institution = StringField("University or institution", validators=[Optional(), Length(max=200)])
    graduation_year = IntegerField("Year of graduation", validators=[Optional(), NumberRange(min=1950, max=2100)])


class ExperienceForm(SectionForm):
    current_position = StringField("Current position", validators=[Optional(), Length(max=200)])
    employer = StringField("Employer", validators=[Optional(), Length(max=200)])
    sector = SelectField("Sector", validators=[Optional()], choices=_choices(Sector.choices()))
    years_experience = IntegerField("Years of work experience", validators=[Optional(), NumberRange(min=0, max=60)])


class FieldForm(SectionForm):
    environmental_field = SelectField("Main environmental field", validators=[Optional()],
                                      choices=_choices(EnvironmentalField.choices()))
    field_description = TextAreaField("Your work in this field", validators=[Optional(), Length(max=20000)],
                                      description=_words_hint("field_description"))


class StudyPlanForm(SectionForm):
    preferred_host = StringField("Preferred host institution in Japan (optional)",
                                 validators=[Optional(), Length(max=200)])
    study_plan = TextAreaField("What you will study in Japan, and why", validators=[Optional(), Length(max=20000)],
                               description=_words_hint("study_plan"))


class LeadershipForm(SectionForm):
    leadership_plan = TextAreaField("How you will lead environmental work when you return home",
                                    validators=[Optional(), Length(max=20000)],
                                    description=_words_hint("leadership_plan"))


class MotivationForm(SectionForm):
    motivation = TextAreaField("Motivation essay", validators=[Optional(), Length(max=20000)],
                               description=_words_hint("motivation"))


class LanguageForm(SectionForm):
    english_level = SelectField("English (CEFR level)", validators=[Optional()],
                                choices=_choices(LanguageLevel.choices()))
    japanese_level = SelectField("Japanese (CEFR level)", validators=[Optional()],
                                 choices=_choices(LanguageLevel.choices()))
    language_test = StringField("Language test and score (optional)", validators=[Optional(), Length(max=200)],
                                description="For example: IELTS 7.0, TOEFL iBT 95, JLPT N4.")


SECTION_FORMS: dict[str, type[SectionForm]] = {
    "personal": PersonalForm, "education": EducationForm, "experience": ExperienceForm, "field": FieldForm,
    "study_plan": StudyPlanForm, "leadership": LeadershipForm, "motivation": MotivationForm,
    "language": LanguageForm,
}


class DeclarationForm(FellowshipForm):
    """The declarations on the review-and-submit page; the server refuses a submit without every one ticked."""

    declare_true = BooleanField(DECLARATIONS["true"], validators=[
        DataRequired(message="Tick this box to declare that your information is true and complete.")])
    consent_privacy = BooleanField(DECLARATIONS["privacy"], validators=[
        DataRequired(message="Tick this box to consent to the processing described in the privacy notice.")])
    submit = SubmitField("Submit application")

    #: Form field -> declaration key (applications.declarations.DECLARATIONS).
    KEYS = {"declare_true": "true", "consent_privacy": "privacy"}

    def ticked(self) -> set[str]:
        return {key for name, key in self.KEYS.items() if self[name].data}

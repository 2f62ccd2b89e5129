"""The default application form: today's eight sections as a questionnaire, given to every new call.

The template is data (`DEFAULT_FORM`): section keys, question keys, labels, help texts, word limits, choices and
required rules are those of the form that was written in code before the questionnaire engine (issue 14), so an
applicant sees the same form and the keys stay the old field names (URLs, posted field names, exports). Questions
whose answers other areas query carry a tag (applications.profile projects them onto the applications row).
Migration 0014 holds its own frozen copy of this data: a migration must not change when this module does.
"""

from __future__ import annotations

from typing import Any

from fellowship.questions.models import Questionnaire

#: Title of the questionnaire a call gets (the call's own title is added in front by default_application_form).
TITLE = "Application form"


def _choices(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {"choices": [{"value": value, "label": {"en": label}} for value, label in pairs]}


# The choices' English labels are written out (content a programme may reword), with the values of the enums the
# profile columns hold (applications.models: Gender, DegreeLevel, Sector, EnvironmentalField, LanguageLevel).
GENDERS = [("female", "Female"), ("male", "Male"), ("non_binary", "Non-binary"), ("undisclosed", "Prefer not to say")]
DEGREES = [("secondary", "Secondary school"), ("bachelor", "Bachelor's degree"), ("master", "Master's degree"),
           ("doctorate", "Doctorate")]
SECTORS = [("government", "Government"), ("ngo", "NGO / civil society"), ("academia", "University / research"),
           ("private", "Private sector"), ("international_organisation", "International organisation"),
           ("other", "Other")]
FIELDS = [("climate_mitigation", "Climate mitigation"), ("climate_adaptation", "Climate adaptation"),
          ("biodiversity", "Biodiversity"), ("water", "Water"), ("waste", "Waste"), ("energy", "Energy"),
          ("air_quality", "Air quality"), ("forests_land", "Forests and land"), ("oceans_coasts", "Oceans and coasts"),
          ("disaster_risk", "Disaster risk reduction"), ("environmental_policy", "Environmental policy"),
          ("other", "Other")]
LEVELS = [("none", "None"), ("A1", "A1"), ("A2", "A2"), ("B1", "B1"), ("B2", "B2"), ("C1", "C1"), ("C2", "C2"),
          ("native", "Native speaker")]


def _words(low: int, high: int) -> str:
    return f"{low}–{high} words."


def _q(kind: str, key: str, label: str, *, required: bool = True, help_text: str | None = None,
       personal_data: bool = False, tag: str | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": kind, "key": key, "label": label, "required": required, "help_text": help_text,
            "personal_data": personal_data, "tag": tag, "config": config or {}}


#: The eight sections of the application form, in order: (key, title, questions).
DEFAULT_FORM: list[dict[str, Any]] = [
    {"key": "personal", "title": "Personal details", "questions": [
        _q("short_text", "given_name", "Given name(s)", personal_data=True, tag="given_name",
           config={"max_length": 100}),
        _q("short_text", "family_name", "Family name", personal_data=True, tag="family_name",
           config={"max_length": 100}),
        _q("date", "date_of_birth", "Date of birth", help_text="As in your passport.", personal_data=True,
           tag="date_of_birth", config={"min": "1900-01-01", "min_years_ago": 0}),
        _q("single_choice", "gender", "Gender", personal_data=True, tag="gender", config=_choices(GENDERS)),
        _q("country", "nationality", "Nationality", tag="nationality"),
        _q("country", "country_of_residence", "Country of residence", tag="country_of_residence"),
        _q("short_text", "phone", "Phone", required=False, personal_data=True, config={"max_length": 40}),
    ]},
    {"key": "education", "title": "Education", "questions": [
        _q("single_choice", "highest_degree", "Highest degree completed", tag="highest_degree",
           config=_choices(DEGREES)),
        _q("short_text", "degree_subject", "Subject of that degree", config={"max_length": 200}),
        _q("short_text", "institution", "University or institution", tag="institution", config={"max_length": 200}),
        _q("number", "graduation_year", "Year of graduation", config={"min": 1950, "max": 2100, "integer": True}),
    ]},
    {"key": "experience", "title": "Work experience", "questions": [
        _q("short_text", "current_position", "Current position", config={"max_length": 200}),
        _q("short_text", "employer", "Employer", config={"max_length": 200}),
        _q("single_choice", "sector", "Sector", config=_choices(SECTORS)),
        _q("number", "years_experience", "Years of work experience", config={"min": 0, "max": 60, "integer": True}),
    ]},
    {"key": "field", "title": "Environmental field", "questions": [
        _q("single_choice", "environmental_field", "Main environmental field", tag="environmental_field",
           config=_choices(FIELDS)),
        _q("long_text", "field_description", "Your work in this field", help_text=_words(30, 300),
           config={"min_words": 30, "max_words": 300}),
    ]},
    {"key": "study_plan", "title": "Study plan in Japan", "questions": [
        _q("short_text", "preferred_host", "Preferred host institution in Japan (optional)", required=False,
           config={"max_length": 200}),
        _q("long_text", "study_plan", "What you will study in Japan, and why", help_text=_words(150, 1000),
           config={"min_words": 150, "max_words": 1000}),
    ]},
    {"key": "leadership", "title": "Leadership plan for your home country", "questions": [
        _q("long_text", "leadership_plan", "How you will lead environmental work when you return home",
           help_text=_words(150, 1000), config={"min_words": 150, "max_words": 1000}),
    ]},
    {"key": "motivation", "title": "Motivation", "questions": [
        _q("long_text", "motivation", "Motivation essay", help_text=_words(200, 800),
           config={"min_words": 200, "max_words": 800}),
    ]},
    {"key": "language", "title": "Languages", "questions": [
        # CEFR levels as a single choice, not the language_level kind: today's answers include "none" and "native".
        _q("single_choice", "english_level", "English (CEFR level)", config=_choices(LEVELS)),
        _q("single_choice", "japanese_level", "Japanese (CEFR level)", config=_choices(LEVELS)),
        _q("short_text", "language_test", "Language test and score (optional)", required=False,
           help_text="For example: IELTS 7.0, TOEFL iBT 95, JLPT N4.", config={"max_length": 200}),
    ]},
]


def default_application_form(title: str | None = None) -> Questionnaire:
    """A new questionnaire holding the default application form (unlocked, version 1)."""
    import fellowship.questions.services as questions
    from fellowship.questions.kinds import QuestionKind

    questionnaire = questions.create_questionnaire({"en": title or TITLE})
    for section_data in DEFAULT_FORM:
        section = questions.add_section(questionnaire, section_data["key"], {"en": section_data["title"]})
        for data in section_data["questions"]:
            questions.add_question(
                section, kind=QuestionKind(data["kind"]), key=data["key"], label={"en": data["label"]},
                required=data["required"],
                help_text={"en": data["help_text"]} if data["help_text"] else None,
                personal_data=data["personal_data"], tag=data["tag"], config=data["config"] or None)
    # add_question counts each addition as a change; a brand-new form starts at version 1.
    questionnaire.version = 1
    return questionnaire

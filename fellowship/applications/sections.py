"""The sections of the application form and what makes each one complete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fellowship.applications.models import Application

#: Word limits of the free-text answers: (minimum, maximum).
WORD_LIMITS: dict[str, tuple[int, int]] = {
    "field_description": (30, 300),
    "study_plan": (150, 1000),
    "leadership_plan": (150, 1000),
    "motivation": (200, 800),
}


def word_count(text: str | None) -> int:
    return len((text or "").split())


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    #: Model attributes this section edits, in form order.
    fields: tuple[str, ...]
    #: Attributes that must be filled for the section to be complete.
    required: tuple[str, ...]
    extra_checks: tuple[Callable[[Application], dict[str, str]], ...] = field(default=())

    def missing(self, application: Application) -> dict[str, str]:
        """Field name → what is still needed, empty when the section is complete."""
        problems = {name: "Required." for name in self.required if getattr(application, name) in (None, "")}
        for name in self.fields:
            if name in WORD_LIMITS and name not in problems and getattr(application, name):
                low, high = WORD_LIMITS[name]
                count = word_count(getattr(application, name))
                if count < low:
                    problems[name] = f"Write at least {low} words (you have {count})."
                elif count > high:
                    problems[name] = f"Write at most {high} words (you have {count})."
        for check in self.extra_checks:
            problems.update(check(application))
        return problems


SECTIONS: tuple[Section, ...] = (
    Section("personal", "Personal details",
            ("given_name", "family_name", "date_of_birth", "gender", "nationality", "country_of_residence", "phone"),
            ("given_name", "family_name", "date_of_birth", "gender", "nationality", "country_of_residence")),
    Section("education", "Education",
            ("highest_degree", "degree_subject", "institution", "graduation_year"),
            ("highest_degree", "degree_subject", "institution", "graduation_year")),
    Section("experience", "Work experience",
            ("current_position", "employer", "sector", "years_experience"),
            ("current_position", "employer", "sector", "years_experience")),
    Section("field", "Environmental field",
            ("environmental_field", "field_description"), ("environmental_field", "field_description")),
    Section("study_plan", "Study plan in Japan", ("preferred_host", "study_plan"), ("study_plan",)),
    Section("leadership", "Leadership plan for your home country", ("leadership_plan",), ("leadership_plan",)),
    Section("motivation", "Motivation", ("motivation",), ("motivation",)),
    Section("language", "Languages", ("english_level", "japanese_level", "language_test"),
            ("english_level", "japanese_level")),
)
SECTIONS_BY_NAME = {section.name: section for section in SECTIONS}

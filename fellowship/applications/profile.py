"""The applicant's profile columns: answers to tagged questions copied onto the applications row on every save.

Why: the answers live in the questionnaire engine's JSON answer sets, but the staff list, quotas, conflicts of
interest, dashboards, the alumni directory and the ranking filter and group on a handful of facts with indexes
(Indico's "personal data" fields). A question whose tag is one of `PROJECTED` (the default form tags them; staff
may tag their own questions) writes its answer into the column of that name; `search_name` and `region` follow
from the names and the nationality. Answers that do not fit the column (a choice value that is not one of the
enum's) leave it empty rather than failing the applicant's save.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from fellowship.applications.models import Application, EnvironmentalField, Gender
from fellowship.calls.models import DegreeLevel
from fellowship.geo import is_country, region_of


def _text(limit: int) -> Callable[[Any], str | None]:
    def convert(value: Any) -> str | None:
        return value.strip()[:limit] or None if isinstance(value, str) else None
    return convert


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _country(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) and is_country(value) else None


def _member(enum: type[Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return enum(value) if isinstance(value, str) and value in enum._value2member_map_ else None
    return convert


#: Question tag -> (applications column, stored JSON answer -> column value).
PROJECTED: dict[str, Callable[[Any], Any]] = {
    "given_name": _text(100),
    "family_name": _text(100),
    "date_of_birth": _date,
    "gender": _member(Gender),
    "nationality": _country,
    "country_of_residence": _country,
    "highest_degree": _member(DegreeLevel),
    "environmental_field": _member(EnvironmentalField),
    # Kept as a column (not in the list): the same-institution conflict rule joins on it in SQL.
    "institution": _text(200),
}


def project(application: Application, tagged_answers: Mapping[str, Any]) -> None:
    """Copy the answers of tagged questions (tag -> stored answer) onto the application's profile columns."""
    for tag, convert in PROJECTED.items():
        if tag in tagged_answers:
            setattr(application, tag, convert(tagged_answers[tag]))
    refresh_derived(application)


def refresh_derived(application: Application) -> None:
    """The lower-cased name the staff search reads, and the nationality's region (filters and quotas)."""
    names = [n for n in (application.given_name, application.family_name) if n]
    application.search_name = " ".join(names).lower() or None
    application.region = region_of(application.nationality) if application.nationality else None

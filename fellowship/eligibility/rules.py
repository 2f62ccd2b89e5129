"""The eligibility rules: pure functions over a snapshot of one application and its call, each with a reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from fellowship.calls.models import Call, DegreeLevel, DocumentKind
from fellowship.geo import country_name


class Outcome(NamedTuple):
    """What a rule decided, and the sentence a staff member reads about it."""

    passed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class CallRules:
    """The settings of a call the rules read, with the deadline as a date in the programme's time zone."""

    closing_date: date
    max_age: int | None
    min_degree: DegreeLevel | None
    #: Alpha-2 codes; empty means the call takes every nationality.
    eligible_countries: frozenset[str]
    required_documents: tuple[DocumentKind, ...]
    references_required: int

    @classmethod
    def from_call(cls, call: Call) -> CallRules:
        """The rules of `call` (reads call.programme for the time zone)."""
        return cls(
            closing_date=closing_date(call.closes_at, call.programme.time_zone),
            max_age=call.max_age,
            min_degree=call.min_degree,
            eligible_countries=frozenset(code.upper() for code in call.eligible_countries or ()),
            required_documents=tuple(DocumentKind(kind) for kind in call.required_documents or ()),
            references_required=call.references_required,
        )


@dataclass(frozen=True, slots=True)
class ApplicationSnapshot:
    """The facts of one application the rules need, loaded in bulk by the screening service."""

    date_of_birth: date | None
    nationality: str | None
    highest_degree: DegreeLevel | None
    document_kinds: frozenset[DocumentKind]
    letters_received: int


Rule = Callable[[ApplicationSnapshot, CallRules], Outcome]


def closing_date(closes_at: datetime, time_zone: str) -> date:
    """The calendar date of the deadline where the programme runs (a 15:30 UTC deadline is the next day in Tokyo)."""
    return closes_at.astimezone(ZoneInfo(time_zone)).date()


def age_on(date_of_birth: date, day: date) -> int:
    """Completed years on `day`: the birthday counts from the day itself (29 February from 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def age_at_deadline(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """Age on the closing date must not exceed the call's maximum."""
    if call.max_age is None:
        return Outcome(True, "The call has no age limit.")
    if app.date_of_birth is None:
        return Outcome(False, "Date of birth is missing.")
    age = age_on(app.date_of_birth, call.closing_date)
    if age > call.max_age:
        return Outcome(False, f"Age at the deadline is {age}; the limit is {call.max_age}.")
    return Outcome(True, f"Age at the deadline is {age} (limit {call.max_age}).")


def nationality(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """The nationality must be on the call's list of eligible countries (an empty list takes everyone)."""
    if app.nationality is None:
        return Outcome(False, "Nationality is missing.")
    name = country_name(app.nationality)
    if not call.eligible_countries:
        return Outcome(True, f"Nationality {name}; the call takes every nationality.")
    if app.nationality.upper() not in call.eligible_countries:
        return Outcome(False, f"Nationality {name} is not among the eligible countries.")
    return Outcome(True, f"Nationality {name} is among the eligible countries.")


def degree(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """The highest degree must be at least the call's minimum."""
    if call.min_degree is None:
        return Outcome(True, "The call requires no minimum degree.")
    if app.highest_degree is None:
        return Outcome(False, f"Highest degree is missing; the call requires at least {call.min_degree.label}.")
    if app.highest_degree.rank < call.min_degree.rank:
        return Outcome(False, f"Highest degree {app.highest_degree.label}; "
                              f"the call requires at least {call.min_degree.label}.")
    return Outcome(True, f"Highest degree {app.highest_degree.label} (at least {call.min_degree.label} required).")


def documents(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """Every document kind the call requires must have been uploaded."""
    if not call.required_documents:
        return Outcome(True, "The call requires no documents.")
    missing = [kind.label for kind in call.required_documents if kind not in app.document_kinds]
    if missing:
        return Outcome(False, f"Missing required documents: {', '.join(missing)}.")
    return Outcome(True, f"All required documents present: {', '.join(k.label for k in call.required_documents)}.")


def references(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """At least the required number of referees must have sent their letter."""
    required, received = call.references_required, app.letters_received
    if required == 0:
        return Outcome(True, "The call requires no reference letters.")
    noun = "reference letter" if required == 1 else "reference letters"
    if received < required:
        return Outcome(False, f"{received} of {required} {noun} received.")
    if received == required:
        return Outcome(True, f"{received} of {required} {noun} received.")
    return Outcome(True, f"{received} reference letters received ({required} required).")


#: Every rule by the name stored in EligibilityResult.rule, in the order staff read them.
RULES: dict[str, Rule] = {
    "age_at_deadline": age_at_deadline,
    "nationality": nationality,
    "degree": degree,
    "documents": documents,
    "references": references,
}

#: Headings for the rule names on staff pages.
RULE_LABELS: dict[str, str] = {
    "age_at_deadline": "Age at the deadline",
    "nationality": "Nationality",
    "degree": "Degree",
    "documents": "Documents",
    "references": "References",
}


def evaluate(app: ApplicationSnapshot, call: CallRules) -> dict[str, Outcome]:
    """The outcome of every rule for one application."""
    return {name: rule(app, call) for name, rule in RULES.items()}

"""The eligibility rules: pure functions over a snapshot of one application and its call, each with a reason.

Three rules read an answer of the call's application form: the age from a date question, the nationality from a
country question, the degree level from a choice question. Each call names the question each rule reads
(`Call.eligibility_questions`, rule -> question key); a rule the call does not configure reads the question tagged
for it (`DEFAULT_TAGS`), which the default form has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from fellowship.calls.models import Call, DegreeLevel, DocumentKind
from fellowship.geo import country_name

if TYPE_CHECKING:
    from fellowship.questions.models import Question, Questionnaire

#: Rule -> the tag of the question it reads unless the call names another question.
DEFAULT_TAGS: dict[str, str] = {"age_at_deadline": "date_of_birth", "nationality": "nationality",
                                "degree": "highest_degree"}
#: Rule -> the kinds of question it can read.
QUESTION_KINDS: dict[str, tuple[str, ...]] = {"age_at_deadline": ("date",), "nationality": ("country",),
                                              "degree": ("single_choice",)}


class Outcome(NamedTuple):
    """What a rule decided, and the sentence a staff member reads about it."""

    passed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class QuestionRef:
    """The question a rule reads: its key in the answers, its label, and (choice questions) its choices in order."""

    key: str
    label: str
    #: (value, label) of each choice, in the question's order: the degree rule ranks levels by this order.
    choices: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, question: Question) -> QuestionRef:
        choices = tuple((str(c["value"]), _choice_label(c)) for c in (question.config or {}).get("choices", ()))
        return cls(key=question.key, label=str(question.label), choices=choices)

    def choice_label(self, value: str) -> str:
        return dict(self.choices).get(value, value)

    def rank(self, value: str) -> int | None:
        values = [v for v, _ in self.choices]
        return values.index(value) if value in values else None


def _choice_label(choice: Mapping[str, Any]) -> str:
    from fellowship.i18n.texts import Texts

    return Texts.of(choice.get("label")).get_for("en") or str(choice["value"])


def rule_questions(call: Call, questionnaire: Questionnaire | None) -> dict[str, QuestionRef | None]:
    """Rule -> the question of the call's form it reads: the one the call names, else the one tagged for it."""
    configured = call.eligibility_questions or {}
    questions = [q for section in (questionnaire.sections if questionnaire else ()) for q in section.questions]
    by_key = {q.key: q for q in questions}
    by_tag = {q.tag: q for q in questions if q.tag}
    found: dict[str, QuestionRef | None] = {}
    for rule, tag in DEFAULT_TAGS.items():
        question = by_key.get(configured[rule]) if configured.get(rule) else by_tag.get(tag)
        found[rule] = QuestionRef.of(question) if question is not None else None
    return found


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
    #: Rule -> the question it reads (None: the call's form has no such question).
    questions: Mapping[str, QuestionRef | None] = field(default_factory=dict)

    @classmethod
    def from_call(cls, call: Call, questionnaire: Questionnaire | None = None) -> CallRules:
        """The rules of `call` (reads call.programme for the time zone) over its application form `questionnaire`."""
        return cls(
            closing_date=closing_date(call.closes_at, call.programme.time_zone),
            max_age=call.max_age,
            min_degree=call.min_degree,
            eligible_countries=frozenset(code.upper() for code in call.eligible_countries or ()),
            required_documents=tuple(DocumentKind(kind) for kind in call.required_documents or ()),
            # Letters asked at shortlist arrive after the screening: the screening does not wait for them.
            references_required=0 if call.references_at_shortlist else call.references_required,
            questions=rule_questions(call, questionnaire),
        )


@dataclass(frozen=True, slots=True)
class ApplicationSnapshot:
    """The facts of one application the rules need, loaded in bulk by the screening service."""

    #: Question key -> stored answer (the engine's JSON values), over every section of the form.
    answers: Mapping[str, Any]
    document_kinds: frozenset[DocumentKind]
    letters_received: int


def _no_question(what: str) -> Outcome:
    return Outcome(False, f"The call's form has no {what} question for this rule to read; check the form or "
                          "the call's eligibility settings.")


def _answer(app: ApplicationSnapshot, question: QuestionRef) -> Any:
    value = app.answers.get(question.key)
    return None if value in (None, "", []) else value


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
    question = call.questions.get("age_at_deadline")
    if question is None:
        return _no_question("date of birth")
    value = _answer(app, question)
    try:
        born = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        born = None
    if born is None:
        return Outcome(False, f"{question.label} is missing.")
    age = age_on(born, call.closing_date)
    if age > call.max_age:
        return Outcome(False, f"Age at the deadline is {age}; the limit is {call.max_age}.")
    return Outcome(True, f"Age at the deadline is {age} (limit {call.max_age}).")


def nationality(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """The nationality must be on the call's list of eligible countries (an empty list takes everyone)."""
    question = call.questions.get("nationality")
    if question is None:
        return _no_question("nationality")
    code = _answer(app, question)
    if not isinstance(code, str):
        return Outcome(False, f"{question.label} is missing.")
    name = country_name(code)
    if not call.eligible_countries:
        return Outcome(True, f"Nationality {name}; the call takes every nationality.")
    if code.upper() not in call.eligible_countries:
        return Outcome(False, f"Nationality {name} is not among the eligible countries.")
    return Outcome(True, f"Nationality {name} is among the eligible countries.")


def degree(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """The highest degree must be at least the call's minimum."""
    if call.min_degree is None:
        return Outcome(True, "The call requires no minimum degree.")
    question = call.questions.get("degree")
    if question is None:
        return _no_question("degree")
    minimum = question.rank(call.min_degree.value)
    if minimum is None:  # the form's choices do not include the call's minimum: nothing to compare with
        return Outcome(False, f"The question “{question.label}” offers no choice for {call.min_degree.label}, "
                              "the call's minimum degree.")
    value = _answer(app, question)
    if not isinstance(value, str) or question.rank(value) is None:
        return Outcome(False, f"{question.label} is missing; the call requires at least {call.min_degree.label}.")
    label = question.choice_label(value)
    if question.rank(value) < minimum:  # type: ignore[operator]
        return Outcome(False, f"Highest degree {label}; the call requires at least {call.min_degree.label}.")
    return Outcome(True, f"Highest degree {label} (at least {call.min_degree.label} required).")


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
RULE_LABELS: dict[str, Any] = {
    "age_at_deadline": _l("Age at the deadline"),
    "nationality": _l("Nationality"),
    "degree": _l("Degree"),
    "documents": _l("Documents"),
    "references": _l("References"),
}


def evaluate(app: ApplicationSnapshot, call: CallRules) -> dict[str, Outcome]:
    """The outcome of every rule for one application."""
    return {name: rule(app, call) for name, rule in RULES.items()}

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

from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from fellowship.calls.models import Call, DegreeLevel, DocumentKind
from fellowship.geo import country_name
from fellowship.i18n.messages import MessageCatalog, StoredMessage
from fellowship.i18n.texts import Texts, current_locale
from fellowship.questions.kinds.common import babel_locale

if TYPE_CHECKING:
    from fellowship.questions.models import Question, Questionnaire

#: Rule -> the tag of the question it reads unless the call names another question.
DEFAULT_TAGS: dict[str, str] = {"age_at_deadline": "date_of_birth", "nationality": "nationality",
                                "degree": "highest_degree"}
#: Rule -> the kinds of question it can read.
QUESTION_KINDS: dict[str, tuple[str, ...]] = {"age_at_deadline": ("date",), "nationality": ("country",),
                                              "degree": ("single_choice",)}


class Outcome(NamedTuple):
    """What a rule decided, and the sentence staff (and an ineligible applicant) read about it: a stored message,
    shown in each reader's language (EligibilityResult.reason_message)."""

    passed: bool
    reason: StoredMessage


@dataclass(frozen=True, slots=True)
class QuestionRef:
    """The question a rule reads: its key in the answers, its label, and (choice questions) its choices in order."""

    key: str
    #: The label in every language it has (a str: English only); a reason names it in the reader's language.
    label: Texts | str
    #: (value, label) of each choice, in the question's order: the degree rule ranks levels by this order.
    choices: tuple[tuple[str, Texts | str], ...] = ()

    @classmethod
    def of(cls, question: Question) -> QuestionRef:
        choices = tuple((str(c["value"]), _choice_label(c)) for c in (question.config or {}).get("choices", ()))
        return cls(key=question.key, label=Texts.of(question.label), choices=choices)

    def choice_label(self, value: str) -> Texts | str:
        return dict(self.choices).get(value, value)

    def rank(self, value: str) -> int | None:
        values = [v for v, _ in self.choices]
        return values.index(value) if value in values else None


def _choice_label(choice: Mapping[str, Any]) -> Texts | str:
    return Texts.of(choice.get("label")) or str(choice["value"])


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


def _reason_value(name: str, value: Any) -> Any:
    """A stored parameter as the reader reads it: a question's or a choice's label (every language it has), a
    country code, a degree level or document kinds named in the reader's language; numbers as they are."""
    if name in ("question", "choice"):
        return Texts.of(value).get_for(current_locale())
    if name == "country":
        return country_name(value)
    if name == "minimum":
        return DegreeLevel(value).label
    if name == "documents":
        return format_list([DocumentKind(kind).label for kind in value], locale=babel_locale(current_locale()))
    return value


#: Every reason a rule gives, by key: its message, filled with the stored parameters in the reader's language.
REASONS = MessageCatalog({
    "no_question_date_of_birth": lambda: _(
        "The call's form has no date of birth question for this rule to read; check the form or the call's "
        "eligibility settings."),
    "no_question_nationality": lambda: _(
        "The call's form has no nationality question for this rule to read; check the form or the call's "
        "eligibility settings."),
    "no_question_degree": lambda: _(
        "The call's form has no degree question for this rule to read; check the form or the call's eligibility "
        "settings."),
    "answer_missing": lambda **p: _("%(question)s is missing.", **p),
    "no_age_limit": lambda: _("The call has no age limit."),
    "age_over_limit": lambda **p: _("Age at the deadline is %(age)d; the limit is %(limit)d.", **p),
    "age_within_limit": lambda **p: _("Age at the deadline is %(age)d (limit %(limit)d).", **p),
    "every_nationality": lambda **p: _("Nationality %(country)s; the call takes every nationality.", **p),
    "nationality_not_eligible": lambda **p: _("Nationality %(country)s is not among the eligible countries.", **p),
    "nationality_eligible": lambda **p: _("Nationality %(country)s is among the eligible countries.", **p),
    "no_minimum_degree": lambda: _("The call requires no minimum degree."),
    "no_choice_for_minimum": lambda **p: _(
        "The question “%(question)s” offers no choice for %(minimum)s, the call's minimum degree.", **p),
    "degree_missing": lambda **p: _("%(question)s is missing; the call requires at least %(minimum)s.", **p),
    "degree_below_minimum": lambda **p: _(
        "Highest degree %(choice)s; the call requires at least %(minimum)s.", **p),
    "degree_at_least_minimum": lambda **p: _("Highest degree %(choice)s (at least %(minimum)s required).", **p),
    "no_documents_required": lambda: _("The call requires no documents."),
    "documents_missing": lambda **p: _("Missing required documents: %(documents)s.", **p),
    "documents_present": lambda **p: _("All required documents present: %(documents)s.", **p),
    "no_references_required": lambda: _("The call requires no reference letters."),
    "letters_received_of": lambda num, **p: ngettext(
        "%(received)d of %(num)d reference letter received.", "%(received)d of %(num)d reference letters received.",
        num, **p),
    "letters_received_over": lambda num, **p: ngettext(
        "%(num)d reference letter received (%(required)d required).",
        "%(num)d reference letters received (%(required)d required).", num, **p),
}, _reason_value)


def _no_question(what: str) -> Outcome:
    return Outcome(False, REASONS(f"no_question_{what}"))


def _labels(value: Texts | str) -> dict[str, str]:
    """A label as a stored parameter: its text in every language it has."""
    return dict(Texts.of(value))


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
        return Outcome(True, REASONS("no_age_limit"))
    question = call.questions.get("age_at_deadline")
    if question is None:
        return _no_question("date_of_birth")
    value = _answer(app, question)
    try:
        born = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        born = None
    if born is None:
        return Outcome(False, REASONS("answer_missing", question=_labels(question.label)))
    age = age_on(born, call.closing_date)
    if age > call.max_age:
        return Outcome(False, REASONS("age_over_limit", age=age, limit=call.max_age))
    return Outcome(True, REASONS("age_within_limit", age=age, limit=call.max_age))


def nationality(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """The nationality must be on the call's list of eligible countries (an empty list takes everyone)."""
    question = call.questions.get("nationality")
    if question is None:
        return _no_question("nationality")
    code = _answer(app, question)
    if not isinstance(code, str):
        return Outcome(False, REASONS("answer_missing", question=_labels(question.label)))
    if not call.eligible_countries:
        return Outcome(True, REASONS("every_nationality", country=code))
    if code.upper() not in call.eligible_countries:
        return Outcome(False, REASONS("nationality_not_eligible", country=code))
    return Outcome(True, REASONS("nationality_eligible", country=code))


def degree(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """The highest degree must be at least the call's minimum."""
    if call.min_degree is None:
        return Outcome(True, REASONS("no_minimum_degree"))
    question = call.questions.get("degree")
    if question is None:
        return _no_question("degree")
    required = call.min_degree.value
    minimum = question.rank(required)
    if minimum is None:  # the form's choices do not include the call's minimum: nothing to compare with
        return Outcome(False, REASONS("no_choice_for_minimum", question=_labels(question.label), minimum=required))
    value = _answer(app, question)
    if not isinstance(value, str) or question.rank(value) is None:
        return Outcome(False, REASONS("degree_missing", question=_labels(question.label), minimum=required))
    label = _labels(question.choice_label(value))
    if question.rank(value) < minimum:  # type: ignore[operator]
        return Outcome(False, REASONS("degree_below_minimum", choice=label, minimum=required))
    return Outcome(True, REASONS("degree_at_least_minimum", choice=label, minimum=required))


def documents(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """Every document kind the call requires must have been uploaded."""
    if not call.required_documents:
        return Outcome(True, REASONS("no_documents_required"))
    missing = [kind.value for kind in call.required_documents if kind not in app.document_kinds]
    if missing:
        return Outcome(False, REASONS("documents_missing", documents=missing))
    return Outcome(True, REASONS("documents_present", documents=[k.value for k in call.required_documents]))


def references(app: ApplicationSnapshot, call: CallRules) -> Outcome:
    """At least the required number of referees must have sent their letter."""
    required, received = call.references_required, app.letters_received
    if required == 0:
        return Outcome(True, REASONS("no_references_required"))
    if received < required:
        return Outcome(False, REASONS("letters_received_of", received=received, num=required))
    if received == required:
        return Outcome(True, REASONS("letters_received_of", received=received, num=required))
    return Outcome(True, REASONS("letters_received_over", num=received, required=required))


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

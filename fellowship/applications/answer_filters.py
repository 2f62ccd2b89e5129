"""Staff list filters on the answers to a call's choice, yes/no and country questions, joined through answer_facets.

Each such question of the call's form gets a select on the list (`a_<question key>=<value>`); a chosen value keeps
the applications whose response has that facet row (index answer_facets (question_id, value, response_id)). The
questions and the filter form built from them depend only on the questionnaire's version, so both are kept per
process, keyed by (questionnaire id, version, last change): the list page reads the version with its call, in the
same statement, and never queries the questions again until the form changes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select
from wtforms import Form, SelectField

from fellowship.extensions import db
from fellowship.geo import country_choices
from fellowship.i18n.texts import Texts
from fellowship.questions.kinds.base import QuestionKind
from fellowship.questions.models import AnswerFacet, Question, QuestionnaireSection
from fellowship.widgets import QuickSelect

#: Kinds whose answers are stored as facets, and so can be filtered on.
FILTERABLE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE, QuestionKind.YES_NO,
                    QuestionKind.COUNTRY)
#: Tagged questions the list already filters on through their own indexed column on the applications row.
COLUMN_FILTER_TAGS = frozenset({"nationality", "environmental_field"})
#: Query-string prefix of an answer filter: a_<question key>.
PREFIX = "a_"


def current_locale() -> str | None:
    """The locale the page is rendered in (labels of the filters and export headers follow it)."""
    locale = get_locale()
    return str(locale) if locale else None


@dataclass(frozen=True, slots=True)
class FormStamp:
    """Which version of a questionnaire a cached list of its filterable questions belongs to."""

    questionnaire_id: int
    version: int
    changed_at: datetime | None


@dataclass(frozen=True, slots=True)
class FilterQuestion:
    """One filterable question: its id (for the facet join), key (for the URL), label and offered values."""

    id: int
    key: str
    label: str
    choices: tuple[tuple[str, str], ...]

    @property
    def param(self) -> str:
        return PREFIX + self.key


def _choices(kind: QuestionKind, config: dict[str, Any], locale: str | None) -> tuple[tuple[str, str], ...]:
    if kind is QuestionKind.YES_NO:
        return (("yes", _("Yes")), ("no", _("No")))
    if kind is QuestionKind.COUNTRY:
        only = config.get("only")
        pairs = country_choices()
        if only:
            allowed = set(only)
            pairs = [(code, name) for code, name in pairs if code in allowed]
        return tuple((code, name) for code, name in pairs if code)
    return tuple((str(c["value"]), Texts.of(c.get("label")).get_for(locale) or str(c["value"]))
                 for c in config.get("choices") or [])


@functools.lru_cache(maxsize=128)
def filter_questions(stamp: FormStamp, locale: str | None) -> tuple[FilterQuestion, ...]:
    """The questionnaire's top-level choice, yes/no and country questions in form order (kept per version)."""
    rows = db.session.execute(
        select(Question.id, Question.key, Question.kind, Question.label, Question.config, Question.tag)
        .join(QuestionnaireSection, QuestionnaireSection.id == Question.section_id)
        .where(Question.questionnaire_id == stamp.questionnaire_id, Question.group_id.is_(None),
               Question.kind.in_(FILTERABLE_KINDS))
        .order_by(QuestionnaireSection.position, Question.position, Question.id)).all()
    return tuple(
        FilterQuestion(id=qid, key=key, label=Texts.of(label).get_for(locale) or key,
                       choices=_choices(kind, config or {}, locale))
        for qid, key, kind, label, config, tag in rows if tag not in COLUMN_FILTER_TAGS)


def chosen_answers(args: Mapping[str, str], questions: tuple[FilterQuestion, ...]) -> tuple[tuple[int, str, str], ...]:
    """(question id, key, value) of each answer filter in the query string whose value the question offers."""
    chosen = []
    for question in questions:
        value = (args.get(question.param) or "").strip()
        if not value:
            continue
        if any(value == v for v, _label in question.choices):
            chosen.append((question.id, question.key, value))
    return tuple(chosen)


def conditions(response_id: Any, answers: tuple[tuple[int, str, str], ...]) -> list[ColumnElement[bool]]:
    """One semi-join on answer_facets per chosen answer (all must hold)."""
    return [response_id.in_(select(AnswerFacet.response_id)
                            .where(AnswerFacet.question_id == qid, AnswerFacet.value == value))
            for qid, _key, value in answers]


@functools.lru_cache(maxsize=128)
def filter_form(base: type[Form], questions: tuple[FilterQuestion, ...], locale: str | None) -> type[Form]:
    """`base` with one select per filterable question (one class per set of questions and locale, so the markup
    rendered from it is kept by fellowship.widgets.filter_fields)."""
    if not questions:
        return base
    fields = {
        q.param: SelectField(q.label, choices=[("", _("Any answer")), *q.choices], widget=QuickSelect())
        for q in questions
    }
    return type(f"{base.__name__}WithAnswers", (base,), fields)

"""Answers as spreadsheet rows: one column per question (or two where a kind needs them), groups in their own sheet."""

from __future__ import annotations

from typing import Any

from fellowship.questions.kinds import KINDS, ExportColumn, QuestionKind
from fellowship.questions.models import Question, Questionnaire
from fellowship.questions.services import effective_answers, ordered_questions


def _exported(questionnaire: Questionnaire) -> list[Question]:
    return [q for q in ordered_questions(questionnaire) if q.in_export]


def _columns(questionnaire: Questionnaire, locale: str | None = None) -> list[tuple[Question, ExportColumn]]:
    return [(q, column) for q in _exported(questionnaire) for column in KINDS[q.kind].export_columns(q, locale)]


def export_header(questionnaire: Questionnaire, locale: str | None = None) -> list[str]:
    """The header of the main sheet: the column names (question keys; stable across languages)."""
    return [name for _q, (name, _cell) in _columns(questionnaire, locale)]


def export_row(questionnaire: Questionnaire, answers: dict[str, Any]) -> list[Any]:
    """One respondent's cells, in export_header's order (hidden questions' stale answers left out)."""
    shown = effective_answers(questionnaire, answers)
    return [cell(shown.get(q.key)) for q, (_name, cell) in _columns(questionnaire)]


def _group_columns(question: Question) -> list[tuple[Question, ExportColumn]]:
    return [(c, column) for c in question.children if c.in_export for column in KINDS[c.kind].export_columns(c, None)]


def group_sheets(questionnaire: Questionnaire) -> list[tuple[str, list[str]]]:
    """One sheet per exported repeatable group: its name (the group's key) and header (entry number, then columns).

    The owner puts its own identifying columns (e.g. the application's reference) before these."""
    return [(q.key, ["entry", *(name for _c, (name, _cell) in _group_columns(q))])
            for q in _exported(questionnaire) if q.kind is QuestionKind.GROUP]


def group_rows(question: Question, answers: dict[str, Any]) -> list[list[Any]]:
    """One row per entry of a repeatable group's answer, in group_sheets' column order."""
    value = answers.get(question.key)
    columns = _group_columns(question)
    return [[number, *(cell(entry.get(c.key)) for c, (_name, cell) in columns)]
            for number, entry in enumerate(value if isinstance(value, list) else [], start=1)]

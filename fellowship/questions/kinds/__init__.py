"""One class per kind of question, in one registry (Indico's registration/fields/ pattern)."""

from __future__ import annotations

from fellowship.questions.kinds.base import AnswerError, ExportColumn, Kind, QuestionKind

#: Every kind of question, by its enum value. Filled by the kind modules below.
KINDS: dict[QuestionKind, Kind] = {}

__all__ = ["KINDS", "AnswerError", "ExportColumn", "Kind", "QuestionKind"]

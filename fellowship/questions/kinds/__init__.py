"""One class per kind of question, in one registry (Indico's registration/fields/ pattern)."""

from __future__ import annotations

from fellowship.questions.kinds.base import AnswerError, ExportColumn, Kind, QuestionKind
from fellowship.questions.kinds.choice import Country, LanguageLevel, MultipleChoice, SingleChoice, YesNo
from fellowship.questions.kinds.file import File
from fellowship.questions.kinds.group import EntryErrors, Group
from fellowship.questions.kinds.numeric import Date, Number
from fellowship.questions.kinds.text import Email, LongText, ShortText, Url

#: Every kind of question, by its enum value.
KINDS: dict[QuestionKind, Kind] = {k.kind: k for k in (
    ShortText(), LongText(), Number(), Date(), SingleChoice(), MultipleChoice(), YesNo(), Country(), LanguageLevel(),
    Email(), Url(), File(), Group())}
assert set(KINDS) == set(QuestionKind), "every QuestionKind needs its class"

__all__ = ["KINDS", "AnswerError", "EntryErrors", "ExportColumn", "Kind", "QuestionKind"]

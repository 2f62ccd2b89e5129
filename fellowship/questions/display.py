"""Answers as read-only text, section by section, for every page that shows them (blind review hides personal data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fellowship.questions.kinds import KINDS, QuestionKind
from fellowship.questions.kinds.common import text_in
from fellowship.questions.kinds.group import Group
from fellowship.questions.models import Questionnaire
from fellowship.questions.services import _walk_visible


@dataclass(frozen=True)
class DisplayedAnswer:
    key: str
    label: str
    #: The answer as text ("" when not answered).
    text: str
    #: For a repeatable group: each entry as (sub-question label, answer text) pairs.
    entries: list[list[tuple[str, str]]] = field(default_factory=list)
    kind: QuestionKind = QuestionKind.SHORT_TEXT
    #: The stored value (a file answer's key lets the owner link to a download it authorises).
    value: Any = None

    @property
    def answered(self) -> bool:
        return bool(self.text or self.entries)


@dataclass(frozen=True)
class DisplayedSection:
    key: str
    title: str
    answers: list[DisplayedAnswer]


def displayed_answers(questionnaire: Questionnaire, answers: dict[str, Any], locale: str | None, *,
                      hide_personal: bool = False) -> list[DisplayedSection]:
    """Each section's shown questions with their answers as text; personal-data questions left out when asked."""
    sections: dict[int, DisplayedSection] = {
        s.id: DisplayedSection(key=s.key, title=text_in(s.title, locale), answers=[])
        for s in questionnaire.sections}
    for section, question, shown in _walk_visible(questionnaire, answers):
        if not shown or (hide_personal and question.personal_data):
            continue
        kind = KINDS[question.kind]
        value = answers.get(question.key)
        entries: list[list[tuple[str, str]]] = []
        if isinstance(kind, Group):
            children = [c for c in question.children if not (hide_personal and c.personal_data)]
            entries = [[(text_in(c.label, locale), KINDS[c.kind].display(c, entry.get(c.key), locale))
                        for c in children] for entry in (value if isinstance(value, list) else [])]
        sections[section.id].answers.append(DisplayedAnswer(
            key=question.key, label=text_in(question.label, locale), text=kind.display(question, value, locale),
            entries=entries, kind=question.kind, value=value))
    return list(sections.values())

"""An interview stage's notes questionnaire (issue 15 item 5): staff list its questions; each interviewer's notes
on a candidate are a Response of it, held by their InterviewScore (one per candidate and interviewer).

The stage owns the questionnaire (selection_stages.notes_questionnaire_id), as a call owns its application form.
It has one section; staff add simple questions (text, yes/no, a number, a single choice) on the interview page's
notes page. Its structure is locked when the first notes are saved, so no answer loses its question; the wording
can still change. A stage without one keeps free-text notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.errors import DomainError, FieldError
from fellowship.extensions import db
from fellowship.i18n.texts import SOURCE_LOCALE, Texts
from fellowship.locks import lock_row
from fellowship.questions import services as questions
from fellowship.questions.kinds import QuestionKind
from fellowship.questions.models import Question, Questionnaire, QuestionnaireSection, Response
from fellowship.selection.models import SelectionStage

#: The kinds a notes question may take: what an interviewer types beside the scores (no files, no groups).
NOTE_KINDS = (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT, QuestionKind.YES_NO, QuestionKind.NUMBER,
              QuestionKind.SINGLE_CHOICE)
SECTION_KEY = "notes"
MAX_CHOICES = 20


@dataclass(frozen=True)
class NoteQuestion:
    """What staff give for a new notes question."""

    label: str
    kind: QuestionKind
    required: bool = False
    help_text: str = ""
    #: Single choice: its options, one per entry.
    choices: tuple[str, ...] = ()


def notes_questionnaire(stage: SelectionStage) -> Questionnaire | None:
    """The stage's notes questionnaire, or None (free-text notes)."""
    if stage.notes_questionnaire_id is None:
        return None
    return db.session.get(Questionnaire, stage.notes_questionnaire_id)


def start_notes_questionnaire(stage: SelectionStage, by: User) -> Questionnaire:
    """Give the interview stage a notes questionnaire with its one (empty) section; idempotent."""
    lock_row(SelectionStage, stage.id)
    db.session.refresh(stage, ["notes_questionnaire_id"])
    existing = notes_questionnaire(stage)
    if existing is not None:
        return existing
    questionnaire = questions.create_questionnaire({SOURCE_LOCALE: f"Interview notes: {stage.name}"})
    questions.add_section(questionnaire, SECTION_KEY, {SOURCE_LOCALE: "Notes"})
    stage.notes_questionnaire_id = questionnaire.id
    db.session.flush()
    record("interviews.notes_questionnaire_started", stage, actor_id=by.id, call_id=stage.call_id,
           questionnaire_id=questionnaire.id)
    return questionnaire


def _section(questionnaire: Questionnaire) -> QuestionnaireSection:
    return questionnaire.sections[0]


def _key(questionnaire: Questionnaire) -> str:
    """A fresh key ("note_<n>"): never a score field's name ("score_<id>") nor a form attribute."""
    taken = set(db.session.scalars(select(Question.key).where(Question.questionnaire_id == questionnaire.id)))
    number = len(taken) + 1
    while f"note_{number}" in taken:
        number += 1
    return f"note_{number}"


def add_note_question(stage: SelectionStage, new: NoteQuestion, by: User) -> Question:
    """Add a question to the stage's notes questionnaire (started on the first question)."""
    if new.kind not in NOTE_KINDS:
        raise FieldError("kind", _("Choose one of the kinds offered."))
    if not new.label.strip():
        raise FieldError("label", _("Write the question."))
    config: dict[str, Any] = {}
    if new.kind is QuestionKind.SINGLE_CHOICE:
        options = [c.strip() for c in new.choices if c.strip()]
        if len(options) < 2 or len(options) > MAX_CHOICES:
            raise FieldError("choices", _("Give from 2 to %(n)d options, one per line.", n=MAX_CHOICES))
        if len(set(options)) != len(options):
            raise FieldError("choices", _("Give each option once."))
        config["choices"] = [{"value": f"o{n}", "label": {SOURCE_LOCALE: text}}
                             for n, text in enumerate(options, start=1)]
    questionnaire = start_notes_questionnaire(stage, by)
    question = questions.add_question(
        _section(questionnaire), kind=new.kind, key=_key(questionnaire),
        label=Texts({SOURCE_LOCALE: new.label.strip()}),
        help_text=Texts({SOURCE_LOCALE: new.help_text.strip()}) if new.help_text.strip() else None,
        required=new.required, config=config)
    record("interviews.notes_question_added", stage, actor_id=by.id, call_id=stage.call_id,
           question_id=question.id, label=new.label.strip())
    return question


def remove_note_question(stage: SelectionStage, question: Question, by: User) -> None:
    """Remove a question (refused by the engine once notes were given: their answers keep their questions)."""
    label = question.label.get_for(SOURCE_LOCALE)
    questions.remove_question(question)
    record("interviews.notes_question_removed", stage, actor_id=by.id, call_id=stage.call_id, label=label)


class NotesIncomplete(DomainError):
    """Some notes answers could not be kept or are still needed; `problems` says which, by question key."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(_("Some notes need your attention (see below)."))
        self.problems = problems


def save_notes(questionnaire: Questionnaire, response_id: int | None, values: dict[int, dict[str, Any]]
               ) -> Response:
    """Keep an interviewer's notes answers (section id -> values by key) in their response (a new one the first
    time); every well-formed and required answer, else NotesIncomplete with each problem. The caller holds the
    booking's row lock, so one interviewer's two saves cannot cross; it rolls back on NotesIncomplete."""
    response = db.session.get(Response, response_id) if response_id is not None else None
    if response is None:
        response = questions.response_for(questionnaire)
        questions.lock_structure(questionnaire)  # answers exist from now on: only wording may change
    problems: dict[str, str] = {}
    for section in questionnaire.sections:
        result = questions.save_section_answers(response, section, values.get(section.id, {}))
        problems.update({**result.missing, **result.errors})
    if problems:
        raise NotesIncomplete(problems)
    return response


def kind_choices() -> list[tuple[str, Any]]:
    """The kinds a notes question may take, for the notes page's select."""
    return [(kind.value, kind.label) for kind in NOTE_KINDS]

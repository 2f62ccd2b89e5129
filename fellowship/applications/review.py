"""The review-and-submit page's summary: every answer, document and referee, each missing item with where to fix it.

Read-only; what blocks a submit is decided by `services.progress` (the same checks), so the page and the server
never disagree about what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from fellowship.applications import answers, services
from fellowship.applications.answers import SectionStatus
from fellowship.applications.models import Application, Document, Referee
from fellowship.calls.models import DocumentKind
from fellowship.extensions import db
from fellowship.i18n.texts import current_locale
from fellowship.questions.kinds import KINDS, QuestionKind


@dataclass(frozen=True)
class Answer:
    name: str
    label: str
    #: The answer in words ("" when not given).
    text: str
    #: What is still needed, or None.
    missing: str | None
    #: A long essay: shown as a paragraph.
    prose: bool = False


@dataclass(frozen=True)
class SectionReview:
    section: SectionStatus
    answers: list[Answer]

    @property
    def missing(self) -> list[Answer]:
        return [a for a in self.answers if a.missing]


@dataclass(frozen=True)
class Review:
    sections: list[SectionReview]
    progress: services.Progress
    documents: list[Document]
    referees: list[Referee]

    @property
    def complete(self) -> bool:
        return self.progress.complete


def review_of(application: Application) -> Review:
    """Everything the applicant is about to submit, with what is missing; a fixed number of queries.

    Each section lists the questions shown for the answers given (a question hidden by its condition is not asked,
    so it is neither listed nor missing), each answer as the question's kind displays it."""
    progress = services.progress(application)
    given = answers.answers_of(application)
    locale = current_locale()
    sections = []
    for status, missing in progress.sections:
        rows = []
        for question in answers.engine().visible_questions(status.section, given):
            kind = KINDS[question.kind]
            value = given.get(question.key)
            text = "" if kind.is_empty(value) else kind.display(question, value, locale)
            rows.append(Answer(question.key, question.label.get_for(locale), text, missing.get(question.key),
                               prose=question.kind in (QuestionKind.LONG_TEXT, QuestionKind.GROUP)))
        sections.append(SectionReview(status, rows))
    documents = list(db.session.scalars(select(Document).where(Document.application_id == application.id,
                                                               Document.kind != DocumentKind.REFERENCE_LETTER)
                                        .order_by(Document.kind, Document.id)))
    referees = list(db.session.scalars(select(Referee).where(Referee.application_id == application.id)
                                       .order_by(Referee.id)))
    return Review(sections=sections, progress=progress, documents=documents, referees=referees)


"""The review-and-submit page's summary: every answer, document and referee, each missing item with where to fix it.

Read-only; what blocks a submit is decided by `services.progress` (the same checks), so the page and the server
never disagree about what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from sqlalchemy import select

from fellowship.applications import services
from fellowship.applications.forms import SECTION_FORMS
from fellowship.applications.models import Application, Document, Referee
from fellowship.applications.sections import Section
from fellowship.calls.models import DocumentKind
from fellowship.extensions import db
from fellowship.geo import country_name

#: Answers that are country codes, shown as the country's name.
COUNTRY_FIELDS = ("nationality", "country_of_residence")


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
    section: Section
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


def _text(application: Application, name: str) -> str:
    value = getattr(application, name)
    if value is None or value == "":
        return ""
    if name in COUNTRY_FIELDS:
        return country_name(value)
    label = getattr(value, "label", None)
    if isinstance(value, Enum) and label:
        return str(label)
    if isinstance(value, date):
        return value.strftime("%d %B %Y")
    return str(value)


def review_of(application: Application) -> Review:
    """Everything the applicant is about to submit, with what is missing; a fixed number of queries."""
    progress = services.progress(application)
    sections = []
    for section, missing in progress.sections:
        form = SECTION_FORMS[section.name](formdata=None, meta={"csrf": False})
        sections.append(SectionReview(section, [
            Answer(name, str(form[name].label.text), _text(application, name), missing.get(name),
                   prose=form[name].type == "TextAreaField")
            for name in section.fields]))
    documents = list(db.session.scalars(select(Document).where(Document.application_id == application.id,
                                                               Document.kind != DocumentKind.REFERENCE_LETTER)
                                        .order_by(Document.kind, Document.id)))
    referees = list(db.session.scalars(select(Referee).where(Referee.application_id == application.id)
                                       .order_by(Referee.id)))
    return Review(sections=sections, progress=progress, documents=documents, referees=referees)


"""Questionnaires (versioned) → ordered sections → ordered questions; responses and their answer sets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.i18n.texts import Texts, TextsType
from fellowship.models import Base, IdMixin, TimestampMixin, UTCDateTime, enum_column, utcnow
from fellowship.questions.kinds.base import QuestionKind

#: JSONB on PostgreSQL (indexable, compact), plain JSON on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Questionnaire(IdMixin, TimestampMixin, Base):
    __tablename__ = "questionnaires"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    title: Mapped[Texts] = mapped_column(TextsType())
    #: +1 on every saved change to its sections or questions; each answer set records the version it was given on.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Set by the owner (e.g. when a call opens): from then on only wording may change.
    structure_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sections: Mapped[list[QuestionnaireSection]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireSection.position", lazy="selectin",
        cascade="all, delete-orphan", passive_deletes=True)

    @property
    def structure_locked(self) -> bool:
        return self.structure_locked_at is not None

    def __repr__(self) -> str:
        return f"<Questionnaire {self.id} v{self.version}>"


class QuestionnaireSection(IdMixin, Base):
    __tablename__ = "questionnaire_sections"
    __table_args__ = (UniqueConstraint("questionnaire_id", "key", name="uq_questionnaire_sections_key"),)

    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True)
    #: A slug, unique per questionnaire; used in URLs.
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[Texts] = mapped_column(TextsType())
    description: Mapped[Texts | None] = mapped_column(TextsType())

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="sections")
    #: The top-level questions (sub-questions of a group hang from their group).
    questions: Mapped[list[Question]] = relationship(
        primaryjoin="and_(QuestionnaireSection.id == Question.section_id, Question.group_id.is_(None))",
        order_by="Question.position", lazy="selectin", viewonly=True)

    def __repr__(self) -> str:
        return f"<QuestionnaireSection {self.id} {self.key}>"


class Question(IdMixin, Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "key", name="uq_questions_key"),
                      UniqueConstraint("questionnaire_id", "tag", name="uq_questions_tag"))

    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_sections.id", ondelete="CASCADE"), index=True)
    #: Set for a sub-question of a repeatable group.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    #: A slug, unique per questionnaire: the answer's JSON key and the export column.
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[QuestionKind] = mapped_column(enum_column(QuestionKind, "question_kind"))
    label: Mapped[Texts] = mapped_column(TextsType())
    help_text: Mapped[Texts | None] = mapped_column(TextsType())
    required: Mapped[bool] = mapped_column(default=False)
    #: Hidden from reviewers in blind review.
    personal_data: Mapped[bool] = mapped_column(default=False)
    in_export: Mapped[bool] = mapped_column(default=True)
    #: An owner-defined meaning (e.g. "nationality"); the engine only stores it.
    tag: Mapped[str | None] = mapped_column(String(40))
    #: Kind-specific settings (limits, choices, file types); see the kinds.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: {"question": "<key of an earlier question>", "values": [...]}: shown only when that answer is one of them.
    condition: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    section: Mapped[QuestionnaireSection] = relationship()
    group: Mapped[Question | None] = relationship(back_populates="children", remote_side="Question.id")
    children: Mapped[list[Question]] = relationship(
        back_populates="group", order_by="Question.position", lazy="selectin", cascade="all, delete-orphan",
        passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Question {self.id} {self.key} {self.kind.value}>"


class Response(IdMixin, Base):
    """One respondent's answers to one questionnaire; the owner (e.g. an application) holds its foreign key."""

    __tablename__ = "responses"

    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship()
    # No passive deletes: SQLite does not enforce ON DELETE CASCADE, so the ORM deletes them with the response.
    answer_sets: Mapped[list[AnswerSet]] = relationship(
        back_populates="response", lazy="selectin", cascade="all, delete-orphan")
    facets: Mapped[list[AnswerFacet]] = relationship(lazy="select", cascade="all, delete-orphan")


class AnswerSet(IdMixin, Base):
    """The answers to one section: a JSON document of key → stored value."""

    __tablename__ = "answer_sets"
    __table_args__ = (UniqueConstraint("response_id", "section_id", name="uq_answer_sets_response_section"),)

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    #: RESTRICT: a section with answers is never removed from under them.
    section_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_sections.id", ondelete="RESTRICT"),
                                            index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    #: The questionnaire's version these answers were given against.
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    response: Mapped[Response] = relationship(back_populates="answer_sets")


class AnswerFacet(Base):
    """One chosen value of a choice, country or yes/no answer: what list filters join on."""

    __tablename__ = "answer_facets"
    __table_args__ = (Index("ix_answer_facets_question_value", "question_id", "value", "response_id"),)

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)

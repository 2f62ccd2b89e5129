"""A questionnaire's built structure (sections, questions, groups' sub-questions) kept per process, by version.

What it buys: the respondent's requests (a section page, a section save, a submit's completeness check) read the
whole form on every request: three statements (questionnaire, sections, questions with their sub-questions) and
the ORM's building of some thirty objects. During a deadline surge thousands of such requests read the same few
forms, so each process keeps each form's objects and a transaction reads only the row's version: one statement
by primary key, or none when the caller read it with its own row (`note_version`: the applicant's application
loads its call's form version in the same statement). `make bench-surge`, docs/performance.md: 3 of the 10
statements a section save lost in its second round (15 -> 5), with the ORM building of the form's objects.

How it stays right: the entry is keyed by what changes whenever the form does. Every change made through
questions.services bumps `version` (wording too) and `updated_at`; opening a call sets `structure_locked_at`;
a form deleted and another created with the same id differs in `created_at`. The row's values are read in every
request that uses the structure, so another process's change is seen at once. Changes flushed in this process by
any other path (a test or a script writing the rows) drop the entry of their questionnaire straight away.

What it costs: the kept objects are detached from any session and shared between requests, so they are read-only:
only the respondent's read paths use them (applications.answers.form_of); the builder and every service that
changes a form load their own objects in the request's session. Every relationship a reader follows is loaded
before the objects are kept (a detached object cannot load one later). One entry per questionnaire (its latest).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from fellowship.extensions import db
from fellowship.questions.models import Question, Questionnaire, QuestionnaireSection

#: questionnaire id -> (its row's VERSION_COLUMNS, the detached questionnaire with its sections and questions).
_KEPT: dict[int, tuple[tuple[Any, ...], Questionnaire]] = {}
_GUARD = threading.Lock()
#: Session info key: the structures whose version this transaction has checked (checked once per transaction).
_SEEN = "questionnaire_structures_seen"
#: Session info key: versions read by a caller along with its own rows (note_version).
_NOTED = "questionnaire_versions_noted"
#: What identifies a version of a questionnaire's structure (see above); a caller may read them in its own query.
VERSION_COLUMNS = (Questionnaire.version, Questionnaire.created_at, Questionnaire.updated_at,
                   Questionnaire.structure_locked_at)


def questionnaire_structure(questionnaire_id: int) -> Questionnaire:
    """The questionnaire with its sections and questions, read-only; the session's own copy if it holds one."""
    in_session = db.session.identity_map.get(inspect(Questionnaire).identity_key_from_primary_key(
        (questionnaire_id,)))
    if in_session is not None:  # the request already works on this form (it may be changing it): its view
        return in_session
    seen: dict[int, Questionnaire] = db.session.info.setdefault(_SEEN, {})
    if questionnaire_id in seen:  # already checked in this transaction
        return seen[questionnaire_id]
    key = db.session.info.get(_NOTED, {}).get(questionnaire_id)
    if key is None:
        key = tuple(db.session.execute(select(*VERSION_COLUMNS).where(Questionnaire.id == questionnaire_id)).one())
    kept = _KEPT.get(questionnaire_id)
    if kept is not None and kept[0] == key:
        questionnaire = kept[1]
    else:
        questionnaire = _build(questionnaire_id)
        with _GUARD:
            _KEPT[questionnaire_id] = (key, questionnaire)
    seen[questionnaire_id] = questionnaire
    return questionnaire


def note_version(questionnaire_id: int, key: tuple[Any, ...]) -> None:
    """Record the VERSION_COLUMNS of a questionnaire that a caller read along with its own row in this transaction
    (the applicant's application, with its call's form): the structure is then served without reading them again."""
    db.session.info.setdefault(_NOTED, {})[questionnaire_id] = key


def _build(questionnaire_id: int) -> Questionnaire:
    """Load the whole structure in a private session on the request's connection, then detach it."""
    session = Session(bind=db.session.connection())
    try:
        questionnaire = session.get_one(Questionnaire, questionnaire_id)
        # A group's sub-questions in one statement: the self-referential `children` is not eager-loaded through
        # section.questions (SQLAlchemy stops self-referential eager loads without a join_depth).
        children_of: dict[int, list[Question]] = {}
        for child in session.scalars(select(Question).where(Question.questionnaire_id == questionnaire_id,
                                                            Question.group_id.is_not(None))
                                     .order_by(Question.group_id, Question.position)):
            children_of.setdefault(child.group_id or 0, []).append(child)
        for section in questionnaire.sections:
            set_committed_value(section, "questionnaire", questionnaire)
            for question in section.questions:
                _complete(question, section, None, children_of)
        session.expunge_all()
    finally:
        session.close()
    return questionnaire


def _complete(question: Question, section: QuestionnaireSection, group: Question | None,
              children_of: dict[int, list[Question]]) -> None:
    """Set every relationship a reader follows (a detached object cannot load it later)."""
    set_committed_value(question, "section", section)
    set_committed_value(question, "group", group)
    if "children" in inspect(question).unloaded:
        set_committed_value(question, "children", children_of.get(question.id, []))
    for child in question.children:
        _complete(child, section, question, children_of)


def forget(questionnaire_id: int | None = None) -> None:
    """Drop the kept structure of one questionnaire (or of all)."""
    with _GUARD:
        if questionnaire_id is None:
            _KEPT.clear()
        else:
            _KEPT.pop(questionnaire_id, None)


@event.listens_for(Session, "after_flush")
def _forget_changed(session: Session, _context: Any) -> None:
    """A form's rows changed in this process by whatever path: its kept structure goes."""
    if not _KEPT and not session.info.get(_SEEN) and not session.info.get(_NOTED):
        return
    for group in (session.new, session.dirty, session.deleted):
        for obj in group:
            if isinstance(obj, (Questionnaire, QuestionnaireSection, Question)):
                questionnaire_id = obj.id if isinstance(obj, Questionnaire) else obj.questionnaire_id
                forget(questionnaire_id)
                session.info.get(_SEEN, {}).pop(questionnaire_id, None)
                session.info.get(_NOTED, {}).pop(questionnaire_id, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _check_again_next_transaction(session: Session) -> None:
    """Another process may change a form between two transactions: the next one reads its version again."""
    session.info.pop(_SEEN, None)
    session.info.pop(_NOTED, None)

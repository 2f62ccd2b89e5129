"""An application's answers through the questionnaire engine: the call's form, the applicant's response, saving a
section (with the profile projection) and what is still missing, section by section."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from fellowship.applications.form_template import default_application_form
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.applications.profile import PROJECTED, project
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.i18n.texts import current_locale
from fellowship.models import utcnow
from fellowship.questions.models import AnswerSet, Question, Questionnaire, QuestionnaireSection, Response
from fellowship.questions.structure import questionnaire_structure
from fellowship.signals import call_created

log = logging.getLogger(__name__)


def engine() -> Any:
    """The engine's services, imported on use (the engine is being built alongside this module)."""
    from fellowship.questions import services

    return services


def application_form(call: Call) -> Questionnaire:
    """The call's application form; a call that has none yet gets the default form (flushed, not committed)."""
    if call.questionnaire_id is not None:
        return db.session.get_one(Questionnaire, call.questionnaire_id)
    form = default_application_form()
    db.session.flush()
    call.questionnaire_id = form.id
    db.session.flush()
    log.info("call %s: the default application form attached (questionnaire %s)", call.id, form.id)
    return form


def attach_default_form(call: Call) -> None:
    """Give a new call the default application form (staff may then edit it or copy another call's)."""
    application_form(call)


def form_of(application: Application) -> Questionnaire:
    """The call's application form for reading: the structure this process keeps by version (questions.structure),
    one statement instead of three and no objects built; read-only (change a form through application_form)."""
    questionnaire_id = application.call.questionnaire_id
    if questionnaire_id is None:
        return application_form(application.call)
    return questionnaire_structure(questionnaire_id)


def section_of(questionnaire: Questionnaire, key: str) -> QuestionnaireSection | None:
    return next((s for s in questionnaire.sections if s.key == key), None)


def _loaded_response(response_id: int) -> Response:
    """The response, loaded once per session: the session's identity map holds objects weakly, so a response
    nobody kept was read again (with its answer sets) by each of a section save's steps, 8 of its 20 statements
    (make bench-surge). The session's `info` keeps it until the session ends, like the request's other objects."""
    kept: dict[int, Response] = db.session.info.setdefault("application_responses", {})
    if response_id not in kept:  # with its answer sets in the same statement
        kept[response_id] = db.session.scalars(_response_statement(), {"response_id": response_id}).unique().one()
    return kept[response_id]


@cache
def _response_statement() -> Select[Any]:
    """Built once per process, as permissions._application_statement and for the same reason (make bench-surge)."""
    return select(Response).where(Response.id == bindparam("response_id")).options(joinedload(Response.answer_sets))


def response_of(application: Application) -> Response:
    """The applicant's response to the call's form, created with the first answer."""
    if application.response_id is not None:
        return _loaded_response(application.response_id)
    response = engine().response_for(form_of(application))
    db.session.flush()
    application.response_id = response.id
    db.session.flush()
    return response


def answers_of(application: Application) -> dict[str, Any]:
    """Question key -> stored answer, over every section (empty before the first save)."""
    if application.response_id is None:
        return {}
    return engine().answers_of(_loaded_response(application.response_id))


def answers_of_many(response_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Response id -> (question key -> stored answer) for many responses, in one query."""
    found: dict[int, dict[str, Any]] = {rid: {} for rid in response_ids}
    if not response_ids:
        return found
    for response_id, data in db.session.execute(
            select(AnswerSet.response_id, AnswerSet.data).where(AnswerSet.response_id.in_(response_ids))):
        found[response_id].update(data or {})
    return found


def tagged_answers(questionnaire: Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """Tag -> answer for the questions tagged with a profile column (an unanswered one maps to None)."""
    return {question.tag: answers.get(question.key) for question in all_questions(questionnaire)
            if question.tag in PROJECTED}


def all_questions(questionnaire: Questionnaire) -> list[Question]:
    return [question for section in questionnaire.sections for question in section.questions]


def question_tagged(questionnaire: Questionnaire, tag: str) -> Question | None:
    return next((q for q in all_questions(questionnaire) if q.tag == tag), None)


def save_answers(application: Application, section: QuestionnaireSection, values: dict[str, Any], *,
                 locked: bool = False) -> Any:
    """Keep the section's well-formed answers and copy the tagged ones onto the application's profile columns
    (`locked`: the application's row was locked before its response was first read in this transaction)."""
    result = engine().save_section_answers(response_of(application), section, values, locked=locked)
    application.locale = current_locale()
    questionnaire = form_of(application)
    project(application, tagged_answers(questionnaire, answers_of(application)))
    _write_profile(application)
    return result


#: The columns a save may change on the applications row: the projected answers, what follows from them, the language.
_PROFILE_COLUMNS = (*PROJECTED, "search_name", "region", "locale")


def _write_profile(application: Application) -> None:
    """Write the profile columns a save changed, with one UPDATE of their own when the application is a draft.

    Why not the flush: a section save is the busiest write at a deadline, and the unit of work cost more than the
    statement (make bench-surge). A draft is in no ranking (`outside_ranking`); the staff list's cached figures
    still learn of a nationality change through the statement's listener (`touched_call_id`). Anything else (an
    application in another status, as the demo data writes, or other pending changes) goes through the flush."""
    state: Any = sa_inspect(application)
    if application.status is not ApplicationStatus.DRAFT or not state.persistent:
        db.session.flush()
        return
    changed = {key: getattr(application, key) for key in _PROFILE_COLUMNS if state.attrs[key].history.has_changes()}
    if any(key not in changed and state.attrs[key].history.has_changes() for key in state.committed_state):
        db.session.flush()
        return
    if not changed:
        return
    now = utcnow()
    with db.session.no_autoflush:  # the changes are written by this statement, not flushed before it
        db.session.execute(update(Application).where(Application.id == application.id)
                           .values(**changed, updated_at=now)
                           .execution_options(synchronize_session=False, outside_ranking=True,
                                              touched_call_id=application.call_id))
    for key, value in {**changed, "updated_at": now}.items():
        set_committed_value(application, key, value)


@dataclass(frozen=True)
class SectionStatus:
    """One section of the form and what is still needed in it (question key -> sentence)."""

    section: QuestionnaireSection
    missing: dict[str, str]

    @property
    def key(self) -> str:
        return self.section.key

    @property
    def name(self) -> str:
        """The section's key, as the templates' links name it."""
        return self.section.key

    @property
    def title(self) -> str:
        return str(self.section.title)


def section_missing(application: Application, section: QuestionnaireSection, answers: dict[str, Any]
                    ) -> dict[str, str]:
    """What the section still needs for these answers (question key -> sentence)."""
    if application.response_id is None:  # nothing saved yet: every required question shown
        return {q.key: _("This question needs an answer.") for q in engine().visible_questions(section, answers)
                if q.required}
    return engine().missing(db.session.get_one(Response, application.response_id), section, answers)


def section_statuses(application: Application, answers: dict[str, Any] | None = None) -> list[SectionStatus]:
    """Every section of the call's form with what is still missing (conditions evaluated on the answers)."""
    questionnaire = form_of(application)
    answers = answers_of(application) if answers is None else answers
    if application.response_id is None:
        return [SectionStatus(section, section_missing(application, section, answers))
                for section in questionnaire.sections]
    by_section = engine().missing_by_section(questionnaire, answers)  # the conditions walked once, not per section
    return [SectionStatus(section, by_section[section.id]) for section in questionnaire.sections]


@call_created.connect
def _give_new_call_the_default_form(call: Call, **_kwargs: Any) -> None:
    """Every new call starts with the default application form (signals.call_created)."""
    attach_default_form(call)


def file_answer(application: Application, key: str, entry: int | None = None, sub: str | None = None, *,
                hide_personal: bool = False) -> dict[str, Any] | None:
    """The stored file answer of question `key` (or of sub-question `sub` of entry `entry` of group `key`), if that
    question asks for a file and may be read (`hide_personal`: not a personal-data question); else None."""
    from fellowship.questions.kinds import QuestionKind

    questionnaire = form_of(application)
    question = next((q for q in all_questions(questionnaire) if q.key == key), None)
    if question is None or (hide_personal and question.personal_data):
        return None
    value = answers_of(application).get(key)
    if sub is not None:
        child = next((c for c in question.children if c.key == sub), None)
        if question.kind is not QuestionKind.GROUP or child is None or (hide_personal and child.personal_data):
            return None
        question = child
        entries = value if isinstance(value, list) else []
        value = entries[entry].get(sub) if entry is not None and 0 <= entry < len(entries) else None
    if question.kind is not QuestionKind.FILE or not isinstance(value, dict) or not value.get("key"):
        return None
    return value

"""Which questionnaire is a call's application form: start an empty one, or replace it by a copy of an earlier
call's. The questions themselves are built through the questions engine (fellowship.questions.services)."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import select

from fellowship.audit.services import record
from fellowship.calls.models import Call
from fellowship.calls.services import lock_call, lock_form_if_opened
from fellowship.errors import FieldError
from fellowship.extensions import db
from fellowship.i18n.texts import SOURCE_LOCALE, Texts
from fellowship.locks import lock_row
from fellowship.questions import services as questions
from fellowship.questions.models import Questionnaire, Response

log = logging.getLogger(__name__)


def form_of(call: Call) -> Questionnaire | None:
    """The call's application form, if it has one."""
    return db.session.get(Questionnaire, call.questionnaire_id) if call.questionnaire_id else None


def start_empty_form(call: Call) -> Questionnaire:
    """Give a call without a form an empty one (a second click finds the first one's form and keeps it)."""
    lock_call(call.id)  # two clicks at once: the second waits, then sees the form the first one started
    db.session.refresh(call, ["questionnaire_id"])
    existing = form_of(call)
    if existing is not None:
        return existing
    questionnaire = questions.create_questionnaire({SOURCE_LOCALE: _("Application form")})
    db.session.flush()
    call.questionnaire_id = questionnaire.id
    lock_form_if_opened(call)
    record("calls.form_started", call, questionnaire_id=questionnaire.id)
    log.info("call %s starts an empty application form (questionnaire %s)", call.id, questionnaire.id)
    return questionnaire


def copy_form(call: Call, source_call: Call) -> Questionnaire:
    """Replace the call's form by a copy of `source_call`'s; refused once the call's form is locked (answers may
    hang on its questions). The replaced form goes when nothing answers it."""
    if source_call.id == call.id:
        raise FieldError("source_call_id", _("Choose another call than this one."))
    source = form_of(source_call)
    if source is None:
        raise FieldError("source_call_id", _("That call has no form to copy."))
    lock_call(call.id)  # the call's form cannot be swapped twice at once
    db.session.refresh(call, ["questionnaire_id"])
    current = form_of(call)
    if current is not None:
        lock_row(Questionnaire, current.id)  # lock_structure takes this row too: opening and copying cannot cross
        db.session.refresh(current, ["structure_locked_at"])
        if current.structure_locked_at is not None:
            raise FieldError("source_call_id", _("This call has opened, so its form can no longer be replaced "
                                                 "(answers may already hang on its questions). Its wording can "
                                                 "still change."))
    copy = questions.copy_questionnaire(source, title=Texts(current.title) if current else None)
    db.session.flush()
    call.questionnaire_id = copy.id
    db.session.flush()
    if current is not None and not _answered(current):
        db.session.delete(current)
        db.session.flush()
    lock_form_if_opened(call)
    record("calls.form_copied", call, questionnaire_id=copy.id, source_call_id=source_call.id)
    log.info("call %s takes a copy of call %s's form (questionnaire %s)", call.id, source_call.id, copy.id)
    return copy


def _answered(questionnaire: Questionnaire) -> bool:
    return db.session.scalar(select(Response.id).where(Response.questionnaire_id == questionnaire.id).limit(1)) \
        is not None


"""Who may see and change an application; objects another user may not see give 404."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager

from fellowship.applications.models import Application
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.locks import lock_row
from fellowship.questions.models import Questionnaire
from fellowship.questions.structure import VERSION_COLUMNS, note_version


def can_view_application(user: User, application: Application) -> bool:
    """The applicant themself, staff and admins, and reviewers assigned to it without a conflict."""
    from fellowship.selection.permissions import reviewer_may_see

    if not user.is_authenticated:
        return False
    if application.applicant_id == user.id or user.has_role(Role.STAFF, Role.ADMIN):
        return True
    return user.has_role(Role.REVIEWER) and reviewer_may_see(user.id, application.id)


@cache
def _application_statement(for_update: bool) -> Any:
    """The application with its call and its call's form's version, by the bound `application_id`.

    Built once per process: building and keying this statement cost ~0.5 ms of every applicant request, a tenth of
    a bare write (make bench-surge); a statement object reused keeps its cache key (SQLAlchemy memoises it)."""
    # The call comes joined; its quotas and rubric only when a page reads them (no application page of the
    # applicant does: two statements saved on each of a section save's 16, make bench-surge). The call's form's
    # version comes along, so the form's structure kept by the process is served without another statement.
    stmt = (select(Application, *VERSION_COLUMNS).join(Application.call)
            .outerjoin(Questionnaire, Questionnaire.id == Call.questionnaire_id)
            .where(Application.id == bindparam("application_id"))
            .options(contains_eager(Application.call).lazyload(Call.quotas),
                     contains_eager(Application.call).lazyload(Call.criteria)))
    if for_update:  # the application's row only (not its call's: saves of one call must not queue), read afresh
        stmt = stmt.with_for_update(of=Application, key_share=True).execution_options(populate_existing=True)
    return stmt


def get_application_or_404(application_id: int, *, owner_only: bool = False,
                           for_update: bool = False) -> Application:
    """Load an application the current user may see (with `owner_only`, only their own), else 404."""
    if for_update and db.session.get_bind().dialect.name == "sqlite":
        lock_row(Application, application_id)
    stmt = _application_statement(for_update)
    row = db.session.execute(stmt, {"application_id": application_id}).first()
    if row is None:
        abort(404)
    application = row[0]
    if application.call.questionnaire_id is not None and row[1] is not None:
        note_version(application.call.questionnaire_id, tuple(row[1:]))
    if owner_only:
        if application.applicant_id != current_user.id:
            abort(404)
    elif not can_view_application(current_user, application):
        abort(404)
    return application

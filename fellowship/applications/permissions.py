"""Who may see and change an application; objects another user may not see give 404."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select
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


def get_application_or_404(application_id: int, *, owner_only: bool = False,
                           for_update: bool = False) -> Application:
    """Load an application the current user may see (with `owner_only`, only their own), else 404."""
    # The call comes joined; its quotas and rubric only when a page reads them (no application page of the
    # applicant does: two statements saved on each of a section save's 16, make bench-surge). The call's form's
    # version comes along, so the form's structure kept by the process is served without another statement.
    stmt = (select(Application, *VERSION_COLUMNS).join(Application.call)
            .outerjoin(Questionnaire, Questionnaire.id == Call.questionnaire_id)
            .where(Application.id == application_id)
            .options(contains_eager(Application.call).lazyload(Call.quotas),
                     contains_eager(Application.call).lazyload(Call.criteria)))
    if for_update:  # the application's row only (not its call's: saves of one call must not queue), read afresh
        if db.session.get_bind().dialect.name == "sqlite":
            lock_row(Application, application_id)
        stmt = stmt.with_for_update(of=Application, key_share=True).execution_options(populate_existing=True)
    row = db.session.execute(stmt).first()
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

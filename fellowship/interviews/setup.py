"""An interview stage's panel and rubric, set by staff on the interview page (selection's StagePanelMember and
StageCriterion rows: selection has no page for a later stage's panel and rubric, and the interviews area is above
it, so it may write them)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from fellowship.audit.services import record
from fellowship.auth.models import Role, User
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.locks import lock_row
from fellowship.selection.models import SelectionStage, StageCriterion, StagePanelMember

PANEL_ROLES = (Role.REVIEWER, Role.STAFF, Role.ADMIN)


def add_interviewer(stage: SelectionStage, email: str, by: User) -> User:
    """Put the account with this email (a reviewer or staff) on the stage's panel."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.has_role(*PANEL_ROLES):
        raise DomainError(_("No reviewer or staff account has this email."))
    lock_row(SelectionStage, stage.id)
    exists = db.session.scalar(select(StagePanelMember.id).where(StagePanelMember.stage_id == stage.id,
                                                                StagePanelMember.user_id == user.id))
    if exists is None:
        db.session.add(StagePanelMember(stage_id=stage.id, user_id=user.id))
        db.session.flush()
        record("interviews.panel_member_added", stage, actor_id=by.id, call_id=stage.call_id, user_id=user.id)
    return user


def add_criterion(stage: SelectionStage, name: str, weight: Decimal, description: str, by: User) -> StageCriterion:
    """Add a criterion (scored 1-5, weighted) to the interview stage's rubric."""
    if not name.strip():
        raise DomainError(_("Name the criterion."))
    if weight <= 0:
        raise DomainError(_("A criterion's weight is more than zero."))
    lock_row(SelectionStage, stage.id)
    position = (db.session.scalar(select(func.max(StageCriterion.position))
                                  .where(StageCriterion.stage_id == stage.id)) or 0) + 1
    criterion = StageCriterion(stage_id=stage.id, position=position, name=name.strip(), weight=weight,
                               description=description.strip())
    db.session.add(criterion)
    db.session.flush()
    record("interviews.criterion_added", stage, actor_id=by.id, call_id=stage.call_id, name=criterion.name,
           weight=str(weight))
    return criterion

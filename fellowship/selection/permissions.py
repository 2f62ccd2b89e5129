"""Reviewers see only applications assigned to them, and never one they have a conflict with."""

from __future__ import annotations

from sqlalchemy import exists, select

from fellowship.extensions import db
from fellowship.selection.models import Assignment, AssignmentStatus, Conflict, StageAssignment


def reviewer_may_see(reviewer_id: int, application_id: int) -> bool:
    """An active assignment (in the first review round or a later one) and no conflict of interest (declared,
    automatic or a recusal)."""
    assigned = exists().where(Assignment.application_id == application_id, Assignment.reviewer_id == reviewer_id,
                              Assignment.status == AssignmentStatus.ACTIVE) | exists().where(
        StageAssignment.application_id == application_id, StageAssignment.reviewer_id == reviewer_id,
        StageAssignment.status == AssignmentStatus.ACTIVE)
    conflicted = exists().where(Conflict.application_id == application_id, Conflict.reviewer_id == reviewer_id)
    return bool(db.session.scalar(select(assigned & ~conflicted)))

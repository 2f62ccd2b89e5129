"""Factories for the selection models: rubric criteria, panel membership, assignments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from fellowship.auth.models import Role
from fellowship.calls.models import Call, RubricCriterion
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.selection.models import Assignment, AssignmentStatus, CallReviewer
from tests.factories import CallFactory, UserFactory

LEVELS = {"1": "Poor", "2": "Weak", "3": "Adequate", "4": "Strong", "5": "Outstanding"}


class RubricCriterionFactory(SQLAlchemyModelFactory):
    class Meta:
        model = RubricCriterion
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    call = factory.SubFactory(CallFactory)
    position = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"Criterion {n}")
    description = "How well the application meets this criterion."
    weight = Decimal("1")
    level_descriptions = factory.LazyFunction(lambda: dict(LEVELS))


def add_rubric(call: Call, *weights: str | int | Decimal) -> list[RubricCriterion]:
    """Give `call` one criterion per weight, in order, and return them."""
    criteria = [RubricCriterionFactory(call=call, position=i, name=f"Criterion {chr(65 + i)}", weight=Decimal(w))
                for i, w in enumerate(weights)]
    db.session.refresh(call)
    return criteria


class AssignmentFactory(SQLAlchemyModelFactory):
    """An active assignment due in two weeks; give `application` and `reviewer_id` (the call follows)."""

    class Meta:
        model = Assignment
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    call_id = factory.LazyAttribute(lambda o: o.application.call_id)
    application_id = factory.LazyAttribute(lambda o: o.application.id)
    status = AssignmentStatus.ACTIVE
    due_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=14))

    class Params:
        application = None


def panel_reviewer(call: Call, *, cap: int | None = None, institution: str | None = None,
                   nationality: str | None = None, **user_fields: object):
    """A user with the reviewer role, on `call`'s panel (committed); returns the user."""
    user = UserFactory(roles=[Role.REVIEWER], **user_fields)
    db.session.add(CallReviewer(call_id=call.id, reviewer_id=user.id, max_assignments=cap,
                                institution=institution, nationality=nationality))
    db.session.commit()
    return user

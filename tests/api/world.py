"""A demo-like world for the staff API resources (reviews, rankings, fellows, alumni), built through the services,
and bearer tokens for its people."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fellowship.alumni.models import FollowUpStatus, LeadershipLevel
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role, User
from fellowship.auth.tokens import Scope, scopes_allowed
from fellowship.calls.models import Call, RegionalQuota
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.models import utcnow
from fellowship.selection import review_rounds
from fellowship.selection.models import (
    AssignmentStatus,
    Recommendation,
    SelectionStage,
    StageAssignment,
    StageKind,
)
from fellowship.selection.reviewing import save_review
from fellowship.selection.stages import ensure_stages
from tests.alumni.factories import FellowFactory, add_career, add_follow_up, add_response, make_alumnus
from tests.api.helpers import bearer, token_for
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.selection.factories import AssignmentFactory, add_rubric, panel_reviewer
from tests.snapshots import TableSnapshot, put_data

#: (given name, family name, nationality) of the call's applicants; Africa has a 50% quota of 2 places.
APPLICANTS = [("Wanjiru", "Kamau", "KE"), ("Thi Lan", "Nguyen", "VN"), ("Kwame", "Mensah", "GH"),
              ("Siti", "Rahayu", "ID"), ("Nusrat", "Hossain", "BD")]
#: Scores (criterion A, criterion B) each of the two reviewers gives each applicant, in APPLICANTS' order.
SCORES = [((3, 3), (2, 3)), ((5, 5), (4, 5)), ((3, 2), (3, 3)), ((4, 4), (5, 4)), ((2, 2), (1, 2))]
#: The second round's one score for the first four (the fifth is not reviewed in it, so it is not ranked). Combined
#: (first round 100, second 40), the order is Thi Lan, Siti, Kwame, Wanjiru: Kwame takes Africa's quota seat.
SECOND_ROUND = (1, 5, 2, 5)


@dataclass
class World:
    staff: User
    admin: User
    reviewer: User
    other_reviewer: User
    applicant: User
    call: Call
    applications: list[Application]
    second_round: SelectionStage
    fellows: list[Fellow] = field(default_factory=list)
    alumni: list[Fellow] = field(default_factory=list)


def build_world() -> World:
    """One blind call in two review rounds (5 applications, 2 reviewers each in the first round, one in the second,
    every review submitted through the services), 2 places with an Africa quota of 50%; a 2026 cohort of 3 fellows
    (2 in Japan, 1 before arrival); 3 alumni of a 2022 cohort with careers, follow-ups and answers."""
    staff = UserFactory(email="staff@example.org", full_name="Sora Staff", roles=[Role.STAFF])
    admin = UserFactory(email="admin@example.org", full_name="Ada Admin", roles=[Role.ADMIN, Role.STAFF])
    call = CallFactory(title="Call 2030", year=2030, places=2, blind_review=True)
    call.quotas = [RegionalQuota(region="Africa", min_share_percent=50)]
    db.session.commit()
    first, second = add_rubric(call, "1", "2")
    reviewer = panel_reviewer(call, email="reviewer@example.org", full_name="Rin Reviewer")
    other = panel_reviewer(call, email="other@example.org", full_name="Oda Other")
    applicant_user = UserFactory(email="applicant@example.org", full_name="Amani Applicant")
    applications = []
    for n, (given, family, country) in enumerate(APPLICANTS):
        application = submitted_application(call, applicant=applicant_user if n == 0 else UserFactory(),
                                            given_name=given, family_name=family, nationality=country,
                                            country_of_residence=country)
        applications.append(application)
        for reviewer_user, (a, b) in zip((reviewer, other), SCORES[n], strict=True):
            assignment = AssignmentFactory(application=application, reviewer_id=reviewer_user.id)
            save_review(assignment, {first.id: a, second.id: b}, f"Review {n + 1}.",
                        Recommendation.SUPPORT, submit=True)
            db.session.commit()

    stages = ensure_stages(call)
    second_round = SelectionStage(call_id=call.id, position=stages[-1].position + 1, kind=StageKind.REVIEW,
                                  name="Second review", weight=40)
    db.session.add(second_round)
    db.session.flush()
    criterion = review_rounds.add_criterion(second_round, "Leadership", Decimal("1"), "", staff)
    for application, score in zip(applications[:4], SECOND_ROUND, strict=True):
        round_assignment = StageAssignment(stage_id=second_round.id, call_id=call.id, application_id=application.id,
                                           reviewer_id=reviewer.id, status=AssignmentStatus.ACTIVE,
                                           due_at=utcnow() + timedelta(days=7))
        db.session.add(round_assignment)
        db.session.flush()
        review_rounds.save_review(round_assignment, {criterion.id: score}, "Second look.", submit=True)
    db.session.commit()

    cohort = CallFactory(title="Call 2026", year=2026)
    fellows = [FellowFactory(application=submitted_application(cohort, status=ApplicationStatus.OFFER_ACCEPTED,
                                                              nationality=country), status=status)
               for country, status in (("KE", FellowStatus.IN_JAPAN), ("VN", FellowStatus.IN_JAPAN),
                                       ("NP", FellowStatus.PRE_ARRIVAL))]
    older = CallFactory(title="Call 2022", year=2022)
    alumni = []
    # Kenya: back home, a manager; Viet Nam: lives in the UK; Ghana: has not answered (overdue), no career entry.
    for n, (country, residence) in enumerate((("KE", "KE"), ("VN", "GB"), ("GH", None))):
        alumnus = make_alumnus(older, returned_on=date(2024, 9, 1) + timedelta(days=n),
                               application_fields={"nationality": country}, directory_opt_in=n == 0)
        alumni.append(alumnus)
        if residence is not None:
            follow_up = add_follow_up(alumnus, 6, FollowUpStatus.COMPLETED, sent_at=utcnow(), completed_at=utcnow())
            add_response(follow_up, residence)
            add_career(alumnus, level=LeadershipLevel.MANAGER if n == 0 else None)
        else:
            add_follow_up(alumnus, 6, FollowUpStatus.OVERDUE, sent_at=utcnow())
    return World(staff=staff, admin=admin, reviewer=reviewer, other_reviewer=other, applicant=applicant_user,
                 call=call, applications=applications, second_round=second_round, fellows=fellows, alumni=alumni)


#: The model of each of World's fields (a list field holds rows of that model).
WORLD_MODELS: dict[str, type[Any]] = {
    "staff": User, "admin": User, "reviewer": User, "other_reviewer": User, "applicant": User, "call": Call,
    "applications": Application, "second_round": SelectionStage, "fellows": Fellow, "alumni": Fellow,
}


def world_ids(world: World) -> dict[str, Any]:
    """The ids of the world's rows, by field (a list of ids for a list field)."""
    return {name: [row.id for row in value] if isinstance(value, list) else value.id
            for name, value in ((f.name, getattr(world, f.name)) for f in fields(World))}


def world_of(ids: dict[str, Any]) -> World:
    """The World whose rows have `ids`, read in the current session."""
    def row(name: str, row_id: int) -> Any:
        return db.session.get_one(WORLD_MODELS[name], row_id)

    return World(**{name: [row(name, i) for i in value] if isinstance(value, list) else row(name, value)
                    for name, value in ids.items()})


def put_world(snapshot: TableSnapshot) -> World:
    """build_world()'s rows, committed: built once, then put back row for row from `snapshot` (tests/snapshots.py)."""
    def build() -> dict[str, Any]:
        world = build_world()
        db.session.commit()
        return world_ids(world)

    return world_of(put_data(snapshot, build))


def token_header(user: User, scopes: list[Scope] | None = None, *, days: int = 30) -> dict[str, str]:
    """An Authorization header with a new committed token of `user` holding `scopes` (default: every scope the
    user's roles allow)."""
    wanted = [s.value for s in (scopes if scopes is not None else scopes_allowed(user))]
    return bearer(token_for(user, *wanted, days=days))

"""An interview world for the interviews tests: a call with review (60%) -> confirmed shortlist -> interview (40%),
an interviewer on the panel, a two-criterion rubric, and shortlisted candidates living in Dakar."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from fellowship.applications.models import Application
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.interviews import services, setup
from fellowship.interviews.models import InterviewMode, InterviewSlot
from fellowship.models import utcnow
from fellowship.selection.models import SelectionStage, StageKind, StageResult
from fellowship.selection.stages import ensure_stages
from fellowship.timezones import utc_to_local
from tests.factories import CallFactory, UserFactory, submitted_application

YEARS = itertools.count(2200)


@dataclass
class World:
    call: Call
    staff: User
    interviewer: User
    shortlist: SelectionStage
    interview: SelectionStage
    candidates: list[Application] = field(default_factory=list)

    def candidate_user(self, index: int) -> User:
        return db.session.get_one(User, self.candidates[index].applicant_id)


def make_world(candidates: int = 2, zone: str = "Africa/Dakar") -> World:
    call = CallFactory(year=next(YEARS))
    staff = UserFactory(roles=[Role.STAFF], full_name="Chair Person")
    interviewer = UserFactory(roles=[Role.REVIEWER], full_name="Ines Interviewer", time_zone="Asia/Dhaka")
    review = ensure_stages(call)[0]
    review.weight = 60
    shortlist = SelectionStage(call_id=call.id, position=2, kind=StageKind.SHORTLIST, name="Shortlist",
                               advance_count=candidates, advanced_at=utcnow(), advanced_by_id=staff.id)
    interview = SelectionStage(call_id=call.id, position=3, kind=StageKind.INTERVIEW, name="Interview", weight=40)
    db.session.add_all([shortlist, interview])
    db.session.flush()
    setup.add_interviewer(interview, interviewer.email, staff)
    setup.add_criterion(interview, "Leadership", Decimal(2), "", staff)
    setup.add_criterion(interview, "Commitment to return", Decimal(1), "", staff)
    world = World(call, staff, interviewer, shortlist, interview)
    for n in range(candidates):
        user = UserFactory(time_zone=zone, full_name=f"Candidate {n}")
        application = submitted_application(call, applicant=user)
        db.session.add(StageResult(stage_id=shortlist.id, application_id=application.id, call_id=call.id,
                                   advanced=True, position=n + 1, reason="Advances."))
        world.candidates.append(application)
    db.session.commit()
    return world


def add_slot(world: World, starts_in: timedelta, capacity: int = 1,
             mode: InterviewMode = InterviewMode.VIDEO) -> InterviewSlot:
    """A slot starting `starts_in` from now (entered, as staff do, in the programme's zone)."""
    starts: datetime = utcnow() + starts_in
    local = utc_to_local(starts, world.call.time_zone).replace(tzinfo=None, second=0, microsecond=0)
    slot = services.create_slot(world.call, world.interview, services.SlotSettings(
        starts_local=local, duration_minutes=45, capacity=capacity, mode=mode,
        location="https://meet.example.org/elf", panel_ids=(world.interviewer.id,)), world.staff)
    db.session.commit()
    return slot

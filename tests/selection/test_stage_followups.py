"""Issue 15, part 2's follow-ups: a not-shortlisted candidate's decision says so; a referee invited at shortlist
is given the letter's own due date, not the call's passed deadline."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from fellowship.applications.models import Referee, RefereeStatus
from fellowship.calls.models import CallStatus
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.referees.services import LETTER_DAYS_AT_SHORTLIST
from fellowship.selection import decisions, stages
from fellowship.selection.models import Decision, SelectionStage, StageKind
from fellowship.selection.reviewing import lock_panel
from fellowship.timezones import format_in_zone
from tests.selection.test_stages import ranked, shortlist_stage  # noqa: F401  (the worked example's fixture)


def test_candidates_not_shortlisted_are_rejected_with_the_shortlists_name_as_reason(ranked, staff):  # noqa: F811
    cut = shortlist_stage(ranked, staff, interview_weight=60)
    cut.name = "Embassy sift"
    stages.confirm_advancing(ranked.call, cut, staff)
    interview = next(s for s in stages.stages_of(ranked.call.id) if s.kind is StageKind.INTERVIEW)
    stages.store_stage_scores(interview, [(ranked.apps[n].id, Decimal(v), Decimal(v), 2)
                                          for n, v in {2: "3", 4: "5", 3: "4", 5: "2"}.items()])
    lock_panel(ranked.call, staff)
    db.session.commit()
    decisions.record_from_proposal(ranked.call, staff, waitlist_size=1)
    db.session.commit()
    reasons = dict(db.session.execute(select(Decision.application_id, Decision.reason)).all())
    assert reasons[ranked.apps[1].id] == "Not shortlisted at Embassy sift."
    assert reasons[ranked.apps[2].id].startswith("Waitlist position 1 (rank 3).")


def test_a_referee_invited_at_shortlist_is_given_the_letters_due_date_not_the_calls_deadline(ranked, staff):  # noqa: F811
    call = ranked.call
    call.references_at_shortlist = True
    referee = Referee(application_id=ranked.apps[2].id, name="Dr. Late", email="late@uni.example",
                      relation="Supervisor", status=RefereeStatus.INVITED)
    db.session.add(referee)
    call.closes_at, call.status = utcnow() - timedelta(days=3), CallStatus.REVIEWING
    stage = SelectionStage(call_id=call.id, position=2, kind=StageKind.SHORTLIST, name="Shortlist", advance_count=4)
    db.session.add(stage)
    db.session.commit()
    stages.confirm_advancing(call, stage, staff)
    db.session.commit()
    db.session.refresh(referee)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "late@uni.example"))
    assert message is not None and referee.invited_at is not None
    due = format_in_zone(referee.invited_at + LETTER_DAYS_AT_SHORTLIST, call.time_zone)
    passed = format_in_zone(call.closes_at, call.time_zone)
    assert message.context["deadline"] == due and due != passed

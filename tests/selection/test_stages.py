"""Selection in stages (issue 15): advancing at a shortlist by top N or by quota, the chair's adjustments, the
"not shortlisted" emails once each, references at shortlist, and the final ranking combining stages by weight.

The worked example is `tests.selection.test_ranking_page.Ranked` (normalised review scores: 2 Asia 4.40,
4 Americas 4.10, 1 Asia 3.90, 3 Africa 3.50, 5 Africa 3.00, 6 Asia no review; Africa at least 50%).
A shortlist advancing 4 with the quota: Africa needs ceil(50% x 4) = 2 seats, so 3 and 5; the other two places go
by rank to 2 and 4. 5 is moved up over 1 (rank 3), who does not advance; 6 has no score and does not advance.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from fellowship.applications.models import Referee, RefereeStatus
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import User
from fellowship.calls.models import CallStatus
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.referees.services import add_referee, letter_link, referee_for_token
from fellowship.selection import stages
from fellowship.selection.models import SelectionStage, StageKind, StageResult
from tests.conftest import submit_form
from tests.factories import ApplicationFactory, CallFactory
from tests.selection.test_ranking_page import Ranked, make_ranked, ranking_page, row


@pytest.fixture
def ranked(app_ctx) -> Ranked:
    return make_ranked()


def shortlist_stage(ranked: Ranked, staff, *, count: int = 4, by_quota: bool = True,
                    interview_weight: int | None = None) -> SelectionStage:
    """review (the call's) -> shortlist of `count` -> interview (when a weight is given)."""
    call = ranked.call
    cut = stages.add_stage(call, stages.StageSettings(StageKind.SHORTLIST, "Shortlist", advance_count=count,
                                                      advance_by_quota=by_quota), staff)
    if interview_weight is not None:
        interview = stages.add_stage(call, stages.StageSettings(StageKind.INTERVIEW, "Interview",
                                                                weight=interview_weight), staff)
        review = stages.first_review_stage(stages.stages_of(call.id))
        assert review is not None
        stages.set_weights(call, {review.id: 100 - interview_weight, interview.id: interview_weight}, staff)
    db.session.commit()
    return cut


def numbers(ranked: Ranked, ids: list[int]) -> list[int]:
    back = {a.id: n for n, a in ranked.apps.items()}
    return [back[i] for i in ids]


def not_shortlisted_emails() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.template == "selection/not_shortlisted")) or 0


def test_advancing_by_quota_per_stage_follows_the_worked_example(ranked, staff):
    stage = shortlist_stage(ranked, staff)
    cut = stages.propose_cut(ranked.call, stage)
    assert numbers(ranked, [line.application_id for line in cut.advancing]) == [2, 4, 3, 5]
    assert numbers(ranked, [line.application_id for line in cut.not_advancing]) == [1, 6]
    reasons = {n: line.reason for line in (*cut.advancing, *cut.not_advancing)
               for n in numbers(ranked, [line.application_id])}
    assert reasons[5] == "Advances: rank 5, to meet the Africa quota."
    assert reasons[3] == "Advances: rank 4."
    assert reasons[1] == "Does not advance: rank 3, below the 4 places."
    assert reasons[6] == "Does not advance: no score in the stages before the shortlist."
    assert any("Africa needs at least 2 of 4 places (50%)" in line for line in cut.explanation)


def test_advancing_the_top_n_without_quota_takes_the_best_ranked(ranked, staff):
    stage = shortlist_stage(ranked, staff, by_quota=False)
    cut = stages.propose_cut(ranked.call, stage)
    assert numbers(ranked, [line.application_id for line in cut.advancing]) == [2, 4, 1, 3]


def test_the_chairs_adjustment_at_a_shortlist_counts_with_its_reason(ranked, staff):
    stage = shortlist_stage(ranked, staff)
    with pytest.raises(DomainError, match="Give a reason"):
        stages.adjust_at_stage(ranked.call, stage, ranked.apps[4], "exclude", " ", staff)
    stages.adjust_at_stage(ranked.call, stage, ranked.apps[4], "exclude", "Withdrew from the interview dates.", staff)
    db.session.commit()
    cut = stages.propose_cut(ranked.call, stage)
    assert numbers(ranked, [line.application_id for line in cut.advancing]) == [2, 1, 3, 5]
    four = next(line for line in cut.not_advancing if line.application_id == ranked.apps[4].id)
    assert four.reason == "Does not advance: excluded by the chair."
    assert four.adjustment_reason == "Withdrew from the interview dates."


def test_confirming_fixes_the_cut_once_and_emails_nobody(ranked, staff):
    stage = shortlist_stage(ranked, staff)
    stages.confirm_advancing(ranked.call, stage, staff)
    db.session.commit()
    results = dict(db.session.execute(select(StageResult.application_id, StageResult.advanced)
                                      .where(StageResult.stage_id == stage.id)).all())
    assert sorted(numbers(ranked, [i for i, advanced in results.items() if advanced])) == [2, 3, 4, 5]
    assert sorted(numbers(ranked, [i for i, advanced in results.items() if not advanced])) == [1, 6]
    assert not_shortlisted_emails() == 0  # not before staff send the stage's outcome
    with pytest.raises(DomainError, match="already been confirmed"):
        stages.confirm_advancing(ranked.call, stage, staff)
    with pytest.raises(DomainError, match="confirmed"):
        stages.adjust_at_stage(ranked.call, stage, ranked.apps[1], "include", "Late change.", staff)


def test_not_shortlisted_emails_go_out_when_the_outcome_is_sent_once_each(ranked, staff):
    stage = shortlist_stage(ranked, staff)
    with pytest.raises(DomainError, match="Confirm who advances"):
        stages.send_outcome(ranked.call, stage, staff)
    stages.confirm_advancing(ranked.call, stage, staff)
    db.session.commit()
    assert stages.send_outcome(ranked.call, stage, staff) == 2
    db.session.commit()
    assert stages.send_outcome(ranked.call, stage, staff) == 0  # a second send emails nobody again
    db.session.commit()
    recipients = set(db.session.scalars(select(OutboxMessage.recipient)
                                        .where(OutboxMessage.template == "selection/not_shortlisted")))
    assert not_shortlisted_emails() == 2
    applicants = {ranked.apps[n].applicant_id for n in (1, 6)}
    assert recipients == set(db.session.scalars(select(User.email).where(User.id.in_(applicants))))
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("selection.stage%"))))
    assert {"selection.stage_added", "selection.stage_advanced", "selection.stage_outcome_sent"} <= actions


def test_the_outcome_pages_confirm_before_sending(staff_client, ranked, staff):
    stage = shortlist_stage(ranked, staff)
    page = staff_client.get(f"/staff/calls/{ranked.call.id}/stages/{stage.id}/confirm")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Confirm who advances at Shortlist?" in html
    assert "4 candidates advance" in html and "2 do not" in html
    assert db.session.scalar(select(SelectionStage.advanced_at).where(SelectionStage.id == stage.id)) is None
    confirm = f"/staff/calls/{ranked.call.id}/stages/{stage.id}/confirm"
    assert submit_form(staff_client, confirm, {}).status_code == 302
    sending = staff_client.get(f"/staff/calls/{ranked.call.id}/stages/{stage.id}/outcome").get_data(as_text=True)
    assert "2 candidates who did not advance will be emailed" in sending
    assert not_shortlisted_emails() == 0
    assert submit_form(staff_client, f"/staff/calls/{ranked.call.id}/stages/{stage.id}/outcome", {}).status_code == 302
    assert not_shortlisted_emails() == 2


def test_references_at_shortlist_invite_only_shortlisted_candidates_referees(ranked, staff):
    call = ranked.call
    call.references_at_shortlist = True
    db.session.commit()
    # Named while the call is open: no invitation, no link.
    draft = ApplicationFactory(call=call)
    named = add_referee(draft, "Dr. Named", "named@uni.example", "Supervisor")
    db.session.commit()
    assert named.invited_at is None and named.link_nonce is None
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient == "named@uni.example")) == 0
    referees = {}
    for n, application in ranked.apps.items():
        referees[n] = Referee(application_id=application.id, name=f"Referee {n}", email=f"ref{n}@uni.example",
                              relation="Supervisor", status=RefereeStatus.INVITED)
        db.session.add(referees[n])
    call.closes_at, call.status = utcnow() - timedelta(days=1), CallStatus.REVIEWING
    db.session.commit()

    stage = SelectionStage(call_id=call.id, position=2, kind=StageKind.SHORTLIST, name="Shortlist", advance_count=4,
                           advance_by_quota=True)
    db.session.add(stage)
    db.session.commit()
    stages.confirm_advancing(call, stage, staff)
    db.session.commit()
    invited = set(db.session.scalars(select(OutboxMessage.recipient)
                                     .where(OutboxMessage.template == "referees/invitation")))
    assert invited == {"ref2@uni.example", "ref4@uni.example", "ref3@uni.example", "ref5@uni.example"}
    for n in (1, 6):
        db.session.refresh(referees[n])
        assert referees[n].invited_at is None
    # The shortlisted candidate's referee can upload after the deadline: the letter counts for the interview.
    db.session.refresh(referees[3])
    token = letter_link(referees[3]).rsplit("/", 1)[1]
    assert referee_for_token(token).id == referees[3].id


def test_a_call_without_references_at_shortlist_invites_when_named(app_ctx):
    draft = ApplicationFactory(call=CallFactory())
    referee = add_referee(draft, "Dr. Now", "now@uni.example", "Supervisor")
    db.session.commit()
    assert referee.invited_at is not None and referee.link_nonce
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient == "now@uni.example")) == 1


def test_the_final_ranking_combines_the_stages_by_their_weights(staff_client, ranked, staff):
    stage = shortlist_stage(ranked, staff, interview_weight=60)
    stages.confirm_advancing(ranked.call, stage, staff)
    db.session.commit()
    ranking_page(staff_client, ranked.call)  # stores the proposal: the interview scores must make it stale
    interview = next(s for s in stages.stages_of(ranked.call.id) if s.kind is StageKind.INTERVIEW)
    interview_scores = {2: "3.00", 4: "5.00", 3: "4.00", 5: "2.00"}
    stages.store_stage_scores(interview, [(ranked.apps[n].id, Decimal(v), Decimal(v), 2)
                                          for n, v in interview_scores.items()])
    db.session.commit()

    html = ranking_page(staff_client, ranked.call)
    # Combined = 40% review + 60% interview: 4 -> 4.64, 3 -> 3.80, 2 -> 3.56, 5 -> 2.40.
    assert "Review 40%" in html and "Interview 60%" in html
    assert "4.40 3.00 3.56" in row(html, ranked.apps[2])
    assert "4.10 5.00 4.64" in row(html, ranked.apps[4])
    # 3 places, Africa at least 2: 3 and 5 by the quota, the last place to 4 by the combined score.
    assert "Selected" in row(html, ranked.apps[4]) and "Selected" in row(html, ranked.apps[3])
    assert "Selected (quota)" in row(html, ranked.apps[5])
    assert "Waitlist 1" in row(html, ranked.apps[2])
    assert "Not shortlisted" in row(html, ranked.apps[1]) and "Not shortlisted" in row(html, ranked.apps[6])
    order = [ranked.apps[n].id for n in (4, 3, 2, 5)]
    positions = [html.index(f'id="row-{i}"') for i in order]
    assert positions == sorted(positions)


def test_weights_must_add_up_to_100(ranked, staff):
    shortlist_stage(ranked, staff, interview_weight=60)
    scored = [s for s in stages.stages_of(ranked.call.id) if s.scored]
    with pytest.raises(DomainError, match="add up to 90%"):
        stages.set_weights(ranked.call, {scored[0].id: 30, scored[1].id: 60}, staff)


def test_stages_cannot_be_added_once_the_call_has_closed(ranked, staff):
    ranked.call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(DomainError, match="closed"):
        stages.add_stage(ranked.call, stages.StageSettings(StageKind.INTERVIEW, "Interview"), staff)


def test_a_one_round_call_ranks_exactly_as_without_stages(staff_client, ranked, staff):
    before = ranking_page(staff_client, ranked.call)
    stages.ensure_stages(ranked.call)
    db.session.commit()
    ranked.call.ranking_version += 1  # recompute with the stage row in place
    db.session.commit()
    after = ranking_page(staff_client, ranked.call)
    assert [row(after, a) for a in ranked.apps.values()] == [row(before, a) for a in ranked.apps.values()]
    assert "Combined" not in after


def test_staff_see_the_stages_with_their_weights_and_add_one(staff_client, ranked, staff):
    shortlist_stage(ranked, staff, interview_weight=60)
    html = staff_client.get(f"/staff/calls/{ranked.call.id}/stages").get_data(as_text=True)
    assert "Weights in the final score" in html and "they must add up to 100%." in html
    assert "1. " in html and "Review" in html and "2. " in html and "Shortlist" in html and "Interview" in html
    added = submit_form(staff_client, f"/staff/calls/{ranked.call.id}/stages",
                        {"kind": "review", "name": "Second review", "weight": "0"})
    assert added.status_code == 302
    assert [s.name for s in stages.stages_of(ranked.call.id)][-1] == "Second review"
    all_stages = stages.stages_of(ranked.call.id)
    for stage in all_stages:
        assert staff_client.get(f"/staff/calls/{ranked.call.id}/stages/{stage.id}/edit").status_code == 200
    cut = staff_client.get(f"/staff/calls/{ranked.call.id}/stages/{all_stages[1].id}").get_data(as_text=True)
    assert "Advance (4)" in cut and "Do not advance (2)" in cut and "Confirm who advances" in cut
    refused = submit_form(staff_client, f"/staff/calls/{ranked.call.id}/stages",
                          {"kind": "shortlist", "name": "Cut", "weight": "30"})
    assert refused.status_code == 422 and "A shortlist gives no score" in refused.get_data(as_text=True)


def test_the_stage_pages_are_for_staff_only(client, ranked, staff):
    stage = shortlist_stage(ranked, staff)
    from tests.conftest import login
    from tests.factories import UserFactory

    login(client, UserFactory(email=f"{secrets.token_hex(4)}@example.org").email)
    assert client.get(f"/staff/calls/{ranked.call.id}/stages").status_code == 403
    assert client.get(f"/staff/calls/{ranked.call.id}/stages/{stage.id}").status_code == 403

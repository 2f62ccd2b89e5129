"""Later review rounds get what the first round has: staff unassign and reassign their reviewers (one service for
every round, in the audit log), a conflict of interest declared in the first round takes the reviewer off later
rounds too, reviewers see their later-round assignments with due dates on their home page, and they are reminded
before the round's due date: once per assignment per window (one conditional write decides, even for two jobs at
once), through the outbox, in the reviewer's language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from fellowship.admin.audit_log import describe_all
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, User
from fellowship.calls.models import CallStatus
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.selection import conflicts, reminders, review_rounds, round_changes, stages
from fellowship.selection.models import (
    AssignmentStatus,
    Conflict,
    ConflictKind,
    ConflictSource,
    ReviewStatus,
    SelectionStage,
    StageAssignment,
    StageReview,
)
from fellowship.selection.tasks import remind_reviewers_task
from tests.conftest import login
from tests.factories import UserFactory
from tests.races import at_once, in_own_context
from tests.selection.test_ranking_page import Ranked, make_ranked
from tests.selection.test_review_rounds import two_rounds


@pytest.fixture
def ranked(app_ctx) -> Ranked:
    return make_ranked()


def staffed_round(ranked: Ranked, staff: User, *, due_in: timedelta = timedelta(days=10),
                  panel: int = 3) -> tuple[SelectionStage, list[User]]:
    """The second round (2 reviewers per candidate) of the worked example, its shortlist confirmed (2, 4, 3, 5
    advanced), `panel` reviewers on its panel, a rubric, everyone assigned automatically; due `due_in` from now."""
    cut, second = two_rounds(ranked, staff)
    second.due_at = utcnow() + due_in
    ranked.call.status = CallStatus.REVIEWING
    stages.confirm_advancing(ranked.call, cut, staff)
    members = [UserFactory(roles=[Role.REVIEWER], email=f"round{n}@panel.example", full_name=f"Round Reviewer {n}")
               for n in range(1, panel + 1)]
    for member in members:
        review_rounds.add_member(second, member.email, staff)
    review_rounds.add_criterion(second, "Leadership", 1, "", staff)
    review_rounds.auto_assign(ranked.call, second, staff)
    db.session.commit()
    return second, members


def active(stage: SelectionStage) -> set[tuple[int, int]]:
    return set(db.session.execute(select(StageAssignment.application_id, StageAssignment.reviewer_id).where(
        StageAssignment.stage_id == stage.id, StageAssignment.status == AssignmentStatus.ACTIVE)).all())


def token(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def round_outbox(recipients: set[str]) -> list[OutboxMessage]:
    return [m for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "selection/assignment_reminder").order_by(OutboxMessage.id))
        if m.recipient in recipients]


def test_staff_unassign_and_reassign_a_later_round_reviewer_and_the_audit_log_says_so(staff_client, ranked, staff):
    second, (one, two, three) = staffed_round(ranked, staff)
    page = f"/staff/calls/{ranked.call.id}/rounds/{second.id}"
    html = staff_client.get(page).get_data(as_text=True)
    assert "Unassign" in html and "Reassign" in html and "Any available reviewer" in html
    candidate = ranked.apps[2].id
    on_it = {r for a, r in active(second) if a == candidate}
    assert len(on_it) == 2
    (off_id,) = sorted(on_it)[:1]
    item = db.session.scalar(select(StageAssignment).where(StageAssignment.stage_id == second.id,
                                                           StageAssignment.application_id == candidate,
                                                           StageAssignment.reviewer_id == off_id))

    # Unassign through the page: the pair is withdrawn and never planned again for that reviewer.
    done = staff_client.post(f"{page}/assignments/{item.id}/unassign", data={"csrf_token": token(html)})
    assert done.status_code == 302
    assert (candidate, off_id) not in active(second)
    assert "it is not given back to them automatically" in staff_client.get(page).get_data(as_text=True)
    review_rounds.auto_assign(ranked.call, second, staff)
    db.session.commit()
    assert (candidate, off_id) not in active(second) and len({r for a, r in active(second) if a == candidate}) == 2

    # Reassign the other reviewer of a candidate to a chosen panel member, then one to "any available".
    target = ranked.apps[4].id
    holders = sorted(r for a, r in active(second) if a == target)
    free = next(m for m in (one, two, three) if m.id not in holders)
    moving = db.session.scalar(select(StageAssignment).where(
        StageAssignment.stage_id == second.id, StageAssignment.application_id == target,
        StageAssignment.reviewer_id == holders[0], StageAssignment.status == AssignmentStatus.ACTIVE))
    html = staff_client.get(page).get_data(as_text=True)
    moved = staff_client.post(f"{page}/assignments/{moving.id}/reassign",
                              data={"reviewer": str(free.id), "csrf_token": token(html)})
    assert moved.status_code == 302
    assert {r for a, r in active(second) if a == target} == {holders[1], free.id}
    assert f"The candidate now goes to {free.full_name}." in staff_client.get(page).get_data(as_text=True)

    # A reviewer who submitted keeps the candidate: refused with the reason, nothing changed.
    kept = db.session.scalar(select(StageAssignment).where(
        StageAssignment.stage_id == second.id, StageAssignment.application_id == target,
        StageAssignment.reviewer_id == free.id))
    review_rounds.save_review(kept, {stages.stage_criteria(second)[0].id: 4}, "", submit=True)
    db.session.commit()
    html = staff_client.get(page).get_data(as_text=True)
    refused = staff_client.post(f"{page}/assignments/{kept.id}/reassign",
                                data={"reviewer": "", "csrf_token": token(html)}, follow_redirects=True)
    assert "This reviewer has submitted their review of it; it stays assigned." in refused.get_data(as_text=True)
    assert (target, free.id) in active(second)

    entries = list(db.session.scalars(select(AuditEntry).options(joinedload(AuditEntry.actor)).where(
        AuditEntry.action.in_(["selection.unassigned", "selection.reassigned"])).order_by(AuditEntry.id)))
    assert [(e.action, e.details.get("reason")) for e in entries] == [
        ("selection.unassigned", "by hand"), ("selection.unassigned", "reassigned"), ("selection.reassigned", None)]
    assert all(e.details["stage_id"] == second.id and e.actor_id == staff.id for e in entries)
    assert entries[-1].details["to_reviewer_ids"] == [free.id]
    sentences = [d.sentence for d in describe_all(entries)]
    assert all("Chair Person" in s and ranked.ref(2 if i == 0 else 4) in s for i, s in enumerate(sentences)), \
        sentences


def test_the_round_pages_refuse_another_rounds_assignment_and_non_staff(app, staff_client, ranked, staff):
    second, (one, _two, _three) = staffed_round(ranked, staff)
    item = db.session.scalars(select(StageAssignment).where(StageAssignment.stage_id == second.id)).first()
    first = stages.first_review_stage(stages.stages_of(ranked.call.id))
    html = staff_client.get(f"/staff/calls/{ranked.call.id}/rounds/{second.id}").get_data(as_text=True)
    wrong_round = staff_client.post(f"/staff/calls/{ranked.call.id}/rounds/{first.id}/assignments/{item.id}/unassign",
                                    data={"csrf_token": token(html)})
    assert wrong_round.status_code == 404
    reviewer = app.test_client()
    login(reviewer, one.email)
    assert reviewer.post(f"/staff/calls/{ranked.call.id}/rounds/{second.id}/assignments/{item.id}/unassign",
                         data={}).status_code in (400, 403)
    assert db.session.get(StageAssignment, item.id).status is AssignmentStatus.ACTIVE


def test_reassigning_to_a_conflicted_reviewer_is_refused_and_the_first_reviewer_keeps_it(ranked, staff):
    second, members = staffed_round(ranked, staff)
    candidate = ranked.apps[5].id
    holders = {r for a, r in active(second) if a == candidate}
    outsider = next(m for m in members if m.id not in holders)
    db.session.add(Conflict(reviewer_id=outsider.id, application_id=candidate, kind=ConflictKind.RELATIVE,
                            source=ConflictSource.DECLARED))
    item = db.session.scalar(select(StageAssignment).where(StageAssignment.stage_id == second.id,
                                                           StageAssignment.application_id == candidate))
    db.session.commit()
    with pytest.raises(DomainError, match="conflict of interest"):
        round_changes.reassign(item, outsider, staff)
    db.session.rollback()
    assert {r for a, r in active(second) if a == candidate} == holders


def test_a_conflict_declared_in_the_first_round_takes_the_reviewer_off_later_rounds(app, ranked, staff):
    second, members = staffed_round(ranked, staff)
    candidate = ranked.apps[3]
    reviewer = db.session.get_one(User, next(r for a, r in sorted(active(second)) if a == candidate.id))
    client = app.test_client()
    login(client, reviewer.email)
    assert candidate.reference in client.get("/review/rounds").get_data(as_text=True)

    # A later-round panel member may declare (they serve on the call), and the conflict holds in every round.
    conflicts.declare_conflict(reviewer, candidate, ConflictKind.SUPERVISOR, "I supervised her thesis.")
    db.session.commit()
    assert (candidate.id, reviewer.id) not in active(second)
    assert len({r for a, r in active(second) if a == candidate.id}) == 2, "given to another panel member"
    assert candidate.reference not in client.get("/review/rounds").get_data(as_text=True)
    withdrawn = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "selection.unassigned")
                                  .order_by(AuditEntry.id.desc()))
    assert withdrawn.details["reason"] == "conflict of interest" and withdrawn.details["stage_id"] == second.id
    # And staff assigning by hand cannot give it back.
    with pytest.raises(DomainError, match="conflict of interest"):
        review_rounds.assign(ranked.call, second, candidate, reviewer, staff)


def test_a_reviewers_home_page_lists_their_later_round_assignments_with_due_dates(app, ranked, staff):
    second, (one, _two, _three) = staffed_round(ranked, staff, due_in=timedelta(days=5))
    mine = sorted(a for a, r in active(second) if r == one.id)
    client = app.test_client()
    login(client, one.email)
    html = client.get("/").get_data(as_text=True)
    section = html.split('id="home-reviewer"', 1)[1].split("</section>", 1)[0]
    assert "Later review rounds" in section and "Panel round" in section
    for application_id in mine:
        number = next(n for n, a in ranked.apps.items() if a.id == application_id)
        assert ranked.ref(number) in section
    assert section.count("due ") >= len(mine) and "days left" in section
    assert f"{len(mine)}</strong> reviews left to submit" in section or \
        f"{len(mine)}</strong> review left to submit" in section


def test_later_round_reminders_go_once_per_assignment_per_window_in_the_reviewers_language(app_ctx, ranked, staff):
    second, members = staffed_round(ranked, staff, due_in=timedelta(days=2))
    french = members[0]
    french.locale = "fr"
    done = db.session.scalar(select(StageAssignment).where(StageAssignment.stage_id == second.id,
                                                           StageAssignment.reviewer_id == members[1].id))
    db.session.add(StageReview(assignment_id=done.id, stage_id=second.id, application_id=done.application_id,
                               reviewer_id=members[1].id, status=ReviewStatus.SUBMITTED, scores={}))
    db.session.commit()
    emails = {m.email for m in members}
    pending = {m.id for m in members if any(r == m.id for a, r in active(second))}

    assert app_ctx.extensions["celery"].tasks[remind_reviewers_task.name]() >= len(pending) - 1
    assert reminders.send_review_reminders() == 0, "a second run in the same window sends nothing"
    messages = round_outbox(emails)
    by_recipient = {m.recipient: m for m in messages}
    assert len(messages) == len(by_recipient), "one email per reviewer"
    french_email = by_recipient[french.email]
    assert french_email.locale == "fr" and "Panel round" in french_email.context["call_title"]
    assert french_email.context["url"].endswith(review_rounds.ROUNDS_PATH)
    windows = set(db.session.scalars(select(StageAssignment.reminded_window).where(
        StageAssignment.stage_id == second.id, StageAssignment.status == AssignmentStatus.ACTIVE,
        StageAssignment.id != done.id)))
    assert windows and all(w and w.endswith(":before") for w in windows)
    # The reviewer who submitted is not reminded of that candidate.
    assert db.session.get_one(StageAssignment, done.id).reminded_window is None

    # Overdue: one more per reviewer, once; staff moving the due date opens a new window.
    later = utcnow() + timedelta(days=3)
    sent = reminders.send_review_reminders(later)
    assert sent == len(by_recipient) and reminders.send_review_reminders(later) == 0
    db.session.commit()
    assert all(m.context["overdue"] for m in round_outbox(emails)[len(messages):])


def test_two_reminder_jobs_at_once_claim_each_assignment_once(app, app_ctx, ranked, staff):
    second, members = staffed_round(ranked, staff, due_in=timedelta(days=1))
    emails = {m.email for m in members}
    reviewers = {r for _a, r in active(second)}
    results = at_once([in_own_context(app, reminders.send_review_reminders) for _ in range(3)])
    assert all(isinstance(r, int) for r in results), results
    db.session.expire_all()
    assert len(round_outbox(emails)) == len(reviewers)
    claimed = list(db.session.scalars(select(StageAssignment.reminded_window).where(
        StageAssignment.stage_id == second.id, StageAssignment.status == AssignmentStatus.ACTIVE)))
    assert all(w is not None for w in claimed)

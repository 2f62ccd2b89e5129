"""Assignment on the real database: the panel page, automatic and manual assignment, withdrawal, emails, reminders."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fellowship.applications.models import ApplicationStatus
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.calls.models import CallStatus
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.selection import assignment as services
from fellowship.selection import conflicts, reminders
from fellowship.selection.models import (
    Assignment,
    AssignmentStatus,
    CallReviewer,
    ConflictKind,
    Review,
    ReviewStatus,
)
from fellowship.selection.tasks import remind_reviewers_task
from fellowship.timezones import format_in_zone
from tests.conftest import login, submit_form
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.querycount import counted_statements
from tests.selection.factories import panel_reviewer


@pytest.fixture
def call(app_ctx):
    return CallFactory(status=CallStatus.CLOSED, reviewers_per_application=2,
                       review_due_at=utcnow() + timedelta(days=20))


@pytest.fixture
def staff(app_ctx):
    return UserFactory(email="staff@example.org", roles=[Role.STAFF])


def active_pairs(call_id: int) -> set[tuple[int, int]]:
    rows = db.session.execute(select(Assignment.application_id, Assignment.reviewer_id).where(
        Assignment.call_id == call_id, Assignment.status == AssignmentStatus.ACTIVE)).all()
    return {(a, r) for a, r in rows}


def outbox(template: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template)
                                   .order_by(OutboxMessage.id)))


def auto_assign_through_the_page(client, call_id: int):
    return submit_form(client, f"/staff/calls/{call_id}/panel/auto-assign", {}, page=f"/staff/calls/{call_id}/panel",
                       follow_redirects=True)


def test_automatic_assignment_gives_k_each_honouring_every_conflict_and_cap(client, call, staff):
    call.same_nationality_conflict = True
    db.session.commit()
    nairobi = [submitted_application(call, institution="University of Nairobi", nationality="KE") for _ in range(3)]
    hanoi = [submitted_application(call, institution="Hanoi University", nationality="VN") for _ in range(3)]
    screened_out = submitted_application(call, status=ApplicationStatus.INELIGIBLE)
    same_school = panel_reviewer(call, institution="  university of NAIROBI ")  # trimmed, any case
    compatriot = panel_reviewer(call, nationality="VN")
    capped = panel_reviewer(call, cap=2)
    declared = panel_reviewer(call)
    free = [panel_reviewer(call) for _ in range(2)]
    conflicts.declare_conflict(declared, hanoi[0], ConflictKind.RELATIVE, "My cousin")
    db.session.commit()

    login(client, "staff@example.org")
    page = auto_assign_through_the_page(client, call.id).get_data(as_text=True)
    assert "12 assignments made." in page

    pairs = active_pairs(call.id)
    per_application = Counter(a for a, _ in pairs)
    assert {a.id: per_application[a.id] for a in nairobi + hanoi} == {a.id: 2 for a in nairobi + hanoi}
    assert screened_out.id not in per_application
    assert not {(a.id, same_school.id) for a in nairobi} & pairs, "same institution is a conflict"
    assert not {(a.id, compatriot.id) for a in hanoi} & pairs, "same nationality is a conflict in this call"
    assert (hanoi[0].id, declared.id) not in pairs, "a declared conflict is honoured"
    load = Counter(r for _, r in pairs)
    assert load[capped.id] == 2
    assert sum(load.values()) == 12 and set(load) <= {same_school.id, compatriot.id, capped.id, declared.id,
                                                       *(u.id for u in free)}
    assert all(pair.due_at == call.review_due_at for pair in db.session.scalars(select(Assignment)))

    # One email per reviewer with their number of new applications and the due date.
    emails = {u.id: u.email for u in (same_school, compatriot, capped, declared, *free)}
    messages = outbox("selection/assignments")
    assert sorted(m.recipient for m in messages) == sorted(emails[r] for r in load), "one email per reviewer"
    assert {m.recipient: m.context["count"] for m in messages} == {emails[r]: n for r, n in load.items()}
    assert {m.context["due"] for m in messages} == {format_in_zone(call.review_due_at, call.time_zone)}
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "selection.auto_assigned")) == 1

    # A second run has nothing to add and emails nobody.
    page = auto_assign_through_the_page(client, call.id).get_data(as_text=True)
    assert "already has its reviewers; nothing to do" in page
    assert active_pairs(call.id) == pairs
    assert len(outbox("selection/assignments")) == len(messages)


def test_load_is_balanced_to_within_one_application(app_ctx, call):
    applications = [submitted_application(call, institution=f"School {i}") for i in range(7)]
    reviewers = [panel_reviewer(call) for _ in range(5)]
    plan = services.auto_assign(call)
    db.session.commit()
    assert plan.complete and len(plan.pairs) == 14
    load = Counter(r for _, r in active_pairs(call.id))
    assert sorted(load[r.id] for r in reviewers) == [2, 3, 3, 3, 3]
    assert Counter(a for a, _ in active_pairs(call.id)) == {a.id: 2 for a in applications}


def test_same_nationality_is_a_conflict_only_when_the_call_asks_for_it(app_ctx, call):
    kenyan = submitted_application(call, nationality="KE", institution="Elsewhere")
    reviewer = panel_reviewer(call, nationality="KE")
    assert conflicts.apply_automatic_conflicts(call) == 0
    call.same_nationality_conflict = True
    assert conflicts.apply_automatic_conflicts(call) == 1
    assert conflicts.apply_automatic_conflicts(call) == 0, "running the rules again adds nothing"
    assert conflicts.conflicted_pairs(call.id) == {(kenyan.id, reviewer.id)}


def test_a_shortfall_is_explained_on_the_page(client, call, staff):
    application = submitted_application(call, institution="Kyoto University")
    panel_reviewer(call)
    panel_reviewer(call, institution="Kyoto University")
    login(client, "staff@example.org")
    page = auto_assign_through_the_page(client, call.id).get_data(as_text=True)
    assert "1 application still lacks reviewers" in page
    assert application.reference in page
    assert ("1 of 2 reviewers assigned, 1 missing. Of the 2 panel members, 1 already reviews it, 1 has a conflict "
            "of interest with it or was taken off it.") in page


def test_withdrawing_a_reviewer_hands_unsubmitted_assignments_to_others_and_keeps_submitted_reviews(
        client, call, staff):
    applications = [submitted_application(call, institution=f"School {i}") for i in range(4)]
    leaving = panel_reviewer(call, email="leaving@example.org")
    others = [panel_reviewer(call) for _ in range(3)]
    services.auto_assign(call)
    db.session.commit()
    theirs = db.session.scalars(select(Assignment).where(Assignment.reviewer_id == leaving.id)
                                .order_by(Assignment.id)).all()
    assert len(theirs) >= 2
    done = theirs[0]
    db.session.add(Review(assignment_id=done.id, application_id=done.application_id, reviewer_id=leaving.id,
                          call_id=call.id, status=ReviewStatus.SUBMITTED, submitted_at=utcnow()))
    db.session.commit()
    emails_before = len(outbox("selection/assignments"))

    member = db.session.scalar(select(CallReviewer).where(CallReviewer.reviewer_id == leaving.id))
    login(client, "staff@example.org")
    response = submit_form(client, f"/staff/calls/{call.id}/panel/members/{member.id}/withdraw", {},
                           page=f"/staff/calls/{call.id}/panel", follow_redirects=True)
    assert "left the panel" in response.get_data(as_text=True)

    db.session.expire_all()
    assert not member.active
    statuses = {a.id: a.status for a in db.session.scalars(select(Assignment).where(
        Assignment.reviewer_id == leaving.id))}
    assert statuses.pop(done.id) is AssignmentStatus.ACTIVE, "the submitted review stays"
    assert set(statuses.values()) == {AssignmentStatus.WITHDRAWN}
    pairs = active_pairs(call.id)
    assert Counter(a for a, _ in pairs) == {a.id: 2 for a in applications}, "every application is back to k"
    assert {r for a, r in pairs if (a, r) != (done.application_id, leaving.id)} <= {o.id for o in others}
    assert len(outbox("selection/assignments")) > emails_before, "the new reviewers are told"


def test_manual_assignment_refuses_a_conflict_and_a_full_cap_with_a_message(client, call, staff):
    application = submitted_application(call, institution="University of Nairobi")
    other = submitted_application(call, institution="Elsewhere")
    conflicted = panel_reviewer(call, institution="University of Nairobi", full_name="Dr Conflicted")
    capped = panel_reviewer(call, cap=1, full_name="Dr Capped")
    conflicts.apply_automatic_conflicts(call)
    services.assign(call, other, capped, staff)
    db.session.commit()
    panel = f"/staff/calls/{call.id}/panel"
    login(client, "staff@example.org")

    html = submit_form(client, f"{panel}/assign", {"application_id": application.id, "reviewer_id": conflicted.id},
                       page=panel, follow_redirects=True).get_data(as_text=True)
    assert (f"Dr Conflicted has a conflict of interest with {application.reference} (same institution, automatic); "
            f"they cannot review it.") in html
    html = submit_form(client, f"{panel}/assign", {"application_id": application.id, "reviewer_id": capped.id},
                       page=panel, follow_redirects=True).get_data(as_text=True)
    assert "Dr Capped has reached their cap of 1 application in this call." in html
    assert active_pairs(call.id) == {(other.id, capped.id)}

    # A free reviewer is assigned by hand, told by email, and can be taken off again.
    free = panel_reviewer(call, full_name="Dr Free")
    html = submit_form(client, f"{panel}/assign", {"application_id": application.id, "reviewer_id": free.id},
                       page=panel, follow_redirects=True).get_data(as_text=True)
    assert f"Dr Free now reviews {application.reference}." in html
    assert [m.context["count"] for m in outbox("selection/assignments") if m.recipient == free.email] == [1]
    item = db.session.scalar(select(Assignment).where(Assignment.reviewer_id == free.id))
    submit_form(client, f"{panel}/assignments/{item.id}/unassign", {}, page=panel)
    db.session.expire_all()
    assert item.status is AssignmentStatus.WITHDRAWN
    assert (application.id, free.id) not in services.auto_assign(call).pairs, "not given back automatically"


def test_adding_panel_members_by_email_needs_the_reviewer_role(client, call, staff):
    UserFactory(email="reviewer@example.org", full_name="Dr Okafor", roles=[Role.REVIEWER])
    UserFactory(email="applicant@example.org", full_name="Ms Applicant")
    panel = f"/staff/calls/{call.id}/panel"
    login(client, "staff@example.org")
    html = submit_form(client, panel, {"email": "applicant@example.org"}).get_data(as_text=True)
    assert "Ms Applicant does not have the reviewer role." in html
    response = submit_form(client, panel, {"email": "Reviewer@Example.org", "cap": "4", "institution": "Kyoto",
                                           "nationality": "NG"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Dr Okafor is on the panel" in html and "Nigeria" in html
    member = db.session.scalars(select(CallReviewer)).one()
    assert (member.max_assignments, member.institution, member.nationality) == (4, "Kyoto", "NG")


def test_reminders_go_before_the_due_date_and_weekly_when_overdue_never_twice(app_ctx, call):
    now = utcnow()
    soon, late, done, later = (panel_reviewer(call) for _ in range(4))
    for reviewer, due in ((soon, now + timedelta(days=2)), (late, now - timedelta(days=1)),
                          (done, now - timedelta(days=1)), (later, now + timedelta(days=10))):
        application = submitted_application(call)
        item = Assignment(call_id=call.id, application_id=application.id, reviewer_id=reviewer.id, due_at=due)
        db.session.add(item)
        db.session.flush()
        if reviewer is done:
            db.session.add(Review(assignment_id=item.id, application_id=application.id, reviewer_id=done.id,
                                  call_id=call.id, status=ReviewStatus.SUBMITTED, submitted_at=now))
    db.session.commit()

    assert app_ctx.extensions["celery"].tasks[remind_reviewers_task.name]() == 2  # this app's own Celery
    assert reminders.send_review_reminders() == 0, "a second run the same day sends nothing"
    messages = outbox("selection/assignment_reminder")
    assert {m.recipient: m.context["overdue"] for m in messages} == {soon.email: False, late.email: True}
    assert messages[0].subject.startswith(("Reminder: 1 review", "Overdue: 1 review"))

    # Days later: still overdue, but within the same week -> nothing; a week on -> one more for each.
    assert reminders.send_review_reminders(now + timedelta(days=3)) == 1  # `soon` is now overdue
    assert reminders.send_review_reminders(now + timedelta(days=4)) == 0
    assert reminders.send_review_reminders(now + timedelta(days=6, hours=1)) == 1  # `late`: second week
    assert reminders.send_review_reminders(now + timedelta(days=6, hours=2)) == 0
    db.session.commit()
    assert len(outbox("selection/assignment_reminder")) == 4
    assert done.email not in {m.recipient for m in outbox("selection/assignment_reminder")}


def test_panel_pages_are_for_staff_only(app, client, call, staff):
    reviewer = panel_reviewer(call, email="reviewer@example.org")
    UserFactory(email="applicant@example.org")
    member = db.session.scalar(select(CallReviewer).where(CallReviewer.reviewer_id == reviewer.id))
    urls = [f"/staff/calls/{call.id}/panel", f"/staff/calls/{call.id}/panel/shortfalls",
            f"/staff/calls/{call.id}/panel/members/{member.id}"]
    for email in ("reviewer@example.org", "applicant@example.org"):
        other = app.test_client()
        login(other, email)
        assert [other.get(url).status_code for url in urls] == [403, 403, 403]
    login(client, "staff@example.org")
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    applicant = app.test_client()
    login(applicant, "applicant@example.org")
    assert applicant.get("/review/conflicts").status_code == 403


def test_the_panel_page_needs_as_many_queries_for_many_applications_as_for_one(client, call, staff):
    for _ in range(3):
        panel_reviewer(call)
    submitted_application(call, institution="School 0")
    services.auto_assign(call)
    db.session.commit()
    login(client, "staff@example.org")
    url = f"/staff/calls/{call.id}/panel"

    def queries() -> int:
        with counted_statements() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    one = queries()
    for i in range(1, 12):
        submitted_application(call, institution=f"School {i}")
    services.auto_assign(call)
    db.session.commit()
    assert queries() == one


def test_nothing_is_assigned_once_the_reviews_are_locked(client, call, staff):
    application = submitted_application(call)
    reviewer = panel_reviewer(call)
    call.panel_locked_at = utcnow()
    db.session.commit()
    login(client, "staff@example.org")
    html = auto_assign_through_the_page(client, call.id).get_data(as_text=True)
    assert "The reviews of this call are locked; reopen them before changing assignments." in html
    with pytest.raises(DomainError, match="locked"):
        services.assign(call, application, reviewer, staff)
    assert active_pairs(call.id) == set()


def test_a_panel_member_who_applied_is_never_assigned_their_own_application(app_ctx, staff):
    call = CallFactory(status=CallStatus.REVIEWING, reviewers_per_application=1)
    member = UserFactory(roles=[Role.REVIEWER, Role.APPLICANT])
    colleague = UserFactory(roles=[Role.REVIEWER])
    own = submitted_application(call, applicant=member)
    services.add_to_panel(call, member, None, None, None)
    services.add_to_panel(call, colleague, None, None, None)
    services.auto_assign(call)
    db.session.commit()
    assert active_pairs(call.id) == {(own.id, colleague.id)}
    with pytest.raises(DomainError, match="nobody reviews their own application"):
        services.assign(call, own, member, staff)

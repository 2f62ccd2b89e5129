"""Every URL rule of the app, requested by every kind of actor, against a checked-in table of status codes.

The walker reads `app.url_map`, so a new route that is not in tests/security/authorization_matrix.csv fails the
test until someone decides, row by row, who may use it. Each actor gets a fresh copy of the same world (objects
owned by applicant A), so one actor's POST never changes what the next one sees.

Rules under /api/ are requested with the actor's bearer token (a personal access token holding every scope the
actor's roles may hold), the way an API client calls them; anonymous sends none. The session cookie rides along
and must change nothing: the API reads tokens only.

CSRF is switched off for the walk (WTF_CSRF_ENABLED=False, restored afterwards): the point is who passes the
authorization checks, and CSRF refusal would hide that behind a 400 for everyone. Rate limits are off for the
same reason (one client, hundreds of requests); tests/security/test_headers.py proves both are on normally.

Regenerate the table after a deliberate change with `AUTHZ_MATRIX_WRITE=1 pytest tests/security -k matrix`,
then read every changed row before committing it.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from fellowship.alumni.followups import follow_up_token
from fellowship.alumni.models import ExportJob, ExportStatus, FollowUpStatus
from fellowship.applications.models import ApplicationStatus, Document, Referee, RefereeStatus
from fellowship.auth import invitations, tokens
from fellowship.auth.models import Role, User
from fellowship.auth.tokens import create_token, scopes_allowed
from fellowship.calls.models import DocumentKind
from fellowship.documents.storage import get_storage, new_key
from fellowship.extensions import db, limiter
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.referees.services import LETTER_SALT
from fellowship.selection.decisions import send_decisions
from fellowship.selection.models import (
    CallReviewer,
    Conflict,
    ConflictKind,
    ConflictSource,
    Decision,
    DecisionOutcome,
    Review,
    ReviewStatus,
)
from tests.alumni.factories import add_follow_up, make_alumnus
from tests.conftest import empty_database, login
from tests.documents.files import pdf
from tests.factories import ApplicationFactory, CallFactory, UserFactory, submitted_application
from tests.selection.factories import AssignmentFactory, panel_reviewer

TABLE = Path(__file__).with_name("authorization_matrix.csv")
ACTORS = ("anonymous", "applicant_a", "applicant_b", "reviewer", "conflicted_reviewer", "staff", "admin")
SKIPPED_ENDPOINTS = {"static"}
#: Rules whose POST would end the actor's session go last.
LAST = {"auth.logout", "auth.logout_everywhere"}


def build_world() -> dict[str, Any]:
    """One call with a panel; applicant A's application with documents, referees, reviews, decision and offer;
    A is also an alumnus of an earlier call with a follow-up; staff's export job; an outbox message to A."""
    admin = UserFactory(email="admin@example.org", roles=[Role.ADMIN])
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    applicant_a = UserFactory(email="a@example.org")
    applicant_b = UserFactory(email="b@example.org")
    call = CallFactory()
    reviewer = panel_reviewer(call, email="reviewer@example.org")
    conflicted = panel_reviewer(call, email="conflicted@example.org")
    member = db.session.scalars(sa.select(CallReviewer).where(CallReviewer.reviewer_id == reviewer.id)).one()

    application = submitted_application(call, applicant=applicant_a, status=ApplicationStatus.UNDER_REVIEW)
    storage = get_storage()
    content = pdf()
    documents = {}
    for kind in (DocumentKind.CV, DocumentKind.REFERENCE_LETTER):
        key = new_key()
        storage.save(key, content)
        document = Document(application_id=application.id, kind=kind, filename=f"{kind.value}.pdf", storage_key=key,
                            content_type="application/pdf", size=len(content), sha256="0" * 64)
        db.session.add(document)
        documents[kind] = document
    received = Referee(application_id=application.id, name="Prof. Grace Wanjiru", email="grace@uni.example",
                       relation="Supervisor", status=RefereeStatus.RECEIVED, received_at=utcnow())
    db.session.add(received)

    # B's draft carries the one live referee link (a token is its own authority: it works for anyone).
    draft_b = ApplicationFactory(call=call, applicant=applicant_b)
    invited = Referee(application_id=draft_b.id, name="Dr. Obi", email="obi@uni.example", relation="Employer",
                      status=RefereeStatus.INVITED, invited_at=utcnow(), link_nonce=secrets.token_hex(16))
    db.session.add(invited)
    db.session.commit()

    assignment = AssignmentFactory(application=application, reviewer_id=reviewer.id)
    db.session.add(Review(assignment_id=assignment.id, application_id=application.id, reviewer_id=reviewer.id,
                          call_id=call.id, status=ReviewStatus.DRAFT, comment="Promising."))
    AssignmentFactory(application=application, reviewer_id=conflicted.id)
    db.session.add(Conflict(reviewer_id=conflicted.id, application_id=application.id, kind=ConflictKind.SUPERVISOR,
                            source=ConflictSource.DECLARED, note="I supervised her."))
    db.session.add(Decision(call_id=call.id, application_id=application.id, outcome=DecisionOutcome.ACCEPT,
                            decided_by_id=staff.id))
    db.session.commit()
    batch_key, queued = send_decisions(call, staff)  # the real service: offer, status, outbox message
    db.session.commit()
    assert queued == 1

    fellow = make_alumnus(application_fields={"applicant": applicant_a})
    follow_up = add_follow_up(fellow, 6, FollowUpStatus.SENT, link_nonce=secrets.token_hex(16), sent_at=utcnow())

    export_key = new_key()
    storage.save(export_key, b"name,country\r\nAmani,KE\r\n")
    job = ExportJob(kind="alumni", params={"format": "csv"}, status=ExportStatus.DONE, total_rows=1, done_rows=1,
                    storage_key=export_key, filename="alumni.csv", created_by_id=staff.id, finished_at=utcnow())
    db.session.add(job)
    db.session.commit()
    message = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == applicant_a.email)).one()
    from fellowship.selection.models import SelectionStage, StageKind
    from fellowship.selection.stages import ensure_stages

    ensure_stages(call)
    shortlist = SelectionStage(call_id=call.id, position=2, kind=StageKind.SHORTLIST, name="Shortlist", advance_count=1)
    db.session.add(shortlist)
    # A second review round: the reviewer is assigned applicant A's application in it (the conflicted one is not).
    from fellowship.selection.models import AssignmentStatus, StageAssignment

    second_round = SelectionStage(call_id=call.id, position=3, kind=StageKind.REVIEW, name="Second review")
    db.session.add(second_round)
    db.session.flush()
    round_assignment = StageAssignment(stage_id=second_round.id, call_id=call.id, application_id=application.id,
                                       reviewer_id=reviewer.id, status=AssignmentStatus.ACTIVE,
                                       due_at=utcnow() + timedelta(days=7))
    db.session.add(round_assignment)
    db.session.commit()
    # Interviews, in a call of their own: applicant_a shortlisted and booked in a slot the reviewer sits on.
    from fellowship.interviews.models import InterviewBooking, InterviewMode, InterviewSlot, SlotPanelMember
    from fellowship.selection.models import StageResult

    interview_call = CallFactory(year=2031)
    candidacy = submitted_application(interview_call, applicant=applicant_a)
    last = ensure_stages(interview_call)[-1].position
    cut = SelectionStage(call_id=interview_call.id, position=last + 1, kind=StageKind.SHORTLIST, name="Shortlist",
                         advance_count=1, advanced_at=utcnow())
    interview = SelectionStage(call_id=interview_call.id, position=last + 2, kind=StageKind.INTERVIEW,
                               name="Interview")
    db.session.add_all([cut, interview])
    db.session.flush()
    db.session.add(StageResult(stage_id=cut.id, application_id=candidacy.id, call_id=interview_call.id,
                               advanced=True, position=1, reason="Advances."))
    slot = InterviewSlot(stage_id=interview.id, call_id=interview_call.id, starts_at=utcnow() + timedelta(days=5),
                         duration_minutes=45, capacity=2, booked_count=1, mode=InterviewMode.VIDEO,
                         location="https://meet.example.org/elf")
    db.session.add(slot)
    db.session.flush()
    db.session.add(SlotPanelMember(slot_id=slot.id, user_id=reviewer.id))
    booking = InterviewBooking(slot_id=slot.id, stage_id=interview.id, application_id=candidacy.id)
    db.session.add(booking)
    db.session.commit()
    # Applicant A's personal access token, for the profile's revoke route (not the one A's API requests use).
    a_token = create_token(applicant_a, "BI tool", ["applications:read"], utcnow().date() + timedelta(days=30))
    db.session.commit()
    invitee = UserFactory(email="invited@example.org", password_hash=invitations.new_invited_password_hash(),
                          email_confirmed_at=None, roles=[Role.REVIEWER])
    # The form builder's pages: the call's first section and its first question (the default form).
    from fellowship.questions.models import Question, QuestionnaireSection

    form_section = db.session.scalars(sa.select(QuestionnaireSection).where(
        QuestionnaireSection.questionnaire_id == call.questionnaire_id).order_by(QuestionnaireSection.position)).first()
    form_question = db.session.scalars(sa.select(Question).where(
        Question.section_id == form_section.id).order_by(Question.position)).first()

    return {
        "emails": {"applicant_a": applicant_a.email, "applicant_b": applicant_b.email, "reviewer": reviewer.email,
                   "conflicted_reviewer": conflicted.email, "staff": staff.email, "admin": admin.email},
        "params": {
            "application_id": application.id, "document_id": documents[DocumentKind.CV].id,
            "referee_id": received.id, "assignment_id": assignment.id, "call_id": call.id,
            "fellow_id": fellow.id, "follow_up_id": follow_up.id, "job_id": job.id, "member_id": member.id,
            "message_id": message.id, "stage_id": shortlist.id, "round_id": second_round.id,
            "round_assignment_id": round_assignment.id,
            "interview_id": interview.id, "slot_id": slot.id, "booking_id": booking.id,
            "user_id": applicant_b.id, "programme_id": call.programme_id, "batch_key": batch_key,
            "action": "grant", "answer": "accept", "name": "motivation",
            "section_id": form_section.id, "question_id": form_question.id, "token_id": a_token.token.id,
            # A file answer's download: the default form asks for no file, so even those who may read the
            # application are told 404 (tests/applications/test_file_answers.py covers a form with a file question).
            "key": "motivation", "entry": 0, "sub": "given_name",
            "group": "education",  # the default form has no repeatable group: staff are told 404
        },
        "tokens": {
            "auth.confirm": tokens.make_token(tokens.CONFIRM_SALT, {"uid": applicant_a.id,
                                                                   "email": applicant_a.email}),
            "auth.reset_password": tokens.make_token(
                tokens.RESET_SALT, {"uid": applicant_a.id,
                                    "pw": tokens.password_fingerprint(applicant_a.password_hash)}),
            "referees.letter_upload": tokens.make_token(LETTER_SALT, {"rid": invited.id, "n": invited.link_nonce}),
            "alumni.follow_up_survey": follow_up_token(follow_up.id, follow_up.link_nonce),
            "auth.accept_invitation": tokens.make_token(
                tokens.INVITE_SALT, {"uid": invitee.id, "pw": tokens.password_fingerprint(invitee.password_hash)}),
        },
    }


def walked_rules(app: Flask) -> list[tuple[Rule, str]]:
    """Every rule with the one method the walker uses: GET where allowed, else POST; logout last."""
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        rules.append((rule, "GET" if "GET" in (rule.methods or ()) else "POST"))
    return sorted(rules, key=lambda r: (r[1] == "POST", r[0].endpoint in LAST, r[0].rule))


def fill(rule: Rule, world: dict[str, Any]) -> str:
    values = {}
    for argument in rule.arguments:
        if argument == "token":
            values[argument] = world["tokens"][rule.endpoint]
        else:
            values[argument] = world["params"][argument]
    path = rule.rule
    for name, value in values.items():  # <name>, <int:name>, <int(min=1, max=...):name>
        path = re.sub(rf"<(?:[^<>:]+:)?{name}>", str(value), path)
    assert "<" not in path, f"no value for a parameter of {rule.rule}"
    return path


def api_headers(email: str) -> dict[str, str]:
    """The Authorization header of a new token of the account holding every scope its roles allow (committed)."""
    user = db.session.scalars(sa.select(User).where(User.email == email)).one()
    issued = create_token(user, "Authorization matrix", [scope.value for scope in scopes_allowed(user)],
                          utcnow().date() + timedelta(days=30))
    db.session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def walk(app: Flask, actor: str) -> dict[tuple[str, str], int]:
    """A fresh world, the actor logged in, then every rule requested once (API rules with the actor's bearer token);
    returns status per (rule, method)."""
    with app.app_context():
        empty_database()
        limiter.reset()
        world = build_world()
        bearer = api_headers(world["emails"][actor]) if actor != "anonymous" else {}
        db.session.remove()
    client = app.test_client()
    if actor != "anonymous":
        assert login(client, world["emails"][actor]).status_code == 302, f"{actor} could not log in"
    statuses = {}
    app.config["WTF_CSRF_ENABLED"] = False
    limiter.enabled = False
    try:
        for rule, method in walked_rules(app):
            headers = bearer if rule.rule.startswith("/api/") else {}
            response = client.open(fill(rule, world), method=method, headers=headers)
            statuses[(rule.rule, method)] = response.status_code
            # A streamed download's generator holds the request's context: closed here, not left to the garbage
            # collector (which closed it later, outside any context, and pytest reported the error it raised).
            response.close()
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
        limiter.enabled = True
    return statuses


def read_table() -> dict[tuple[str, str], dict[str, int]]:
    with TABLE.open(newline="") as fh:
        return {(row["rule"], row["method"]): {a: int(row[a]) for a in ACTORS} for row in csv.DictReader(fh)}


def write_table(observed: dict[tuple[str, str], dict[str, int]]) -> None:
    with TABLE.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["rule", "method", *ACTORS])
        for (rule, method), row in sorted(observed.items()):
            writer.writerow([rule, method, *(row[a] for a in ACTORS)])


def test_every_route_answers_every_actor_as_the_checked_in_table_says(app, report_proof):
    observed: dict[tuple[str, str], dict[str, int]] = {}
    for actor in ACTORS:
        for key, status in walk(app, actor).items():
            observed.setdefault(key, {})[actor] = status

    if os.environ.get("AUTHZ_MATRIX_WRITE"):
        write_table(observed)
        pytest.fail(f"{TABLE.name} written from the app; read every row, then run again without AUTHZ_MATRIX_WRITE")

    expected = read_table()
    missing = sorted(set(observed) - set(expected))
    stale = sorted(set(expected) - set(observed))
    mismatches = [f"{method} {rule} as {actor}: expected {expected[(rule, method)][actor]}, got {status}"
                  for (rule, method), row in sorted(observed.items()) if (rule, method) in expected
                  for actor, status in row.items() if expected[(rule, method)][actor] != status]
    problems = ([f"route not in {TABLE.name}: {method} {rule}" for rule, method in missing]
                + [f"row for a route that no longer exists: {method} {rule}" for rule, method in stale]
                + mismatches)
    report_proof("authorization matrix", rules=len({rule for rule, _ in observed}), actors=len(ACTORS),
                 requests=sum(len(row) for row in observed.values()), missing_from_table=len(missing),
                 stale_rows=len(stale), mismatches=len(mismatches))
    assert not problems, "authorization matrix differs:\n" + "\n".join(problems)
    assert not any(s >= 500 for row in observed.values() for s in row.values()), "a route failed with 5xx"

"""Every page of every role, crawled once per width (1280 and 390 px) in Chromium on the demo data: axe-core finds no
serious or critical violation, the Nu HTML checker no error, the focus ring contrasts 3:1 with what it is drawn on,
and the first view (HTML + CSS + images) weighs at most 150 KB. A GET route of the app that renders HTML is either
crawled or listed in SKIPPED with the reason.

The demo data (`flask seed-demo`) is loaded once; the crawl runs once for the module (one browser, one context per
role) and each test asserts on what it gathered. `SCREENSHOTS=1` also writes a full-page screenshot of every page at
both widths to test-artifacts/screenshots/ (`make screenshots`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
from tests.servers import ROOT
from tests.snapshots import TableSnapshot, put_demo_data

pytestmark = [pytest.mark.browser]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
#: Languages the crawl also visits each page in (issue 16: Arabic, right to left), once per page (by the first role
#: that has it) and at both widths, so the run time grows by about half rather than doubling.
EXTRA_LOCALES = ("ar",)
PAGE_BUDGET_BYTES = 150 * 1024
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCREENSHOT_DIR = ROOT / "test-artifacts" / "screenshots"
LOGINS = {
    "applicant": "applicant@example.org",
    "reviewer": "reviewer@example.org",
    "staff": "staff@example.org",
    "alumnus": "alumnus@example.org",
    "admin": "admin@example.org",
}

#: GET routes deliberately not crawled, with the reason. Every other GET route must be crawled.
SKIPPED: dict[str, str] = {
    "/static/<path:filename>": "static files, not pages (their weight counts in each page's budget)",
    "/healthz": "JSON for load balancers and monitors, not a page",
    "/interviews/<int:interview_id>/invitation.ics": "a calendar file download (.ics), not a page",
    "/documents/<int:document_id>": "a file download (PDF, JPEG or PNG), not a page",
    "/applications/<int:application_id>/answers/<key>": "a file answer's download, not a page",
    "/applications/<int:application_id>/answers/<key>/<int:entry>/<sub>": "a file answer's download (an entry of a "
                                                                           "repeatable group), not a page",
    "/staff/outcomes.csv": "a CSV download",
    "/admin/audit.csv": "a CSV download",
    "/staff/outcomes.xlsx": "an XLSX download",
    "/staff/calls/<int:call_id>/ranking.csv": "a CSV download",
    "/staff/calls/<int:call_id>/ranking.xlsx": "an XLSX download",
    "/staff/calls/<int:call_id>/applications.csv": "a CSV download",
    "/staff/calls/<int:call_id>/applications.xlsx": "an XLSX download",
    "/staff/calls/<int:call_id>/applications/groups/<group>.csv": "a CSV download",
    "/staff/exports/<int:job_id>/download": "a file download (the finished export)",
    "/api/v1/openapi.json": "the API's OpenAPI document (JSON); /api/v1/docs is its page",
    "/api/v1/calls": "JSON API (tests/api, schemathesis)",
    "/api/v1/calls/<int(min=1, max=2147483647):call_id>": "JSON API (tests/api, schemathesis)",
    "/api/v1/calls/<int(min=1, max=2147483647):call_id>/reviews": "JSON API (tests/api, schemathesis)",
    "/api/v1/calls/<int(min=1, max=2147483647):call_id>/ranking": "JSON API (tests/api, schemathesis)",
    "/api/v1/applications": "JSON API (tests/api, schemathesis)",
    "/api/v1/applications/<int(min=1, max=2147483647):application_id>": "JSON API (tests/api, schemathesis)",
    "/api/v1/fellows": "JSON API (tests/api, schemathesis)",
    "/api/v1/fellows/<int(min=1, max=2147483647):fellow_id>": "JSON API (tests/api, schemathesis)",
    "/api/v1/alumni": "JSON API (tests/api, schemathesis)",
    "/api/v1/alumni/outcomes": "JSON API (tests/api, schemathesis)",
}


@dataclass
class Target:
    """One page to visit: who visits it, a short name (for messages and screenshot files) and its URL."""

    role: str
    name: str
    path: str


@dataclass
class Visit:
    target: Target
    width: str
    locale: str = "en"
    status: int = 0
    final_path: str = ""
    violations: list[dict[str, Any]] = field(default_factory=list)
    weight: int = 0
    weight_parts: dict[str, int] = field(default_factory=dict)
    focus_failures: list[str] = field(default_factory=list)
    layout_problems: list[str] = field(default_factory=list)


@dataclass
class Crawl:
    visits: list[Visit]
    html_files: dict[Path, Target]
    nu_messages: list[dict[str, Any]]


# --- The demo data and the pages it fills in ---------------------------------------------------------------------

def seed_demo(app: Flask, demo_snapshot: TableSnapshot) -> dict[str, Any]:
    """Load `flask seed-demo`'s data into the test database (put back from the session's snapshot once it was loaded,
    see tests/snapshots.py) and return the ids and tokens the page list needs."""
    from fellowship.alumni.followups import follow_up_token
    from fellowship.alumni.models import ExportJob, ExportStatus, FollowUp, FollowUpStatus
    from fellowship.applications.models import Application, ApplicationStatus, Document, Referee, RefereeStatus
    from fellowship.auth import invitations, tokens
    from fellowship.auth.models import User
    from fellowship.calls.models import Call, Programme
    from fellowship.demo import _documents_and_referees
    from fellowship.extensions import db
    from fellowship.fellows.models import Fellow
    from fellowship.models import utcnow
    from fellowship.notifications.models import OutboxMessage
    from fellowship.referees.services import LETTER_SALT
    from fellowship.selection.models import Assignment, CallReviewer, Decision, Offer, OfferStatus

    with app.app_context():
        put_demo_data(demo_snapshot)

        def call_titled(title: str) -> Call:
            return db.session.scalars(select(Call).where(Call.title == title)).one()

        open_call, reviewing, decided = (call_titled(f"Environmental Leaders {y}") for y in (2027, 2026, 2025))
        user = {role: db.session.scalars(select(User).where(User.email == email)).one()
                for role, email in LOGINS.items()}
        own = db.session.scalars(select(Application).where(Application.applicant_id == user["applicant"].id)).first()
        assert own is not None, "the demo applicant has a draft"
        _documents_and_referees(own, letter=False)  # files and an awaited referee: their lists and remove pages
        document = db.session.scalars(select(Document).where(Document.application_id == own.id)).first()
        own_referee = db.session.scalars(select(Referee).where(Referee.application_id == own.id)).first()
        offer = db.session.scalars(select(Offer).where(Offer.status == OfferStatus.PENDING).order_by(Offer.id)).first()
        assert offer is not None and document is not None and own_referee is not None
        offered = db.session.get_one(Application, offer.application_id)
        offered_email = db.session.get_one(User, offered.applicant_id).email
        assignment = db.session.scalars(select(Assignment).where(Assignment.reviewer_id == user["reviewer"].id,
                                                                 Assignment.call_id == reviewing.id)
                                        .order_by(Assignment.id)).first()
        member = db.session.scalars(select(CallReviewer).where(CallReviewer.call_id == reviewing.id)).first()
        decided_app = db.session.scalars(select(Application).where(Application.call_id == decided.id)
                                         .order_by(Application.id)).first()
        submitted = db.session.scalars(select(Application).where(Application.call_id == open_call.id,
                                                                 Application.status == ApplicationStatus.SUBMITTED)
                                       .order_by(Application.id)).first()
        batch_key = db.session.scalars(select(Decision.batch_key).where(Decision.batch_key.is_not(None))).first()
        fellow = db.session.scalars(select(Fellow).where(Fellow.user_id == user["alumnus"].id)).one()
        programme = db.session.scalars(select(Programme)).first()
        referee = db.session.scalars(select(Referee).join(Application).where(
            Application.call_id == open_call.id, Application.status.in_(
                [ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED]),
            Referee.status == RefereeStatus.INVITED).order_by(Referee.id)).first()
        assert referee is not None, "the open call has a referee whose letter is awaited"
        referee.link_nonce = referee.link_nonce or "crawl-nonce"
        follow_up = db.session.scalars(select(FollowUp).where(
            FollowUp.status.in_([FollowUpStatus.SENT, FollowUpStatus.REMINDED])).order_by(FollowUp.id)).first()
        assert follow_up is not None, "a demo follow-up waits for an answer"
        follow_up.link_nonce = follow_up.link_nonce or "crawl-nonce"
        own_follow_up = db.session.scalars(select(FollowUp).where(
            FollowUp.fellow_id == fellow.id, FollowUp.status == FollowUpStatus.SENT)).first()
        assert own_follow_up is not None, "a survey waits for the demo alumnus (My surveys)"
        message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert message is not None, "the demo queued an email (the alumnus's survey)"
        job = ExportJob(kind="alumni", params={}, status=ExportStatus.RUNNING, total_rows=20, done_rows=7,
                        created_by_id=user["staff"].id)
        db.session.add(job)
        db.session.flush()
        from fellowship.selection.models import SelectionStage, StageKind
        from fellowship.selection.stages import ensure_stages

        review_stage = ensure_stages(reviewing)[0]
        shortlist = SelectionStage(call_id=reviewing.id, position=review_stage.position + 1, kind=StageKind.SHORTLIST,
                                   name="Shortlist", advance_count=4, advance_by_quota=True)
        db.session.add(shortlist)
        db.session.flush()
        # A second review round after the shortlist, with the demo reviewer on its panel and one candidate to score.
        from fellowship.selection.models import AssignmentStatus, StageAssignment, StageCriterion, StagePanelMember

        second_round = SelectionStage(call_id=reviewing.id, position=shortlist.position + 1, kind=StageKind.REVIEW,
                                      name="Second review", reviewers_per_application=1, blind=True)
        db.session.add(second_round)
        db.session.flush()
        db.session.add(StagePanelMember(stage_id=second_round.id, user_id=user["reviewer"].id))
        db.session.add(StageCriterion(stage_id=second_round.id, position=1, name="Leadership",
                                      description="Evidence of leading others."))
        round_assignment = StageAssignment(stage_id=second_round.id, call_id=reviewing.id,
                                           application_id=assignment.application_id if assignment else own.id,
                                           reviewer_id=user["reviewer"].id, status=AssignmentStatus.ACTIVE,
                                           due_at=utcnow() + timedelta(days=10))
        db.session.add(round_assignment)
        db.session.flush()
        newcomer = User(email="newcomer@example.org", full_name="Nia Newcomer", password_hash="x")  # noqa: S106
        db.session.add(newcomer)
        invitee = User(email="invitee@example.org", full_name="Ines Invitee",
                       password_hash=invitations.new_invited_password_hash())
        db.session.add(invitee)
        db.session.flush()
        ids = {
            "open_call": open_call.id, "reviewing_call": reviewing.id, "decided_call": decided.id,
            "review_stage": review_stage.id, "shortlist": shortlist.id, "second_round": second_round.id,
            "round_assignment": round_assignment.id,
            "own": own.id, "assignment": assignment.id if assignment else None, "member": member.id if member else None,
            "decided_app": decided_app.id if decided_app else None, "submitted": submitted.id if submitted else None,
            "batch_key": batch_key, "fellow": fellow.id, "programme": programme.id if programme else None,
            "document": document.id, "own_referee": own_referee.id, "offered": offered.id,
            "offered_email": offered_email, "job": job.id, "own_follow_up": own_follow_up.id, "message": message.id,
            "referee_token": tokens.make_token(LETTER_SALT, {"rid": referee.id, "n": referee.link_nonce}),
            "follow_up_token": follow_up_token(follow_up.id, follow_up.link_nonce),
            "confirm_token": tokens.make_token(tokens.CONFIRM_SALT, {"uid": newcomer.id, "email": newcomer.email}),
            "invitation_token": tokens.make_token(tokens.INVITE_SALT, {
                "uid": invitee.id, "pw": tokens.password_fingerprint(invitee.password_hash)}),
            "reset_token": tokens.make_token(tokens.RESET_SALT, {
                "uid": user["applicant"].id, "pw": tokens.password_fingerprint(user["applicant"].password_hash)}),
        }
        # The form builder's pages: the open call's form, its first section and that section's first question.
        from fellowship.questions.models import Question, QuestionnaireSection

        form_section = db.session.scalars(select(QuestionnaireSection).where(
            QuestionnaireSection.questionnaire_id == open_call.questionnaire_id)
            .order_by(QuestionnaireSection.position)).first()
        assert form_section is not None, "the demo's open call has its application form"
        form_question = db.session.scalars(select(Question).where(Question.section_id == form_section.id)
                                           .order_by(Question.position)).first()
        assert form_question is not None
        ids.update(form_section=form_section.id, form_question=form_question.id)
        # Interviews: the applicant shortlisted for an interview in their call and booked in a slot the reviewer sits
        # on; a second slot open for rescheduling.
        from fellowship.interviews.models import InterviewBooking, InterviewMode, InterviewSlot, SlotPanelMember
        from fellowship.selection.models import StageResult

        last = ensure_stages(own.call)[-1].position
        cut = SelectionStage(call_id=own.call_id, position=last + 1, kind=StageKind.SHORTLIST,
                             name="Interview shortlist", advance_count=1, advanced_at=utcnow())
        interview = SelectionStage(call_id=own.call_id, position=last + 2, kind=StageKind.INTERVIEW, name="Interview")
        db.session.add_all([cut, interview])
        db.session.flush()
        db.session.add(StageResult(stage_id=cut.id, application_id=own.id, call_id=own.call_id, advanced=True,
                                   position=1, reason="Advances."))
        slots = [InterviewSlot(stage_id=interview.id, call_id=own.call_id, starts_at=utcnow() + timedelta(days=days),
                               duration_minutes=45, capacity=2, booked_count=taken, mode=InterviewMode.VIDEO,
                               location="https://meet.example.org/elf") for days, taken in ((5, 1), (6, 0))]
        db.session.add_all(slots)
        db.session.flush()
        db.session.add_all([SlotPanelMember(slot_id=s.id, user_id=user["reviewer"].id) for s in slots])
        booking = InterviewBooking(slot_id=slots[0].id, stage_id=interview.id, application_id=own.id,
                                   reminder_due_at=slots[0].starts_at - timedelta(days=1))
        db.session.add(booking)
        db.session.flush()
        ids.update(interview=interview.id, interview_slot=slots[0].id, interview_booking=booking.id,
                   interview_call=own.call_id)
        assert utcnow() < open_call.closes_at - timedelta(days=1)
        db.session.commit()
    return ids


def targets(ids: dict[str, Any]) -> list[Target]:
    """One of each page kind, per role: lists, details, forms."""
    pages: list[Target] = []

    def add(role: str, *named: tuple[str, str]) -> None:
        pages.extend(Target(role, name, path) for name, path in named)

    own, call = ids["own"], ids["open_call"]
    rev, dec = ids["reviewing_call"], ids["decided_call"]
    add("anonymous",
        ("home", "/"), ("open-calls", "/calls"), ("call", f"/calls/{call}"), ("login", "/auth/login"),
        ("register", "/auth/register"), ("forgot", "/auth/forgot"), ("check-email", "/auth/check-email"),
        ("reset", f"/auth/reset/{ids['reset_token']}"), ("confirm", f"/auth/confirm/{ids['confirm_token']}"),
        ("invitation", f"/auth/invitation/{ids['invitation_token']}"),
        ("referee-letter", f"/referee/{ids['referee_token']}"), ("referee-thanks", "/referee/thanks"),
        ("follow-up-survey", f"/follow-up/{ids['follow_up_token']}"), ("follow-up-thanks", "/follow-up/thanks"),
        ("privacy", "/privacy"), ("not-found", "/no-such-page"), ("api-docs", "/api/v1/docs"))
    add("applicant",
        ("home", "/"), ("my-applications", "/applications/"), ("application", f"/applications/{own}"),
        ("documents", f"/applications/{own}/documents"), ("referees", f"/applications/{own}/referees"),
        ("review-and-declare", f"/applications/{own}/review"),
        ("withdraw", f"/applications/{own}/withdraw"), ("profile", "/auth/profile"), ("password", "/auth/password"),
        ("api-tokens", "/auth/profile/tokens"))
    from fellowship.applications.form_template import DEFAULT_FORM

    add("applicant", *((f"section-{s['key']}", f"/applications/{own}/sections/{s['key']}") for s in DEFAULT_FORM))
    add("applicant",
        ("document-remove", f"/applications/{own}/documents/{ids['document']}/delete"),
        ("referee-remove", f"/applications/{own}/referees/{ids['own_referee']}/remove"))
    add("offered", ("application", f"/applications/{ids['offered']}"),
        ("offer-accept", f"/applications/{ids['offered']}/offer/accept"),
        ("offer-decline", f"/applications/{ids['offered']}/offer/decline"))
    add("reviewer", ("home", "/"), ("my-reviews", "/review"), ("conflicts", "/review/conflicts"),
        ("my-round-reviews", "/review/rounds"), ("round-review", f"/review/rounds/{ids['round_assignment']}"))
    if ids["assignment"]:
        add("reviewer", ("review", f"/review/assignments/{ids['assignment']}"),
            ("recuse", f"/review/assignments/{ids['assignment']}/recuse"))
    add("staff",
        ("home", "/"), ("calls", "/staff/calls"), ("call-new", "/staff/calls/new"),
        ("call-edit", f"/staff/calls/{call}/edit"), ("programmes", "/staff/programmes"),
        ("programme-new", "/staff/programmes/new"), ("programme-edit", f"/staff/programmes/{ids['programme']}/edit"),
        ("applications", f"/staff/calls/{call}/applications"),
        ("application", f"/staff/applications/{ids['submitted']}"),
        ("panel", f"/staff/calls/{rev}/panel"), ("panel-member", f"/staff/calls/{rev}/panel/members/{ids['member']}"),
        ("shortfalls", f"/staff/calls/{rev}/panel/shortfalls"), ("ranking", f"/staff/calls/{rev}/ranking"),
        ("strictness", f"/staff/calls/{rev}/ranking/reviewers"), ("decisions", f"/staff/calls/{dec}/decisions"),
        ("stages", f"/staff/calls/{rev}/stages"),
        ("stage-edit", f"/staff/calls/{rev}/stages/{ids['review_stage']}/edit"),
        ("shortlist", f"/staff/calls/{rev}/stages/{ids['shortlist']}"),
        ("shortlist-confirm", f"/staff/calls/{rev}/stages/{ids['shortlist']}/confirm"),
        ("shortlist-outcome", f"/staff/calls/{rev}/stages/{ids['shortlist']}/outcome"),
        ("review-round", f"/staff/calls/{rev}/rounds/{ids['second_round']}"),
        ("decisions-send", f"/staff/calls/{dec}/decisions/send"),
        ("decisions-from-proposal", f"/staff/calls/{rev}/decisions/from-proposal"),
        ("lock-reviews", f"/staff/calls/{rev}/panel/lock"),
        ("decision-progress", f"/staff/calls/{dec}/decisions/progress/{ids['batch_key']}"),
        ("application-decision", f"/staff/applications/{ids['decided_app']}/decision"),
        ("outbox", "/staff/outbox/"), ("resend-failed", "/staff/outbox/resend-failed"),
        ("outbox-message", f"/staff/outbox/{ids['message']}"),
        ("fellows", "/staff/fellows"), ("fellow", f"/staff/fellows/{ids['fellow']}"),
        ("returns-due", "/staff/fellows/returns-due"), ("alumni", "/staff/alumni"),
        ("alumni-overdue", "/staff/alumni/overdue"), ("alumni-timeline", f"/staff/alumni/{ids['fellow']}"),
        ("outcomes", "/staff/outcomes"), ("alumni-export", "/staff/alumni/export"),
        ("export-job", f"/staff/exports/{ids['job']}"), ("profile", "/auth/profile"),
        ("api-tokens", "/auth/profile/tokens"),
        ("call-translations", f"/staff/calls/{call}/translations"))
    form, section = f"/staff/calls/{call}/form", f"/staff/calls/{call}/form/sections/{ids['form_section']}"
    add("staff", ("form-builder", form), ("form-section", section), ("form-section-remove", f"{section}/remove"),
        ("form-question-new", f"{section}/questions/new"),
        ("form-question", f"{form}/questions/{ids['form_question']}"),
        ("form-question-remove", f"{form}/questions/{ids['form_question']}/remove"),
        ("form-preview", f"{form}/preview/{ids['form_section']}"))
    add("applicant", ("interview", f"/interviews/{ids['interview']}"))
    add("reviewer", ("my-interviews", "/panel/interviews"),
        ("interview-score", f"/panel/interviews/{ids['interview_booking']}"))
    add("staff", ("interview-slots", f"/staff/interviews/{ids['interview']}"),
        ("interview-slot", f"/staff/interview-slots/{ids['interview_slot']}"),
        ("interview-notes", f"/staff/interviews/{ids['interview']}/notes"),
        ("interview-booking", f"/staff/interview-bookings/{ids['interview_booking']}"))
    add("alumnus", ("home", "/"), ("career", "/alumni/career"), ("directory", "/alumni/directory"),
        ("my-surveys", "/alumni/surveys"), ("my-survey", f"/alumni/surveys/{ids['own_follow_up']}"))
    add("admin", ("home", "/"), ("users", "/admin/users"), ("audit", "/admin/audit"), ("invite", "/admin/users/invite"))
    return pages


# --- The crawl ----------------------------------------------------------------------------------------------------

FOCUS_CHECK = """() => {
  const lum = (c) => { const m = c.match(/[\\d.]+/g); if (!m) return null;
    const [r, g, b] = m.slice(0, 3).map(Number).map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const alpha = (c) => { const m = c.match(/[\\d.]+/g); return m && m.length > 3 ? Number(m[3]) : 1; };
  const backdrop = (el) => { for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor; if (alpha(bg) > 0.5) return bg; }
    return 'rgb(255, 255, 255)'; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const failures = [];
  const seen = new Set();
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary,'
                                             + ' [tabindex]:not([tabindex="-1"])')) {
    if (!el.getClientRects().length) continue;
    el.focus();
    if (document.activeElement !== el) continue;
    const style = getComputedStyle(el);
    const key = el.tagName + style.outlineColor + backdrop(el.parentElement);
    if (seen.has(key)) continue; seen.add(key);
    const width = parseFloat(style.outlineWidth) || 0;
    const ring = style.outlineStyle !== 'none' && width >= 2 ? style.outlineColor : null;
    const halo = (style.boxShadow.match(/rgba?\\([^)]*\\)/) || [null])[0];
    const around = backdrop(el.parentElement);
    const best = Math.max(ring ? ratio(ring, around) : 0, halo ? ratio(halo, around) : 0);
    if (best < 3) failures.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.name || '').trim().slice(0, 30)}"`
                                + ` ring ${ring} on ${around}: ${best.toFixed(2)}:1`);
  }
  if (document.activeElement) document.activeElement.blur();
  return failures;
}"""

PHONE_LAYOUT = """() => {
  const width = window.innerWidth, problems = [];
  if (document.documentElement.scrollWidth > width + 1)
    problems.push(`the page is ${document.documentElement.scrollWidth}px wide: it slides sideways`);
  for (const table of document.querySelectorAll('main table')) {
    for (const row of table.querySelectorAll('tbody tr')) {
      const cells = [...row.children];
      if (cells.length === 1 && cells[0].colSpan > 1) continue;  // "No messages." spans the table
      const key = cells.filter((c, i) => i === 0 || c.querySelector('a, button, input, select, textarea'));
      for (const cell of key) {
        const box = cell.getBoundingClientRect();
        if (box.width && (box.left < -1 || box.right > width + 1)) {
          const head = table.querySelector('caption') || table.closest('[aria-label]');
          const name = head ? (head.getAttribute('aria-label') || head.innerText) : 'a table';
          problems.push(`${name.trim()}: "${cell.innerText.trim().slice(0, 30)}" is off-screen (${Math.round(box.left)}`
                        + `–${Math.round(box.right)} px)`);
          break;
        }
      }
      if (problems.length > 3) return problems;
    }
  }
  const panel = document.querySelector('.filter-panel');
  const results = panel && document.querySelector('main table');
  if (results && results.getBoundingClientRect().top > window.innerHeight)
    problems.push(`the results start ${Math.round(results.getBoundingClientRect().top)} px down, below the fold`);
  return problems;
}"""

ASSETS = """() => [...document.querySelectorAll('link[rel~=stylesheet][href], link[rel~=icon][href], img[src],'
  + ' script[src], source[src]')].map(e => e.href || e.src)"""


def log_in(context: Any, base: str, app: Flask, email: str) -> None:
    from fellowship.demo import DEMO_PASSWORD
    from fellowship.extensions import limiter

    with app.app_context():
        limiter.reset()  # six roles log in within the minute the login limit counts
    page = context.new_page()
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/auth/login" not in page.url, f"{email} could not log in"
    page.close()


def visit(page: Any, base: str, target: Target, width: str, axe: Any, asset_size: Callable[[str], int],
          html_dir: Path, html_files: dict[Path, Target], locale: str = "en") -> Visit:
    result = Visit(target, width, locale)
    response = page.goto(base + target.path, wait_until="load")
    result.status = response.status if response else 0
    result.final_path = urlsplit(page.url).path
    html = response.body() if response else b""
    result.weight_parts = {"html": len(html)}
    for url in set(page.evaluate(ASSETS)):
        if url.startswith(base):
            result.weight_parts[urlsplit(url).path] = asset_size(url)
    result.weight = sum(result.weight_parts.values())
    if width == "desktop":
        file = html_dir / f"{target.role}--{target.name}{'' if locale == 'en' else '--' + locale}.html"
        file.write_bytes(html)
        html_files[file] = target
    if os.environ.get("SCREENSHOTS"):  # before the focus check scrolls the boxes it focuses in
        suffix = "" if locale == "en" else f"--{locale}"
        page.screenshot(path=str(SCREENSHOT_DIR / f"{target.role}--{target.name}--{width}{suffix}.png"),
                        full_page=True)
    if width == "phone":
        result.layout_problems = page.evaluate(PHONE_LAYOUT)
    result.focus_failures = page.evaluate(FOCUS_CHECK)
    found = axe.run(page, options={"resultTypes": ["violations"]}).response["violations"]
    result.violations = [v for v in found if v.get("impact") in ("serious", "critical")]
    return result


def run_nu(files: list[Path]) -> list[dict[str, Any]]:
    """The Nu HTML checker over every saved page in one JVM: its error messages."""
    if not VNU_JAR.exists():
        pytest.fail(f"{VNU_JAR.relative_to(ROOT)} is missing: run `make node_modules` (npm ci installs vnu-jar, "
                    "pinned in package.json)")
    proc = subprocess.run(["java", "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *map(str, files)],
                          capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(proc.stderr or proc.stdout)
    return [m for m in report["messages"] if m.get("type") == "error" or m.get("subType") == "fatal"]


#: Roles crawled after all the others: the admin's audit log lists the page views the other roles' visits record.
LAST_ROLES = ("admin",)
#: Browsers crawling at once, each with the roles of its lane: axe's checks (most of a visit's time) run in each
#: browser's own processes, so two lanes keep both cores of a small machine busy.
LANES = 2


def crawl_roles(roles: list[str], pages: list[Target], in_locale: dict[tuple[str, str], list[Target]], app: Flask,
                live_server: str, ids: dict[str, Any], html_dir: Path) -> tuple[dict[str, list[Visit]],
                                                                                 dict[Path, Target]]:
    """Visit each role's pages in order in one browser of its own (a context per role): at each width in English,
    then each extra locale's share (`in_locale`). Playwright objects stay in the thread that made them."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    axe = Axe()
    visits: dict[str, list[Visit]] = {}
    html_files: dict[Path, Target] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        sizes: dict[str, int] = {}
        for role in roles:
            done = visits[role] = []
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            if role != "anonymous":
                log_in(context, live_server, app, LOGINS.get(role) or ids[f"{role}_email"])
            page = context.new_page()
            page.set_default_timeout(30000)

            def asset_size(url: str, _context: Any = context) -> int:
                if url not in sizes:
                    sizes[url] = len(_context.request.get(url).body())
                return sizes[url]

            for width, (w, h) in WIDTHS.items():
                page.set_viewport_size({"width": w, "height": h})
                for target in (t for t in pages if t.role == role):
                    done.append(visit(page, live_server, target, width, axe, asset_size, html_dir, html_files))
            for locale in EXTRA_LOCALES:  # the demo accounts save no language: the switcher's cookie decides
                context.add_cookies([{"name": "locale", "value": locale, "url": live_server}])
                for width, (w, h) in WIDTHS.items():
                    page.set_viewport_size({"width": w, "height": h})
                    for target in in_locale[(role, locale)]:
                        done.append(visit(page, live_server, target, width, axe, asset_size, html_dir, html_files,
                                          locale))
            context.close()
        browser.close()
    return visits, html_files


def lanes_of(roles: list[str], visits_of: dict[str, int], lanes: int) -> list[list[str]]:
    """The roles in `lanes` groups of about as many visits each (the largest first into the lightest lane), each in
    the crawl's order."""
    loads = [0] * lanes
    lane_of: dict[str, int] = {}
    for role in sorted(roles, key=lambda r: -visits_of[r]):
        lane = loads.index(min(loads))
        lane_of[role] = lane
        loads[lane] += visits_of[role]
    return [[r for r in roles if lane_of[r] == lane] for lane in range(lanes) if lane in lane_of.values()]


@pytest.fixture(scope="module")
def crawl(app: Flask, live_server: str, demo_snapshot: TableSnapshot,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    ids = seed_demo(app, demo_snapshot)
    pages = targets(ids)
    if os.environ.get("CRAWL_ROLES"):  # a quicker loop while fixing one role's pages (the route check then fails)
        pages = [t for t in pages if t.role in os.environ["CRAWL_ROLES"].split(",")]
    html_dir = tmp_path_factory.mktemp("crawl-html")
    if os.environ.get("SCREENSHOTS"):
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    roles = list(dict.fromkeys(t.role for t in pages))
    # Each page is visited in each extra locale once, by the first role (in the crawl's order) that has it.
    in_locale: dict[tuple[str, str], list[Target]] = {}
    seen_in_locale: set[tuple[str, str]] = set()
    for role in roles:
        for locale in EXTRA_LOCALES:
            own = in_locale[(role, locale)] = [t for t in pages
                                               if t.role == role and (locale, t.path) not in seen_in_locale]
            seen_in_locale.update((locale, t.path) for t in own)
    visits_of = {role: len(WIDTHS) * (sum(t.role == role for t in pages)
                                      + sum(len(in_locale[(role, locale)]) for locale in EXTRA_LOCALES))
                 for role in roles}
    first = [r for r in roles if r not in LAST_ROLES]
    by_role: dict[str, list[Visit]] = {}
    html_files: dict[Path, Target] = {}

    def run(lane: list[str]) -> None:
        lane_visits, lane_files = crawl_roles(lane, pages, in_locale, app, live_server, ids, html_dir)
        by_role.update(lane_visits)
        html_files.update(lane_files)

    with ThreadPoolExecutor(max_workers=LANES) as lanes:
        for done in [lanes.submit(run, lane) for lane in lanes_of(first, visits_of, LANES)]:
            done.result()
    last = [r for r in roles if r in LAST_ROLES]
    if last:
        run(last)
    visits = [v for role in roles for v in by_role[role]]  # in the crawl's order, as one browser would have
    nu = run_nu(sorted(html_files))
    yield Crawl(visits, html_files, nu)


def where(visit: Visit) -> str:
    return f"{visit.target.role} {visit.target.name} ({visit.target.path}) at {visit.width} in {visit.locale}"


# --- What the crawl must show -------------------------------------------------------------------------------------

def test_every_page_of_every_role_opens(crawl: Crawl) -> None:
    broken = [f"{where(v)}: HTTP {v.status}" for v in crawl.visits
              if v.status != 200 and not (v.target.name == "not-found" and v.status == 404)]
    assert not broken, "pages that did not open:\n" + "\n".join(broken)


def test_no_serious_or_critical_axe_violation_at_desktop_and_phone_width(crawl: Crawl) -> None:
    problems = []
    for v in crawl.visits:
        for violation in v.violations:
            nodes = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                              for n in violation["nodes"][:4])
            problems.append(f"{where(v)}: {violation['id']} ({violation['impact']}) {violation['help']} — {nodes}")
    assert not problems, f"{len(problems)} axe violations:\n" + "\n".join(problems)


def test_every_page_is_valid_html_for_the_nu_checker(crawl: Crawl) -> None:
    by_path = {str(path): target for path, target in crawl.html_files.items()}
    problems = []
    for message in crawl.nu_messages:
        file = re.sub(r"^file:", "", message.get("url", ""))
        target = by_path.get(file)
        name = f"{target.role} {target.name} ({target.path})" if target else file
        problems.append(f"{name} line {message.get('lastLine')}: {message['message']} — "
                        f"{message.get('extract', '').strip()!r}")
    assert not problems, f"{len(problems)} Nu HTML checker errors:\n" + "\n".join(problems)


def test_focus_ring_contrasts_three_to_one_with_its_background_on_every_page(crawl: Crawl) -> None:
    problems = [f"{where(v)}: {failure}" for v in crawl.visits for failure in v.focus_failures]
    assert not problems, "focus rings under 3:1:\n" + "\n".join(sorted(set(problems)))


def test_on_a_phone_no_key_column_is_off_screen_and_results_come_before_the_fold(crawl: Crawl) -> None:
    """Each table row's first cell and its action cells are in view at 390 px, the page never slides sideways,
    and a folded filter panel leaves the results on the first screen."""
    problems = [f"{where(v)}: {problem}" for v in crawl.visits for problem in v.layout_problems]
    assert not problems, "phone layout problems:\n" + "\n".join(problems)


def test_on_a_phone_the_menu_folds_behind_a_button_and_wide_screens_show_it_open(
        live_server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server}/auth/login")
    open_calls = page.get_by_role("link", name="Open calls")
    assert not open_calls.is_visible()
    page.get_by_text("Menu", exact=True).click()
    assert open_calls.is_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    assert open_calls.is_visible() and not page.get_by_text("Menu", exact=True).is_visible()
    context.close()


def test_first_view_of_every_page_is_at_most_150_kb(crawl: Crawl) -> None:
    heavy = [f"{where(v)}: {v.weight / 1024:.0f} KB {v.weight_parts}" for v in crawl.visits
             if v.weight > PAGE_BUDGET_BYTES]
    assert not heavy, "pages over 150 KB (HTML + CSS + images):\n" + "\n".join(heavy)


def test_pages_need_no_javascript(crawl: Crawl) -> None:
    scripted = [f"{where(v)}: {part}" for v in crawl.visits for part in v.weight_parts if part.endswith(".js")]
    assert not scripted, "pages that load scripts:\n" + "\n".join(scripted)


def test_every_get_route_that_renders_html_is_crawled_or_skipped_with_a_reason(app: Flask, crawl: Crawl) -> None:
    adapter = app.url_map.bind("localhost")
    crawled = set()
    for v in crawl.visits:
        try:
            rule, _args = adapter.match(v.target.path, method="GET", return_rule=True)
        except Exception:  # noqa: S112 - the 404 page matches no rule
            continue
        crawled.add(rule.rule)
    rules = {r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}
    missing = sorted(rules - crawled - set(SKIPPED))
    stale = sorted(set(SKIPPED) - rules)
    assert not missing, ("GET routes neither crawled nor skipped (add them to targets() in "
                         "tests/browser/test_accessibility_crawl.py, or to SKIPPED with a reason):\n"
                         + "\n".join(missing))
    assert not stale, "SKIPPED names routes that no longer exist:\n" + "\n".join(stale)

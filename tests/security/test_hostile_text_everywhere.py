"""Hostile text in every free-text field is stored as typed and made harmless wherever it comes out.

One world holds a different payload in each field users can type (applicants, referees, reviewers, staff,
alumni). Every page that shows those fields, every email template, and every CSV and XLSX export is then read:
no payload's markup comes out live in HTML, and no spreadsheet cell starts with a character that makes a
formula. Each field also names the pages that must show it (escaped), so the sweep cannot pass by showing
nothing. To cover a new field, add a row to FIELDS, set it in build_world, and name the pages that show it.
The world is built with factories and services; FORM_CASES below prove that the real forms store such text
as typed (the escaping sweep then covers where it is shown).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template
from jinja2 import meta
from markupsafe import escape
from openpyxl import load_workbook
from sqlalchemy import select

from fellowship.alumni.exports import build_export, create_export_job
from fellowship.alumni.followups import follow_up_token
from fellowship.alumni.models import CareerEntry, FollowUpResponse, FollowUpStatus, LeadershipLevel
from fellowship.applications.models import Application, ApplicationStatus, Document, Referee, RefereeStatus, Sector
from fellowship.auth.models import Role, User, UserRole
from fellowship.calls.models import DocumentKind, Programme
from fellowship.documents.storage import get_storage, new_key
from fellowship.eligibility.services import override_eligibility
from fellowship.extensions import db
from fellowship.fellows.models import Fellow
from fellowship.models import utcnow
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from fellowship.referees import services as referee_services
from fellowship.selection import conflicts, ranking, reviewing
from fellowship.selection.decisions import record_decision
from fellowship.selection.models import (
    AdjustmentAction,
    CallReviewer,
    Conflict,
    ConflictKind,
    Decision,
    DecisionOutcome,
    Recommendation,
    Review,
    SelectionAdjustment,
)
from fellowship.spreadsheets import FORMULA_TRIGGERS
from tests.alumni.factories import FellowFactory, add_career, add_follow_up, make_alumnus
from tests.conftest import login, submit_form
from tests.documents.files import pdf
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    ProgrammeFactory,
    UserFactory,
    answer_of,
    submitted_application,
)
from tests.selection.factories import AssignmentFactory, RubricCriterionFactory, add_rubric, panel_reviewer

#: Leading characters a spreadsheet reads as a formula; each field's payload starts with one, in turn.
LEADS = FORMULA_TRIGGERS


def payload(marker: str, n: int) -> str:
    """Markup that would run if shown unescaped, led by a formula trigger; short enough for 40-character columns."""
    return f"{LEADS[n % len(LEADS)]}<script>{marker}</script>"


@dataclass(frozen=True)
class Field:
    name: str
    #: Keys of PAGES and EXPORTS (and "email:<template>" for outbox rows) that must show this field's value.
    shown_on: tuple[str, ...]

    @property
    def marker(self) -> str:
        return "hx-" + re.sub(r"[^a-z]+", "-", self.name)


REVIEWER_AND_STAFF = ("review assignment", "staff application detail")
FIELDS: list[Field] = [
    Field("applicant full name", ("profile", "admin users")),
    Field("given name", ("section personal", "my referees", "referee letter upload", "review list", "ranking",
                         "staff application list", "staff decision form", "decisions", "fellow list",
                         "alumni timeline", "alumnus directory", *REVIEWER_AND_STAFF, "applications csv",
                         "ranking csv", "ranking xlsx", "alumni csv", "alumni xlsx", "email:referees/invitation")),
    Field("family name", ("section personal", "staff application list", "alumni list", *REVIEWER_AND_STAFF,
                          "applications csv", "ranking csv", "alumni xlsx", "email:referees/invitation")),
    Field("phone", ("section personal", *REVIEWER_AND_STAFF)),
    Field("degree subject", ("section education", *REVIEWER_AND_STAFF)),
    Field("institution", ("section education", *REVIEWER_AND_STAFF)),
    Field("current position", ("section experience", *REVIEWER_AND_STAFF)),
    Field("employer", ("section experience", *REVIEWER_AND_STAFF)),
    Field("field description", ("section field", *REVIEWER_AND_STAFF)),
    Field("preferred host", ("section study_plan", *REVIEWER_AND_STAFF)),
    Field("study plan", ("section study_plan", *REVIEWER_AND_STAFF)),
    Field("leadership plan", ("section leadership", *REVIEWER_AND_STAFF)),
    Field("motivation", ("section motivation", *REVIEWER_AND_STAFF)),
    Field("language test", ("section language", *REVIEWER_AND_STAFF)),
    Field("eligibility override reason", ("staff application detail", "audit log")),
    Field("referee name", ("my referees", "referee letter upload", *REVIEWER_AND_STAFF,
                           "email:referees/invitation")),
    Field("referee relation", ("my referees", "referee letter upload", *REVIEWER_AND_STAFF,
                               "email:referees/invitation")),
    Field("programme name", ("open calls", "call detail", "staff calls", "programmes", "programme form")),
    Field("programme description", ("programme form",)),
    Field("call title", ("my applications", "application overview", "open calls", "call detail",
                         "referee letter upload", "review list", "reviewer conflicts", "staff calls", "ranking",
                         "decisions", "panel", "email:referees/invitation", "outbox", "outcomes dashboard",
                         "outcomes csv", "outcomes xlsx")),
    Field("call description", ("call detail", "call form")),
    Field("criterion name", ("review assignment", "call form", "ranking csv", "ranking xlsx")),
    Field("criterion description", ("review assignment", "call form")),
    Field("criterion level", ("review assignment", "call form")),
    Field("reviewer full name", ("reviewer strictness", "panel", "panel member", "ranking csv", "ranking xlsx")),
    Field("panel institution", ("panel", "panel member")),
    Field("review comment", ("review assignment", "ranking csv", "ranking xlsx")),
    Field("conflict note", ("reviewer conflicts",)),
    Field("adjustment reason", ("ranking", "audit log", "ranking csv", "ranking xlsx")),
    Field("decision reason", ("staff decision form", "decisions", "audit log")),
    Field("staff full name", ("admin users",)),
    Field("host institution", ("fellow list", "fellow detail", "alumni timeline")),
    Field("supervisor", ("fellow detail", "alumni timeline")),
    Field("study programme", ("fellow detail", "alumni timeline")),
    Field("fellow notes", ("fellow detail",)),
    Field("career position", ("alumni list", "alumni timeline", "staff directory", "alumnus career",
                              "alumnus directory", "follow-up survey", "alumni csv", "alumni xlsx",
                              "alumni job csv", "alumni job xlsx")),
    Field("career organisation", ("alumni list", "alumni timeline", "staff directory", "alumnus career",
                                  "alumnus directory", "follow-up survey", "alumni csv", "alumni xlsx",
                              "alumni job csv", "alumni job xlsx")),
    Field("achievements", ("alumni timeline",)),
]
BY_NAME = {f.name: (n, f) for n, f in enumerate(FIELDS)}


def value(name: str) -> str:
    """The hostile value stored in the field called `name`."""
    n, field = BY_NAME[name]
    return payload(field.marker, n)


def build_world() -> dict[str, Any]:
    """Applicant A's application under review in a call with a rubric and a panel, reviewed, conflicted, adjusted
    and decided; an alumnus with career, answered and open follow-ups; every free text hostile."""
    staff = UserFactory(roles=[Role.STAFF], full_name=value("staff full name"))
    admin = UserFactory(roles=[Role.ADMIN])
    applicant = UserFactory(full_name=value("applicant full name"))
    programme = ProgrammeFactory(name=value("programme name"), description=value("programme description"))
    call = CallFactory(programme=programme, title=value("call title"), description=value("call description"),
                       reviewers_per_application=1)
    criterion = RubricCriterionFactory(
        call=call, position=0, name=value("criterion name"), description=value("criterion description"),
        level_descriptions={str(n): value("criterion level") for n in range(1, 6)})
    db.session.refresh(call)
    texts = {k.replace(" ", "_"): value(k) for k in (
        "given name", "family name", "phone", "degree subject", "institution", "current position", "employer",
        "field description", "preferred host", "study plan", "leadership plan", "motivation", "language test")}
    application = submitted_application(call, applicant=applicant, status=ApplicationStatus.INELIGIBLE, **texts)
    application.eligible = False
    override_eligibility(application, True, value("eligibility override reason"), staff)
    other = submitted_application(call)
    db.session.add(Referee(application_id=application.id, name=value("referee name"), email="grace@uni.example",
                           relation=value("referee relation"), status=RefereeStatus.RECEIVED, received_at=utcnow()))
    # A referee's link works while the application is open: this one is on another applicant's draft.
    draft = ApplicationFactory(call=call, **texts)
    invited = referee_services.add_referee(draft, value("referee name"), "obi@uni.example", value("referee relation"))
    storage = get_storage()
    key = new_key()
    storage.save(key, pdf())
    db.session.add(Document(application_id=application.id, kind=DocumentKind.CV, filename="cv.pdf", storage_key=key,
                            content_type="application/pdf", size=len(pdf()), sha256="0" * 64))
    db.session.commit()

    reviewer = panel_reviewer(call, institution=value("panel institution"), full_name=value("reviewer full name"))
    assignment = AssignmentFactory(application=application, reviewer_id=reviewer.id)
    reviewing.save_review(assignment, {criterion.id: 4}, value("review comment"), Recommendation.SUPPORT, True)
    conflicts.declare_conflict(reviewer, other, ConflictKind.SUPERVISOR, value("conflict note"))
    ranking.adjust(call, application, AdjustmentAction.INCLUDE.value, value("adjustment reason"), staff)
    record_decision(application, DecisionOutcome.ACCEPT, value("decision reason"), staff)
    db.session.commit()

    alumnus_user = UserFactory(full_name=value("applicant full name"))
    alumnus = make_alumnus(  # a fellow of the same call, so its title labels the cohort in the outcome figures
        call, application_fields={"applicant": alumnus_user, **texts},
        host_institution=value("host institution"), supervisor=value("supervisor"),
        study_programme=value("study programme"), notes=value("fellow notes"), directory_opt_in=True)
    add_career(alumnus, position=value("career position"), organisation=value("career organisation"),
               sector=Sector.GOVERNMENT, level=LeadershipLevel.MANAGER)
    answered = add_follow_up(alumnus, 6, FollowUpStatus.COMPLETED, completed_at=utcnow())
    db.session.add(FollowUpResponse(follow_up_id=answered.id, fellow_id=alumnus.id, country_of_residence="KE",
                                    country_of_work="KE", achievements_text=value("achievements"),
                                    directory_consent=True))
    open_follow_up = add_follow_up(alumnus, 12, FollowUpStatus.SENT, link_nonce=secrets.token_hex(16),
                                   sent_at=utcnow())
    db.session.commit()
    member = db.session.scalars(select(CallReviewer).where(CallReviewer.reviewer_id == reviewer.id)).one()
    return {
        "emails": {"applicant": applicant.email, "reviewer": reviewer.email, "staff": staff.email,
                   "admin": admin.email, "alumnus": alumnus_user.email, "anonymous": None},
        "ids": {"staff": staff.id, "application": application.id, "call": call.id, "programme": programme.id,
                "fellow": alumnus.id, "assignment": assignment.id, "member": member.id},
        "tokens": {"letter": referee_services.letter_link(invited).rsplit("/", 1)[-1],
                   "survey": follow_up_token(open_follow_up.id, open_follow_up.link_nonce or "")},
    }


SECTIONS = ("personal", "education", "experience", "field", "study_plan", "leadership", "motivation", "language")
#: Every page that shows user-typed text, by who reads it.
PAGES: dict[str, tuple[str, str]] = {
    "my applications": ("applicant", "/applications/"),
    "application overview": ("applicant", "/applications/{application}"),
    **{f"section {s}": ("applicant", f"/applications/{{application}}/sections/{s}") for s in SECTIONS},
    "my documents": ("applicant", "/applications/{application}/documents"),
    "my referees": ("applicant", "/applications/{application}/referees"),
    "withdraw": ("applicant", "/applications/{application}/withdraw"),
    "open calls": ("applicant", "/calls"),
    "call detail": ("applicant", "/calls/{call}"),
    "profile": ("applicant", "/auth/profile"),
    "home": ("applicant", "/"),
    "referee letter upload": ("anonymous", "/referee/{letter}"),
    "review list": ("reviewer", "/review"),
    "review assignment": ("reviewer", "/review/assignments/{assignment}"),
    "reviewer conflicts": ("reviewer", "/review/conflicts"),
    "recuse": ("reviewer", "/review/assignments/{assignment}/recuse"),
    "staff application list": ("staff", "/staff/calls/{call}/applications"),
    "staff application detail": ("staff", "/staff/applications/{application}"),
    "staff decision form": ("staff", "/staff/applications/{application}/decision"),
    "ranking": ("staff", "/staff/calls/{call}/ranking"),
    "reviewer strictness": ("staff", "/staff/calls/{call}/ranking/reviewers"),
    "decisions": ("staff", "/staff/calls/{call}/decisions"),
    "send decisions": ("staff", "/staff/calls/{call}/decisions/send"),
    "panel": ("staff", "/staff/calls/{call}/panel"),
    "panel member": ("staff", "/staff/calls/{call}/panel/members/{member}"),
    "panel shortfalls": ("staff", "/staff/calls/{call}/panel/shortfalls"),
    "staff calls": ("staff", "/staff/calls"),
    "call form": ("staff", "/staff/calls/{call}/edit"),
    "programmes": ("staff", "/staff/programmes"),
    "programme form": ("staff", "/staff/programmes/{programme}/edit"),
    "fellow list": ("staff", "/staff/fellows"),
    "fellow detail": ("staff", "/staff/fellows/{fellow}"),
    "returns due": ("staff", "/staff/fellows/returns-due"),
    "alumni list": ("staff", "/staff/alumni"),
    "alumni timeline": ("staff", "/staff/alumni/{fellow}"),
    "alumni overdue": ("staff", "/staff/alumni/overdue"),
    "outcomes dashboard": ("staff", "/staff/outcomes?cohort={call}"),
    "outbox": ("staff", "/staff/outbox/?status=pending"),
    "alumni export page": ("staff", "/staff/alumni/export"),
    "staff directory": ("staff", "/alumni/directory"),
    "admin users": ("admin", "/admin/users"),
    "audit log": ("admin", "/admin/audit"),
    "alumnus career": ("alumnus", "/alumni/career"),
    "alumnus directory": ("alumnus", "/alumni/directory"),
    "follow-up survey": ("anonymous", "/follow-up/{survey}"),
}


#: Every CSV and XLSX export that carries user-typed text: (actor, url, form data to POST, or None to GET).
EXPORTS: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "applications csv": ("staff", "/staff/calls/{call}/applications.csv", None),
    "ranking csv": ("staff", "/staff/calls/{call}/ranking.csv", None),
    "ranking xlsx": ("staff", "/staff/calls/{call}/ranking.xlsx", None),
    "outcomes csv": ("staff", "/staff/outcomes.csv?cohort={call}", None),
    "outcomes xlsx": ("staff", "/staff/outcomes.xlsx?cohort={call}", None),
    "alumni csv": ("staff", "/staff/alumni/export", {"file_format": "csv"}),
    "alumni xlsx": ("staff", "/staff/alumni/export", {"file_format": "xlsx"}),
}


def fill(template: str, world: dict[str, Any]) -> str:
    return template.format(**world["ids"], **world["tokens"])


class Readers:
    """One logged-in test client per actor."""

    def __init__(self, app: Flask, world: dict[str, Any]) -> None:
        self.app, self.world, self.clients = app, world, {}

    def __call__(self, actor: str) -> Any:
        if actor not in self.clients:
            client = self.clients[actor] = self.app.test_client()
            email = self.world["emails"][actor]
            if email:
                assert login(client, email).status_code == 302, f"{actor} could not log in"
        return self.clients[actor]


def read_pages(readers: Readers) -> dict[str, str]:
    """Each page's HTML, as its reader sees it."""
    html = {}
    for key, (actor, template) in PAGES.items():
        response = readers(actor).get(fill(template, readers.world))
        assert response.status_code == 200, f"{key}: {response.status_code}"
        html[key] = response.get_data(as_text=True)
    return html


def read_emails(app: Flask) -> dict[str, str]:
    """The HTML part of every queued email, as the worker would send it, by template."""
    html = {}
    with app.test_request_context():
        for message in db.session.scalars(select(OutboxMessage)):
            body = build_email(message).get_body(preferencelist=("html",))
            assert body is not None
            html[f"email:{message.template}"] = body.get_content()
    return html


def spreadsheet_cells(body: bytes, xlsx: bool) -> list[str]:
    """Every text cell of a CSV or of every sheet of an XLSX workbook."""
    if xlsx:
        book = load_workbook(io.BytesIO(body), read_only=True)
        return [cell for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
                if isinstance(cell, str)]
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def read_exports(readers: Readers) -> dict[str, list[str]]:
    cells = {}
    for key, (actor, template, form) in EXPORTS.items():
        url = fill(template, readers.world)
        response = submit_form(readers(actor), url, form) if form else readers(actor).get(url)
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"], key
        cells[key] = spreadsheet_cells(response.get_data(), xlsx=key.endswith("xlsx"))
    return cells


def read_export_jobs(readers: Readers) -> dict[str, list[str]]:
    """The alumni export as a background job builds it (the path for large exports), downloaded by its creator."""
    cells = {}
    staff = db.session.get_one(User, readers.world["ids"]["staff"])
    for file_format in ("csv", "xlsx"):
        job = create_export_job(staff, file_format)
        db.session.commit()
        build_export(job.id)
        response = readers("staff").get(f"/staff/exports/{job.id}/download")
        assert response.status_code == 200, f"alumni job {file_format}"
        cells[f"alumni job {file_format}"] = spreadsheet_cells(response.get_data(), xlsx=file_format == "xlsx")
    return cells


def test_hostile_text_in_every_field_is_escaped_on_every_page_and_email_and_inert_in_every_export(app, app_ctx):
    world = build_world()
    db.session.remove()
    readers = Readers(app, world)
    html = {**read_pages(readers), **read_emails(app)}
    cells = {**read_exports(readers), **read_export_jobs(readers)}

    problems = []
    for field in FIELDS:
        live, escaped = f"<script>{field.marker}<", str(escape(f"<script>{field.marker}<"))
        problems += [f"{field.name}: live markup on {key}" for key, text in html.items() if live in text]
        for key, column in cells.items():
            formulas = [cell for cell in column if field.marker in cell and cell.startswith(FORMULA_TRIGGERS)]
            problems += [f"{field.name}: formula cell {cell!r} in {key}" for cell in formulas]
        for key in field.shown_on:
            assert key in html or key in cells, f"{field.name}: no page, email or export called {key!r}"
            if key in html and escaped not in html[key] or key in cells and not any(
                    field.marker in cell for cell in cells[key]):
                problems.append(f"{field.name}: not shown on {key}")
    assert not problems, "\n".join(problems)


def email_templates(app: Flask) -> list[str]:
    root = Path(app.root_path) / "templates"
    return sorted(str(p.relative_to(root)) for p in (root / "emails").rglob("*.html") if not p.name.startswith("_"))


def test_every_email_template_escapes_every_value_it_is_given(app, app_ctx):
    """Whatever a template prints (names, titles, reasons, links), none of it comes out as live markup."""
    problems = []
    with app.test_request_context():
        for name in email_templates(app):
            source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]  # type: ignore[union-attr]
            variables = meta.find_undeclared_variables(app.jinja_env.parse(source))
            # A count that chooses a plural form is a number the code computes, never text anyone typed: it gets 3.
            counts = set(re.findall(r'ngettext\(\s*"[^"]*",\s*"[^"]*",\s*([A-Za-z_]\w*)', source))
            html = render_template(name, **{v: 3 if v in counts else f"<script>{v}</script>" for v in variables})
            problems += [f"{name}: {{{{ {v} }}}} is not escaped" for v in variables if f"<script>{v}<" in html]
    assert len(email_templates(app)) >= 20
    assert not problems, "\n".join(problems)


def test_a_line_break_typed_into_a_name_leaves_the_referee_invitation_sendable(app, client, app_ctx):
    """Browsers send no line breaks from a one-line field, but a hand-made post can; the subject that quotes the
    name must stay one line, or the email cannot be built and the referee never gets the link."""
    application = ApplicationFactory(applicant=UserFactory(email="amani@example.org"))
    login(client, "amani@example.org")
    submit_form(client, f"/applications/{application.id}/sections/personal",
                {"given_name": "Amani\r\nBcc: everyone@example.org", "family_name": "Njeri<b>", "submit": "Save"})
    response = submit_form(client, f"/applications/{application.id}/referees",
                           {"name": "Grace\r\nWanjiru", "email": "wanjiru@uni.example", "relation": "Supervisor"})
    assert response.status_code == 302
    [message] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "referees/invitation"))
    assert "\r" not in message.subject and "\n" not in message.subject
    with app.test_request_context():
        email = build_email(message)
    assert email["Subject"].startswith("Reference letter request: Amani Bcc: everyone@example.org Njeri<b>")
    assert email["Bcc"] is None
    html = email.get_body(preferencelist=("html",))
    assert html is not None and "Njeri&lt;b&gt;" in html.get_content()


# --- Through the real forms ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where a form is posted, the page that then shows what was saved (None: shown only to others), how to read
    a saved field back, and the other fields the form needs."""

    form_url: str
    page_url: str | None
    saved: Callable[[str], Any]
    extra: dict[str, str] = dataclass_field(default_factory=dict)
    prefix: str = ""


@dataclass(frozen=True)
class FormCase:
    """A form users type into: who posts it, what it edits (made for the actor), and its free-text fields."""

    name: str
    role: Role
    setup: Callable[[Any], Target]
    fields: tuple[str, ...]


def _reload(model: type, id_: int) -> Any:
    db.session.expire_all()
    return db.session.get_one(model, id_)


def _only(model: type) -> Callable[[str], Any]:
    def saved(field: str) -> Any:
        db.session.expire_all()
        return getattr(db.session.scalars(select(model)).one(), field)
    return saved


def _section(name: str) -> Callable[[Any], Target]:
    def setup(actor: Any) -> Target:
        application = ApplicationFactory(applicant=actor)
        url = f"/applications/{application.id}/sections/{name}"
        # The answers live in the questionnaire engine, keyed by the question (the old field names).
        return Target(url, url, lambda field: answer_of(application.id, field))
    return setup


def _profile(actor: Any) -> Target:
    return Target("/auth/profile", "/auth/profile", lambda field: getattr(_reload(User, actor.id), field),
                  {"time_zone": "Africa/Nairobi"})


def _referees(actor: Any) -> Target:
    application = ApplicationFactory(applicant=actor)
    url = f"/applications/{application.id}/referees"
    return Target(url, url, _only(Referee), {"email": "grace@uni.example"})


def _career(actor: Any) -> Target:
    make_alumnus(application_fields={"applicant": actor})
    return Target("/alumni/career", "/alumni/career", _only(CareerEntry),
                  {"sector": "ngo", "country": "GH", "environmental": "yes", "leadership_level": "manager"})


def _survey(actor: Any) -> Target:
    fellow = make_alumnus(application_fields={"applicant": actor}, home_country="GH")
    follow_up = add_follow_up(fellow, 6, FollowUpStatus.SENT, link_nonce=secrets.token_hex(16), sent_at=utcnow())
    extra = {"country_of_residence": "GH", "country_of_work": "GH", "position": "Director", "organisation": "EPA",
             "sector": "ngo", "country": "GH",
             "environmental": "yes", "leadership_level": "manager", "collaboration_with_japan": "no",
             **dict.fromkeys(("projects_led", "policies_contributed", "publications", "people_trained", "awards"), "0")}
    return Target(f"/follow-up/{follow_up_token(follow_up.id, follow_up.link_nonce or '')}", None,
                  _only(FollowUpResponse), extra)


def _eligibility(actor: Any) -> Target:
    application = submitted_application(status=ApplicationStatus.INELIGIBLE)
    page = f"/staff/applications/{application.id}"
    return Target(f"{page}/eligibility", page,
                  lambda field: getattr(_reload(Application, application.id), f"eligibility_override_{field}"),
                  {"decision": "eligible"})


def _decision(actor: Any) -> Target:
    application = submitted_application()
    url = f"/staff/applications/{application.id}/decision"
    return Target(url, url, _only(Decision), {"outcome": "waitlist"})


def _adjustment(actor: Any) -> Target:
    application = submitted_application()
    call_id = application.call_id
    return Target(f"/staff/calls/{call_id}/ranking/{application.id}/adjust", f"/staff/calls/{call_id}/ranking",
                  _only(SelectionAdjustment), {"action": "include"}, prefix=f"adjust-{application.id}-")


def _panel_member(actor: Any) -> Target:
    call = CallFactory()
    reviewer = panel_reviewer(call)
    member = db.session.scalars(select(CallReviewer).where(CallReviewer.reviewer_id == reviewer.id)).one()
    url = f"/staff/calls/{call.id}/panel/members/{member.id}"
    return Target(url, url, _only(CallReviewer))


def _programme(actor: Any) -> Target:
    programme = ProgrammeFactory()
    url = f"/staff/programmes/{programme.id}/edit"
    return Target(url, url, lambda field: getattr(_reload(Programme, programme.id), field),
                  {"time_zone": "Asia/Tokyo", "followup_months": "6, 12"})


def _fellow(actor: Any) -> Target:
    fellow = FellowFactory()
    url = f"/staff/fellows/{fellow.id}"
    return Target(url, url, lambda field: getattr(_reload(Fellow, fellow.id), field), {"status": "in_japan"})


def _review(actor: Any) -> Target:
    call = CallFactory()
    [criterion] = add_rubric(call, 1)
    application = submitted_application(call)
    actor.roles.append(UserRole(role=Role.REVIEWER))
    db.session.add(CallReviewer(call_id=call.id, reviewer_id=actor.id))
    db.session.commit()
    assignment = AssignmentFactory(application=application, reviewer_id=actor.id)
    url = f"/review/assignments/{assignment.id}"
    return Target(url, url, _only(Review), {f"score_{criterion.id}": "4", "recommendation": "support",
                                            "save_draft": "Save draft"})


def _conflict(actor: Any) -> Target:
    call = CallFactory()
    application = submitted_application(call)
    actor.roles.append(UserRole(role=Role.REVIEWER))
    db.session.add(CallReviewer(call_id=call.id, reviewer_id=actor.id))
    db.session.commit()
    return Target("/review/conflicts", "/review/conflicts", _only(Conflict),
                  {"reference": application.reference or "", "kind": "other"})


FORM_CASES = [
    FormCase("section personal", Role.APPLICANT, _section("personal"), ("given_name", "family_name", "phone")),
    FormCase("section education", Role.APPLICANT, _section("education"), ("degree_subject", "institution")),
    FormCase("section experience", Role.APPLICANT, _section("experience"), ("current_position", "employer")),
    FormCase("section field", Role.APPLICANT, _section("field"), ("field_description",)),
    FormCase("section study plan", Role.APPLICANT, _section("study_plan"), ("preferred_host", "study_plan")),
    FormCase("section leadership", Role.APPLICANT, _section("leadership"), ("leadership_plan",)),
    FormCase("section language", Role.APPLICANT, _section("language"), ("language_test",)),
    FormCase("profile", Role.APPLICANT, _profile, ("full_name",)),
    FormCase("referee", Role.APPLICANT, _referees, ("name", "relation")),
    FormCase("career", Role.APPLICANT, _career, ("position", "organisation")),
    FormCase("follow-up survey", Role.APPLICANT, _survey, ("achievements_text",)),
    FormCase("review", Role.APPLICANT, _review, ("comment",)),
    FormCase("conflict declaration", Role.APPLICANT, _conflict, ("note",)),
    FormCase("eligibility override", Role.STAFF, _eligibility, ("reason",)),
    FormCase("decision", Role.STAFF, _decision, ("reason",)),
    FormCase("ranking adjustment", Role.STAFF, _adjustment, ("reason",)),
    FormCase("panel member", Role.STAFF, _panel_member, ("institution",)),
    FormCase("programme", Role.STAFF, _programme, ("name", "description")),
    FormCase("fellow record", Role.STAFF, _fellow, ("host_institution", "supervisor", "study_programme", "notes")),
]


@pytest.mark.parametrize("case", FORM_CASES, ids=[c.name for c in FORM_CASES])
def test_hostile_text_typed_into_a_form_is_stored_as_typed_and_shown_escaped(app, client, app_ctx, case):
    actor = UserFactory(roles=[case.role])
    target = case.setup(actor)
    login(client, actor.email)
    typed = {f: f'="><script>{f}</script>' for f in case.fields}  # fits the 40-character phone column
    data = {target.prefix + k: v for k, v in {**typed, **target.extra, "submit": "Save"}.items()}
    response = submit_form(client, target.form_url, data, page=target.page_url or target.form_url)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert {f: target.saved(f) for f in case.fields} == typed
    if target.page_url:
        html = client.get(target.page_url).get_data(as_text=True)
        for field in case.fields:
            assert f"<script>{field}<" not in html
            assert str(escape(typed[field])) in html, f"{field} is not shown on {target.page_url}"


@pytest.mark.parametrize("case", FORM_CASES, ids=[c.name for c in FORM_CASES])
def test_a_nul_character_typed_into_a_form_is_dropped_and_the_rest_saved(app, client, app_ctx, case):
    """PostgreSQL's text type refuses NUL: every form and every stored answer gets the text without it."""
    actor = UserFactory(roles=[case.role])
    target = case.setup(actor)
    login(client, actor.email)
    typed = {f: f"Mar\x00ia {f}\x00" for f in case.fields}
    data = {target.prefix + k: v for k, v in {**typed, **target.extra, "submit": "Save"}.items()}
    response = submit_form(client, target.form_url, data, page=target.page_url or target.form_url)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert {f: target.saved(f) for f in case.fields} == {f: f"Maria {f}" for f in case.fields}

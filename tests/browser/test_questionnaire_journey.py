"""A programme's own application form, end to end in a real browser (issue 14): staff add a conditional question and
a repeatable group to a new call's form, preview it, open the call; an applicant fills it in (the conditional question
appears only once its condition holds, after saving, without JavaScript) and submits; a blind reviewer does not see
the personal-data questions; the export has a column per question."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role
from fellowship.calls.models import CallStatus
from fellowship.extensions import db
from fellowship.questions.models import Question, Questionnaire, QuestionnaireSection
from tests.factories import PASSWORD, CallFactory, UserFactory
from tests.selection.factories import AssignmentFactory, panel_reviewer

pytestmark = [pytest.mark.browser]

ESSAY = "Clean rivers need leaders who can join science, policy and the people who live along them. "


def log_in(browser, live_server: str, email: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 900})  # a phone-sized window
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator(".flashes").wait_for()
    return context, page


def choose(page, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Answer a choice question, a select or radio buttons by how many options it has."""
    box = page.locator(f"#{key}")
    if box.evaluate("e => e.tagName") == "SELECT":
        box.select_option(value)
    else:
        box.locator(f"input[value='{value}']").check()


def section_titled(questionnaire_id: int, title: str) -> QuestionnaireSection:
    db.session.expire_all()
    sections = db.session.scalars(select(QuestionnaireSection).where(
        QuestionnaireSection.questionnaire_id == questionnaire_id)).all()
    return next(s for s in sections if s.title.get_for("en") == title)


def test_staff_build_a_form_with_a_condition_and_a_group_applicants_fill_it_blind_reviewers_and_exports_follow(
        live_server, browser, app_ctx, artifacts_dir):
    call = CallFactory(title="Environmental Leaders 2028", year=2028, reference_prefix="ELQ", status=CallStatus.DRAFT,
                       blind_review=True, required_documents=[], references_required=0)
    form_id = call.questionnaire_id
    experience = section_titled(form_id, "Work experience")
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    applicant = UserFactory(email="amani@example.org", full_name="Amani Njoroge")
    reviewer = panel_reviewer(call, email="reviewer@example.org")
    builder_url = f"{live_server}/staff/calls/{call.id}/form"

    # --- Staff build the form: a yes/no question, a question shown only after "yes", a repeatable group ---------
    staff_context, page = log_in(browser, live_server, staff.email)
    page.goto(builder_url)
    page.locator(f"#kind-{experience.id}").select_option("yes_no")
    page.get_by_role("button", name="Add a question to “Work experience”").click()
    page.get_by_label("Question", exact=True).fill("Have you led a community project?")
    page.get_by_label("Short name (optional)").fill("led_project")
    page.get_by_role("button", name="Save question").click()
    assert "Question “Have you led a community project?” added." in page.locator(".flashes").inner_text()

    page.locator(f"#kind-{experience.id}").select_option("short_text")
    page.get_by_role("button", name="Add a question to “Work experience”").click()
    page.get_by_label("Question", exact=True).fill("Name of the project")
    page.get_by_label("Short name (optional)").fill("project_name")
    page.get_by_label("An answer is required before submitting").check()
    page.get_by_label("Show this question only if the answer to").select_option("led_project")
    page.get_by_label("is one of these values").fill("maybe")
    page.get_by_role("button", name="Save question").click()
    assert "Not an answer to that question: maybe" in page.locator("#condition_values-error").inner_text()
    assert page.get_by_label("Question", exact=True).input_value() == "Name of the project"  # nothing typed lost
    page.get_by_label("is one of these values").fill("yes")
    page.get_by_role("button", name="Save question").click()
    assert "Shown only if “led_project” is yes" in page.locator("main").inner_text()

    page.locator(f"#kind-{experience.id}").select_option("group")
    page.get_by_role("button", name="Add a question to “Work experience”").click()
    page.get_by_label("Question", exact=True).fill("Publications")
    page.get_by_label("Short name (optional)").fill("publications")
    page.get_by_label("At most this many entries").fill("3")
    page.get_by_role("button", name="Save question").click()
    page.get_by_label("Kind of the new question").select_option("short_text")  # on the group's own page
    page.get_by_role("button", name="Add a question to each entry").click()
    page.get_by_label("Question", exact=True).fill("Title of the publication")
    page.get_by_label("Short name (optional)").fill("publication_title")
    page.get_by_label("An answer is required before submitting").check()
    page.get_by_role("button", name="Save question").click()
    assert "publication_title" in page.locator("main").inner_text()  # back on the group's page

    # The call's page lists the completeness rules, the condition among them.
    page.goto(f"{live_server}/staff/calls/{call.id}/edit")
    assert "“Name of the project” is asked only when the answer to “Have you led a community project?” is yes" \
        in page.locator("main").inner_text()

    # --- Preview: the applicant's page, saving nothing; the conditional question appears after "Save" -----------
    page.goto(builder_url)
    page.get_by_role("link", name="Preview “Work experience”").click()
    assert "Nothing typed here is saved" in page.locator(".preview-banner").inner_text()
    assert page.get_by_label("Name of the project").count() == 0
    choose(page, "led_project", "yes")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_label("Name of the project").count() == 1
    page.screenshot(path=str(artifacts_dir / "form-builder-preview.png"), full_page=True)

    # --- Opening the call locks the structure ------------------------------------------------------------------
    page.goto(f"{live_server}/staff/calls/{call.id}/edit")
    page.get_by_label("Status").select_option("open")
    page.get_by_role("button", name="Save call").click()
    page.goto(builder_url)
    assert "structure is locked" in page.locator("main").inner_text()
    page.screenshot(path=str(artifacts_dir / "form-builder-locked.png"), full_page=True)

    # --- The applicant fills the form ----------------------------------------------------------------------------
    applicant_context, page = log_in(browser, live_server, applicant.email)
    page.goto(f"{live_server}/calls/{call.id}")
    page.get_by_role("button", name="Start an application").click()
    page.get_by_role("link", name="Personal details").click()
    page.get_by_label("Given name(s)").fill("Amani")
    page.get_by_label("Family name").fill("Njoroge")
    page.get_by_label("Date of birth").fill("1996-04-02")
    choose(page, "gender", "female")
    page.get_by_label("Nationality").select_option("KE")
    page.get_by_label("Country of residence").select_option("KE")
    page.get_by_role("button", name="Save and continue").click()
    choose(page, "highest_degree", "master")
    page.get_by_label("Subject of that degree").fill("Hydrology")
    page.get_by_label("University or institution").fill("University of Nairobi")
    page.get_by_label("Year of graduation").fill("2021")
    page.get_by_role("button", name="Save and continue").click()

    # Work experience: the conditional question is shown only once "yes" is saved.
    page.get_by_label("Current position").fill("Water engineer")
    page.get_by_label("Employer").fill("Nairobi Water")
    choose(page, "sector", "government")
    page.get_by_label("Years of work experience").fill("4")
    choose(page, "led_project", "no")
    page.get_by_label("Title of the publication").first.fill("Rivers of Nairobi")
    page.get_by_role("button", name="Add another entry").click()
    assert page.get_by_label("Title of the publication").count() == 2  # nothing typed lost, one more entry
    assert page.get_by_label("Title of the publication").first.input_value() == "Rivers of Nairobi"
    page.get_by_label("Title of the publication").nth(1).fill("Wetlands and towns")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_label("Name of the project").count() == 0
    choose(page, "led_project", "yes")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_label("Name of the project").count() == 1
    page.get_by_label("Name of the project").fill("Kibera river clean-up")
    page.get_by_role("button", name="Save and continue").click()

    choose(page, "environmental_field", "water")
    page.get_by_label("Your work in this field").fill(ESSAY * 3)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("What you will study in Japan, and why").fill(ESSAY * 12)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("How you will lead environmental work when you return home").fill(ESSAY * 12)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Motivation essay").fill(ESSAY * 15)
    page.get_by_role("button", name="Save and continue").click()
    choose(page, "english_level", "C1")
    choose(page, "japanese_level", "A2")
    page.get_by_role("button", name="Save and continue").click()

    application = db.session.scalars(select(Application).where(Application.applicant_id == applicant.id)).one()
    page.goto(f"{live_server}/applications/{application.id}/review")
    review = page.locator("main").inner_text()
    assert "Kibera river clean-up" in review and "Publications" in review, review
    page.get_by_label("The information in this application").check()
    page.get_by_label("I consent to the programme processing").check()
    page.get_by_role("button", name="Submit application").click()
    assert "Your reference number is ELQ-2028-00001" in page.locator(".flashes").inner_text()
    applicant_context.close()

    # --- A blind reviewer sees the answers but not the personal-data questions --------------------------------
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.status is not ApplicationStatus.DRAFT
    assignment = AssignmentFactory(application=application, reviewer_id=reviewer.id)
    reviewer_context, page = log_in(browser, live_server, reviewer.email)
    page.goto(f"{live_server}/review/assignments/{assignment.id}")
    shown = page.locator("main").inner_text()
    assert "Kibera river clean-up" in shown and "Rivers of Nairobi" in shown
    personal = db.session.scalars(select(Question).where(Question.questionnaire_id == form_id,
                                                         Question.personal_data.is_(True))).all()
    assert personal
    for question in personal:
        assert question.label.get_for("en") not in shown, question.key
    assert "Njoroge" not in shown and "1996" not in shown
    reviewer_context.close()

    # --- The export has a column per question ------------------------------------------------------------------
    response = staff_context.request.get(f"{live_server}/staff/calls/{call.id}/applications.csv")
    assert response.ok
    rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff"))))
    header = rows[0]
    questionnaire = db.session.get(Questionnaire, form_id)
    exported = [q.label.get_for("en") for s in questionnaire.sections for q in s.questions
                if q.in_export and q.kind.value != "group"]  # a group's entries go to their own sheet (XLSX)
    assert "Have you led a community project?" in exported and "Name of the project" in exported
    assert [label for label in exported if label not in header] == [], header
    row = dict(zip(header, rows[1], strict=True))
    assert row["Name of the project"] == "Kibera river clean-up"
    staff_context.close()

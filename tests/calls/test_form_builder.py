"""Staff build a call's application form without JavaScript: sections and questions added, edited, moved and
removed; each kind's settings; a preview as applicants see it that saves nothing; the completeness rules on the
call's page; the structure locked once the call opens (wording still changes); a copy of an earlier call's form."""

from __future__ import annotations

import difflib
import re
from typing import Any

from markupsafe import escape
from sqlalchemy import func, select

from fellowship.applications.models import Application
from fellowship.auth.models import Role
from fellowship.calls.models import Call, CallStatus
from fellowship.extensions import db
from fellowship.questions import services as questions
from fellowship.questions.kinds import QuestionKind
from fellowship.questions.models import AnswerSet, Question, Questionnaire, QuestionnaireSection, Response
from tests.calls.test_calls import call_form
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import CallFactory, UserFactory


def draft_call_with_form(**call_fields: Any) -> tuple[Call, Questionnaire]:
    """A draft call whose form has one section, "About you", and no question yet."""
    call = CallFactory(status=CallStatus.DRAFT, **call_fields)
    questionnaire = questions.create_questionnaire({"en": "Application form"})
    questions.add_section(questionnaire, "about", {"en": "About you"})
    db.session.flush()
    call.questionnaire_id = questionnaire.id
    db.session.commit()
    return call, questionnaire


def staff_client(client: Any) -> Any:
    staff = UserFactory(roles=[Role.STAFF])
    login(client, staff.email)
    return client


def question_fields(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"label": "Your field of work", "help_text": "", "key": "", "kind": "short_text",
                            "in_export": "y", "condition_question": "", "condition_values": "", "max_length": 200,
                            "scale": "cefr", "document_kind": "cv", "file_types": ["pdf"], "max_mb": 5}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def add_question(client: Any, call: Call, section: QuestionnaireSection, *, group: Question | None = None,
                 **fields: Any) -> Any:
    url = f"/staff/calls/{call.id}/form/sections/{section.id}/questions/new"
    if group is not None:
        url += f"?group={group.id}"
    return submit_form(client, url, question_fields(**fields))


def section_of(questionnaire: Questionnaire, key: str = "about") -> QuestionnaireSection:
    return db.session.scalars(select(QuestionnaireSection).where(
        QuestionnaireSection.questionnaire_id == questionnaire.id, QuestionnaireSection.key == key)).one()


def question_keyed(questionnaire: Questionnaire, key: str) -> Question:
    db.session.expire_all()
    return db.session.scalars(select(Question).where(Question.questionnaire_id == questionnaire.id,
                                                     Question.key == key)).one()


def keys_in_order(section: QuestionnaireSection) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Question.key).where(Question.section_id == section.id,
                                                              Question.group_id.is_(None))
                                   .order_by(Question.position)))


# --- Building ---------------------------------------------------------------------------------------------------

def test_staff_add_sections_and_questions_and_move_them_up_and_down(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    response = submit_form(client, f"/staff/calls/{call.id}/form/sections",
                           {"title": "Your plan", "description": "What you will study."},
                           page=f"/staff/calls/{call.id}/form")
    assert response.status_code == 302
    section = section_of(questionnaire)
    for label in ("First question", "Second question", "Third question"):
        assert add_question(client, call, section, label=label).status_code == 302
    assert keys_in_order(section) == ["first_question", "second_question", "third_question"]

    third = question_keyed(questionnaire, "third_question")
    assert submit_form(client, f"/staff/calls/{call.id}/form/questions/{third.id}/move", {"offset": -1},
                       page=f"/staff/calls/{call.id}/form").status_code == 302
    assert keys_in_order(section) == ["first_question", "third_question", "second_question"]

    page = client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)
    assert page.index("About you") < page.index("Your plan")
    assert page.index("First question") < page.index("Third question") < page.index("Second question")
    plan = section_of(questionnaire, "your_plan")
    assert submit_form(client, f"/staff/calls/{call.id}/form/sections/{plan.id}/move", {"offset": -1},
                       page=f"/staff/calls/{call.id}/form").status_code == 302
    page = client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)
    assert page.index("Your plan") < page.index("About you")


def test_removing_a_question_or_a_section_asks_first_then_removes_it(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    add_question(client, call, section, label="Going away")
    question = question_keyed(questionnaire, "going_away")
    confirm = client.get(f"/staff/calls/{call.id}/form/questions/{question.id}/remove")
    assert "Remove the question “Going away”?" in confirm.get_data(as_text=True)
    assert question_keyed(questionnaire, "going_away")  # a GET changes nothing
    submit_form(client, f"/staff/calls/{call.id}/form/questions/{question.id}/remove", {})
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Question)
                             .where(Question.questionnaire_id == questionnaire.id)) == 0
    section_id = section.id
    submit_form(client, f"/staff/calls/{call.id}/form/sections/{section_id}/remove", {})
    db.session.expire_all()
    assert db.session.get(QuestionnaireSection, section_id) is None


def test_each_kinds_settings_are_stored_as_the_engine_reads_them(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    add_question(client, call, section, label="Fields", kind="multiple_choice", required="y",
                 choices="water | Water and sanitation\nbiodiversity | Biodiversity\nEnergy", min_chosen=1,
                 max_chosen=2)
    add_question(client, call, section, label="Essay", kind="long_text", min_words=100, max_words=500)
    add_question(client, call, section, label="Years of work", kind="number", number_min="0", number_max="60",
                 integer="y")
    add_question(client, call, section, label="Home country", kind="country", countries_only="ke, NG vn",
                 personal_data="y")
    add_question(client, call, section, label="Born on", kind="date", min_years_ago=18, max_years_ago=40)
    add_question(client, call, section, label="Japanese", kind="language_level", language="ja", scale="jlpt")
    add_question(client, call, section, label="Transcript", kind="file", document_kind="transcript",
                 file_types=["pdf", "png"], max_mb=3)
    add_question(client, call, section, label="Education", kind="group", min_entries=1, max_entries=4)
    group = question_keyed(questionnaire, "education")
    add_question(client, call, section, group=group, label="Institution", required="y")

    assert question_keyed(questionnaire, "fields").config["choices"] == [
        {"value": "water", "label": {"en": "Water and sanitation"}},
        {"value": "biodiversity", "label": {"en": "Biodiversity"}},
        {"value": "energy", "label": {"en": "Energy"}}]
    assert question_keyed(questionnaire, "fields").config["min_chosen"] == 1
    assert question_keyed(questionnaire, "fields").required is True
    assert question_keyed(questionnaire, "essay").config == {"min_words": 100, "max_words": 500}
    assert question_keyed(questionnaire, "years_of_work").config == {"integer": True, "min": 0, "max": 60}
    country = question_keyed(questionnaire, "home_country")
    assert country.config == {"only": ["KE", "NG", "VN"]} and country.personal_data is True
    assert question_keyed(questionnaire, "born_on").config == {"min_years_ago": 18, "max_years_ago": 40}
    assert question_keyed(questionnaire, "japanese").config == {"language": "ja", "scale": "jlpt"}
    assert question_keyed(questionnaire, "transcript").config == {"document_kind": "transcript",
                                                                  "types": ["pdf", "png"], "max_mb": 3}
    group = question_keyed(questionnaire, "education")
    assert group.config == {"min_entries": 1, "max_entries": 4}
    assert [(c.key, c.kind) for c in group.children] == [("institution", QuestionKind.SHORT_TEXT)]


def test_a_question_with_bad_settings_is_refused_beside_each_field_and_nothing_typed_is_lost(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    response = add_question(client, call, section, label="Essay about home", kind="long_text", min_words=500,
                            max_words=100, help_text="Tell us about your town.")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="max_words-error"' in page and "must not be less than" in page
    assert 'value="Essay about home"' in page and "Tell us about your town." in page and 'value="500"' in page
    response = add_question(client, call, section, label="Favourite", kind="single_choice",
                            choices="good | Good\ngood | Twice")
    page = response.get_data(as_text=True)
    assert 'id="choices-error"' in page and "is there twice" in page and "good | Twice" in page
    assert db.session.scalar(select(func.count()).select_from(Question)
                             .where(Question.questionnaire_id == questionnaire.id)) == 0


def test_a_condition_names_an_earlier_question_and_one_of_its_answers(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    add_question(client, call, section, label="Employed", kind="yes_no", required="y")
    response = add_question(client, call, section, label="Employer", condition_question="employed",
                            condition_values="maybe")
    assert "Not an answer to that question: maybe" in response.get_data(as_text=True)
    add_question(client, call, section, label="Employer", condition_question="employed", condition_values="yes",
                 required="y")
    assert question_keyed(questionnaire, "employer").condition == {"question": "employed", "values": ["yes"]}
    page = client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)
    assert "Shown only if “employed” is yes" in page


# --- Versions -----------------------------------------------------------------------------------------------------

def test_opening_the_call_locks_its_form_structure(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    assert questionnaire.structure_locked_at is None
    response = submit_form(client, f"/staff/calls/{call.id}/edit",
                           call_form(call.programme_id, status="open", title=call.title, reference_prefix="ELFB"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Questionnaire, questionnaire.id).structure_locked_at is not None
    page = client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)
    assert "structure is locked" in page and "Add a section" not in page and "Move up" not in page


def test_a_structural_change_after_opening_is_refused_and_wording_is_kept(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    add_question(client, call, section, label="Sector", kind="single_choice",
                 choices="ngo | NGO\ngov | Government")
    question = question_keyed(questionnaire, "sector")
    questions.lock_structure(db.session.get(Questionnaire, questionnaire.id))  # the call opens
    call.status = CallStatus.OPEN
    db.session.commit()
    version = db.session.get(Questionnaire, questionnaire.id).version
    url = f"/staff/calls/{call.id}/form/questions/{question.id}"

    # Structure (now required, a choice removed) together with wording: the structure is refused beside its
    # field, the wording is saved, and the page keeps what was typed.
    response = submit_form(client, url, question_fields(label="Sector you work in", kind="single_choice",
                                                        key="sector", required="y",
                                                        choices="ngo | NGO / civil society"))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'class="error" id="required-error"' in page or 'class="error" id="choices-error"' in page
    assert 'value="Sector you work in"' in page and "ngo | NGO / civil society" in page
    stored = question_keyed(questionnaire, "sector")
    assert stored.label.get_for("en") == "Sector you work in"
    assert stored.required is False
    assert [c["value"] for c in stored.config["choices"]] == ["ngo", "gov"]

    # Wording alone (a new label, help text and a choice's label) is kept.
    response = submit_form(client, url, question_fields(
        label="Your sector", help_text="Where you work now.", kind="single_choice", key="sector",
        choices="ngo | NGO / civil society\ngov | Government"))
    assert response.status_code == 302
    stored = question_keyed(questionnaire, "sector")
    assert stored.label.get_for("en") == "Your sector" and stored.help_text.get_for("en") == "Where you work now."
    assert stored.config["choices"][0]["label"]["en"] == "NGO / civil society"
    assert [c["value"] for c in stored.config["choices"]] == ["ngo", "gov"]
    assert db.session.get(Questionnaire, questionnaire.id).version > version

    # Adding a question is refused with the reason, and nothing is added.
    response = add_question(client, call, section, label="Something new")
    assert response.status_code == 200 and 'id="label-error"' in response.get_data(as_text=True)
    assert keys_in_order(section) == ["sector"]


# --- Preview, rules, copy -----------------------------------------------------------------------------------------

def test_the_preview_shows_the_section_as_applicants_see_it_and_saves_nothing(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    add_question(client, call, section, label="Employed", kind="yes_no", required="y")
    add_question(client, call, section, label="Employer", condition_question="employed", condition_values="yes")
    url = f"/staff/calls/{call.id}/form/preview/{section.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Preview" in page and "About you" in page and "Employed" in page
    assert 'id="employed-question"' in page
    assert 'id="employer-question"' not in page  # hidden until its condition holds

    page = submit_form(client, url, {"employed": "yes"}).get_data(as_text=True)
    assert 'id="employer-question"' in page  # shown after "saving", as on the applicant's page
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert db.session.scalar(select(func.count()).select_from(AnswerSet)) == 0


def test_the_calls_page_shows_its_forms_completeness_rules(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    add_question(client, call, section, label="Employed", kind="yes_no", required="y")
    add_question(client, call, section, label="Essay", kind="long_text", min_words=10, max_words=200)
    db.session.expire_all()
    rules = questions.completeness_rules(db.session.get(Questionnaire, questionnaire.id))
    assert "2 questions, 1 of them required" in rules[0] and any("10 to 200 words" in rule for rule in rules)
    page = client.get(f"/staff/calls/{call.id}/edit").get_data(as_text=True)
    assert [rule for rule in rules if escape(rule) not in page] == []
    assert f"/staff/calls/{call.id}/form" in page


def test_staff_copy_the_form_of_an_earlier_call(client, app_ctx):
    earlier, earlier_form = draft_call_with_form(title="Environmental Leaders 2025", year=2025)
    staff_client(client)
    add_question(client, earlier, section_of(earlier_form), label="Employed", kind="yes_no")
    call, current = draft_call_with_form(title="Environmental Leaders 2027")
    current_id = current.id
    page = client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)
    assert "Environmental Leaders 2025 (2025)" in page
    response = submit_form(client, f"/staff/calls/{call.id}/form/copy", {"source_call_id": earlier.id},
                           page=f"/staff/calls/{call.id}/form")
    assert response.status_code == 302
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.questionnaire_id not in (None, earlier_form.id, current_id)
    copied = db.session.get(Questionnaire, call.questionnaire_id)
    assert [q.key for s in copied.sections for q in s.questions] == ["employed"]
    assert db.session.get(Questionnaire, current_id) is None  # the replaced, unanswered form is gone
    assert "Employed" in client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)


def test_a_section_or_question_of_another_calls_form_is_not_found(client, app_ctx):
    call, _questionnaire = draft_call_with_form()
    other, other_form = draft_call_with_form()
    staff_client(client)
    section = section_of(other_form)
    add_question(client, other, section, label="Employed", kind="yes_no")
    question = question_keyed(other_form, "employed")
    for path in (f"form/sections/{section.id}", f"form/questions/{question.id}",
                 f"form/preview/{section.id}", f"form/questions/{question.id}/remove"):
        assert client.get(f"/staff/calls/{call.id}/{path}").status_code == 404, path


def test_the_form_of_an_opened_call_cannot_be_replaced_by_a_copy(client, app_ctx):
    earlier, _earlier_form = draft_call_with_form(title="Environmental Leaders 2025", year=2025)
    call, current = draft_call_with_form(title="Environmental Leaders 2027")
    current_id = current.id
    questions.lock_structure(db.session.get(Questionnaire, current_id))
    db.session.commit()
    staff_client(client)
    page = client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)
    assert "Copy from an earlier call" not in page  # not offered once the call has opened
    response = client.post(f"/staff/calls/{call.id}/form/copy", data={
        "source_call_id": earlier.id, "csrf_token": csrf_token_from(page)})
    assert response.status_code == 422
    assert 'id="source_call_id-error"' in response.get_data(as_text=True)
    assert "can no longer be replaced" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Call, call.id).questionnaire_id == current_id


def test_a_call_without_a_form_starts_an_empty_one_once(client, app_ctx):
    call = CallFactory(status=CallStatus.DRAFT)
    call.questionnaire_id = None
    db.session.commit()
    staff_client(client)
    page = client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)
    assert "This call has no application form yet" in page
    assert client.get(f"/staff/calls/{call.id}/form/preview/1").status_code == 404
    for _ in range(2):
        assert submit_form(client, f"/staff/calls/{call.id}/form/start", {},
                           page=f"/staff/calls/{call.id}/form").status_code == 302
        db.session.expire_all()
        started = db.session.get(Call, call.id).questionnaire_id
        assert started is not None
    form = db.session.get(Questionnaire, started)
    assert form.sections == [] and form.structure_locked_at is None
    assert "No section yet" in client.get(f"/staff/calls/{call.id}/form").get_data(as_text=True)


def _questions_markup(html: str) -> str:
    """The section's questions as the page renders them: from the first question's block to the fieldset's end."""
    match = re.search(r'<div id="[a-z0-9_]+-question">.*?</fieldset>', html, re.S)
    assert match, "no question on the page"
    return " ".join(match.group(0).split())


def test_the_preview_renders_each_section_exactly_as_the_applicants_page(client, app_ctx):
    call = CallFactory()  # open, with the default form
    applicant = UserFactory(full_name="")  # no name to start the name boxes from: both pages start empty
    login(client, applicant.email)
    submit_form(client, f"/calls/{call.id}/apply", {}, page=f"/calls/{call.id}")
    application = db.session.scalars(select(Application).where(Application.applicant_id == applicant.id)).one()
    applicant_pages = {s.key: client.get(f"/applications/{application.id}/sections/{s.key}").get_data(as_text=True)
                       for s in db.session.get(Questionnaire, call.questionnaire_id).sections}
    client.post("/auth/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    staff_client(client)
    for section in db.session.get(Questionnaire, call.questionnaire_id).sections:
        preview = client.get(f"/staff/calls/{call.id}/form/preview/{section.id}").get_data(as_text=True)
        assert "Preview" in preview
        ours, theirs = _questions_markup(preview), _questions_markup(applicant_pages[section.key])
        assert ours == theirs, [d for d in difflib.ndiff(ours.split("> "), theirs.split("> ")) if d[0] in "+-"]


def test_choosing_another_kind_shows_its_settings_before_anything_is_saved(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    url = f"/staff/calls/{call.id}/form/sections/{section.id}/questions/new"
    page = client.get(f"{url}?kind=short_text").get_data(as_text=True)
    assert 'name="max_length"' in page and 'name="choices"' not in page
    response = client.post(url, data={**question_fields(label="Your sector", kind="single_choice"),
                                      "shown_kind": "short_text", "csrf_token": csrf_token_from(page)})
    page = response.get_data(as_text=True)
    assert 'id="kind-error"' in page and 'name="choices"' in page and 'value="Your sector"' in page
    assert db.session.scalar(select(func.count()).select_from(Question)
                             .where(Question.questionnaire_id == questionnaire.id)) == 0
    response = client.post(url, data={**question_fields(label="Your sector", kind="single_choice",
                                                        choices="ngo | NGO\ngov | Government"),
                                      "shown_kind": "single_choice", "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert [c["value"] for c in question_keyed(questionnaire, "your_sector").config["choices"]] == ["ngo", "gov"]


def test_the_preview_adds_an_entry_to_a_repeatable_group_without_javascript_and_keeps_nothing(client, app_ctx):
    call, questionnaire = draft_call_with_form()
    staff_client(client)
    section = section_of(questionnaire)
    add_question(client, call, section, label="Publications", kind="group", max_entries=2)
    add_question(client, call, section, group=question_keyed(questionnaire, "publications"), label="Title")
    url = f"/staff/calls/{call.id}/form/preview/{section.id}"
    page = client.get(url).get_data(as_text=True)
    assert page.count('name="publications-') == 1  # one blank entry to start
    page = submit_form(client, url, {"publications-0-title": "Rivers", "_add_publications": "1"}).get_data(
        as_text=True)
    assert page.count('name="publications-') == 2 and 'value="Rivers"' in page  # what was typed is kept
    assert "This is the most entries this question takes." in page  # the maximum of two is reached
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0

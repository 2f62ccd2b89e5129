"""The section form built with a real request: WTForms coercion, conditional fields, groups without JavaScript."""

from __future__ import annotations

import io

from flask import Flask, render_template_string
from werkzeug.datastructures import FileStorage, MultiDict

from fellowship.questions import services
from fellowship.questions.forms import section_form
from fellowship.questions.models import Questionnaire
from tests.questions.conftest import PDF_BYTES, PNG, section

RENDER = '{% from "questions/_section_form.html" import section_fields %}<form>{{ section_fields(form) }}</form>'


def post(app: Flask, data: dict, files: dict | None = None):
    payload = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            payload.add(key, item)
    for key, (content, name) in (files or {}).items():
        payload.add(key, (io.BytesIO(content), name))
    return app.test_request_context("/", method="POST", data=payload, content_type="multipart/form-data")


def test_posted_values_are_coerced_by_the_fields_and_saved(questionnaire: Questionnaire, app: Flask) -> None:
    about = section(questionnaire, "about")
    response = services.response_for(questionnaire)
    data = {"name": "Amina", "essay": "Wetlands matter to us.", "age": "29", "score": "3.5", "birth": "1996-04-23",
            "field": "water", "topics": ["energy", "water"], "has_degree": "yes", "nationality": "KE",
            "japanese-level": "N3", "other_language-language": "Swahili", "other_language-level": "native",
            "email": "amina@example.org", "website": "example.org"}
    with post(app, data, {"cv": (PDF_BYTES, "cv.pdf")}):
        form = section_form(about, {}, "en")
        assert "degree_subject" not in form._fields  # hidden until has_degree is yes
        values = form.values()
        assert values["topics"] == ["energy", "water"] and values["japanese"] == {"level": "N3"}
        assert isinstance(values["cv"], FileStorage)
        result = services.save_section_answers(response, about, values)
    assert result.errors == {}
    answers = services.answers_of(response)
    assert answers["age"] == 29 and answers["score"] == 3.5 and answers["has_degree"] is True
    assert answers["japanese"] == {"language": "ja", "level": "N3"}
    assert answers["other_language"] == {"language": "Swahili", "level": "native"}
    assert answers["website"] == "https://example.org" and answers["cv"]["filename"] == "cv.pdf"
    assert result.missing == {"degree_subject": "This question needs an answer."}
    # The page re-rendered after the save now asks the newly shown question.
    with app.test_request_context("/"):
        form = section_form(about, answers, "en")
        assert "degree_subject" in form._fields
        assert form.has_degree.data == "yes" and form.age.data == 29


def test_errors_appear_beside_their_fields_and_what_was_typed_is_kept(questionnaire: Questionnaire, app: Flask
                                                                      ) -> None:
    about = section(questionnaire, "about")
    response = services.response_for(questionnaire)
    with post(app, {"name": "Amina", "age": "twelve", "field": "geology"}, {"cv": (PNG, "cv.pdf")}):
        form = section_form(about, {}, "en")
        result = services.save_section_answers(response, about, form.values())
        form.apply_result(result)
        html = render_template_string(RENDER, form=form)
    assert set(result.errors) == {"age", "field", "cv"}
    assert 'id="age-error">Enter a number, like 12 or 3.5.</p>' in html
    assert 'aria-describedby="age-error"' in html and 'value="twelve"' in html
    assert "This file is not a PDF." in html
    assert services.answers_of(response) == {"name": "Amina"}


def test_an_empty_file_input_keeps_the_file_already_saved(questionnaire: Questionnaire, app: Flask) -> None:
    about = section(questionnaire, "about")
    response = services.response_for(questionnaire)
    with post(app, {"name": "Amina"}, {"cv": (PDF_BYTES, "cv.pdf")}):
        services.save_section_answers(response, about, section_form(about, {}, "en").values())
    kept = services.answers_of(response)["cv"]
    with post(app, {"name": "Amina Diallo"}):
        form = section_form(about, services.answers_of(response), "en")
        assert "cv" not in form.values()
        services.save_section_answers(response, about, form.values())
        html = render_template_string(RENDER, form=form)
    assert services.answers_of(response)["cv"] == kept
    assert "File kept: cv.pdf" in html


def test_add_and_remove_entry_buttons_change_the_group_without_javascript(questionnaire: Questionnaire, app: Flask
                                                                         ) -> None:
    history = section(questionnaire, "history")
    with app.test_request_context("/"):
        form = section_form(history, {}, "en")
        assert len(form.education.entries) == 1  # min_entries 1: one blank entry to fill in
        html = render_template_string(RENDER, form=form)
    assert 'name="_add_education"' in html and "Add another entry" in html and 'name="education-0-institution"' in html
    typed = {"education-0-institution": "Makerere University", "education-0-year": "2018"}
    with post(app, {**typed, "_add_education": "1"}):
        form = section_form(history, {}, "en")
        assert form.entries_changed and len(form.education.entries) == 2
        html = render_template_string(RENDER, form=form)
    assert 'value="Makerere University"' in html and 'name="education-1-institution"' in html
    # The maximum is 2: no more Add button, a hint instead.
    assert 'name="_add_education"' not in html and "This is the most entries" in html
    with post(app, {**typed, "education-1-institution": "Kyoto University", "_remove_education": "0"}):
        form = section_form(history, {}, "en")
        assert form.entries_changed
        assert [e.form.institution.data for e in form.education.entries] == ["Kyoto University"]


def test_a_group_entry_error_shows_beside_the_entrys_field(questionnaire: Questionnaire, app: Flask) -> None:
    history = section(questionnaire, "history")
    response = services.response_for(questionnaire)
    with post(app, {"education-0-institution": "A", "education-0-year": "2018",
                    "education-1-institution": "B", "education-1-year": "soon"}):
        form = section_form(history, {}, "en")
        result = services.save_section_answers(response, history, form.values())
        form.apply_result(result)
        html = render_template_string(RENDER, form=form)
    assert result.errors == {"education": "Entry 2, Year: Enter a number, like 12 or 3.5."}
    assert 'id="education-1-year-error">Enter a number, like 12 or 3.5.</p>' in html


def test_labels_and_choices_are_in_the_respondents_language(questionnaire: Questionnaire, app: Flask) -> None:
    with app.test_request_context("/"):
        form = section_form(section(questionnaire, "about"), {}, "fr")
        html = render_template_string(RENDER, form=form)
    assert "Biodiversité" in html and "Kenya" in html and "Japon" in html
    assert 'aria-required="true"' in html and " required" not in html.replace("aria-required", "")


def test_enter_in_a_text_input_saves_rather_than_removing_the_first_entry(questionnaire: Questionnaire, app: Flask
                                                                          ) -> None:
    with app.test_request_context("/"):
        html = render_template_string(RENDER, form=section_form(section(questionnaire, "history"), {}, "en"))
    first_submit = html[html.index("<button"):]
    assert first_submit.startswith('<button type="submit" hidden') and "name=" not in first_submit.split(">")[0]
    assert html.index('name="_remove_education"') > html.index("<button")

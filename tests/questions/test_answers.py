"""Saving a section's answers: partial drafts keep what is well-formed, conditions are evaluated on the server,
hidden questions neither block nor keep stale answers, groups honour min/max entries, facets follow each save."""

from __future__ import annotations

import io

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from fellowship.documents.storage import get_storage
from fellowship.extensions import db
from fellowship.questions import services
from fellowship.questions.display import displayed_answers
from fellowship.questions.exports import export_header, export_row, group_rows, group_sheets
from fellowship.questions.models import AnswerFacet, AnswerSet, Question, Questionnaire
from tests.questions.conftest import PDF_BYTES, PNG, question, section

COMPLETE = {"name": "Amina", "essay": "I want to restore wetlands.", "field": "water", "has_degree": "yes",
            "degree_subject": "Ecology"}


def facets(response_id: int) -> set[tuple[str, str]]:
    """The response's facet rows as (question key, value)."""
    rows = db.session.execute(select(Question.key, AnswerFacet.value).join(Question)
                              .where(AnswerFacet.response_id == response_id)).all()
    return {(key, value) for key, value in rows}


def test_a_partial_draft_keeps_what_is_well_formed_and_reports_the_rest(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    result = services.save_section_answers(response, about, {"name": "Amina", "age": "sixteen", "field": "energy",
                                                             "nationality": "FR"})
    assert result.errors == {"age": "Enter a number, like 12 or 3.5.", "nationality": "Choose a country from the list."}
    answers = services.answers_of(response)
    assert answers == {"name": "Amina", "field": "energy"}
    answer_set = db.session.scalars(select(AnswerSet).where(AnswerSet.response_id == response.id)).one()
    assert answer_set.questionnaire_version == questionnaire.version
    assert result.missing == {"essay": "This question needs an answer.",
                              "has_degree": "This question needs an answer."}


def test_an_invalid_value_keeps_the_previously_saved_answer(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    services.save_section_answers(response, about, {"age": "30"})
    result = services.save_section_answers(response, about, {"age": "300"})
    assert "age" in result.errors
    assert services.answers_of(response)["age"] == 30


def test_an_optional_question_left_empty_is_not_missing_but_a_required_one_is(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    result = services.save_section_answers(response, about, {**COMPLETE, "age": "", "email": ""})
    assert result.ok and result.missing == {}
    result = services.save_section_answers(response, about, {"name": ""})
    assert result.missing == {"name": "This question needs an answer."}


def test_a_conditional_question_is_shown_only_when_its_condition_holds(questionnaire: Questionnaire) -> None:
    about = section(questionnaire, "about")
    keys = lambda answers: [q.key for q in services.visible_questions(about, answers)]  # noqa: E731
    assert "degree_subject" not in keys({})
    assert "degree_subject" not in keys({"has_degree": False})
    assert "degree_subject" in keys({"has_degree": True})


def test_a_hidden_required_question_does_not_block_and_its_stale_answer_is_not_kept(questionnaire: Questionnaire
                                                                                   ) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    services.save_section_answers(response, about, COMPLETE)
    assert services.answers_of(response)["degree_subject"] == "Ecology"
    result = services.save_section_answers(response, about, {**COMPLETE, "has_degree": "no"})
    assert result.missing == {}  # the required degree_subject is hidden: it does not block
    assert "degree_subject" not in services.answers_of(response)
    # Sent again while hidden (a forged or stale form), it is still not kept.
    services.save_section_answers(response, about, {**COMPLETE, "has_degree": "no", "degree_subject": "Ecology"})
    assert "degree_subject" not in services.answers_of(response)


def test_an_unanswered_visible_required_conditional_question_blocks(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    result = services.save_section_answers(response, about, {**COMPLETE, "degree_subject": ""})
    assert result.missing == {"degree_subject": "This question needs an answer."}


def test_word_limits_keep_the_draft_and_say_what_is_needed(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    long = " ".join(["word"] * 11)
    result = services.save_section_answers(response, about, {**COMPLETE, "essay": long})
    assert services.answers_of(response)["essay"] == long
    assert result.missing == {"essay": "Use at most 10 words (you have 11)."}
    result = services.save_section_answers(response, about, {"essay": "too short"})
    assert result.missing == {"essay": "Write at least 3 words (you have 2)."}
    assert services.save_section_answers(response, about, {"essay": "ten " * 10}).missing == {}


def test_a_repeatable_group_needs_its_minimum_and_refuses_more_than_its_maximum(questionnaire: Questionnaire
                                                                                ) -> None:
    response = services.response_for(questionnaire)
    history = section(questionnaire, "history")
    result = services.save_section_answers(response, history, {"education": [{"institution": "", "year": ""}]})
    assert result.missing == {"education": "Give at least 1 entry."}
    one = {"institution": "Makerere University", "year": "2018"}
    assert services.save_section_answers(response, history, {"education": [one]}).missing == {}
    result = services.save_section_answers(response, history, {"education": [one, one, one]})
    assert result.errors == {"education": "Give at most 2 entries."}
    assert services.answers_of(response)["education"] == [{"institution": "Makerere University", "year": 2018}]
    result = services.save_section_answers(response, history, {"education": [one, {"year": "2020"}]})
    assert result.missing == {"education": "Entry 2: answer “Institution”."}
    result = services.save_section_answers(response, history, {"education": [one, {"institution": "X",
                                                                                   "year": "later"}]})
    assert result.entry_errors == {"education": {(1, "year"): "Enter a number, like 12 or 3.5."}}


def test_facets_hold_each_chosen_value_and_are_rewritten_on_each_save(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    services.save_section_answers(response, about, {**COMPLETE, "topics": ["energy", "water"], "nationality": "KE"})
    assert facets(response.id) == {("field", "water"), ("topics", "energy"), ("topics", "water"),
                                   ("has_degree", "yes"), ("nationality", "KE")}
    services.save_section_answers(response, about, {"topics": ["biodiversity"], "nationality": "", "has_degree": "no"})
    assert facets(response.id) == {("field", "water"), ("topics", "biodiversity"), ("has_degree", "no")}


def test_a_replaced_file_is_deleted_after_commit_and_a_rolled_back_one_at_once(questionnaire: Questionnaire,
                                                                               document_store: str) -> None:
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    storage = get_storage()
    services.save_section_answers(response, about, {"cv": FileStorage(io.BytesIO(PDF_BYTES), filename="a.pdf")})
    db.session.commit()
    first = services.answers_of(response)["cv"]["key"]
    assert storage.exists(first)
    result = services.save_section_answers(response, about, {"cv": FileStorage(io.BytesIO(PNG), filename="b.pdf")})
    assert result.errors["cv"].startswith("This file is not a PDF.")
    services.save_section_answers(response, about, {"cv": FileStorage(io.BytesIO(PDF_BYTES), filename="b.pdf")})
    second = services.answers_of(response)["cv"]["key"]
    assert second != first and storage.exists(first) and storage.exists(second)
    db.session.commit()
    assert not storage.exists(first) and storage.exists(second)
    services.save_section_answers(response, about, {"cv": FileStorage(io.BytesIO(PDF_BYTES), filename="c.pdf")})
    third = services.answers_of(response)["cv"]["key"]
    assert storage.exists(third)
    db.session.rollback()
    assert not storage.exists(third) and storage.exists(second)


def test_displayed_answers_follow_the_form_and_hide_personal_data_for_blind_review(questionnaire: Questionnaire
                                                                                    ) -> None:
    response = services.response_for(questionnaire)
    services.save_section_answers(response, section(questionnaire, "about"), {**COMPLETE, "nationality": "KE"})
    services.save_section_answers(response, section(questionnaire, "history"),
                                  {"education": [{"institution": "Makerere University", "year": "2018"}]})
    answers = services.answers_of(response)
    shown = displayed_answers(questionnaire, answers, "en")
    assert [s.title for s in shown] == ["About you", "Education"]
    texts = {a.key: a.text for s in shown for a in s.answers}
    assert texts["name"] == "Amina" and texts["nationality"] == "Kenya" and texts["has_degree"] == "Yes"
    assert shown[1].answers[0].entries == [[("Institution", "Makerere University"), ("Year", "2018")]]
    blind = {a.key for s in displayed_answers(questionnaire, answers, "en", hide_personal=True) for a in s.answers}
    assert "name" not in blind and "nationality" not in blind and "field" in blind


def test_the_export_has_a_column_per_exported_question_and_a_sheet_per_group(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    services.save_section_answers(response, section(questionnaire, "about"),
                                  {**COMPLETE, "topics": ["energy", "water"], "nationality": "KE"})
    services.save_section_answers(response, section(questionnaire, "history"),
                                  {"education": [{"institution": "Makerere University", "year": "2018"}]})
    header = export_header(questionnaire)
    assert header == ["name", "essay", "age", "score", "birth", "field", "topics", "has_degree", "degree_subject",
                      "nationality", "nationality_name", "japanese_language", "japanese_level",
                      "other_language_language", "other_language_level", "email", "cv", "education_count"]
    row = dict(zip(header, export_row(questionnaire, services.answers_of(response)), strict=True))
    assert row["topics"] == "energy; water" and row["has_degree"] == "yes" and row["nationality_name"] == "Kenya"
    assert row["age"] is None and row["education_count"] == 1
    assert group_sheets(questionnaire) == [("education", ["entry", "institution", "year"])]
    assert group_rows(question(questionnaire, "education"), services.answers_of(response)) == \
        [[1, "Makerere University", 2018]]


def test_deleting_a_response_deletes_its_answers_and_facets_on_every_database(questionnaire: Questionnaire) -> None:
    response = services.response_for(questionnaire)
    services.save_section_answers(response, section(questionnaire, "about"), COMPLETE)
    db.session.delete(response)
    db.session.flush()
    assert db.session.scalar(select(AnswerSet.id)) is None and db.session.scalar(select(AnswerFacet.value)) is None


def test_an_answer_in_an_earlier_section_hides_a_later_sections_question_and_drops_its_answer(
        questionnaire: Questionnaire) -> None:
    history = section(questionnaire, "history")
    services.add_question(history, kind="long_text", key="thesis", label="Your thesis", required=True,
                          condition={"question": "has_degree", "values": ["yes"]})
    response = services.response_for(questionnaire)
    about = section(questionnaire, "about")
    services.save_section_answers(response, about, COMPLETE)
    one = [{"institution": "Makerere University"}]
    services.save_section_answers(response, history, {"education": one, "thesis": "Wetland birds."})
    assert services.answers_of(response)["thesis"] == "Wetland birds."
    assert "thesis" in [q.key for q in services.visible_questions(history, services.answers_of(response))]
    services.save_section_answers(response, about, {**COMPLETE, "has_degree": "no"})
    answers = services.answers_of(response)
    assert "thesis" not in answers and answers["education"] == [{"institution": "Makerere University"}]
    assert "thesis" not in [q.key for q in services.visible_questions(history, answers)]
    assert services.missing(response, history) == {}

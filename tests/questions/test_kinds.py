"""Each kind of question keeps well-formed values (boundaries included) and refuses others with a readable message."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage

from fellowship.questions.kinds import KINDS, AnswerError, QuestionKind
from fellowship.questions.models import Questionnaire
from tests.questions.conftest import PDF_BYTES, PNG, question

VALID = [
    ("name", "  Amina Diallo ", "Amina Diallo"),
    ("name", "x" * 20, "x" * 20),
    ("essay", "one two three", "one two three"),
    ("age", "18", 18), ("age", "40", 40), ("age", 25, 25), ("age", "30.0", 30),
    ("score", "4.5", 4.5), ("score", "0", 0), ("score", 2.25, 2.25),
    ("birth", "1980-01-01", "1980-01-01"), ("birth", "2005-12-31", "2005-12-31"),
    ("field", "energy", "energy"),
    ("topics", ["water", "biodiversity"], ["biodiversity", "water"]),
    ("topics", "energy", ["energy"]),
    ("has_degree", "yes", True), ("has_degree", "no", False), ("has_degree", False, False),
    ("nationality", "ke", "KE"), ("nationality", "JP", "JP"),
    ("japanese", {"level": "N2"}, {"language": "ja", "level": "N2"}),
    ("other_language", {"language": "Swahili", "level": "native"}, {"language": "Swahili", "level": "native"}),
    ("other_language", {"language": "fr", "level": "B2"}, {"language": "fr", "level": "B2"}),
    ("email", "amina@example.org", "amina@example.org"),
    ("website", "example.org/me", "https://example.org/me"),
    ("website", "http://example.org", "http://example.org"),
    ("education", [{"institution": "University of Nairobi", "year": "2019"}],
     [{"institution": "University of Nairobi", "year": 2019}]),
    ("education", [{"institution": "A", "year": ""}, {"institution": "", "year": ""}], [{"institution": "A"}]),
]

INVALID = [
    ("name", "x" * 21, "at most 20 characters"),
    ("name", 12, "Enter text"),
    ("name", ["a"], "Enter text"),
    ("age", "17", "from 18 to 40"), ("age", "41", "from 18 to 40"), ("age", "25.5", "whole number"),
    ("age", "twenty", "Enter a number"), ("age", True, "Enter a number"), ("age", "nan", "Enter a number"),
    ("score", "4.51", "from 0 to 4.5"), ("score", "-0.1", "from 0 to 4.5"), ("score", "12,5", "Enter a number"),
    ("birth", "1979-12-31", "from 1980-01-01 to 2005-12-31"), ("birth", "2006-01-01", "from 1980-01-01"),
    ("birth", "31/12/1990", "year-month-day"), ("birth", "1990-02-30", "year-month-day"), ("birth", 1990, "year-month"),
    ("field", "geology", "Choose one of the options"), ("field", ["energy"], "Choose one of the options"),
    ("topics", ["energy", "water", "biodiversity"], "at most 2 options"), ("topics", ["energy", "oil"], "Choose from"),
    ("topics", [1], "Choose from"),
    ("has_degree", "maybe", "Choose yes or no"), ("has_degree", 1, "Choose yes or no"),
    ("nationality", "FR", "Choose a country"), ("nationality", "ZZ", "Choose a country"), ("nationality", 5, "country"),
    ("japanese", {"level": "B2"}, "Choose your level"), ("japanese", "N2", "Give the language"),
    ("other_language", {"language": "", "level": "B2"}, "Name the language"),
    ("other_language", {"language": "fr", "level": "N1"}, "Choose your level"),
    ("email", "amina@", "Enter an email address"), ("email", "a b@example.org", "Enter an email address"),
    ("website", "javascript:alert(1)", "Enter a web address"), ("website", "ftp://example.org", "web address"),
    ("website", "https://localhost", "web address"),
    ("education", [{"institution": "A"}] * 3, "at most 2 entries"),
    ("education", [{"institution": "A", "year": "soon"}], "Entry 1, Year: Enter a number"),
    ("education", [{"institution": "A", "unknown": "x"}], "Fill in the entries"),
    ("education", "A", "Fill in the entries"),
]


@pytest.mark.parametrize(("key", "value", "stored"), VALID, ids=[f"{k}-{i}" for i, (k, _v, _s) in enumerate(VALID)])
def test_a_well_formed_answer_is_kept_as_its_typed_json_value(questionnaire: Questionnaire, key: str, value: Any,
                                                             stored: Any) -> None:
    q = question(questionnaire, key)
    result = KINDS[q.kind].validate(q, value)
    assert result == stored
    assert type(result) is type(stored)


@pytest.mark.parametrize(("key", "value", "message"), INVALID,
                         ids=[f"{k}-{i}" for i, (k, _v, _m) in enumerate(INVALID)])
def test_a_malformed_answer_is_refused_with_a_readable_message(questionnaire: Questionnaire, key: str, value: Any,
                                                              message: str) -> None:
    q = question(questionnaire, key)
    with pytest.raises(AnswerError) as refused:
        KINDS[q.kind].validate(q, value)
    assert message in refused.value.message


@pytest.mark.parametrize("empty", [None, ""])
@pytest.mark.parametrize("key", ["name", "essay", "age", "birth", "field", "topics", "has_degree", "nationality",
                                 "japanese", "email", "website", "cv", "education"])
def test_an_empty_value_means_not_answered_for_every_kind(questionnaire: Questionnaire, key: str, empty: Any) -> None:
    q = question(questionnaire, key)
    kind = KINDS[q.kind]
    assert kind.is_empty(kind.validate(q, empty))


def test_every_kind_has_its_class_in_the_registry() -> None:
    assert set(KINDS) == set(QuestionKind)
    assert all(KINDS[k].kind is k for k in QuestionKind)


def test_a_pdf_is_checked_by_content_and_stored_with_its_key(questionnaire: Questionnaire) -> None:
    from fellowship.documents.storage import get_storage

    q = question(questionnaire, "cv")
    stored = KINDS[q.kind].validate(q, FileStorage(io.BytesIO(PDF_BYTES), filename="my cv.pdf"))
    assert set(stored) == {"key", "filename", "content_type", "size"}
    assert stored["filename"] == "my_cv.pdf" and stored["content_type"] == "application/pdf"
    assert stored["size"] == len(PDF_BYTES)
    with get_storage().open(stored["key"]) as kept:
        assert kept.read() == PDF_BYTES


def test_a_real_png_sent_to_a_pdf_only_question_is_refused_by_its_content(questionnaire: Questionnaire) -> None:
    q = question(questionnaire, "cv")
    with pytest.raises(AnswerError) as refused:
        KINDS[q.kind].validate(q, FileStorage(io.BytesIO(PNG), filename="cv.pdf"))  # named .pdf, a PNG inside
    assert refused.value.message.startswith("This file is not a PDF.")


def test_a_file_over_the_questions_size_limit_is_refused(questionnaire: Questionnaire) -> None:
    q = question(questionnaire, "cv")
    big = PDF_BYTES + b"%" + b"x" * (1024 * 1024)
    with pytest.raises(AnswerError, match="the limit is 1 MB"):
        KINDS[q.kind].validate(q, FileStorage(io.BytesIO(big), filename="cv.pdf"))


def test_a_stored_file_answer_must_have_the_stored_shape(questionnaire: Questionnaire) -> None:
    q = question(questionnaire, "cv")
    with pytest.raises(AnswerError):
        KINDS[q.kind].validate(q, {"document_id": 3})
    kept = {"key": "ab" * 20, "filename": "cv.pdf", "content_type": "application/pdf", "size": 10}
    assert KINDS[q.kind].validate(q, kept) == kept


def test_answers_read_as_text_in_the_viewers_language(questionnaire: Questionnaire) -> None:
    assert KINDS[QuestionKind.SINGLE_CHOICE].display(question(questionnaire, "field"), "biodiversity", "fr") == \
        "Biodiversité"
    assert KINDS[QuestionKind.COUNTRY].display(question(questionnaire, "nationality"), "JP", "fr") == "Japon"
    assert KINDS[QuestionKind.DATE].display(question(questionnaire, "birth"), "1990-04-23", "en") == "April 23, 1990"
    assert KINDS[QuestionKind.LANGUAGE_LEVEL].display(question(questionnaire, "japanese"),
                                                      {"language": "ja", "level": "N2"}, "en") == "Japanese: N2"

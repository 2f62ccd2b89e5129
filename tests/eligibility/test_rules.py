"""Each eligibility rule passes and fails with a reason a staff member can read; the answer rules read the question
the call names (else the tagged one) from the application's answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from fellowship.applications import models as _application_models  # noqa: F401 - every mapper, for Call()
from fellowship.calls.models import Call, DegreeLevel, DocumentKind, Programme
from fellowship.eligibility import rules
from fellowship.eligibility.rules import ApplicationSnapshot, CallRules, QuestionRef

ALL_DOCUMENTS = frozenset({DocumentKind.CV, DocumentKind.TRANSCRIPT, DocumentKind.PASSPORT})
DEGREES = (("secondary", "Secondary school"), ("bachelor", "Bachelor's degree"), ("master", "Master's degree"),
           ("doctorate", "Doctorate"))
#: The questions of the default form the rules read (keys as the answers store them).
QUESTIONS = {
    "age_at_deadline": QuestionRef("date_of_birth", "Date of birth"),
    "nationality": QuestionRef("nationality", "Nationality"),
    "degree": QuestionRef("highest_degree", "Highest degree completed", DEGREES),
}


def call_rules(**changes: object) -> CallRules:
    values: dict[str, object] = {
        "closing_date": date(2027, 4, 1), "max_age": 35, "min_degree": DegreeLevel.MASTER,
        "eligible_countries": frozenset({"KE", "NG", "VN"}),
        "required_documents": (DocumentKind.CV, DocumentKind.TRANSCRIPT, DocumentKind.PASSPORT),
        "references_required": 2, "questions": QUESTIONS,
    }
    values.update(changes)
    return CallRules(**values)  # type: ignore[arg-type]


def snapshot(*, document_kinds: frozenset[DocumentKind] = ALL_DOCUMENTS, letters_received: int = 2,
             **answers: object) -> ApplicationSnapshot:
    """An application's answers as the engine stores them (dates ISO, countries alpha-2, choices by value)."""
    given: dict[str, object] = {"date_of_birth": "1998-06-01", "nationality": "KE", "highest_degree": "master"}
    for key, value in answers.items():
        given[key] = value.isoformat() if isinstance(value, date) else getattr(value, "value", value)
    return ApplicationSnapshot(answers=given, document_kinds=document_kinds, letters_received=letters_received)


# --- age at the deadline ---------------------------------------------------------------------------------

def test_age_under_the_limit_passes_and_says_the_age_and_limit():
    assert rules.age_at_deadline(snapshot(date_of_birth=date(1998, 6, 1)), call_rules()) == (
        True, "Age at the deadline is 28 (limit 35).")


def test_age_over_the_limit_fails_and_says_the_age_and_limit():
    assert rules.age_at_deadline(snapshot(date_of_birth=date(1990, 5, 1)), call_rules()) == (
        False, "Age at the deadline is 36; the limit is 35.")


def test_turning_36_the_day_after_the_deadline_is_still_35_and_passes():
    outcome = rules.age_at_deadline(snapshot(date_of_birth=date(1991, 4, 2)), call_rules())
    assert outcome == (True, "Age at the deadline is 35 (limit 35).")


def test_turning_36_on_the_deadline_day_fails():
    outcome = rules.age_at_deadline(snapshot(date_of_birth=date(1991, 4, 1)), call_rules())
    assert outcome == (False, "Age at the deadline is 36; the limit is 35.")


def test_a_29_february_birthday_counts_from_1_march_in_other_years():
    assert rules.age_on(date(2000, 2, 29), date(2027, 2, 28)) == 26
    assert rules.age_on(date(2000, 2, 29), date(2027, 3, 1)) == 27
    assert rules.age_on(date(2000, 2, 29), date(2028, 2, 29)) == 28


def test_the_age_rule_reads_the_date_question_the_call_names():
    questions = {**QUESTIONS, "age_at_deadline": QuestionRef("born_on", "Date of birth (as in your passport)")}
    app = snapshot(date_of_birth=date(1998, 6, 1), born_on=date(1980, 1, 1))
    assert rules.age_at_deadline(app, call_rules(questions=questions)) == (
        False, "Age at the deadline is 47; the limit is 35.")
    assert rules.age_at_deadline(snapshot(), call_rules(questions=questions)) == (
        False, "Date of birth (as in your passport) is missing.")


def test_a_form_without_the_rules_question_fails_and_says_so():
    outcome = rules.age_at_deadline(snapshot(), call_rules(questions={**QUESTIONS, "age_at_deadline": None}))
    assert not outcome.passed and "no date of birth question" in outcome.reason


def test_missing_date_of_birth_fails_and_no_age_limit_passes():
    assert rules.age_at_deadline(snapshot(date_of_birth=None), call_rules()) == (False, "Date of birth is missing.")
    assert rules.age_at_deadline(snapshot(date_of_birth=date(1950, 1, 1)), call_rules(max_age=None)) == (
        True, "The call has no age limit.")


def test_the_deadline_date_is_taken_in_the_programme_time_zone():
    # 15:30 UTC on 31 March is 00:30 on 1 April in Tokyo: the closing date is 1 April there.
    call = Call(closes_at=datetime(2027, 3, 31, 15, 30, tzinfo=UTC), max_age=35, min_degree=None,
                eligible_countries=["KE"], required_documents=["cv"], references_required=1,
                programme=Programme(name="ELF", time_zone="Asia/Tokyo"))
    tokyo = replace(CallRules.from_call(call), questions=QUESTIONS)
    assert tokyo.closing_date == date(2027, 4, 1)
    born_1_april = snapshot(date_of_birth=date(1991, 4, 1))
    assert rules.age_at_deadline(born_1_april, tokyo) == (False, "Age at the deadline is 36; the limit is 35.")

    call.programme.time_zone = "UTC"  # the same instant is still 31 March in UTC: one day short of 36
    utc = replace(CallRules.from_call(call), questions=QUESTIONS)
    assert utc.closing_date == date(2027, 3, 31)
    assert rules.age_at_deadline(born_1_april, utc) == (True, "Age at the deadline is 35 (limit 35).")


# --- nationality -----------------------------------------------------------------------------------------

def test_nationality_in_the_list_passes_with_the_country_name():
    assert rules.nationality(snapshot(nationality="KE"), call_rules()) == (
        True, "Nationality Kenya is among the eligible countries.")


def test_nationality_not_in_the_list_fails_with_the_country_name():
    assert rules.nationality(snapshot(nationality="JP"), call_rules()) == (
        False, "Nationality Japan is not among the eligible countries.")


def test_the_nationality_rule_reads_the_country_question_the_call_names():
    questions = {**QUESTIONS, "nationality": QuestionRef("citizenship", "Citizenship")}
    app = snapshot(nationality="KE", citizenship="JP")
    assert rules.nationality(app, call_rules(questions=questions)) == (
        False, "Nationality Japan is not among the eligible countries.")
    assert rules.nationality(snapshot(nationality="KE"), call_rules(questions=questions)) == (
        False, "Citizenship is missing.")


def test_missing_nationality_fails_and_an_empty_list_takes_everyone():
    assert rules.nationality(snapshot(nationality=None), call_rules()) == (False, "Nationality is missing.")
    assert rules.nationality(snapshot(nationality="JP"), call_rules(eligible_countries=frozenset())) == (
        True, "Nationality Japan; the call takes every nationality.")


# --- degree ----------------------------------------------------------------------------------------------

def test_degree_at_or_above_the_minimum_passes():
    assert rules.degree(snapshot(highest_degree=DegreeLevel.DOCTORATE), call_rules()) == (
        True, "Highest degree Doctorate (at least Master's degree required).")
    assert rules.degree(snapshot(highest_degree=DegreeLevel.MASTER), call_rules()).passed


def test_degree_below_the_minimum_fails():
    assert rules.degree(snapshot(highest_degree=DegreeLevel.BACHELOR), call_rules()) == (
        False, "Highest degree Bachelor's degree; the call requires at least Master's degree.")


def test_missing_degree_fails_and_no_minimum_passes():
    assert rules.degree(snapshot(highest_degree=None), call_rules()) == (
        False, "Highest degree completed is missing; the call requires at least Master's degree.")
    assert rules.degree(snapshot(highest_degree=DegreeLevel.SECONDARY), call_rules(min_degree=None)) == (
        True, "The call requires no minimum degree.")


def test_the_degree_rule_ranks_by_the_order_of_the_choice_questions_choices():
    # A programme's own question: levels in its own order, with a choice the enum does not have.
    own = QuestionRef("degree_level", "Degree", (("bachelor", "Bachelor"), ("pgdip", "Postgraduate diploma"),
                                                 ("master", "Master"), ("doctorate", "PhD")))
    rules_ = call_rules(questions={**QUESTIONS, "degree": own})
    assert rules.degree(snapshot(degree_level="pgdip"), rules_) == (
        False, "Highest degree Postgraduate diploma; the call requires at least Master's degree.")
    assert rules.degree(snapshot(degree_level="doctorate"), rules_) == (
        True, "Highest degree PhD (at least Master's degree required).")


def test_a_degree_question_without_the_calls_minimum_among_its_choices_fails_with_the_reason():
    own = QuestionRef("degree_level", "Degree", (("bachelor", "Bachelor"), ("doctorate", "PhD")))
    outcome = rules.degree(snapshot(degree_level="doctorate"), call_rules(questions={**QUESTIONS, "degree": own}))
    assert not outcome.passed and "offers no choice for Master's degree" in outcome.reason


# --- documents -------------------------------------------------------------------------------------------

def test_all_required_documents_pass():
    assert rules.documents(snapshot(), call_rules()) == (
        True, "All required documents present: CV, Academic transcript, and Passport page.")


def test_missing_required_documents_are_named():
    assert rules.documents(snapshot(document_kinds=frozenset({DocumentKind.CV, DocumentKind.TRANSCRIPT})),
                           call_rules()) == (False, "Missing required documents: Passport page.")
    assert rules.documents(snapshot(document_kinds=frozenset({DocumentKind.OTHER})), call_rules()) == (
        False, "Missing required documents: CV, Academic transcript, and Passport page.")


def test_no_required_documents_passes():
    assert rules.documents(snapshot(document_kinds=frozenset()), call_rules(required_documents=())) == (
        True, "The call requires no documents.")


# --- references ------------------------------------------------------------------------------------------

def test_enough_reference_letters_pass():
    assert rules.references(snapshot(letters_received=2), call_rules()) == (
        True, "2 of 2 reference letters received.")
    assert rules.references(snapshot(letters_received=3), call_rules()) == (
        True, "3 reference letters received (2 required).")


def test_too_few_reference_letters_fail():
    assert rules.references(snapshot(letters_received=1), call_rules()) == (
        False, "1 of 2 reference letters received.")
    assert rules.references(snapshot(letters_received=0), call_rules(references_required=1)) == (
        False, "0 of 1 reference letter received.")


def test_no_references_required_passes():
    assert rules.references(snapshot(letters_received=0), call_rules(references_required=0)) == (
        True, "The call requires no reference letters.")


def test_evaluate_runs_every_rule_by_name():
    outcomes = rules.evaluate(snapshot(nationality="JP"), call_rules())
    assert list(outcomes) == ["age_at_deadline", "nationality", "degree", "documents", "references"]
    assert [name for name, o in outcomes.items() if not o.passed] == ["nationality"]

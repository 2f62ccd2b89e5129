"""Each eligibility rule passes and fails with a reason a staff member can read."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fellowship.applications import models as _application_models  # noqa: F401 - every mapper, for Call()
from fellowship.calls.models import Call, DegreeLevel, DocumentKind, Programme
from fellowship.eligibility import rules
from fellowship.eligibility.rules import ApplicationSnapshot, CallRules

ALL_DOCUMENTS = frozenset({DocumentKind.CV, DocumentKind.TRANSCRIPT, DocumentKind.PASSPORT})


def call_rules(**changes: object) -> CallRules:
    values: dict[str, object] = {
        "closing_date": date(2027, 4, 1), "max_age": 35, "min_degree": DegreeLevel.MASTER,
        "eligible_countries": frozenset({"KE", "NG", "VN"}),
        "required_documents": (DocumentKind.CV, DocumentKind.TRANSCRIPT, DocumentKind.PASSPORT),
        "references_required": 2,
    }
    values.update(changes)
    return CallRules(**values)  # type: ignore[arg-type]


def snapshot(**changes: object) -> ApplicationSnapshot:
    values: dict[str, object] = {
        "date_of_birth": date(1998, 6, 1), "nationality": "KE", "highest_degree": DegreeLevel.MASTER,
        "document_kinds": ALL_DOCUMENTS, "letters_received": 2,
    }
    values.update(changes)
    return ApplicationSnapshot(**values)  # type: ignore[arg-type]


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


def test_missing_date_of_birth_fails_and_no_age_limit_passes():
    assert rules.age_at_deadline(snapshot(date_of_birth=None), call_rules()) == (False, "Date of birth is missing.")
    assert rules.age_at_deadline(snapshot(date_of_birth=date(1950, 1, 1)), call_rules(max_age=None)) == (
        True, "The call has no age limit.")


def test_the_deadline_date_is_taken_in_the_programme_time_zone():
    # 15:30 UTC on 31 March is 00:30 on 1 April in Tokyo: the closing date is 1 April there.
    call = Call(closes_at=datetime(2027, 3, 31, 15, 30, tzinfo=UTC), max_age=35, min_degree=None,
                eligible_countries=["KE"], required_documents=["cv"], references_required=1,
                programme=Programme(name="ELF", time_zone="Asia/Tokyo"))
    tokyo = CallRules.from_call(call)
    assert tokyo.closing_date == date(2027, 4, 1)
    born_1_april = snapshot(date_of_birth=date(1991, 4, 1))
    assert rules.age_at_deadline(born_1_april, tokyo) == (False, "Age at the deadline is 36; the limit is 35.")

    call.programme.time_zone = "UTC"  # the same instant is still 31 March in UTC: one day short of 36
    utc = CallRules.from_call(call)
    assert utc.closing_date == date(2027, 3, 31)
    assert rules.age_at_deadline(born_1_april, utc) == (True, "Age at the deadline is 35 (limit 35).")


# --- nationality -----------------------------------------------------------------------------------------

def test_nationality_in_the_list_passes_with_the_country_name():
    assert rules.nationality(snapshot(nationality="KE"), call_rules()) == (
        True, "Nationality Kenya is among the eligible countries.")


def test_nationality_not_in_the_list_fails_with_the_country_name():
    assert rules.nationality(snapshot(nationality="JP"), call_rules()) == (
        False, "Nationality Japan is not among the eligible countries.")


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
        False, "Highest degree is missing; the call requires at least Master's degree.")
    assert rules.degree(snapshot(highest_degree=DegreeLevel.SECONDARY), call_rules(min_degree=None)) == (
        True, "The call requires no minimum degree.")


# --- documents -------------------------------------------------------------------------------------------

def test_all_required_documents_pass():
    assert rules.documents(snapshot(), call_rules()) == (
        True, "All required documents present: CV, Academic transcript, Passport page.")


def test_missing_required_documents_are_named():
    assert rules.documents(snapshot(document_kinds=frozenset({DocumentKind.CV, DocumentKind.TRANSCRIPT})),
                           call_rules()) == (False, "Missing required documents: Passport page.")
    assert rules.documents(snapshot(document_kinds=frozenset({DocumentKind.OTHER})), call_rules()) == (
        False, "Missing required documents: CV, Academic transcript, Passport page.")


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

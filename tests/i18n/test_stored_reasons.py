"""Texts the system stores are shown in the reader's language: an eligibility reason reads in Japanese to a staff
member who reads Japanese and in French to the applicant who reads French; a call's default review round is named
in each reader's language; a decision's reason recorded by the system follows the reader too."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from fellowship.applications.models import EligibilityResult
from fellowship.auth.models import Role, User
from fellowship.extensions import db
from fellowship.selection.models import SelectionStage
from fellowship.selection.reasons import REASONS
from fellowship.selection.stages import ensure_stages
from tests.conftest import login
from tests.eligibility.test_screening import screened_ineligible
from tests.factories import CallFactory, UserFactory


def test_eligibility_reasons_are_stored_as_messages_and_shown_to_staff_in_japanese_and_the_applicant_in_french(
        client, app_ctx):
    application = screened_ineligible()  # no passport page: the documents rule fails
    stored = db.session.scalar(select(EligibilityResult).where(EligibilityResult.application_id == application.id,
                                                              EligibilityResult.rule == "documents"))
    assert stored is not None and stored.passed is False
    assert stored.reason == "Missing required documents: Passport page."  # English, kept for the record
    assert stored.reason_message == ["documents_missing", {"documents": ["passport"]}]

    staff = UserFactory(roles=[Role.STAFF], locale="ja")
    login(client, staff.email)
    page = client.get(f"/staff/applications/{application.id}").get_data(as_text=True)
    assert "必須書類が不足しています：" in page and "Missing required documents" not in page

    applicant = db.session.get_one(User, application.applicant_id)
    applicant.locale = "fr"
    db.session.commit()
    applicant_client = current_app.test_client()
    login(applicant_client, applicant.email)
    page = applicant_client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Pourquoi votre candidature n'est pas éligible" in page
    assert "Documents requis manquants :" in page and "Missing required documents" not in page


def test_a_default_review_round_is_named_in_the_readers_language_and_a_renamed_one_as_typed(app_ctx):
    call = CallFactory()
    first = ensure_stages(call)[0]
    db.session.commit()
    assert db.session.scalar(select(SelectionStage.name).where(SelectionStage.id == first.id)) is None
    with force_locale("ja"):
        assert str(first.name) == "審査"
    with force_locale("fr"):
        assert str(first.name) == "Évaluation"
    first.name = "Premier tour"
    assert first.custom_name == "Premier tour"
    with force_locale("ja"):
        assert first.name == "Premier tour"


def test_a_reason_the_system_gave_a_decision_reads_in_the_readers_language(app_ctx):
    reason = REASONS("promoted", offer=7, status="declined", explanation=["quotas_stay_met", {}])
    assert reason.english() == ("Promoted from the waitlist when offer 7 was declined: Every quota stays met: the "
                                "best-ranked waitlisted candidate is promoted.")
    with force_locale("es"):
        assert "Todas las cuotas siguen cumplidas" in reason.translated()

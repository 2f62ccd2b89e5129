"""Staff translate a call's content (title, description, rubric, application form) per language on its Translations
page; readers see their language, or English where a text has no translation; staff see what is missing."""

from __future__ import annotations

import html as html_lib

from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.i18n.texts import Texts
from fellowship.questions.models import Question, QuestionnaireSection
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory, UserFactory


def first_section_questions(call: Call) -> tuple[QuestionnaireSection, list[Question]]:
    section = db.session.scalars(select(QuestionnaireSection).where(
        QuestionnaireSection.questionnaire_id == call.questionnaire_id).order_by(QuestionnaireSection.position)).first()
    assert section is not None
    questions = db.session.scalars(select(Question).where(
        Question.section_id == section.id, Question.group_id.is_(None)).order_by(Question.position)).all()
    return section, list(questions)


def test_staff_translate_a_title_and_a_question_and_the_french_applicant_sees_them_else_english(app, app_ctx):
    UserFactory(email="staff@example.org", roles=[Role.STAFF])
    call = CallFactory(title="Environmental Leaders 2027")
    application = ApplicationFactory(call=call, applicant=UserFactory(email="awa@example.org", locale="fr"))
    section, questions = first_section_questions(call)
    translated, untranslated = questions[0], questions[1]
    untranslated_english = Texts.of(untranslated.label).get_for("en")
    untranslated.label = Texts.of({"en": untranslated_english})  # as a question staff wrote in English only
    db.session.commit()

    staff = app.test_client()
    login(staff, "staff@example.org")
    page = staff.get(f"/staff/calls/{call.id}/translations?lang=fr").get_data(as_text=True)
    assert "Environmental Leaders 2027" in page and 'name="call-title"' in page
    response = submit_form(staff, f"/staff/calls/{call.id}/translations?lang=fr", {
        "call-title": "Leaders de l'environnement 2027",
        f"question-{translated.id}-label": "Prénom(s) (comme sur le passeport)"})
    assert response.status_code == 302

    applicant = app.test_client()
    login(applicant, "awa@example.org")
    call_page = html_lib.unescape(applicant.get(f"/calls/{call.id}").get_data(as_text=True))
    assert "<h1>Leaders de l'environnement 2027</h1>" in call_page
    form_page = html_lib.unescape(applicant.get(f"/applications/{application.id}/sections/{section.key}")
                                  .get_data(as_text=True))
    assert "Prénom(s) (comme sur le passeport)" in form_page
    assert untranslated_english in form_page  # no French for it: English

    english_reader = app.test_client()  # an English reader still sees the English title
    assert "<h1>Environmental Leaders 2027</h1>" in html_lib.unescape(
        english_reader.get(f"/calls/{call.id}").get_data(as_text=True))

    missing = html_lib.unescape(staff.get(f"/staff/calls/{call.id}/translations?lang=fr").get_data(as_text=True))
    listed = missing.split('id="missing-heading"')[1].split('id="edit-heading"')[0]
    french_row = listed.split('lang="fr"')[1].split("</tr>")[0]
    assert f"Question: {untranslated_english}" in french_row
    assert f"Question: {Texts.of(translated.label).get_for('en')}" not in french_row
    assert "— Title" not in french_row  # the title has its French now


def test_a_criterion_and_its_levels_read_in_the_reviewers_language(app, app_ctx):
    from fellowship.calls.models import RubricCriterion
    from fellowship.calls.translations import save_translations

    call = CallFactory()
    criterion = RubricCriterion(call_id=call.id, position=0, name="Leadership", description="Leads others",
                                level_descriptions={"1": "None shown", "5": "Leads a team"})
    db.session.add(criterion)
    db.session.flush()
    db.session.refresh(call)
    save_translations(call, "ja", {f"criterion-{criterion.id}-name": "リーダーシップ",
                                   f"criterion-{criterion.id}-level-5": "チームを率いる"})
    db.session.commit()
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("ja"):
        assert criterion.name == "リーダーシップ" and criterion.level_description(5) == "チームを率いる"
        assert criterion.level_description(1) == "None shown" and criterion.description == "Leads others"
    with app.test_request_context(), force_locale("en"):
        assert criterion.name == "Leadership"
    assert db.session.scalars(select(RubricCriterion.id).where(RubricCriterion.name == "Leadership")).one()


def test_only_staff_open_a_calls_translations(app, app_ctx):
    call = CallFactory()
    UserFactory(email="awa@example.org")
    client = app.test_client()
    login(client, "awa@example.org")
    assert client.get(f"/staff/calls/{call.id}/translations").status_code == 403


def test_the_calls_privacy_notice_and_email_notes_are_written_per_language_and_shown_in_the_readers(app, app_ctx):
    from fellowship.calls.translations import save_translations
    from fellowship.notifications.services import queue_email

    UserFactory(email="staff@example.org", roles=[Role.STAFF])
    call = CallFactory()
    application = ApplicationFactory(call=call, applicant=UserFactory(email="awa@example.org", locale="fr"))
    staff = app.test_client()
    login(staff, "staff@example.org")
    submit_form(staff, f"/staff/calls/{call.id}/translations?lang=en", {
        "call-privacy": "Letters are kept for two years.", "email-application_submitted": "Good luck!"})
    db.session.expire_all()  # the page saved the English in its own session
    save_translations(db.session.get_one(Call, call.id), "fr", {
        "call-privacy": "Les lettres sont gardées deux ans.", "email-application_submitted": "Bonne chance !"})
    db.session.commit()

    applicant = app.test_client()
    login(applicant, "awa@example.org")
    review = html_lib.unescape(applicant.get(f"/applications/{application.id}/review").get_data(as_text=True))
    assert "Les lettres sont gardées deux ans." in review and "two years" not in review
    db.session.expire_all()
    note = db.session.get_one(Call, call.id).email_texts["application_submitted"]
    assert note == {"en": "Good luck!", "fr": "Bonne chance !"}, note
    with app.test_request_context():
        message = queue_email("awa@example.org", "applications/submitted", name="Awa", reference="ELF-1",
                              call_title="x", submitted_at="-", url="http://localhost/", programme_note=note)
        english = queue_email("nobody@example.org", "applications/submitted", name="N", reference="ELF-2",
                              call_title="x", submitted_at="-", url="http://localhost/", programme_note=note)
    from fellowship.notifications.mailer import build_email

    assert "Bonne chance !" in build_email(message).get_body(("plain",)).get_content()
    assert "Good luck!" in build_email(english).get_body(("plain",)).get_content()


def test_a_new_calls_default_form_reads_in_french_and_arabic_without_staff_translating_it(app, app_ctx):
    french = UserFactory(email="amelie@example.org", locale="fr")
    arabic = UserFactory(email="amina@example.org", locale="ar")
    call = CallFactory(title="Environmental Leaders 2028")
    in_french = ApplicationFactory(call=call, applicant=french)
    in_arabic = ApplicationFactory(call=call, applicant=arabic)
    db.session.commit()

    pages = {}
    for user, application in ((french, in_french), (arabic, in_arabic)):
        client = app.test_client()
        login(client, user.email)
        pages[user.locale] = {key: html_lib.unescape(client.get(f"/applications/{application.id}/sections/{key}")
                                                     .get_data(as_text=True)) for key in ("personal", "language")}
    assert "Informations personnelles" in pages["fr"]["personal"]  # the section's title
    assert "Prénom(s)" in pages["fr"]["personal"] and "Date de naissance" in pages["fr"]["personal"]
    assert "Telle qu'elle figure sur votre passeport." in pages["fr"]["personal"]  # a help text
    assert "Je préfère ne pas répondre" in pages["fr"]["personal"]  # a choice
    assert "Given name(s)" not in pages["fr"]["personal"]
    assert "Anglais (niveau CECRL)" in pages["fr"]["language"] and "Langue maternelle" in pages["fr"]["language"]
    assert "البيانات الشخصية" in pages["ar"]["personal"] and "تاريخ الميلاد" in pages["ar"]["personal"]
    assert "أفضّل عدم الإفصاح" in pages["ar"]["personal"] and "Date of birth" not in pages["ar"]["personal"]
    assert "اختبار اللغة والدرجة (اختياري)" in pages["ar"]["language"]


def test_the_default_form_leaves_no_text_missing_a_translation_for_a_new_call(app, app_ctx):
    UserFactory(email="staff@example.org", roles=[Role.STAFF])
    call = CallFactory(title="Environmental Leaders 2028")
    db.session.commit()
    staff = app.test_client()
    login(staff, "staff@example.org")
    page = html_lib.unescape(staff.get(f"/staff/calls/{call.id}/translations?lang=ar").get_data(as_text=True))
    listed = page.split('id="missing-heading"')[1].split('id="edit-heading"')[0]
    for code in ("fr", "pt", "es", "ar", "ja"):
        row = listed.split(f'lang="{code}"')[1].split("</tr>")[0]
        assert "Application form" not in row, (code, row)  # no section, question, help text or choice listed

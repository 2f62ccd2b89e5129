"""A call's form with one question of each exported kind and a repeatable group, and applications answering it.

Used by the tests of the staff exports and the answer filters. The form is written as rows (the engine's tables);
the answers are saved through the engine (questions.services.save_section_answers), which writes the answer sets
and their facets as the applicant's section pages do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.i18n.texts import Texts
from fellowship.questions import services as questions
from fellowship.questions.kinds import QuestionKind
from fellowship.questions.models import Question, Questionnaire, QuestionnaireSection, Response
from tests.factories import CallFactory, UserFactory

SUBMITTED_AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SECTOR_CHOICES = [{"value": "government", "label": {"en": "Government"}},
                  {"value": "ngo", "label": {"en": "NGO / civil society"}}]
TOPIC_CHOICES = [{"value": "water", "label": {"en": "Water"}}, {"value": "energy", "label": {"en": "Energy"}},
                 {"value": "waste", "label": {"en": "Waste"}}]


def _question(form: Questionnaire, section: QuestionnaireSection, position: int, key: str, kind: QuestionKind,
              label: str, *, group: Question | None = None, **fields: Any) -> Question:
    question = Question(questionnaire_id=form.id, section_id=section.id, group_id=group.id if group else None,
                        key=key, position=position, kind=kind, label=Texts.of(label), config=fields.pop("config", {}),
                        **fields)
    db.session.add(question)
    db.session.flush()
    return question


def build_form() -> Questionnaire:
    """Two sections: about you (text, choices, country, yes/no, number, a question left out of exports), history
    (a repeatable group of education entries)."""
    form = Questionnaire(title=Texts.of("Export form"), version=1)
    db.session.add(form)
    db.session.flush()
    about = QuestionnaireSection(questionnaire_id=form.id, key="about", position=0, title=Texts.of("About you"))
    history = QuestionnaireSection(questionnaire_id=form.id, key="history", position=1, title=Texts.of("History"))
    db.session.add_all([about, history])
    db.session.flush()
    _question(form, about, 0, "motto", QuestionKind.SHORT_TEXT, "Your motto")
    _question(form, about, 1, "sector", QuestionKind.SINGLE_CHOICE, "Sector", config={"choices": SECTOR_CHOICES})
    _question(form, about, 2, "topics", QuestionKind.MULTIPLE_CHOICE, "Topics", config={"choices": TOPIC_CHOICES})
    _question(form, about, 3, "home", QuestionKind.COUNTRY, "Country of residence")
    _question(form, about, 4, "mentor", QuestionKind.YES_NO, "Do you have a mentor?")
    _question(form, about, 5, "years", QuestionKind.NUMBER, "Years of experience", config={"integer": True})
    _question(form, about, 6, "phone", QuestionKind.SHORT_TEXT, "Phone (kept out of exports)", in_export=False)
    education = _question(form, history, 0, "education", QuestionKind.GROUP, "Education",
                          config={"min_entries": 0, "max_entries": 5})
    _question(form, history, 0, "school", QuestionKind.SHORT_TEXT, "School", group=education)
    _question(form, history, 1, "degree_year", QuestionKind.NUMBER, "Year", group=education,
              config={"integer": True})
    db.session.commit()
    db.session.expire_all()
    return form


def call_with_form() -> tuple[Call, Questionnaire]:
    form = build_form()
    call = CallFactory(title="Environmental Leaders 2027")
    call.questionnaire_id = form.id
    db.session.commit()
    return call, form


def answer(application: Application, form: Questionnaire, **answers: Any) -> None:
    """Saves the answers (key → form value) through the engine, each to its section; fails on any error."""
    if application.response_id is None:
        created = questions.response_for(form)
        db.session.flush()
        application.response_id = created.id
    response = db.session.get(Response, application.response_id)
    assert response is not None
    for section in form.sections:
        keys = {q.key for q in section.questions}
        values = {k: v for k, v in answers.items() if k in keys}
        if values:
            result = questions.save_section_answers(response, section, values)
            assert not result.errors, result.errors
    db.session.commit()


def applicant(call: Call, form: Questionnaire, reference: str | None, *, given: str = "Amani",
              status: ApplicationStatus = ApplicationStatus.UNDER_REVIEW, **answers: Any) -> Application:
    """An application to the call with a reference (None: a draft) and these answers."""
    application = Application(call=call, applicant=UserFactory(),
                              status=status if reference else ApplicationStatus.DRAFT,
                              reference=reference, given_name=given, region="Africa",
                              submitted_at=SUBMITTED_AT if reference else None, eligible=True if reference else None)
    db.session.add(application)
    db.session.flush()
    answer(application, form, **answers)
    return application
